"""Embedding-leakage inversion: a decoder trained to rebuild faces from partially leaked templates.

The attacker owns (face, template) pairs, hides the same dimensions the leak hides (or, with
``leakage_range``, a fresh random set of a random fraction per sample, for a mask-conditioned
decoder that serves any leak), and fits the decoder with a pixel loss plus an optional identity loss (1 - cosine between the frozen FaceNet's
embedding of the reconstruction and the full original template). A black-box attacker of another recognizer takes
the identity loss through a recognizer of its own (``identity``), towards that recognizer's templates of the same
faces (``InversionData.targets``), while the decoder reads the attacked recognizer's templates. The identity loss can start after
``warmup_epochs`` of pixel loss alone, and can be taken on ``augment_draws`` random views of each
reconstruction (averaged), so that the decoder draws faces rather than one pixel pattern FaceNet
alone reads. The checkpoint with the lowest validation loss is kept; training stops when it has not
improved for ``patience`` epochs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from faceleak.data.augment import random_views
from faceleak.defenses.masking import random_masks
from faceleak.device import active_device
from faceleak.errors import MissingInputError
from faceleak.io import save_weights
from faceleak.models.decoder import EmbeddingDecoder
from faceleak.models.facenet import standardize
from faceleak.training import FitHistory, FitSettings, fit


@dataclass(frozen=True)
class TrainParams:
    """The decoder's width and training settings; ``identity_weight`` weighs the identity loss,
    taken after ``warmup_epochs`` of pixel loss alone, on ``augment_draws`` random views of each
    reconstruction (0: on the reconstruction itself)."""

    epochs: int
    batch_size: int
    learning_rate: float
    dropout: float
    patience: int
    identity_weight: float
    base_channels: int
    warmup_epochs: int = 0
    augment_draws: int = 0


# A differentiable recognizer for the identity loss: faces in [-1, 1] (N, 3, H, W) -> unit templates (N, D).
Identity = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class InversionData:
    """Leaked templates, the full templates they came from, the faces in [-1, 1] (N, 3, H, W), for a
    conditioned decoder the 0/1 masks of leaked dimensions, and the identity loss's targets: the attacker's
    own recognizer's templates of the faces (None: the full templates, the identity loss then runs through
    the attacked recognizer)."""

    leaked: torch.Tensor
    templates: torch.Tensor
    faces: torch.Tensor
    masks: torch.Tensor | None = None
    targets: torch.Tensor | None = None

    @classmethod
    def from_arrays(cls, leaked: np.ndarray, templates: np.ndarray, faces: torch.Tensor, targets: np.ndarray | None = None) -> InversionData:
        return cls(torch.from_numpy(leaked).float(), torch.from_numpy(templates).float(), faces, None, None if targets is None else torch.from_numpy(targets).float())

    def _with(self, change: Callable[[torch.Tensor], torch.Tensor]) -> InversionData:
        """Every tensor of the data through ``change`` (rows chosen, or moved)."""
        optional = lambda tensor: None if tensor is None else change(tensor)
        return InversionData(change(self.leaked), change(self.templates), change(self.faces), optional(self.masks), optional(self.targets))

    def __getitem__(self, rows: torch.Tensor | np.ndarray | slice) -> InversionData:
        return self._with(lambda tensor: tensor[rows])

    def to(self, device: torch.device) -> InversionData:
        """The same data on ``device``."""
        return self._with(lambda tensor: tensor.to(device))

    def identity_targets(self) -> torch.Tensor:
        """What the identity loss pulls each reconstruction's template towards."""
        return self.templates if self.targets is None else self.targets

    def randomly_leaked(self, lowest: float, generator: torch.Generator) -> InversionData:
        """The full templates with a random leak per sample (see :func:`random_masks`)."""
        masks = random_masks(len(self.templates), self.templates.shape[1], lowest, generator)
        return InversionData(self.templates * masks, self.templates, self.faces, masks, self.targets)


def facenet_identity(facenet: nn.Module) -> Identity:
    """FaceNet as the identity loss's recognizer (unit templates of faces in [-1, 1])."""
    return lambda faces: nn.functional.normalize(facenet(standardize(faces)), dim=1)


