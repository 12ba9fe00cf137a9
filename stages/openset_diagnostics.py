"""Stage openset_diagnostics: what limits the template-inversion attack, judged exactly as the attack is.

- the ceiling: the victims' own photos brought down to the decoder's output size (and the protocol's
  channels), so no decoder of that size can do better;
- the retrieval baseline: for each leaked template, at every leakage of ``openset.leakages``, the public
  (attacker's) LFW face whose template is nearest; a decoder that loses to this lookup is not drawing faces.
Both with every judge's SAR (type I and II), mAP@1, their counts and 95% intervals, and how many faces a
judge with its own landmark detection could not align."""

import time
from pathlib import Path

import numpy as np

from faceleak.data.table import FaceTable
from faceleak.io import read_json, read_npz, write_json
from faceleak.plots import reconstruction_grid
from faceleak.stage import note_timing, start
from faceleak.systems.openset.params import load_openset_params
from faceleak.systems.openset.steps import STORE, ceiling_figures, degraded_victims, leakage_curve, load_judges, retrieval_inverter, thresholds_from

GRID_ROWS = 8
params = start(load_openset_params)
victims = FaceTable.load("data/openset/victims.npz")
table = FaceTable.load("data/lfw/faces.npz")
public = table.arrays["attacker"]
templates = read_npz(STORE)["templates"]
thresholds = thresholds_from(read_json("metrics/recognizers.json"), params.openset.judges)
judges = load_judges(params.openset.judges, Path("models"), params.weights.engine)
started = time.perf_counter()
ceiling = ceiling_figures(victims, params.openset.face_size, judges, thresholds)
invert = retrieval_inverter(table.faces[public], templates[public])
rows, faces = leakage_curve(invert, victims, np.arange(len(victims.names)), templates, params.openset.leakages, judges, thresholds, params.seed, params.openset.attacked)
seconds = time.perf_counter() - started
write_json(
    "metrics/openset_diagnostics.json",
    {
        "victims": len(victims.names),
        "public_faces": int(public.sum()),
        "ceiling": ceiling,
        "retrieval": {f"{row['leakage']:g}": row for row in rows},
    },
)
shown = [params.openset.leakages[0], params.openset.leakages[len(params.openset.leakages) // 2], params.openset.leakages[-1]]
reconstruction_grid(
    "plots/openset_retrieval_grid.png",
    degraded_victims(victims.faces[:GRID_ROWS], params.openset.face_size),
    {f"nearest public, leak {lk:g}": faces[lk][:GRID_ROWS] for lk in shown},
    list(victims.names[:GRID_ROWS]),
)
note_timing(compute_seconds=seconds)
