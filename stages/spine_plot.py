"""Stage spine_plot: reconstruction grid across leakages, metric-vs-leakage curves, strategy comparison."""

from pathlib import Path

from faceleak.io import read_npz
from faceleak.plots import metric_curves, reconstruction_grid, strategy_bars
from faceleak.stage import start
from faceleak.systems.spine.params import load_spine_params
from faceleak.systems.spine.steps import FaceSet
from faceleak.systems.spine.sweep import cell_name, gather

GRID_ROWS = 8
params = start(load_spine_params)
rows = gather(Path("metrics/sweep"), params.sweep.leakages, params.sweep.strategies)
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
