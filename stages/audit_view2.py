"""Stage audit_view2: the audited recognizer's templates of every LFW face (its store), and it on LFW View 2 (10-fold accuracy, AUC, EER, TAR and distance thresholds
at each FMR), refused below audit.min_view2_accuracy; an ONNX model's onnxruntime and PyTorch paths compared on real faces."""

import time
from pathlib import Path

import numpy as np

from faceleak.data import lfw
from faceleak.data.table import FaceTable
from faceleak.io import write_json, write_npz
from faceleak.models.onnx_recognizer import OnnxRecognizer
from faceleak.models.recognizers import load_recognizer
from faceleak.plots import roc_curves, write_csv
from faceleak.stage import note_timing, start
from faceleak.systems.audit.params import load_audit_params
from faceleak.systems.audit.steps import check_separates, view2_figures
from faceleak.systems.verification.steps import PairSet

params = start(load_audit_params)
table = FaceTable.load("data/lfw/faces.npz")
pairs = PairSet.of(table, lfw.read_pairs(Path("data/raw/lfw_pairs") / lfw.PAIRS_FILE, params.cloak.lfw.folds, params.cloak.lfw.pairs_per_fold))
recognizer = load_recognizer(params.recognizer, Path("models"), params.cloak.weights.engine)
started = time.perf_counter()
templates = recognizer.embed(table.faces, progress=True)
speed = len(templates) / (time.perf_counter() - started)
figures, points = view2_figures(recognizer, templates, pairs, params.fmrs)
check_separates(recognizer, figures["accuracy"], params.min_view2_accuracy)
write_npz("data/audit/templates.npz", names=table.names, templates=templates)  # one store of its templates: every LFW face
used = np.unique(np.concatenate([pairs.first, pairs.second]))
onnx = isinstance(recognizer, OnnxRecognizer)
described = recognizer.describe() | ({"file": str(recognizer.spec.path), "sha256": recognizer.spec.sha256, "runtime": "onnxruntime"} if onnx else {"runtime": "PyTorch / dlib"})
write_json("metrics/audit_view2.json", {
    "recognizer": described,
    "faces_per_second": speed,
    "onnx_torch_max_difference": recognizer.agreement(table.faces[used[: params.agreement_faces]]) if onnx else None,
    "agreement_faces": min(params.agreement_faces, len(used)) if onnx else 0,
    "recognizers": {recognizer.name: {"view2": figures}},
})
write_csv("plots/audit_roc.csv", points)
roc_curves("plots/audit_roc.png", points)
note_timing(compute_seconds=time.perf_counter() - started, faces=len(templates), faces_per_second=speed)
