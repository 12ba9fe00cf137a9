"""Verification figures on distances (smaller = more alike): 10-fold accuracy, thresholds at a
false-match rate, and the success-attack rate of reconstructions at such a threshold.

A comparison is accepted when its distance is strictly below the threshold.
"""

from __future__ import annotations

import math

import numpy as np


def pair_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Euclidean distances of two (N, D) arrays."""
    return np.linalg.norm(a.astype(np.float64) - b.astype(np.float64), axis=1)


def best_threshold(distances: np.ndarray, same: np.ndarray) -> float:
    """The threshold (a midpoint between sorted distances) with the highest accuracy on these pairs."""
    values = np.unique(distances)
    candidates = np.concatenate([[values[0] - 1.0], (values[:-1] + values[1:]) / 2, [values[-1] + 1.0]])
    accepted = distances[None, :] < candidates[:, None]
    accuracy = (accepted == same[None, :]).mean(axis=1)
    return float(candidates[np.argmax(accuracy)])


def tenfold_accuracy(distances: np.ndarray, same: np.ndarray, folds: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation over folds of the accuracy with the threshold fit on the other folds."""
    scores = []
    for fold in np.unique(folds):
        test = folds == fold
        threshold = best_threshold(distances[~test], same[~test])
        scores.append(float(((distances[test] < threshold) == same[test]).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def threshold_at_fmr(impostor_distances: np.ndarray, fmr: float) -> tuple[float, float]:
    """The largest threshold accepting at most ``fmr`` of the impostor comparisons, and the rate it gets.

    With n impostor distances it accepts at most floor(fmr x n) of them, so the rate can only be set
    to 1/n: 3,000 View 2 impostor pairs give 3 false matches at FMR 1e-3.
    """
    if not 0 < fmr < 1:
        raise ValueError(f"false-match rate must be in (0, 1), got {fmr}")
    ordered = np.sort(impostor_distances)
    allowed = math.floor(fmr * len(ordered) + 1e-9)
    threshold = float(ordered[allowed]) if allowed < len(ordered) else float(ordered[-1]) + 1.0
    return threshold, float((impostor_distances < threshold).mean())


def success_attack_rate(distances: np.ndarray, threshold: float) -> float | None:
    """Share of attack comparisons accepted at ``threshold``; None when there are none."""
    return float((distances < threshold).mean()) if len(distances) else None


def decision_figures(distances: np.ndarray, same: np.ndarray, threshold: float) -> dict[str, float | int]:
    """Accuracy, precision, recall and F1 of calling a pair a match when its distance is below ``threshold``."""
    predicted = distances < threshold
    true_positives = int((predicted & same).sum())
    precision = true_positives / predicted.sum() if predicted.any() else 0.0
    recall = true_positives / same.sum() if same.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "threshold": float(threshold),
        "pairs": len(distances),
        "accuracy": float((predicted == same).mean()),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
    }


def roc_figures(distances: np.ndarray, same: np.ndarray, fars: tuple[float, ...]) -> tuple[dict[str, float], list[dict[str, float]]]:
    """AUC, equal error rate and the true-accept rate at each false-accept rate, and the ROC points.

    TAR at FAR f accepts at most floor(f x impostors) impostor pairs (as :func:`threshold_at_fmr`).
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    false_accept, true_accept, _ = roc_curve(same, -distances)
    miss = 1.0 - true_accept
    crossing = int(np.argmin(np.abs(false_accept - miss)))
    figures = {"auc": float(roc_auc_score(same, -distances)), "eer": float((false_accept[crossing] + miss[crossing]) / 2)}
    for far in fars:
        threshold, _ = threshold_at_fmr(distances[~same], far)
        figures[f"tar_at_far_{far:g}"] = float((distances[same] < threshold).mean())
    points = [{"false_accept_rate": float(f), "true_accept_rate": float(t)} for f, t in zip(false_accept, true_accept)]
    return figures, points
