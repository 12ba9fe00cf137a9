"""Stage verification_benchmark: every recognizer of ``verification.benchmark.recognizers`` on LFW View 1 test
and View 2 (accuracy +- std, AUC, EER, TAR at each FAR, faces per second, FMR thresholds); ROC curves.
FaceNet's and dlib's View 2 templates come from the lfw_faces and lfw_dlib stages' stores, not made again."""

import time
from pathlib import Path

import numpy as np

from faceleak.data import lfw
from faceleak.data.table import FaceTable
from faceleak.io import read_npz, write_json
from faceleak.models.recognizers import TrainedVerifier, load_recognizer, verification_model
from faceleak.plots import roc_curves, write_csv
from faceleak.stage import note_timing, start
from faceleak.systems.verification.params import load_verification_params
from faceleak.systems.verification.steps import VERIFIER_SPLITS, PairSet, benchmark, view1_pairs

params = start(load_verification_params)
view1 = FaceTable.load("data/verification/view1_test.npz")
test_pairs = PairSet.of(view1, view1_pairs(Path("data/raw/lfw_dev_test") / lfw.DEV_TEST_FILE, params.view1_pairs))
table = FaceTable.load("data/lfw/faces.npz")
view2_pairs = PairSet.of(table, lfw.read_pairs(Path("data/raw/lfw_pairs") / lfw.PAIRS_FILE, params.lfw.folds, params.lfw.pairs_per_fold))
# The verifier meets View 2 as two models, each trained without the people of the folds it judges.
held_out = {} if "verifier" not in params.benchmark.recognizers else {
    "verifier": {
        folds: TrainedVerifier("verifier", verification_model(Path("models"), f"verifier_{split}"), "")
        for split, folds in VERIFIER_SPLITS.items() if folds is not None
    }
}

dlib = read_npz("data/lfw/dlib.npz")
stored = {"facenet": table.arrays["facenet"], "dlib": np.zeros((len(table.names), dlib["dlib"].shape[1]), np.float32)}
stored["dlib"][table.rows(dlib["names"])] = dlib["dlib"]

started, results, points = time.perf_counter(), {}, []
for name in params.benchmark.recognizers:
    recognizer = load_recognizer(name, Path("models"), params.weights.engine)
    results[name], rows = benchmark(recognizer, view1, test_pairs, table, view2_pairs, params.benchmark.fars, held_out.get(name), stored.get(name))
    points += rows
write_json("metrics/verification_benchmark.json", {"view1_test_pairs": len(test_pairs.same), "view2_pairs": len(view2_pairs.same), "recognizers": results})
write_csv("plots/verification_roc.csv", points)
roc_curves("plots/verification_roc.png", points)
note_timing(compute_seconds=time.perf_counter() - started, recognizers=len(results))
