"""Stage openset_attack: the LFW-trained decoder against the MFR2 victims at every leakage of
``openset.leakages``; SAR (type I and II) at each FMR threshold for every judge, and mAP@1."""

import time
from pathlib import Path

import numpy as np

from faceleak.data.table import FaceTable
from faceleak.io import read_json, read_npz, write_json
from faceleak.plots import reconstruction_grid, write_csv
from faceleak.report import flat_figures
from faceleak.stage import note_timing, start
from faceleak.systems.openset.params import load_openset_params
from faceleak.systems.openset.steps import STORE, decoder_inverter, degraded_victims, leakage_curve, load_judges, thresholds_from, trained_attack

GRID_ROWS = 8
params = start(load_openset_params)
victims = FaceTable.load("data/openset/victims.npz")
reference = read_npz(STORE)["templates"]
thresholds = thresholds_from(read_json("metrics/recognizers.json"), params.openset.judges)
judges = load_judges(params.openset.judges, Path("models"), params.weights.engine)
attack = trained_attack(params, reference.shape[1])
queries = np.arange(len(victims.names))
started = time.perf_counter()
rows, faces = leakage_curve(decoder_inverter(attack, victims.faces.shape[-1]), victims, queries, reference, params.openset.leakages, judges, thresholds, params.seed, params.openset.attacked)
seconds = time.perf_counter() - started
write_json(
    "metrics/openset.json",
    {"victims": len(queries), "victim_identities": len(set(victims.people)), "leakage": {f"{row['leakage']:g}": row for row in rows}},
)
write_csv("plots/openset_curve.csv", [flat_figures(row) for row in rows])
shown = sorted({params.openset.leakages[0], *params.openset.leakages[len(params.openset.leakages) // 2 :: 2], params.openset.leakages[-1]})
originals = degraded_victims(victims.faces[:GRID_ROWS], params.openset.face_size)
reconstruction_grid(
    "plots/openset_grid.png", originals, {f"leak {lk:g}": faces[lk][:GRID_ROWS] for lk in shown}, list(victims.names[:GRID_ROWS])
)
note_timing(compute_seconds=seconds, leakages=len(rows), seconds_per_leakage=seconds / len(rows))
