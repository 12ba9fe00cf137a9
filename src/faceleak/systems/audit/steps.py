"""The audit's steps: how well the audited recognizer tells LFW people apart (and whether it is a face
recognizer at all), whether its ONNX and PyTorch paths agree, and how the cloak system's photos fare against it."""

from __future__ import annotations

import numpy as np

from faceleak.data.table import FaceTable
from faceleak.errors import FaceleakError
from faceleak.models.recognizers import Recognizer
from faceleak.systems.verification.steps import PairSet, fmr_thresholds, pair_figures, undetected_faces


class NotAFaceRecognizer(FaceleakError, ValueError):
    """The audited model's templates do not separate LFW people."""


def view2_figures(recognizer: Recognizer, templates: np.ndarray, pairs: PairSet, fmrs: tuple[float, ...]) -> tuple[dict, list[dict]]:
    """LFW View 2 10-fold accuracy, AUC, EER, TAR at each FMR and the distance thresholds at each FMR (on the
    impostor pairs), from the recognizer's templates of the face table; with the ROC points."""
    distances = recognizer.distance(templates[pairs.first], templates[pairs.second])
    figures, points = pair_figures(distances, pairs.same, pairs.folds, fmrs)
    figures["thresholds"] = fmr_thresholds(distances[~pairs.same], fmrs)
    return figures | undetected_faces([recognizer]), [{"recognizer": recognizer.name, "protocol": "view2", **point} for point in points]


def check_separates(recognizer: Recognizer, accuracy: float, floor: float) -> None:
    """Refuse a model whose View 2 accuracy is below ``floor`` (no face recognizer, or the wrong input settings)."""
    if accuracy < floor:
        where = getattr(getattr(recognizer, "spec", None), "path", recognizer.name)
        raise NotAFaceRecognizer(
            f"{where}: LFW View 2 accuracy {accuracy:.1%} is below audit.min_view2_accuracy {floor:.0%}: its templates do not tell people apart;"
            " check its alignment, colour, layout, mean and std in params.yaml's recognizers section (or it is not a face recognizer)"
        )


def with_templates(victims: FaceTable, name: str, templates: np.ndarray) -> FaceTable:
    """The victims' table with one more recognizer's templates of their faces."""
    return FaceTable(victims.faces, victims.names, victims.people, {**victims.arrays, name: templates})
