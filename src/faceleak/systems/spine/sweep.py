"""The spine's sweep: gathering its cells into one table."""

from __future__ import annotations

from pathlib import Path

from faceleak.io import read_json

RATES = ("map_at_1", "map_at_1_other_images")  # each with its _count, _total and _ci95
TABLE_METRICS = ("mse", "psnr_db", "ssim", "lpips", "fid", "fid_facenet", "cosine_mean", *(f"{r}{part}" for r in RATES for part in ("", "_count", "_total", "_ci95")))


def cell_name(leakage: float, strategy: str) -> str:
    """The folder/file stem of one sweep cell, as dvc.yaml's matrix names it."""
    return f"{leakage:g}_{strategy}"


def gather(metrics_dir: Path, leakages: tuple[float, ...], strategies: tuple[str, ...]) -> list[dict]:
    """One row per (leakage, strategy) with the table's metrics."""
    rows = []
    for leakage in leakages:
        for strategy in strategies:
            cell = read_json(metrics_dir / f"{cell_name(leakage, strategy)}.json")
            rows.append({"leakage": leakage, "strategy": strategy} | {m: cell[m] for m in TABLE_METRICS})
    return rows


def flatten(rows: list[dict]) -> dict[str, float | None]:
    """Flat metrics keys such as ``random_leak30_map_at_1``."""
    return {
        f"{row['strategy']}_leak{round(row['leakage'] * 100)}_{metric}": row[metric]
        for row in rows
        for metric in TABLE_METRICS
    }
