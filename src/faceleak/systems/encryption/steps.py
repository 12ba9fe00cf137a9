"""Sparse-code image encryption on LFW: identity-disjoint splits, training the grouped top-k sparse
autoencoder, sharing test faces under each scheme, every adversary's reconstruction, the decoy
classifier, code linkability, and the recognizers' verdict on each reconstruction."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from itertools import count

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from faceleak.attacks.sparse_code import DecoyClassifier, LearningAdversary, average_decoding, decode, guess, partial_code
from faceleak.data.images import to_uint8
from faceleak.data.splits import identity_split
from faceleak.device import active_device
from faceleak.defenses.sparse_sharing import SharedCodes, share, unlock
from faceleak.metrics.image import psnr_db, ssim
from faceleak.metrics.rates import rate
from faceleak.models.recognizers import Recognizer
from faceleak.models.sparse_autoencoder import SparseAutoencoder
from faceleak.systems.encryption.params import EncryptionParams
from faceleak.systems.encryption.names import KEY_HOLDER
from faceleak.systems.openset.steps import resized_faces
from faceleak.training import FitHistory, fit

SPLITS = ("train", "val", "test")
LEARNING_VAL_IMAGES = 1024  # the learning adversary's early-stopping faces (public, from the validation people)


def split_rows(people: np.ndarray, fractions: tuple[float, float], seed: int) -> dict[str, np.ndarray]:
    """Row indices of the train, val and test people (identity-disjoint; ``fractions``: val and test shares of the people)."""
    val_fraction, test_fraction = fractions
    held = identity_split(people, val_fraction + test_fraction, seed)
    test = np.zeros(len(people), bool)
    test[held] = identity_split(people[held], test_fraction / (val_fraction + test_fraction), seed + 1)
    return {"train": np.flatnonzero(~held), "val": np.flatnonzero(held & ~test), "test": np.flatnonzero(test)}


def model_faces(faces: np.ndarray, size: int) -> torch.Tensor:
    """uint8 faces (N, H, W, C) as the model's input: (N, C, size, size) in [0, 1], area-resized."""
    return resized_faces(faces, size)[:, : faces.shape[-1]].add(1).div(2)


def pixels(images: torch.Tensor) -> np.ndarray:
    """Model outputs in [0, 1] (N, C, S, S) as uint8 faces (N, S, S, C)."""
    return to_uint8(images.mul(2).sub(1).expand(-1, 3, -1, -1))[..., : images.shape[1]]


def one_cycle_rate(peak: float, step: int, total: int, warmup: float = 0.3) -> float:
    """A one-cycle learning rate: cosine rise from ``peak / 25`` to ``peak`` over the first ``warmup`` of
    ``total`` steps, then cosine decay towards zero."""
    rise = max(1, round(warmup * total))
    if step < rise:
        return peak / 25 + (peak - peak / 25) * 0.5 * (1 - math.cos(math.pi * step / rise))
    return peak * 0.5 * (1 + math.cos(math.pi * min(step - rise, total - rise) / max(1, total - rise)))


