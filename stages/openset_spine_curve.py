"""Stage openset_spine_curve: the spine's closed-set protocol (decoder trained on the MFR2 train split, scored
on its test split) across ``openset.leakages``, with the same SAR and mAP@1 figures as the open set."""

import time
from pathlib import Path

import numpy as np

from faceleak.data.table import FaceTable
from faceleak.io import read_json, write_json
from faceleak.plots import write_csv
from faceleak.report import flat_figures
from faceleak.stage import note_timing, start
from faceleak.systems.openset.params import load_openset_params
from faceleak.systems.openset.steps import decoder_inverter, leakage_curve, load_judges, thresholds_from, train_conditioned_attack
from faceleak.systems.spine.steps import FaceSet

params = start(load_openset_params)
faces = FaceSet.load("data/processed/faces.npz")
judges = load_judges(params.openset.judges, Path("models"), params.weights.engine)
# the spine's leaked templates are FaceNet's (spine_embed), whatever the open set attacks
templates = {"facenet": faces.templates} | {name: judge.embed(faces.faces) for name, judge in judges.items() if name != "facenet"}
victims = FaceTable(faces.faces, faces.names, faces.identities, templates)
fit = ~faces.mask("test")
started = time.perf_counter()
attack, summary = train_conditioned_attack(
    faces.templates[fit],
    faces.faces[fit],
    faces.identities[fit],
    faces.mask("val")[fit],
    params.spine.train,
    faces.faces.shape[1],
    params.openset.min_leakage,
    params.seed,
)
thresholds = thresholds_from(read_json("metrics/recognizers.json"), params.openset.judges)
queries = np.flatnonzero(faces.mask("test"))
rows, _ = leakage_curve(
    decoder_inverter(attack, victims.faces.shape[-1]), victims, queries, faces.templates[faces.mask("train")], params.openset.leakages, judges, thresholds, params.seed
)
seconds = time.perf_counter() - started
write_json("metrics/spine_curve.json", {"training": summary, "queries": len(queries), "leakage": {f"{row['leakage']:g}": row for row in rows}})
write_csv("plots/spine_curve.csv", [flat_figures(row) for row in rows])
note_timing(compute_seconds=seconds)
