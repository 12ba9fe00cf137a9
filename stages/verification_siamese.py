"""Stage verification_siamese: the reference's ResNet18 twin trained with the contrastive loss on LFW View 1's
training pairs, tested on its test pairs at the reference's rule and at the threshold best on training."""

import time
from pathlib import Path

import torch

from faceleak.data import lfw
from faceleak.data.table import FaceTable
from faceleak.io import write_json
from faceleak.models.recognizers import verification_model
from faceleak.models.verifiers import build_verifier, save_verifier
from faceleak.plots import write_csv, write_history_csv
from faceleak.stage import note_timing, start
from faceleak.systems.verification.params import load_verification_params
from faceleak.systems.verification.steps import PairSet, judge_siamese, train_siamese, view1_pairs

params = start(load_verification_params)
tables = {part: FaceTable.load(f"data/verification/view1_{part}.npz") for part in ("train", "test")}
pairs = {
    part: PairSet.of(tables[part], view1_pairs(Path("data/raw") / folder / file, params.view1_pairs))
    for part, folder, file in (("train", "lfw_dev_train", lfw.DEV_TRAIN_FILE), ("test", "lfw_dev_test", lfw.DEV_TEST_FILE))
}
started = time.perf_counter()
model, config, history, counts = train_siamese(tables["train"], pairs["train"], params.siamese, params.seed)
train_seconds = time.perf_counter() - started
save_verifier(model, config, verification_model(Path("models"), "siamese"))


parts = [(tables[part], pairs[part]) for part in ("train", "test")]
trained, points = judge_siamese(model, config, *parts, params.siamese.threshold, params.benchmark.fars)
torch.manual_seed(params.seed)
untrained, _ = judge_siamese(build_verifier(config).eval(), config, *parts, params.siamese.threshold, params.benchmark.fars)
write_json(
    "metrics/verification_siamese.json",
    {**counts, "epochs_run": len(history.val_loss), "best_epoch": history.best_epoch + 1, "train_minutes": train_seconds / 60, "trained": trained, "untrained": untrained},
)
write_history_csv("plots/verification_siamese_loss.csv", history)
write_csv("plots/verification_siamese_roc.csv", points)
note_timing(compute_seconds=time.perf_counter() - started, train_seconds=train_seconds)
