"""The spine's results page: embedding-leakage inversion on MFR2 (closed set), from ``metrics/`` alone."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from faceleak.report import HeadlineRow, cell, figure, flat_rate_cell, integer, load, number, page, rate_cell, section, table

PAGE = "spine.md"
SYSTEM = "spine"
READS = ("mask_filter.json", "embed.json", "train.json", "evaluate.json", "sweep_table.json", "sweep/")
_SWEEP_KEY = re.compile(r"^(?P<strategy>.+)_leak(?P<percent>\d+)_")
_HEADER = (
    "leakage", "hidden dims chosen by", "MSE", "PSNR (dB)", "SSIM", "LPIPS", "FID", "FID (FaceNet feat.)",
    "cosine", "mAP@1", "mAP@1 (source excluded)",
)
_REFERENCE_HEADER = ("source", "faces scored", "leakage", "hidden dims chosen by", "mAP@1", "cosine")
# The reference's published figures, fixed facts and not metrics: rows under _REFERENCE_HEADER.
REFERENCE_LEAKAGE = 0.3
REFERENCE_ROWS = (
    ("reference (published claim)", "71 MFR2 images", f"{REFERENCE_LEAKAGE:g}", "", "1.0 (100%)", ""),
    ("reference (published claim)", "", "", "low_variance", "", "8% drop"),
)


def _quality_row(run: dict[str, Any]) -> list[str]:
    """One run's figures, as the README's sweep table shows them."""
    return [
        f"{run['leakage']:g}",
        run["strategy"],
        cell(run, "mse", lambda v: number(v, 4)),
        cell(run, "psnr_db", lambda v: number(v, 2)),
        cell(run, "ssim", number),
        cell(run, "lpips", number),
        cell(run, "fid", number),
        cell(run, "fid_facenet", number),
        cell(run, "cosine_mean", number),
        flat_rate_cell(run, "map_at_1"),
        flat_rate_cell(run, "map_at_1_other_images"),
    ]


def sweep_cells(metrics: Path) -> list[dict[str, Any]]:
    """The sweep's cells (``metrics/sweep/<leakage>_<strategy>.json``) in ``sweep_table.json``'s order."""
    cells: list[tuple[float, str]] = []
    for key in load(metrics, "sweep_table.json"):
        match = _SWEEP_KEY.match(key)
        cell_id = (int(match["percent"]) / 100, match["strategy"])
        if cell_id not in cells:
            cells.append(cell_id)
    return [load(metrics, f"sweep/{leakage:g}_{strategy}.json") for leakage, strategy in cells]


CLASSIFIER_NAMES = {
    "synthetic": "ConvNeXt trained on synthetic masks (grey)",
    "cross_fit": "ConvNeXt cross-fitted on MFR2 (colour)",
    "ensemble": "mean of the two",
    "cross_fit_grey": "ConvNeXt cross-fitted on MFR2, in grey (what colour adds)",
    "hub": "hub model",
}


def _mask_filter(metrics: Path) -> str:
    masks = load(metrics, "mask_filter.json")
    training = masks["synthetic_training"]
    made = (
        f"Two ConvNeXts score every MFR2 face. One is trained on {integer(training['training_images'])} LFW faces of "
        f"{integer(training['training_people'])} people outside MFR2, each once as it is and once with a mask drawn from its MTCNN landmarks "
        f"({', '.join(f'{kind} {count}' for kind, count in training['mask_kinds'].items())} over training and validation people), in "
        f"{number(training['training_seconds'], 0)} s on this machine; it never sees an MFR2 face while training, and is right on "
        f"{rate_cell(training['validation'])} of {integer(training['validation_people'])} held-out LFW people's faces with synthetic masks. "
        "The other is cross-fitted on MFR2's own labels (identity-grouped folds). The filter in use is "
        f"**{CLASSIFIER_NAMES.get(masks['filter'], masks['filter'])}**; accuracy at P(unmasked) 0.5, the rest at the threshold {masks['threshold']:g}, "
        f"on all {integer(masks['faces_scored'])} MFR2 faces."
    )
    rows = [
        (CLASSIFIER_NAMES[name], flat_rate_cell(figures, "accuracy"), flat_rate_cell(figures, "precision_unmasked"), flat_rate_cell(figures, "recall_unmasked"), integer(figures["faces_kept"]), integer(figures["masked_faces_kept"]))
        for name, figures in masks["classifiers"].items()
    ]
    sweep = table(
        ("threshold", "accuracy", "faces kept", "masked faces kept", 'recall of "unmasked"'),
        [(f"{row['threshold']:g}", rate_cell(row["accuracy"]), integer(row["faces_kept"]), integer(row["masked_faces_kept"]), rate_cell(row["recall_unmasked"])) for row in masks["threshold_sweep"]],
    )
    return section(
        "Mask filter",
        made,
        table(("classifier", "accuracy", 'precision of "unmasked"', 'recall of "unmasked"', "faces kept", "of them masked"), rows),
        "The filter's threshold sweep:",
        sweep,
        figure("synthetic masks: each face unmasked, then with each mask kind", "mask_synthetic_grid.png"),
        figure("MFR2 faces the filter gets wrong at its threshold (mask label, P(unmasked))", "mask_filter_errors.png"),
    )


def _data(metrics: Path) -> str:
    masks, embed, run = load(metrics, "mask_filter.json"), load(metrics, "embed.json"), load(metrics, "evaluate.json")
    rows = [
        ("MFR2 faces kept as unmasked by the mask filter", integer(masks["faces_kept"])),
        ("of them wearing a mask", integer(masks["masked_faces_kept"])),
        ("faces embedded (identities)", f"{integer(embed['faces'])} ({integer(embed['identities'])})"),
        ("split train / validation / test", f"{run['n_train']} / {run['n_val']} / {run['n_test']}"),
        ("mAP@1 gallery: templates (identities)", f"{run['gallery_size']} ({run['gallery_identities']})"),
        ("unreadable images skipped (mask filter / embed)", f"{masks['skipped_bad_images']} / {embed['skipped_bad_images']}"),
    ]
    return section("Faces", table(("figure", "value"), rows))


def _default_run(metrics: Path) -> str:
    train, run = load(metrics, "train.json"), load(metrics, "evaluate.json")
    training = table(
        ("epochs run", "best epoch", "best validation loss", "training loss at best"),
        [(train["epochs_run"], train["best_epoch"], number(train["best_val_loss"]), number(train["train_loss_at_best"]))],
    )
    scores = table((*_HEADER, "cosine sd"), [[*_quality_row(run), cell(run, "cosine_std", number)]])
    return section(
        f"Default run (leakage {run['leakage']:g}, {run['strategy']})",
        "The decoder's training (`metrics/train.json`), then the test split's scores (`metrics/evaluate.json`).",
        training,
        scores,
        figure("reconstructions", "grid.png"),
    )


def _sweep(metrics: Path) -> str:
    return section(
        "Sweep: leakage x strategy",
        "Each cell runs leak -> train -> attack -> evaluate with the same code (`metrics/sweep/`, gathered in "
        "`metrics/sweep_table.json`).",
        table(_HEADER, [_quality_row(run) for run in sweep_cells(metrics)]),
        figure("metrics vs leakage", "metrics_vs_leakage.png"),
        figure("strategies", "strategies.png"),
    )


def _beside_reference(metrics: Path) -> str:
    ours = [run for run in sweep_cells(metrics) if abs(run["leakage"] - REFERENCE_LEAKAGE) < 1e-9]
    rows = [
        (
            "faceleak (measured)", f"{run['n_test']} test faces", f"{run['leakage']:g}", run["strategy"],
            flat_rate_cell(run, "map_at_1"), cell(run, "cosine_mean", number),
        )
        for run in ours
    ]
    return section(
        "Beside the reference",
        "The reference's published figures (quoted, not measured here), then ours at its leakage, scored on "
        "held-out test faces (`metrics/sweep/`).",
        table(_REFERENCE_HEADER, [*REFERENCE_ROWS, *rows]),
    )


def render(metrics: Path) -> str:
    """The spine's page from the metrics folder ``metrics``."""
    return page(
        "Spine: embedding-leakage inversion (MFR2, closed set)",
        "How much of a face a decoder rebuilds from a leaked share of its 512-D FaceNet template. The decoder "
        "is trained on MFR2's train split and scored on the held-out test split: image quality, the cosine "
        "between the reconstruction's re-embedding and the original template, and mAP@1 (the nearest genuine "
        "template belongs to the target's identity).",
        _mask_filter(metrics),
        _data(metrics),
        _default_run(metrics),
        _beside_reference(metrics),
        _sweep(metrics),
    )


def headline_rows(metrics: Path) -> list[HeadlineRow]:
    """mAP@1 and cosine of the default run."""
    run = load(metrics, "evaluate.json")
    setting = f"leakage {run['leakage']:g} ({run['strategy']}), {run['n_test']} test faces"
    return [
        HeadlineRow(SYSTEM, PAGE, f"mAP@1, {setting}", flat_rate_cell(run, "map_at_1")),
        HeadlineRow(SYSTEM, PAGE, f"cosine of reconstruction to template, {setting}", cell(run, "cosine_mean", number)),
    ]
