"""Stage openset_recognizers: LFW View 2 10-fold accuracy of every judge of ``openset.judges``, and its thresholds
at the false-match rates of ``openset.fmrs``, set on the View 2 different-person pairs. FaceNet's and dlib's
View 2 templates come from the lfw_faces and lfw_dlib stages and the attacked recognizer's from openset_templates; any
other judge embeds the View 2 faces here."""

from pathlib import Path

import numpy as np

from faceleak.data import lfw
from faceleak.data.table import FaceTable, rows_of
from faceleak.io import read_npz, write_json
from faceleak.metrics.verification import pair_distances
from faceleak.stage import start
from faceleak.systems.openset.params import load_openset_params
from faceleak.systems.openset.steps import STORE, load_judges, verification_figures, view2_arrays

params = start(load_openset_params)
pairs = lfw.read_pairs(Path("data/raw/lfw_pairs") / lfw.PAIRS_FILE, params.lfw.folds, params.lfw.pairs_per_fold)
first, second, same, folds, _ = view2_arrays(pairs)
table = FaceTable.load("data/lfw/faces.npz")
dlib, attacked = read_npz("data/lfw/dlib.npz"), read_npz(STORE)
templates = {"facenet": (table.arrays["facenet"], table.names), "dlib": (dlib["dlib"], dlib["names"])}
templates[params.openset.attacked] = (attacked["templates"], attacked["names"])
others = tuple(name for name in params.openset.judges if name not in templates)
names = sorted({*first, *second})
for name, judge in load_judges(others, Path("models"), params.weights.engine).items():
    templates[name] = (judge.embed(table.faces[table.rows(names)], progress=True), np.array(names))
figures = {"pairs": len(pairs), "folds": int(folds.max() + 1)}
for name in params.openset.judges:
    array, rows = templates[name]
    distances = pair_distances(array[rows_of(rows, first)], array[rows_of(rows, second)])
    figures[name] = verification_figures(distances, same, folds, params.openset.fmrs)
write_json("metrics/recognizers.json", figures)
