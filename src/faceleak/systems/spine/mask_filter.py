"""Mask filter: score MFR2 faces with a ConvNeXt mask classifier and keep the confident unmasked ones.

Two offline ConvNeXts score every face: one trained on synthetic masks of LFW people outside MFR2 (it never sees
an MFR2 face while training; it scores in grey, as its training data is), and one cross-fitted on MFR2 itself by
identity-grouped folds (in colour). The filter is either, or the mean of their P(unmasked) (``source``), or a hub
model when ``mask_filter.model`` names one; every classifier's figures are reported, with the cross-fitted
ConvNeXt also run in grey (what colour adds, since the synthetic data is grey)."""

from __future__ import annotations

import time

import numpy as np
from transformers import ConvNextForImageClassification

from faceleak.data.images import read_images, to_channels, to_unit_range
from faceleak.data.mfr2 import UNMASKED_LABEL, MFR2Face
from faceleak.metrics.rates import flat_rate_of, rate
from faceleak.models.mask_classifier import (
    UNMASKED,
    camera_views,
    cross_fit_unmasked_probability,
    pretrained_unmasked_probability,
    train_classifier,
    unmasked_probability,
)
from faceleak.systems.spine.params import MaskFilterParams

SWEEP = (0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99)  # thresholds on P(unmasked) the metrics report


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


def threshold_sweep(p_unmasked: np.ndarray, truly_masked: np.ndarray) -> list[dict[str, object]]:
    """Per threshold of :data:`SWEEP`: the decisions' accuracy, faces kept, masked faces kept and recall of unmasked."""
    rows = []
    for threshold in SWEEP:
        kept = p_unmasked >= threshold
        rows.append({
            "threshold": threshold,
            "accuracy": rate(kept == ~truly_masked),
            "faces_kept": int(kept.sum()),
            "masked_faces_kept": int((kept & truly_masked).sum()),
            "recall_unmasked": rate(kept[~truly_masked]),
        })
    return rows


def train_on_synthetic(data: dict[str, np.ndarray], params: MaskFilterParams, seed: int) -> tuple[ConvNextForImageClassification, dict[str, object]]:
    """The ConvNeXt trained on the synthetic training people (camera-like augmentation), its accuracy on the
    held-out synthetic people, the data's size and the training seconds."""
    synthetic, train, val = params.synthetic, ~data["val"], data["val"]
    started = time.perf_counter()
    model = train_classifier(
        data["images"][train], data["masked"][train].astype(np.int64), synthetic.epochs, synthetic.batch_size, synthetic.learning_rate, seed, camera_views, "mask classifier (synthetic masks)"
    )
    seconds = time.perf_counter() - started
    held_out = unmasked_probability(model, to_unit_range(data["images"][val]), UNMASKED)
    kinds, counts = np.unique(data["kinds"][data["masked"]], return_counts=True)
    return model, {
        "training_images": int(train.sum()),
        "training_people": int(len(np.unique(data["people"][train]))),
        "validation_people": int(len(np.unique(data["people"][val]))),
        "mask_kinds": {str(kind): int(count) for kind, count in zip(kinds, counts)},
        "validation": rate((held_out >= 0.5) == ~data["masked"][val]),
        "training_seconds": seconds,
    }


def filter_faces(
    faces: list[MFR2Face], synthetic: dict[str, np.ndarray], params: MaskFilterParams, on_bad_image: str, seed: int
) -> tuple[list[dict], dict[str, object], np.ndarray]:
    """Per-face decisions (identity, number, mask type, P(unmasked), kept) by the filter ``params.source`` names,
    its metrics with every classifier's row and the threshold sweep, and the faces read (uint8, grey)."""
    images, read, skipped = read_images([face.path for face in faces], params.image_size, on_bad_image)
    faces = [faces[i] for i in read]
    masked = np.array([face.masked for face in faces])
    grey = to_channels(images, 1)
    identities = np.array([face.identity for face in faces])
    model, training = train_on_synthetic(synthetic, params, seed)
    scores = {
        "synthetic": unmasked_probability(model, to_unit_range(grey), UNMASKED),
        "cross_fit": cross_fit_unmasked_probability(images, masked, identities, params.folds, params.epochs, params.batch_size, params.learning_rate, seed),
    }
    scores["ensemble"] = (scores["synthetic"] + scores["cross_fit"]) / 2
    scores["cross_fit_grey"] = cross_fit_unmasked_probability(grey, masked, identities, params.folds, params.epochs, params.batch_size, params.learning_rate, seed)  # what colour adds
    if params.model:
        full_size = read_images([face.path for face in faces], None, on_bad_image)[0]
        scores["hub"] = pretrained_unmasked_probability(params.model, full_size)
    chosen = "hub" if params.model else params.source
    p_unmasked = scores[chosen]
    decisions = [
        {"identity": f.identity, "number": f.number, "mask_type": f.mask_type, "p_unmasked": float(p), "kept": bool(p >= params.threshold)}
        for f, p in zip(faces, p_unmasked)
    ]
    metrics = filter_metrics(p_unmasked, masked, params.threshold) | {
        "filter": params.model or chosen,
        "threshold": params.threshold,
        "threshold_sweep": threshold_sweep(p_unmasked, masked),
        "classifiers": {name: filter_metrics(values, masked, params.threshold) for name, values in scores.items()},
        "synthetic_training": training,
        "skipped_bad_images": len(skipped),
    }
    return decisions, metrics, grey


def mistakes(decisions: list[dict]) -> tuple[list[int], list[str]]:
    """The faces the filter gets wrong at its threshold, and a title for each: its mask label and P(unmasked)."""
    wrong = [i for i, face in enumerate(decisions) if face["kept"] == (face["mask_type"] != UNMASKED_LABEL)]
    return wrong, [f"{decisions[i]['mask_type']} P={decisions[i]['p_unmasked']:.2f}" for i in wrong]
