"""Adversaries of sparse-code sharing (:mod:`faceleak.defenses.sparse_sharing`): each holds the published
codes and the public decoder, never the key.

- :func:`guess`: one of the ``n`` codes at random;
- :func:`partial_code`: the reference's adversary, who holds a fraction of the true code in the clear and
  fills the rest at random;
- :func:`average_decoding`: every published code decoded, the faces averaged;
- :class:`LearningAdversary`: its own decoder, trained on faces of other people that it shares itself
  under the scheme (so it knows their true codes);
- :class:`DecoyClassifier`: tries to tell the true code from the decoys by the codes alone;
- :class:`InvariantReader`: reads the face from what a secret permutation of the entries leaves.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from faceleak.defenses.sparse_sharing import SharedCodes, share
from faceleak.models.sparse_autoencoder import SparseAutoencoder, new_sparse_autoencoder
from faceleak.training import FitHistory, FitSettings, fit

SORTED_MAGNITUDES = 256  # how many of a code's largest magnitudes the decoy classifier sees, in order


def guess(shared: SharedCodes, seed: int) -> np.ndarray:
    """For each face, one of its published codes drawn at random (N, D)."""
    picks = np.random.default_rng(seed).integers(0, shared.codes.shape[1], len(shared.codes))
    return shared.codes[np.arange(len(picks)), picks]


def partial_code(true_codes: np.ndarray, known: float, value_pool: np.ndarray, seed: int) -> np.ndarray:
    """The true codes (N, D) with a random ``known`` fraction of their entries kept and the others refilled
    as a code looks: nonzero with the codes' density, values drawn from ``value_pool`` (nonzeros of public codes)."""
    rng = np.random.default_rng(seed)
    density = float((true_codes != 0).mean())
    kept = rng.random(true_codes.shape) < known
    filler = np.where(rng.random(true_codes.shape) < density, rng.choice(value_pool, true_codes.shape), 0.0).astype(true_codes.dtype)
    return np.where(kept, true_codes, filler)


def decode(model: SparseAutoencoder, codes: np.ndarray, batch_size: int = 256) -> torch.Tensor:
    """Faces (N, C, S, S) in [0, 1] decoded from codes (N, D) in batches, without gradients."""
    with torch.no_grad():
        return torch.cat([model.decode(torch.from_numpy(codes[start : start + batch_size]).float()) for start in range(0, len(codes), batch_size)])


def average_decoding(model: SparseAutoencoder, shared: SharedCodes) -> torch.Tensor:
    """Every published code decoded and the ``n`` faces of each shared face averaged (N, C, S, S)."""
    count, size = shared.codes.shape[1:]
    faces = decode(model, shared.codes.reshape(-1, size))
    return faces.view(len(shared.codes), count, *faces.shape[1:]).mean(1)


class LearningAdversary:
    """A decoder of the public architecture trained from scratch (started, as the owner's, from the public
    faces' PCA where the architecture has that path) with the autoencoder's loss on (published true code,
    face) pairs of public faces that the adversary shares itself under the scheme, with its own fresh keys."""

    def __init__(self, settings: FitSettings, seed: int) -> None:
        self.settings, self.seed = settings, seed
        self.history = FitHistory()

    def fit(self, encoder: SparseAutoencoder, faces: torch.Tensor, val_faces: torch.Tensor, scheme: str, count: int) -> LearningAdversary:
        """Train on ``faces`` (and stop early on ``val_faces``), encoded by the public ``encoder`` and shared under ``scheme``."""
        codes, val_codes = (self._own_shares(encoder, images, scheme, count, self.seed + 1000 * offset) for offset, images in enumerate((faces, val_faces)))
        torch.manual_seed(self.seed)
        self.model = new_sparse_autoencoder(encoder.config, faces)
        optimizer = torch.optim.Adam(self.model.decoding_parameters(), lr=self.settings.learning_rate)
        loss = nn.functional.mse_loss
        self.history = fit(
            self.model,
            lambda rows, generator: loss(self.model.decode(codes[rows]), faces[rows]),
            len(faces),
            lambda: float(loss(self.model.decode(val_codes), val_faces)),
            optimizer,
            self.settings,
            self.seed,
            f"learning adversary ({scheme})",
        )
        return self

    @staticmethod
    def _own_shares(encoder: SparseAutoencoder, faces: torch.Tensor, scheme: str, count: int, seed: int) -> torch.Tensor:
        with torch.no_grad():
            true_codes = encoder.encode(faces).numpy()
        shared = share(true_codes, count, scheme, seed)
        return torch.from_numpy(shared.codes[np.arange(len(faces)), shared.index]).float()

    def run(self, codes: np.ndarray) -> torch.Tensor:
        """Faces decoded from published codes by the adversary's own decoder."""
        return decode(self.model, codes)


def code_features(codes: np.ndarray) -> np.ndarray:
    """A code's raw entries, its nonzero count and its magnitudes sorted (largest first): what a
    classifier can see of a single published code."""
    magnitudes = -np.sort(-np.abs(codes), axis=-1)
    support = (codes != 0).sum(-1, keepdims=True)
    return np.concatenate([codes, support, magnitudes[..., :SORTED_MAGNITUDES]], axis=-1)


class DecoyClassifier:
    """Gradient-boosted trees scoring each published code as true or decoy, trained on public faces'
    shares; it picks, per shared face, the code it scores highest."""

    def __init__(self, seed: int) -> None:
        self.trees = HistGradientBoostingClassifier(max_iter=100, random_state=seed)

    def fit(self, shared: SharedCodes) -> DecoyClassifier:
        count = shared.codes.shape[1]
        labels = (np.arange(count)[None, :] == shared.index[:, None]).ravel()
        self.trees.fit(code_features(shared.codes.reshape(-1, shared.codes.shape[2])), labels)
        return self

    def pick(self, shared: SharedCodes) -> np.ndarray:
        """The index (N,) of the code most likely true, per shared face."""
        count = shared.codes.shape[1]
        scores = self.trees.predict_proba(code_features(shared.codes.reshape(-1, shared.codes.shape[2])))[:, 1]
        return scores.reshape(-1, count).argmax(1)


def invariant_features(codes: np.ndarray) -> np.ndarray:
    """What a secret permutation of a code's entries leaves: its magnitudes sorted (largest first) and the
    signs' count; the same for the true code and its decoys, whose values are the true ones shuffled."""
    magnitudes = -np.sort(-np.abs(codes), axis=-1)
    return np.concatenate([magnitudes, (codes > 0).sum(-1, keepdims=True), (codes < 0).sum(-1, keepdims=True)], axis=-1)


class InvariantReader:
    """A reader without the key who uses what no permutation hides: ridge regression from the published
    codes' invariant features to the face, fitted on public faces shared by the reader itself."""

    def __init__(self, alpha: float = 1.0) -> None:
        self.regression = make_pipeline(StandardScaler(), Ridge(alpha=alpha))

    def fit(self, codes: np.ndarray, faces: torch.Tensor) -> InvariantReader:
        self.regression.fit(invariant_features(codes), faces.flatten(1).numpy())
        self.shape = faces.shape[1:]
        return self

    def run(self, codes: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(self.regression.predict(invariant_features(codes))).float().clamp(0, 1).view(-1, *self.shape)
