"""Figures (PNG) and the CSV data behind ``dvc plots``; every file is written atomically."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from faceleak.io import atomic_path  # noqa: E402
from faceleak.training import FitHistory  # noqa: E402


X_LABELS = {"leakage": "leakage (fraction of dimensions)", "queries": "queries to the victim per target"}


def write_csv(path: str | Path, rows: Sequence[dict]) -> None:
    """Write dict rows (same keys) as CSV."""
    with atomic_path(path) as temporary, temporary.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_history_csv(path: str | Path, history: FitHistory) -> None:
    """Per-epoch train and validation loss."""
    rows = [{"epoch": i + 1, "train_loss": t, "val_loss": v} for i, (t, v) in enumerate(zip(history.train_loss, history.val_loss))]
    write_csv(path, rows)


def _save(figure: plt.Figure, path: str | Path) -> None:
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)


def reconstruction_grid(path: str | Path, originals: np.ndarray, columns: dict[str, np.ndarray], row_labels: Sequence[str]) -> None:
    """One row per face: the original, then one reconstruction per column label (uint8, RGB or grey (H, W, 1))."""
    titles = ["original", *columns]
    rows = len(originals)
    figure, axes = plt.subplots(rows, len(titles), figsize=(1.6 * len(titles), 1.7 * rows), squeeze=False)
    for r in range(rows):
        for c, images in enumerate([originals, *columns.values()]):
            axes[r, c].imshow(images[r].squeeze(-1) if images[r].shape[-1] == 1 else images[r], cmap="gray", vmin=0, vmax=255)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(titles[c], fontsize=8)
        axes[r, 0].set_ylabel(row_labels[r], fontsize=6)
    _save(figure, path)


def face_tiles(path: str | Path, faces: np.ndarray, titles: Sequence[str], columns: int = 8) -> None:
    """Grey faces (uint8, (N, H, W, 1)) ``columns`` to a row, each under its title; one blank tile when there is none."""
    rows = max(1, -(-len(faces) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(1.5 * columns, 1.75 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, face, title in zip(axes.flat, faces, titles):
        axis.imshow(face.squeeze(-1), cmap="gray", vmin=0, vmax=255)
        axis.set_title(title, fontsize=6)
    _save(figure, path)


def metric_curves(path: str | Path, rows: Sequence[dict], metrics: Sequence[str], group: str = "strategy", x: str = "leakage") -> None:
    """Each metric against ``x`` (leakage, or queries), one line per value of ``group`` (the strategy, the protocol, the defense);
    where every point of a line has its 95% interval (a ``<metric>_ci95`` pair), a shaded band shows it."""
    strategies = sorted({row[group] for row in rows})
    figure, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 3.2), squeeze=False)
    for axis, metric in zip(axes[0], metrics):
        for strategy in strategies:
            points = sorted(((row[x], row[metric], row.get(f"{metric}_ci95")) for row in rows if row[group] == strategy and row[metric] is not None), key=lambda point: point[:2])
            if points:
                xs, ys, intervals = zip(*points)
                (line,) = axis.plot(xs, ys, marker="o", label=strategy)
                if all(interval is not None for interval in intervals):
                    axis.fill_between(xs, [low for low, _ in intervals], [high for _, high in intervals], color=line.get_color(), alpha=0.15, linewidth=0)
        axis.set_xlabel(X_LABELS.get(x, x))
        axis.set_title(metric)
        axis.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    _save(figure, path)


def strategy_bars(path: str | Path, rows: Sequence[dict], metric: str) -> None:
    """Grouped bars of ``metric``: one group per leakage, one bar per strategy."""
    leakages = sorted({row["leakage"] for row in rows})
    strategies = sorted({row["strategy"] for row in rows})
    width = 0.8 / len(strategies)
    figure, axis = plt.subplots(figsize=(5.5, 3.4))
    for i, strategy in enumerate(strategies):
        values = [next((r[metric] for r in rows if r["leakage"] == lk and r["strategy"] == strategy), np.nan) for lk in leakages]
        axis.bar(np.arange(len(leakages)) + i * width, values, width, label=strategy)
    axis.set_xticks(np.arange(len(leakages)) + width * (len(strategies) - 1) / 2, [f"{lk:g}" for lk in leakages])
    axis.set_xlabel("leakage")
    axis.set_ylabel(metric)
    axis.legend(fontsize=8)
    axis.grid(axis="y", alpha=0.3)
    _save(figure, path)


def privacy_utility(path: str | Path, rows: Sequence[dict], privacy: Sequence[str]) -> None:
    """Per privacy metric, attack success against View 2 accuracy: one line per defense, points labelled
    by their setting; the unprotected system is the star."""
    figure, axes = plt.subplots(1, len(privacy), figsize=(5.2 * len(privacy), 4.2), squeeze=False)
    for axis, metric in zip(axes[0], privacy):
        for defense in dict.fromkeys(row["defense"] for row in rows):
            points = [row for row in rows if row["defense"] == defense]
            if defense == "none":
                axis.scatter([p["view2_accuracy"] for p in points], [p[metric] for p in points], marker="*", s=160, color="black", label="none", zorder=3)
                continue
            line = axis.plot([p["view2_accuracy"] for p in points], [p[metric] for p in points], marker="o", label=defense)[0]
            for p in points:
                axis.annotate(f"{p['setting']:g}", (p["view2_accuracy"], p[metric]), fontsize=7, color=line.get_color(), xytext=(3, 3), textcoords="offset points")
        axis.set_xlabel("LFW View 2 accuracy with protected templates (utility)")
        axis.set_ylabel(metric)
        axis.set_title(metric.replace("_", " "), fontsize=9)
        axis.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    _save(figure, path)


def roc_curves(path: str | Path, rows: Sequence[dict], group: str = "recognizer", panel: str = "protocol") -> None:
    """True-accept against false-accept rate (log scale), one line per ``group``, one panel per ``panel``."""
    panels = sorted({row[panel] for row in rows})
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    for axis, name in zip(axes[0], panels):
        for member in dict.fromkeys(row[group] for row in rows):
            points = [(row["false_accept_rate"], row["true_accept_rate"]) for row in rows if row[panel] == name and row[group] == member]
            axis.plot(*zip(*points), label=member)
        axis.set_xscale("log")
        axis.set_xlim(1e-4, 1)
        axis.set_xlabel("false-accept rate")
        axis.set_ylabel("true-accept rate")
        axis.set_title(name.replace("_", " "))
        axis.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    _save(figure, path)
