"""Stage encryption_train: the grouped top-k sparse autoencoder trained on LFW faces (identity-disjoint
train/val/test people), and the key-holder's image quality on the test people at every k."""

import numpy as np

from faceleak.data.table import FaceTable
from faceleak.io import write_json
from faceleak.models.sparse_autoencoder import SparseAutoencoder, save_sparse_autoencoder
from faceleak.plots import metric_curves, write_csv, write_history_csv
from faceleak.stage import note_timing, start
from faceleak.systems.encryption.params import load_encryption_params
from faceleak.systems.encryption.steps import SPLITS, model_faces, quality_by_k, split_rows, train_autoencoder

params = start(load_encryption_params)
table = FaceTable.load("data/lfw/faces.npz")
rows = split_rows(table.people, (params.split.val_fraction, params.split.test_fraction), params.seed)
faces = {name: model_faces(table.faces[rows[name]], params.model.image_size) for name in SPLITS}
model = SparseAutoencoder(params.model)
history, minutes = train_autoencoder(model, faces["train"], faces["val"], params)
save_sparse_autoencoder(model, "models/encryption/autoencoder.pt")
curve = quality_by_k(model, faces["test"], params.ks)
write_json(
    "metrics/encryption_train.json",
    {
        "images": {name: len(rows[name]) for name in SPLITS},
        "people": {name: len(np.unique(table.people[rows[name]])) for name in SPLITS},
        "epochs_run": len(history.train_loss),
        "best_epoch": history.best_epoch + 1,
        "train_minutes": minutes,
        "engine": params.engine,
        "best_val_bce": history.val_loss[history.best_epoch],
        "trained_k": params.model.k,
        "test_by_k": curve,
    },
)
write_history_csv("plots/encryption_loss.csv", history)
write_csv("plots/encryption_psnr_by_k.csv", curve)
metric_curves("plots/encryption_psnr_by_k.png", [{**row, "decoder": "key-holder"} for row in curve], ["psnr_db", "ssim"], group="decoder", x="k")
note_timing(train_minutes=minutes, images=len(rows["train"]))
