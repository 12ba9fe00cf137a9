"""Stage openset_ablation: the attacker's training recipes side by side (``openset.ablation.variants``: pixel
loss alone, the identity loss (as ``openset_train`` takes it), a wider decoder, a pixel-loss warm-up, the identity
loss on random views), every decoder trained on the same seeded subset of the attacker's LFW data at
``ablation.leakage`` and judged on the same victims by the same judges."""

import time
from pathlib import Path

import numpy as np

from faceleak.attacks.embedding_inversion import EmbeddingInversionAttack, InversionData
from faceleak.data.images import resized_faces
from faceleak.data.splits import identity_split
from faceleak.data.table import FaceTable
from faceleak.defenses.masking import DimensionMask
from faceleak.io import read_json, read_npz, write_json
from faceleak.stage import note_timing, start
from faceleak.systems.openset.params import load_openset_params
from faceleak.systems.openset.steps import STORE, attack_figures, attacker_identity, load_judges, reconstruct, thresholds_from

params = start(load_openset_params)
table = FaceTable.load("data/lfw/faces.npz")
attacker = np.flatnonzero(table.arrays["attacker"])
subset = np.sort(np.random.default_rng(params.seed).choice(attacker, min(params.openset.ablation.images, len(attacker)), replace=False))
stored = read_npz(STORE)["templates"]
templates, people = stored[subset], table.people[subset]
mask = DimensionMask(params.openset.ablation.leakage, "random", params.seed).fit(stored)
faces = resized_faces(table.faces[subset], params.openset.face_size)
val = identity_split(people, params.openset.val_fraction, params.seed)
attacked, white_box, surrogate = params.openset.attacked, params.openset.white_box, params.openset.surrogate
identity, targets = attacker_identity(attacked, white_box, surrogate, table, subset, Path("models"), params.openset.surrogate_engine)
data = InversionData.from_arrays(mask.transform(templates), templates, faces, targets)

judges = load_judges(params.openset.judges, Path("models"), params.weights.engine)
victims = FaceTable.load("data/openset/victims.npz")
thresholds = thresholds_from(read_json("metrics/recognizers.json"), params.openset.judges)
leaked = mask.transform(victims.arrays[attacked])
results, timings = {}, {}
for variant, train in params.openset.ablation.variants.items():
    started = time.perf_counter()
    attack = EmbeddingInversionAttack(
        train, params.openset.face_size, params.seed, identity=identity if train.identity_weight > 0 else None, embedding_dim=templates.shape[1]
    )
    attack.fit(data[np.flatnonzero(~val)], data[np.flatnonzero(val)])
    timings[f"{variant}_seconds"] = time.perf_counter() - started
    reconstructions = reconstruct(attack, leaked, None, victims.faces.shape[-1])
    results[variant] = {"train": vars(train), "epochs_run": len(attack.history_.val_loss)} | attack_figures(
        reconstructions, victims, np.arange(len(victims.names)), judges, thresholds
    )
write_json(
    "metrics/ablation.json",
    {"train_images": int((~val).sum()), "val_images": int(val.sum()), "leakage": params.openset.ablation.leakage,
     "surrogate_engine": params.openset.surrogate_engine, "variants": results},
)
note_timing(compute_seconds=sum(timings.values()), **timings)
