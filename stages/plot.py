"""Stage plot: reconstruction grid across leakages, metric-vs-leakage curves, strategy comparison."""

import csv
from pathlib import Path

from faceleak.experiment import FaceSet
from faceleak.io import read_npz
from faceleak.plots import metric_curves, reconstruction_grid, strategy_bars
from faceleak.report import cell_name
from faceleak.stage import start

GRID_ROWS = 8
params = start()
with open("plots/sweep.csv") as handle:
    rows = [{k: (v if k == "strategy" else float(v) if v else None) for k, v in row.items()} for row in csv.DictReader(handle)]
metric_curves("plots/metrics_vs_leakage.png", rows, ["cosine_mean", "map_at_1", "ssim", "mse"])
strategy_bars("plots/strategies.png", rows, "cosine_mean")
faces = FaceSet.load("data/processed/faces.npz")
test = faces.mask("test")
strategy = params.sweep.strategies[0]
columns = {
    f"leak {leakage:g}": read_npz(Path("data/sweep") / cell_name(leakage, strategy) / "reconstructions.npz")["reconstructions"][:GRID_ROWS]
    for leakage in params.sweep.leakages
}
reconstruction_grid("plots/grid.png", faces.faces[test][:GRID_ROWS], columns, list(faces.names[test][:GRID_ROWS]))