def train_autoencoder(model: SparseAutoencoder, train: torch.Tensor, val: torch.Tensor, params: EncryptionParams) -> tuple[FitHistory, float]:
    """Fit with binary cross-entropy and Adam under a one-cycle learning rate (bf16 autocast if asked),
    early stopping on the validation faces; the history and minutes."""
    loss = torch.nn.functional.binary_cross_entropy
    optimizer = torch.optim.Adam(model.parameters(), lr=params.train.learning_rate)
    steps, total = count(), params.train.epochs * -(-len(train) // params.train.batch_size)
    device = active_device()

    def batch_loss(rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for group in optimizer.param_groups:
            group["lr"] = one_cycle_rate(params.train.learning_rate, next(steps), total)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=params.engine == "bf16"):
            decoded = model(train[rows].to(device))
        return loss(decoded.float(), train[rows].to(device))

    def val_loss() -> float:
        return float(np.mean([loss(model(batch.to(device)), batch.to(device)).item() for batch in val.split(512)]))

    started = time.perf_counter()
    history = fit(model, batch_loss, len(train), val_loss, optimizer, params.train, params.seed, "sparse autoencoder")
    return history, (time.perf_counter() - started) / 60


def encode(model: SparseAutoencoder, faces: torch.Tensor, k: int | None = None, batch_size: int = 256) -> np.ndarray:
    """Top-k codes (N, D) of faces in [0, 1], without gradients."""
    with torch.no_grad():
        return torch.cat([model.encode(faces[start : start + batch_size], k) for start in range(0, len(faces), batch_size)]).numpy()


def quality(originals: np.ndarray, reconstructions: np.ndarray) -> dict[str, float]:
    """Mean PSNR (dB) and SSIM of uint8 reconstructions against the originals at the same size."""
    return {"psnr_db": float(psnr_db(originals, reconstructions).mean()), "ssim": float(ssim(originals, reconstructions).mean())}


def quality_by_k(model: SparseAutoencoder, faces: torch.Tensor, ks: tuple[int, ...]) -> list[dict]:
    """The key-holder's PSNR and SSIM when the trained model decodes codes of each sparsity k."""
    originals = pixels(faces)
    return [{"k": k, **quality(originals, pixels(decode(model, encode(model, faces, k))))} for k in ks]


@dataclass(frozen=True)
class SchemeOutcome:
    """One scheme on the test faces: the key-holder's and each adversary's uint8 reconstructions of the judged faces, how often
    the decoy classifier picks the true code, and the AUC of linking two shared photos of one person."""

    reconstructions: dict[str, np.ndarray]
    decoy_classifier: dict
    linkability_auc: float | None


def attack_scheme(model: SparseAutoencoder, codes: np.ndarray, judged: np.ndarray, public: dict[str, torch.Tensor], links: tuple[np.ndarray, np.ndarray], scheme: str, params: EncryptionParams) -> SchemeOutcome:
    """Share the test ``codes`` (N, D) under ``scheme`` and attack the shares: every adversary on the
    ``judged`` rows; the decoy classifier (trained on ``public["classifier"]`` faces' shares) on all rows,
    and the codes it picks compared over the linkability pairs ``links``."""
    seeds = {name: params.seed + offset for offset, name in enumerate(("owner", "classifier", "guesser", "partial code", "learning adversary"))}
    shared = share(codes, params.codes, scheme, seeds["owner"])
    judged_shares = SharedCodes(shared.codes[judged], shared.index[judged], shared.seed[judged], scheme)
    published_true = judged_shares.codes[np.arange(len(judged)), judged_shares.index]
    public_codes = encode(model, public["learning"])
    learner = LearningAdversary(params.adversaries.learning, seeds["learning adversary"]).fit(model, public["learning"], public["val"], scheme, params.codes)
    adversaries = {
        KEY_HOLDER: decode(model, unlock(judged_shares)),
        "guesser": decode(model, guess(judged_shares, seeds["guesser"])),
        "partial code": decode(model, partial_code(published_true, params.adversaries.known_fraction, public_codes[public_codes != 0], seeds["partial code"])),
        "learning adversary": learner.run(published_true),
        "averaging": average_decoding(model, judged_shares),
    }
    classifier = DecoyClassifier(params.seed).fit(share(encode(model, public["classifier"]), params.codes, scheme, seeds["classifier"]))
    picks = classifier.pick(shared)
    return SchemeOutcome(
        reconstructions={name: pixels(faces) for name, faces in adversaries.items()},
        decoy_classifier={"true_code_picked": rate(picks == shared.index), "chance": 1 / params.codes},
        linkability_auc=code_similarity_auc(shared.codes[np.arange(len(codes)), picks], *links),
    )


def linkability_pairs(people: np.ndarray, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``count`` same-person and as many different-person row pairs (P, 2), and whether each is same."""
    rng = np.random.default_rng(seed)
    same = np.array([(a, b) for person in np.unique(people) for a, b in _pairs(np.flatnonzero(people == person))], dtype=np.int64).reshape(-1, 2)
    same = same[rng.permutation(len(same))[:count]]
    different = rng.integers(0, len(people), (4 * count, 2))
    different = different[people[different[:, 0]] != people[different[:, 1]]][: len(same)]
    rows = np.concatenate([same, different])
    return rows, np.arange(len(rows)) < len(same)


def _pairs(rows: np.ndarray) -> list[tuple[int, int]]:
    return [(a, b) for i, a in enumerate(rows) for b in rows[i + 1 :]]


def code_similarity_auc(codes: np.ndarray, pairs: np.ndarray, same: np.ndarray) -> float | None:
    """AUC of telling same-person pairs from different-person ones by the cosine of their codes (0.5: no
    link); None without pairs of both kinds."""
    if same.all() or not same.any():
        return None
    unit = codes / np.maximum(np.linalg.norm(codes, axis=1, keepdims=True), 1e-12)
    return float(roc_auc_score(same, (unit[pairs[:, 0]] * unit[pairs[:, 1]]).sum(1)))


def judge_reconstructions(judge: Recognizer, thresholds: dict[str, float], originals: np.ndarray, reconstructions: dict[str, np.ndarray]) -> dict[str, dict]:
    """Per reconstruction set, the success-attack rate against its original photo at each FMR (``distance < threshold``);
    each judge brings both to its own input size."""
    reference = judge.embed(originals)
    figures = {}
    for name, faces in reconstructions.items():
        distances = judge.distance(judge.embed(faces), reference)
        figures[name] = {f"sar_at_fmr_{fmr}": rate(distances < threshold) for fmr, threshold in thresholds.items()}
        if hasattr(judge, "undetected_"):
            figures[name]["undetected_faces"] = judge.undetected_
    return figures
