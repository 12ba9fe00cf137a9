"""Stage spine_train: fit the inversion decoder on the train split's leaked templates (early stopping on val)."""

import time
from pathlib import Path

from faceleak.io import read_npz, write_json
from faceleak.models.facenet import load_facenet
from faceleak.plots import write_history_csv
from faceleak.stage import note_timing, start
from faceleak.systems.spine.params import load_spine_params
from faceleak.systems.spine.steps import FaceSet, train_attack

params = start(load_spine_params)
faces = FaceSet.load("data/processed/faces.npz")
facenet = load_facenet(Path("models/facenet.pt"), params.weights.engine) if params.train.identity_weight > 0 else None
started = time.perf_counter()
attack, summary = train_attack(faces, read_npz("data/leak/leaked.npz")["leaked"], params.train, params.seed, facenet)
attack.save("models/decoder.pt")
write_history_csv("plots/train_loss.csv", attack.history_)
write_json("metrics/train.json", summary)
note_timing(compute_seconds=time.perf_counter() - started)
