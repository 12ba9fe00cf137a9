"""Sparse-code image encryption on LFW: identity-disjoint splits, training the grouped top-k sparse
autoencoder, sharing test faces under each scheme, every adversary's reconstruction, the decoy
classifier, code linkability, and the recognizers' verdict on each reconstruction."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import count

import numpy as np
import torch
from PIL import Image
from sklearn.metrics import roc_auc_score
from torch import nn

from faceleak.attacks.sparse_code import (
    DecoyClassifier, InvariantReader, LearningAdversary, average_decoding, decode, guess, invariant_features, partial_code,
)
from faceleak.data.images import resized_faces, to_uint8
from faceleak.data.splits import identity_split
from faceleak.device import active_device
from faceleak.defenses.sparse_sharing import SharedCodes, share, unlock
from faceleak.metrics.image import psnr_db, ssim
from faceleak.metrics.rates import rate
from faceleak.models.facenet import standardize
from faceleak.models.recognizers import Recognizer
from faceleak.models.sparse_autoencoder import SparseAutoencoder
from faceleak.systems.encryption.params import EncryptionParams
from faceleak.systems.encryption.names import KEY_HOLDER
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


@dataclass
class Training:
    """What training left: each phase's history, the quality curve (one row per epoch: minutes so far, the
    validation faces' PSNR and the curve judges' acceptance at the first FMR) and the minutes in all."""

    histories: dict[str, FitHistory]
    curve: list[dict]
    minutes: float


def surrogate_templates(surrogate: nn.Module, faces: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """The identity surrogate's unit templates of grey faces in [0, 1] (N, 1, S, S), with gradients."""
    return torch.cat([nn.functional.normalize(surrogate(standardize(batch.expand(-1, 3, -1, -1) * 2 - 1)), dim=1) for batch in faces.split(batch_size)])


