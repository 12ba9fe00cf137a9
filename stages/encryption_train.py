"""Stage encryption_train: the sparse autoencoder trained on LFW faces (identity-disjoint train/val/test
people) in two phases (pixels, then an identity term through the frozen surrogate), the quality-per-minute
curve on the validation people, and the key-holder's image quality on the test people at every k beside
PCA with as many components as the code keeps nonzeros."""

from pathlib import Path

import numpy as np
import torch

from faceleak.data.table import FaceTable
from faceleak.io import read_json, write_json
from faceleak.metrics.judging import view2_thresholds
from faceleak.models.facenet import load_facenet
from faceleak.models.recognizers import load_recognizer
from faceleak.models.sparse_autoencoder import new_sparse_autoencoder, save_sparse_autoencoder
from faceleak.plots import metric_curves, write_csv
from faceleak.stage import note_timing, start
from faceleak.systems.encryption.params import load_encryption_params
from faceleak.systems.encryption.steps import (
    SPLITS, PCA_KS, curve_figures, model_faces, pca_quality_by_k, quality_by_k, split_rows, train_autoencoder,
)

CURVE_FACES = 128  # validation faces judged after every epoch

params = start(load_encryption_params)
table = FaceTable.load("data/lfw/faces.npz")
rows = split_rows(table.people, (params.split.val_fraction, params.split.test_fraction), params.seed)
faces = {name: model_faces(table.faces[rows[name]], params.model.image_size) for name in SPLITS}
benchmark = read_json("metrics/verification_benchmark.json")
fmr = params.fmrs[0]
judges = {name: (load_recognizer(name, Path("models"), params.weights.engine), view2_thresholds(benchmark, name, (fmr,))[f"{fmr:g}"]) for name in params.judges}
curve_rows = np.sort(np.random.default_rng(params.seed).permutation(len(rows["val"]))[:CURVE_FACES])
curve = curve_figures(faces["val"], curve_rows, table.faces[rows["val"][curve_rows]], judges)
surrogate = load_facenet(Path("models/facenet.pt"), params.engine) if params.identity.train.epochs else None
torch.manual_seed(params.seed)
model = new_sparse_autoencoder(params.model, faces["train"])
training = train_autoencoder(model, faces, params, surrogate, curve)
save_sparse_autoencoder(model, "models/encryption/autoencoder.pt")
by_k = quality_by_k(model, faces["test"], params.ks)
pca = pca_quality_by_k(faces["train"], faces["test"], PCA_KS)
write_json(
    "metrics/encryption_train.json",
    {
        "images": {name: len(rows[name]) for name in SPLITS},
        "people": {name: len(np.unique(table.people[rows[name]])) for name in SPLITS},
        "phases": {
            phase: {"epochs_run": len(history.val_loss), "best_epoch": history.best_epoch + 1, "best_val_loss": history.val_loss[history.best_epoch]}
            for phase, history in training.histories.items()
        },
        "identity_surrogate": params.identity.recognizer if surrogate is not None else None,
        "train_minutes": training.minutes,
        "engine": params.engine,
        "trained_k": params.model.k,
        "curve_judges": list(params.judges),
        "curve_fmr": f"{fmr:g}",
        "curve_faces": CURVE_FACES,
        "test_by_k": by_k,
        "pca_by_k": pca,
        "curve": training.curve,
    },
)
write_csv("plots/encryption_curve.csv", training.curve)
metric_curves("plots/encryption_curve.png", training.curve, ["psnr_db", *(f"{name}_accepted" for name in params.judges)], group="phase", x="minutes")
rows_by_k = [{**row, "decoder": "key-holder (autoencoder)"} for row in by_k] + [{**row, "decoder": "PCA, k components"} for row in pca]
write_csv("plots/encryption_psnr_by_k.csv", rows_by_k)
metric_curves("plots/encryption_psnr_by_k.png", rows_by_k, ["psnr_db", "ssim"], group="decoder", x="k")
note_timing(train_minutes=training.minutes, images=len(rows["train"]))
