"""Stage model_inversion_victim: the SmallCNN victim of one dataset, and a second one trained with the training-time
defense (negative label smoothing); accuracy and per-person precision and recall of both."""

import sys
import time

import numpy as np

from faceleak.io import save_weights, write_json
from faceleak.stage import note_timing, start
from faceleak.systems.model_inversion.params import load_model_inversion_params
from faceleak.systems.model_inversion.steps import FaceSet, train_victim, victim_report

name = sys.argv[1]
params = start(load_model_inversion_params)
face_set = FaceSet.load(f"data/mi/{name}/faces.npz")
figures: dict = {"people": len(face_set.people), **{f"{part}_images": int(np.sum(face_set.split == part)) for part in ("train", "val", "test")}}
started = time.perf_counter()
for victim, smoothing in (("victim", params.victim.label_smoothing), ("victim_smoothed", params.defenses.training_label_smoothing)):
    model, history = train_victim(face_set, params.victim.fit, smoothing, params.seed)
    save_weights(f"models/mi/{name}/{victim}.pt", model.state_dict())
    figures[victim] = {"label_smoothing": smoothing, "epochs_run": len(history.val_loss), "best_epoch": history.best_epoch + 1} | victim_report(model, face_set)
write_json(f"metrics/mi_victim_{name}.json", figures)
note_timing(compute_seconds=time.perf_counter() - started)
