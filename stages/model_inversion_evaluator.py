"""Stage model_inversion_evaluator: the evaluation model the attack never queries, FaceNet features with a linear
classifier trained on the victim's training faces; its own validation and test accuracy."""

import sys
import time
from pathlib import Path

from faceleak.io import write_json, write_npz
from faceleak.models.facenet import load_facenet
from faceleak.stage import note_timing, start
from faceleak.systems.model_inversion.params import load_model_inversion_params
from faceleak.systems.model_inversion.steps import FaceSet, LinearProbe, facenet_features

name = sys.argv[1]
params = start(load_model_inversion_params)
face_set = FaceSet.load(f"data/mi/{name}/faces.npz")
started = time.perf_counter()
features = facenet_features(load_facenet(Path("models/facenet.pt"), params.weights.engine), face_set.faces)
train = face_set.split == "train"
probe = LinearProbe.fit(features[train], face_set.labels[train])
accuracy = {f"{part}_accuracy": probe.accuracy(features[face_set.split == part], face_set.labels[face_set.split == part]) for part in ("val", "test")}
write_npz(f"data/mi/{name}/evaluator.npz", features=features, coef=probe.coef, intercept=probe.intercept)
write_json(f"metrics/mi_evaluator_{name}.json", {"model": "FaceNet (CASIA-WebFace) + logistic regression", **accuracy})
note_timing(compute_seconds=time.perf_counter() - started, images=len(features))
