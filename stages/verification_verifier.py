"""Stage verification_verifier: the project's from-scratch verifier (FaceResNet, CosFace, augmentation) trained
on the LFW people outside the pairs of one test split (View 1 test, or half of View 2's folds)."""

import sys
import time
from pathlib import Path

from faceleak.data import lfw
from faceleak.data.splits import identity_split
from faceleak.data.table import FaceTable
from faceleak.io import write_json
from faceleak.models.recognizers import verification_model
from faceleak.models.verifiers import save_verifier
from faceleak.plots import write_history_csv
from faceleak.stage import note_timing, start
from faceleak.systems.verification.params import load_verification_params
from faceleak.systems.verification.steps import PairSet, excluded_people, train_verifier, training_people

split = sys.argv[1]
params = start(load_verification_params)
table = FaceTable.load("data/lfw/faces.npz")
view1_test = FaceTable.load("data/verification/view1_test.npz")
view2 = PairSet.of(table, lfw.read_pairs(Path("data/raw/lfw_pairs") / lfw.PAIRS_FILE, params.lfw.folds, params.lfw.pairs_per_fold))
excluded = excluded_people(split, set(view1_test.people), table, view2)
rows = training_people(table, excluded, params.verifier.min_images)
val = identity_split(table.people[rows], params.verifier.val_fraction, params.seed)
started = time.perf_counter()
model, config, history, counts = train_verifier(table, rows, val, params.verifier, params.seed)
train_seconds = time.perf_counter() - started
save_verifier(model, config, verification_model(Path("models"), f"verifier_{split}"))
write_json(
    f"metrics/verification_verifier_{split}.json",
    {"split": split, "excluded_people": len(excluded), **counts, "epochs_run": len(history.val_loss), "best_epoch": history.best_epoch + 1,
     "best_val_auc": 1.0 - min(history.val_loss), "train_minutes": train_seconds / 60, "engine": params.verifier.engine},
)
write_history_csv(f"plots/verification_verifier_{split}_loss.csv", history)
note_timing(compute_seconds=train_seconds)
