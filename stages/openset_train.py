"""Stage openset_train: the attacker's mask-conditioned decoder, trained on LFW people outside MFR2 and the attacked
recognizer's templates of their faces; its identity loss through the attacked recognizer (``openset.white_box``) or the
attacker's own ``openset.surrogate``."""

import time
from pathlib import Path

import numpy as np

from faceleak.data.lfw import identity_key
from faceleak.data.mfr2 import load_faces
from faceleak.data.splits import identity_split
from faceleak.data.table import FaceTable
from faceleak.io import read_npz, write_json
from faceleak.plots import write_history_csv
from faceleak.stage import note_timing, start
from faceleak.systems.openset.params import load_openset_params
from faceleak.systems.openset.steps import DECODER, STORE, attacker_identity, train_conditioned_attack

params = start(load_openset_params)
table = FaceTable.load("data/lfw/faces.npz")
attacker = table.arrays["attacker"]
people = table.people[attacker]
victim_keys = {identity_key(face.identity) for face in load_faces(Path("data/raw/mfr2"))}
overlap = sorted({person for person in people if identity_key(person) in victim_keys})
if overlap:
    raise RuntimeError(f"attacker data holds victims: {', '.join(overlap[:5])}")
val = identity_split(people, params.openset.val_fraction, params.seed)
attacked, white_box, surrogate = params.openset.attacked, params.openset.white_box, params.openset.surrogate
identity, targets = (
    attacker_identity(attacked, white_box, surrogate, table, attacker, Path("models"), params.openset.surrogate_engine)
    if params.openset.train.identity_weight > 0 else (None, None)
)
started = time.perf_counter()
attack, summary = train_conditioned_attack(
    read_npz(STORE)["templates"][attacker],
    table.faces[attacker],
    people,
    val,
    params.openset.train,
    params.openset.face_size,
    params.openset.min_leakage,
    params.seed,
    identity=identity,
    targets=targets,
)
seconds = time.perf_counter() - started
attack.save(DECODER)
write_json("metrics/openset_train.json", {**summary, "people_shared_with_victims": len(overlap), "surrogate_engine": params.openset.surrogate_engine})
write_history_csv("plots/openset_loss.csv", attack.history_)
note_timing(compute_seconds=seconds, seconds_per_epoch=seconds / summary["epochs_run"], images=int(np.sum(attacker)))
