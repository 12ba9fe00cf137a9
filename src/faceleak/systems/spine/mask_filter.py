"""Mask filter: score MFR2 faces with a ConvNeXt mask classifier and keep the confident unmasked ones."""

from __future__ import annotations

import numpy as np

from faceleak.data.images import read_images
from faceleak.data.mfr2 import MFR2Face
from faceleak.metrics.rates import flat_rate_of
from faceleak.models.mask_classifier import cross_fit_unmasked_probability, pretrained_unmasked_probability
from faceleak.systems.spine.params import MaskFilterParams


def filter_metrics(p_unmasked: np.ndarray, truly_masked: np.ndarray, threshold: float) -> dict[str, object]:
    """Accuracy (at 0.5) and precision/recall of keeping truly unmasked faces (at ``threshold``), each
    with its count and 95% interval (null when nothing was kept or nothing is unmasked)."""
    kept = p_unmasked >= threshold
    truly_unmasked = ~truly_masked
    outcomes = {"accuracy": (p_unmasked >= 0.5) == truly_unmasked, "precision_unmasked": truly_unmasked[kept], "recall_unmasked": kept[truly_unmasked]}
    figures: dict[str, object] = {}
    for name, outcome in outcomes.items():
        figures |= flat_rate_of(name, outcome)
    return figures | {
        "faces_scored": int(len(p_unmasked)),
        "faces_kept": int(kept.sum()),
        "masked_faces_kept": int((kept & truly_masked).sum()),
    }


def filter_faces(
    faces: list[MFR2Face], params: MaskFilterParams, on_bad_image: str, seed: int
) -> tuple[list[dict], dict[str, float | int]]:
    """Per-face decisions (identity, number, mask type, P(unmasked), kept) and the filter's metrics."""
    size = None if params.model else params.image_size
    images, read, skipped = read_images([face.path for face in faces], size, on_bad_image)
    faces = [faces[i] for i in read]
    masked = np.array([face.masked for face in faces])
    if params.model:
        p_unmasked = pretrained_unmasked_probability(params.model, images)
    else:
        identities = np.array([face.identity for face in faces])
        p_unmasked = cross_fit_unmasked_probability(
            images, masked, identities, params.folds, params.epochs, params.batch_size, params.learning_rate, seed
        )
    decisions = [
        {"identity": f.identity, "number": f.number, "mask_type": f.mask_type, "p_unmasked": float(p), "kept": bool(p >= params.threshold)}
        for f, p in zip(faces, p_unmasked)
    ]
    return decisions, filter_metrics(p_unmasked, masked, params.threshold) | {"skipped_bad_images": len(skipped)}
