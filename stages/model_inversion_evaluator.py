"""Stage model_inversion_evaluator: the evaluation models the attack never queries: FaceNet features and
MobileFaceNet features, each with a linear classifier trained on the victim's training faces; their own
validation and test accuracy."""

import sys
import time
from pathlib import Path

import numpy as np

from faceleak.io import write_json, write_npz
from faceleak.metrics.rates import flat_rate_of
from faceleak.stage import note_timing, start
from faceleak.systems.model_inversion.params import load_model_inversion_params
from faceleak.systems.model_inversion.steps import EVALUATORS, FaceSet, LinearProbe, evaluator_features

MODELS = {"facenet": "FaceNet (CASIA-WebFace) + logistic regression", "mobilefacenet": "MobileFaceNet (MS1M) + logistic regression"}

name = sys.argv[1]
params = start(load_model_inversion_params)
face_set = FaceSet.load(f"data/mi/{name}/faces.npz")
train = face_set.split == "train"
started = time.perf_counter()
arrays, figures = {}, {}
for evaluator in EVALUATORS:
    features = evaluator_features(evaluator, Path("models"), params.weights.engine)(face_set.faces)
    probe = LinearProbe.fit(features[train], face_set.labels[train])
    arrays |= {f"{evaluator}_features": features, f"{evaluator}_coef": probe.coef, f"{evaluator}_intercept": probe.intercept}
    parts = {part: face_set.split == part for part in ("val", "test")}
    figures[evaluator] = {"model": MODELS[evaluator]}
    for part, rows in parts.items():
        figures[evaluator] |= flat_rate_of(f"{part}_accuracy", probe.correct(features[rows], face_set.labels[rows]))
write_npz(f"data/mi/{name}/evaluator.npz", **arrays)
write_json(f"metrics/mi_evaluator_{name}.json", figures)
note_timing(compute_seconds=time.perf_counter() - started, images=int(np.size(face_set.labels)))