class EmbeddingInversionAttack:
    """Decoder-based inversion attack: ``fit`` on attacker pairs, ``run`` on leaked target templates."""

    def __init__(
        self,
        params: TrainParams,
        face_size: int,
        seed: int,
        facenet: nn.Module | None = None,
        lowest_leakage: float | None = None,
        identity: Identity | None = None,
        embedding_dim: int = 512,
    ):
        """``facenet``: the frozen FaceNet of the identity loss; ``identity``: another recognizer in its place (the
        black-box attacker's own); ``embedding_dim``: the size of the templates the decoder reads."""
        if params.identity_weight > 0 and facenet is None and identity is None:
            raise ValueError("train.identity_weight > 0 needs the frozen FaceNet model (or another identity recognizer)")
        self.params, self.face_size, self.seed = params, face_size, seed
        self.identity = identity if identity is not None or facenet is None else facenet_identity(facenet)
        self.lowest_leakage = lowest_leakage
        torch.manual_seed(seed)
        self.decoder = EmbeddingDecoder(
            embedding_dim=embedding_dim,
            face_size=face_size,
            base_channels=params.base_channels,
            dropout=params.dropout,
            conditioned=lowest_leakage is not None,
        ).to(active_device())

    def _identity_loss(self, reconstruction: torch.Tensor, templates: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """1 - cosine between the identity recognizer's template and the target, averaged over the random views
        (``generator`` None: the reconstruction itself, as in validation)."""
        views = [reconstruction] if generator is None or self.params.augment_draws == 0 else [
            random_views(reconstruction, generator) for _ in range(self.params.augment_draws)
        ]
        embeddings = self.identity(torch.cat(views))
        return 1.0 - (embeddings * templates.repeat(len(views), 1)).sum(dim=1).mean()

    def _loss(self, batch: InversionData, identity: bool, generator: torch.Generator | None = None) -> torch.Tensor:
        batch = batch.to(active_device())
        reconstruction = self.decoder(batch.leaked, batch.masks)
        loss = nn.functional.mse_loss(reconstruction, batch.faces)
        if identity:
            loss = loss + self.params.identity_weight * self._identity_loss(reconstruction, batch.identity_targets(), generator)
        return loss

    @torch.no_grad()
    def _evaluate(self, data: InversionData, identity: bool) -> float:
        self.decoder.eval()
        total = 0.0
        for start in range(0, len(data.leaked), 64):
            batch = data[start : start + 64]
            total += self._loss(batch, identity).item() * len(batch.leaked)
        return total / len(data.leaked)

    def _fit_phase(self, train: InversionData, val: InversionData, epochs: int, identity: bool, name: str) -> FitHistory:
        def batch_loss(rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
            batch = train[rows]
            if self.lowest_leakage is not None:
                batch = batch.randomly_leaked(self.lowest_leakage, generator)
            return self._loss(batch, identity, generator)

        settings = FitSettings(epochs, self.params.batch_size, self.params.learning_rate, self.params.patience, min_delta=1e-6)
        optimizer = torch.optim.Adam(self.decoder.parameters(), lr=settings.learning_rate)
        return fit(self.decoder, batch_loss, len(train.leaked), lambda: self._evaluate(val, identity), optimizer, settings, self.seed, name)

    def fit(self, train: InversionData, val: InversionData) -> EmbeddingInversionAttack:
        """Train the decoder with early stopping on ``val``: ``warmup_epochs`` of pixel loss alone
        (history in ``warmup_history_``, when the identity loss is on), then ``epochs`` of the full
        loss; keeps the best checkpoint of the last phase, its history in ``history_``."""
        if self.lowest_leakage is not None:
            val = val.randomly_leaked(self.lowest_leakage, torch.Generator().manual_seed(self.seed + 1))
        identity = self.params.identity_weight > 0
        self.warmup_history_ = None
        if identity and self.params.warmup_epochs > 0:
            self.warmup_history_ = self._fit_phase(train, val, self.params.warmup_epochs, False, "decoder warm-up (pixel loss)")
        self.history_ = self._fit_phase(train, val, self.params.epochs, identity, "decoder")
        return self

    @torch.no_grad()
    def run(self, leaked: np.ndarray, mask: np.ndarray | None = None) -> torch.Tensor:
        """Reconstructions in [-1, 1] (N, 3, H, W) of leaked templates (and their leak mask, if conditioned)."""
        self.decoder.eval()
        device = active_device()
        leaked_rows = torch.from_numpy(leaked).float().to(device)
        masks = None if mask is None else torch.from_numpy(np.broadcast_to(mask, leaked.shape).copy()).float().to(device)
        outputs = []
        for start in range(0, len(leaked_rows), 64):
            part = slice(start, start + 64)
            outputs.append(self.decoder(leaked_rows[part], None if masks is None else masks[part]).cpu())
        return torch.cat(outputs)

    def save(self, path: str | Path) -> None:
        """Save the decoder's weights atomically."""
        save_weights(path, self.decoder.state_dict())

    def load(self, path: str | Path) -> EmbeddingInversionAttack:
        """Load decoder weights saved by :meth:`save`."""
        if not Path(path).is_file():
            raise MissingInputError(f"decoder weights {path} do not exist; run the spine_train stage first")
        self.decoder.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self.decoder.eval()
        return self