def train_autoencoder(
    model: SparseAutoencoder, faces: dict[str, torch.Tensor], params: EncryptionParams, surrogate: nn.Module | None, curve: Callable[[SparseAutoencoder], dict]
) -> Training:
    """Fit in two phases, each with Adam under torch's one-cycle schedule and early stopping on the validation
    faces: pixel MSE alone (``train``), then MSE plus ``identity.weight`` x (1 - cosine) between the frozen
    ``surrogate``'s templates of the decoded and the original face (``identity``). ``curve(model)`` gives the
    quality figures recorded after every epoch."""
    device, started, rows = active_device(), time.perf_counter(), []
    train, val = faces["train"].to(device), faces["val"].to(device)
    phases = {"pixel": (params.train, 0.0), "identity": (params.identity.train, params.identity.weight)}
    targets = {}
    if params.identity.train.epochs and surrogate is not None:
        with torch.no_grad():
            targets = {"train": surrogate_templates(surrogate, train), "val": surrogate_templates(surrogate, val)}
    histories = {}
    for phase, (settings, weight) in phases.items():
        if settings.epochs == 0:
            continue
        optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, settings.learning_rate, total_steps=settings.epochs * -(-len(train) // settings.batch_size))
        steps = count()

        def loss(images: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=params.engine == "bf16"):
                decoded = model(images)
            value = nn.functional.mse_loss(decoded.float(), images)
            if weight:
                value = value + weight * (1 - (surrogate_templates(surrogate, decoded.float()) * target).sum(1).mean())
            return value

        def batch_loss(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
            if next(steps):
                schedule.step()  # after the previous batch's optimiser step
            return loss(train[batch], targets["train"][batch] if weight else None)

        def val_loss() -> float:
            value = float(np.mean([loss(val[part], targets["val"][part] if weight else None).item() for part in torch.arange(len(val)).split(256)]))
            rows.append({"phase": phase, "epoch": len(rows) + 1, "minutes": (time.perf_counter() - started) / 60, **curve(model)})
            return value

        histories[phase] = fit(model, batch_loss, len(train), val_loss, optimizer, settings, params.seed, f"sparse autoencoder ({phase})")
    return Training(histories, rows, (time.perf_counter() - started) / 60)


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


PCA_KS = (64, 128, 256)  # the baseline's components: as many numbers as the code keeps nonzeros


def pca_quality_by_k(train: torch.Tensor, test: torch.Tensor, ks: tuple[int, ...]) -> list[dict]:
    """The linear baseline: PCA of the training faces, each test face projected on its first k components
    (the ks that many training faces allow)."""
    flat = train.flatten(1).double()
    mean = flat.mean(0)
    components = torch.linalg.svd(flat - mean, full_matrices=False).Vh
    centred, originals = test.flatten(1).double() - mean, pixels(test)
    rows = []
    for k in (k for k in ks if k <= len(components)):
        projected = (centred @ components[:k].T @ components[:k] + mean).clamp(0, 1).float().view_as(test)
        rows.append({"k": k, **quality(originals, pixels(projected))})
    return rows


def curve_figures(faces: torch.Tensor, rows: np.ndarray, originals: np.ndarray, judges: dict[str, tuple[Recognizer, float]]) -> Callable[[SparseAutoencoder], dict]:
    """The quality figures of a model in training: PSNR on all ``faces`` (model input) and, on ``rows`` of them,
    the share each judge (recognizer, threshold) accepts as the person of ``originals`` (their uint8 crops)."""
    references = {name: judge.embed(originals) for name, (judge, _) in judges.items()}

    def figures(model: SparseAutoencoder) -> dict:
        decoded = decode(model, encode(model, faces))
        faces_out = pixels(decoded[rows])
        accepted = {f"{name}_accepted": float((judge.distance(judge.embed(faces_out), references[name]) < threshold).mean()) for name, (judge, threshold) in judges.items()}
        return {"psnr_db": quality(pixels(faces), pixels(decoded))["psnr_db"], **accepted}

    return figures


@dataclass(frozen=True)
class SchemeOutcome:
    """One scheme on the test faces: the key-holder's and each adversary's uint8 reconstructions of the judged faces, how often
    the decoy classifier picks the true code, and the AUC of linking two shared photos of one person (from the codes
    the classifier picks, and from what no permutation hides: :func:`invariant_features`)."""

    reconstructions: dict[str, np.ndarray]
    decoy_classifier: dict
    linkability_auc: float | None
    invariant_linkability_auc: float | None


def attack_scheme(model: SparseAutoencoder, codes: np.ndarray, judged: np.ndarray, public: dict[str, torch.Tensor], links: tuple[np.ndarray, np.ndarray], scheme: str, params: EncryptionParams) -> SchemeOutcome:
    """Share the test ``codes`` (N, D) under ``scheme`` and attack the shares: every adversary on the
    ``judged`` rows; the decoy classifier (trained on ``public["classifier"]`` faces' shares) on all rows,
    and the codes it picks compared over the linkability pairs ``links``."""
    seeds = {name: params.seed + offset for offset, name in enumerate(("owner", "classifier", "guesser", "partial code", "learning adversary", "invariant reader"))}
    shared = share(codes, params.codes, scheme, seeds["owner"])
    judged_shares = SharedCodes(shared.codes[judged], shared.index[judged], shared.seed[judged], scheme)
    published_true = judged_shares.codes[np.arange(len(judged)), judged_shares.index]
    public_codes = encode(model, public["learning"])
    learner = LearningAdversary(params.adversaries.learning, seeds["learning adversary"]).fit(model, public["learning"], public["val"], scheme, params.codes)
    invariant = InvariantReader().fit(guess(share(public_codes, params.codes, scheme, seeds["invariant reader"]), seeds["invariant reader"]), public["learning"])
    adversaries = {
        KEY_HOLDER: decode(model, unlock(judged_shares)),
        "guesser": decode(model, guess(judged_shares, seeds["guesser"])),
        "partial code": decode(model, partial_code(published_true, params.adversaries.known_fraction, public_codes[public_codes != 0], seeds["partial code"])),
        "learning adversary": learner.run(published_true),
        "averaging": average_decoding(model, judged_shares),
        "invariant reader": invariant.run(judged_shares.codes[:, 0]),
    }
    classifier = DecoyClassifier(params.seed).fit(share(encode(model, public["classifier"]), params.codes, scheme, seeds["classifier"]))
    picks = classifier.pick(shared)
    return SchemeOutcome(
        reconstructions={name: pixels(faces) for name, faces in adversaries.items()},
        decoy_classifier={"true_code_picked": rate(picks == shared.index), "chance": 1 / params.codes},
        linkability_auc=code_similarity_auc(shared.codes[np.arange(len(codes)), picks], *links),
        invariant_linkability_auc=code_similarity_auc(invariant_features(shared.codes[:, 0]), *links),
    )


def share_bytes(codes: int, k: int, code_size: int) -> int:
    """Bytes of ``codes`` k-sparse codes stored as compactly as their entries allow: per nonzero, its
    position (the fewest whole bytes that index ``code_size``) and its value as float16."""
    return codes * k * (-(-int(np.ceil(np.log2(code_size))) // 8) + 2)


def codec_at_bytes(faces: np.ndarray, budget: int, codec: str) -> tuple[np.ndarray, float]:
    """Each uint8 grey face (N, S, S, 1) through ``codec`` (JPEG or WEBP) at the highest quality whose file fits
    ``budget`` bytes (the lowest quality where none fits), decoded back; and the mean file size."""
    decoded, sizes = [], []
    for face in faces:
        image = Image.fromarray(face[..., 0])
        for level in range(100, 0, -1):
            buffer = io.BytesIO()
            image.save(buffer, format=codec, quality=level)
            if buffer.tell() <= budget:
                break
        sizes.append(buffer.tell())
        decoded.append(np.asarray(Image.open(buffer).convert("L"))[..., None])
    return np.stack(decoded), float(np.mean(sizes))


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
