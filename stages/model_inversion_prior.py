"""Stage model_inversion_prior: the attacker's autoencoder prior for each victim dataset, trained on public faces
(``prior.data: disjoint``, one prior shared by every dataset) or on each victim's training faces
(``same``); the SVM accuracy on its codes of each victim dataset."""

import time
from pathlib import Path

import numpy as np

from faceleak.io import read_npz, save_weights, write_json, write_npz
from faceleak.stage import note_timing, start
from faceleak.systems.model_inversion.params import MI_DATASETS, load_model_inversion_params
from faceleak.systems.model_inversion.steps import FaceSet, latent_statistics, svm_feature_accuracy, train_prior

params = start(load_model_inversion_params)
face_sets = {name: FaceSet.load(f"data/mi/{name}/faces.npz") for name in MI_DATASETS}
if params.prior.data == "disjoint":
    sources = {"public": (read_npz("data/mi/public_faces.npz")["faces"], list(MI_DATASETS))}
else:
    sources = {name: (face_sets[name].part("train")[0], [name]) for name in MI_DATASETS}
figures, timings = {}, {}
for source, (faces, served) in sources.items():
    if params.prior.max_images is not None and len(faces) > params.prior.max_images:
        faces = faces[np.sort(np.random.default_rng(params.seed).choice(len(faces), params.prior.max_images, replace=False))]
    val = np.random.default_rng(params.seed).random(len(faces)) < params.prior.val_fraction
    started = time.perf_counter()
    prior, history = train_prior(faces, val, params.prior.fit, params.prior.latent_dim, params.seed)
    timings[source] = {"seconds": time.perf_counter() - started, "epochs": len(history.val_loss)}
    mean, std = latent_statistics(prior, faces[~val])
    trained = {"data": params.prior.data, "source": source, "train_images": int((~val).sum()), "val_images": int(val.sum())}
    trained |= {"epochs_run": len(history.val_loss), "best_epoch": history.best_epoch + 1, "best_val_mse": min(history.val_loss)}
    for name in served:
        save_weights(Path("models/mi/priors") / f"{name}.pt", prior.state_dict())
        write_npz(Path("models/mi/priors") / f"{name}_latent.npz", mean=mean, std=std)
        figures[name] = trained | svm_feature_accuracy(prior, face_sets[name])
write_json("metrics/mi_prior.json", figures)
note_timing(compute_seconds=sum(t["seconds"] for t in timings.values()), **{f"{s}_{k}": v for s, t in timings.items() for k, v in t.items()})
