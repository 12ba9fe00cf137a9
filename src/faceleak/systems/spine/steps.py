"""The embedding-inversion experiment as steps shared by the pipeline's stages and its sweep.

Data flow: kept MFR2 faces -> FaceNet templates -> leak (hide dimensions) -> decoder trained on the
train split, early-stopped on val -> reconstructions of the test split -> metrics. The split is by
image (identities may recur across splits: the closed-set spine protocol); the mAP@1 gallery holds
the genuine templates of every kept face.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from faceleak.attacks.embedding_inversion import EmbeddingInversionAttack, InversionData, TrainParams
from faceleak.data.images import read_images, to_uint8, to_unit_range
from faceleak.data.mfr2 import image_path
from faceleak.defenses.masking import DimensionMask
from faceleak.io import read_npz, write_npz
from faceleak.metrics import identity, image
from faceleak.metrics.rates import flat_rate
from faceleak.models.facenet import embed
from faceleak.systems.spine.params import EmbedParams


@dataclass
class FaceSet:
    """Kept faces with their templates: uint8 faces (N, H, W, 3), templates (N, 512), labels, split."""

    faces: np.ndarray
    templates: np.ndarray
    identities: np.ndarray
    names: np.ndarray
    split: np.ndarray

    def save(self, path: str | Path) -> None:
        write_npz(path, **vars(self))

    @classmethod
    def load(cls, path: str | Path) -> "FaceSet":
        return cls(**read_npz(path))

    def mask(self, split: str) -> np.ndarray:
        return self.split == split


def split_images(count: int, test_fraction: float, val_fraction: float, seed: int) -> np.ndarray:
    """Seeded image-level split into 'train' / 'val' / 'test' (each non-empty)."""
    n_test = max(1, round(count * test_fraction))
    n_val = max(1, round(count * val_fraction))
    if n_test + n_val >= count:
        raise ValueError(f"{count} faces cannot be split into test {test_fraction} and val {val_fraction} with training left")
    order = np.random.default_rng(seed).permutation(count)
    split = np.full(count, "train", dtype="<U5")
    split[order[:n_test]] = "test"
    split[order[n_test : n_test + n_val]] = "val"
    return split


def embed_kept_faces(
    kept: list[dict], root: Path, facenet: torch.nn.Module, params: EmbedParams, seed: int
) -> tuple[FaceSet, list[str]]:
    """Templates of the kept MFR2 faces (read at native size), faces at ``face_size``, and the split."""
    paths = [image_path(root, face["identity"], face["number"]) for face in kept]
    native, read, skipped = read_images(paths, None, params.on_bad_image)
    kept = [kept[i] for i in read]
    templates = embed(facenet, native, params.batch_size, progress=True)
    resized = torch.nn.functional.interpolate(to_unit_range(native), size=params.face_size, mode="area")
    faces = FaceSet(
        faces=to_uint8(resized),
        templates=templates,
        identities=np.array([face["identity"] for face in kept]),
        names=np.array([paths[i].name for i in read]),
        split=split_images(len(kept), params.test_fraction, params.val_fraction, seed),
    )
    return faces, skipped


def leak(faces: FaceSet, leakage: float, strategy: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Leaked templates of every face and the leaked dimensions; variances come from the train split."""
    mask = DimensionMask(leakage, strategy, seed).fit(faces.templates[faces.mask("train")])
    return mask.transform(faces.templates), mask.leaked_dimensions_


def _inversion_data(faces: FaceSet, leaked: np.ndarray, split: str) -> InversionData:
    rows = faces.mask(split)
    return InversionData.from_arrays(leaked[rows], faces.templates[rows], to_unit_range(faces.faces[rows]))


def train_attack(
    faces: FaceSet, leaked: np.ndarray, params: TrainParams, seed: int, facenet: torch.nn.Module | None
) -> tuple[EmbeddingInversionAttack, dict[str, float]]:
    """Fit the decoder on the train split (early stopping on val); returns it and training figures."""
    attack = EmbeddingInversionAttack(params, faces.faces.shape[1], seed, facenet)
    attack.fit(_inversion_data(faces, leaked, "train"), _inversion_data(faces, leaked, "val"))
    history = attack.history_
    summary = {
        "epochs_run": len(history.val_loss),
        "best_epoch": history.best_epoch + 1,
        "best_val_loss": min(history.val_loss),
        "train_loss_at_best": history.train_loss[history.best_epoch],
    }
    return attack, summary


def reconstruct(attack: EmbeddingInversionAttack, faces: FaceSet, leaked: np.ndarray) -> np.ndarray:
    """uint8 reconstructions of the test split's leaked templates."""
    return to_uint8(attack.run(leaked[faces.mask("test")]))


def score(faces: FaceSet, reconstructions: np.ndarray, facenet: torch.nn.Module) -> dict[str, float | int | None]:
    """Image and identity metrics of test reconstructions against the originals."""
    test = faces.mask("test")
    originals, templates, identities = faces.faces[test], faces.templates[test], faces.identities[test]
    reembedded = embed(facenet, reconstructions)
    cosine = identity.cosine_similarity(reembedded, templates)
    source = faces.names[test][:, None] == faces.names[None, :]
    map_any, _ = identity.map_at_1(reembedded, identities, faces.templates, faces.identities)
    map_other, answerable = identity.map_at_1(reembedded, identities, faces.templates, faces.identities, source)
    lpips_values, _ = image.lpips_distance(originals, reconstructions)
    fid, _ = image.inception_fid(originals, reconstructions)
    return {
        "n_train": int(faces.mask("train").sum()),
        "n_val": int(faces.mask("val").sum()),
        "n_test": int(test.sum()),
        "gallery_size": len(faces.templates),
        "gallery_identities": len(set(faces.identities)),
        "mse": float(image.mse(originals, reconstructions).mean()),
        "psnr_db": float(image.psnr_db(originals, reconstructions).mean()),
        "ssim": float(image.ssim(originals, reconstructions).mean()),
        "lpips": None if lpips_values is None else float(lpips_values.mean()),
        "fid": fid,
        "fid_facenet": image.frechet_distance(templates, reembedded),
        "cosine_mean": float(cosine.mean()),
        "cosine_std": float(cosine.std()),
        **flat_rate("map_at_1", map_any, int(test.sum())),
        **flat_rate("map_at_1_other_images", map_other, answerable),
    }
