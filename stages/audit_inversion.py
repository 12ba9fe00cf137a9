"""Stage audit_inversion: template inversion of the audited recognizer's templates. A decoder is trained on LFW people
outside MFR2 and the audited recognizer's templates of their faces (queried: black-box), its identity loss through the
attacker's own surrogate (or the audited recognizer, white-box); the MFR2 victims' templates inverted at each leak and
judged by the open set's other judges; then the template protections' privacy against utility on its templates."""

import time
from pathlib import Path

import numpy as np

from faceleak.data import lfw
from faceleak.data.splits import identity_split
from faceleak.data.table import FaceTable
from faceleak.io import read_json, read_npz, write_json
from faceleak.models.recognizers import load_recognizer
from faceleak.plots import privacy_utility, reconstruction_grid, write_csv
from faceleak.stage import note_timing, start
from faceleak.systems.audit.params import load_audit_params
from faceleak.systems.audit.steps import with_templates
from faceleak.systems.openset.params import judge_roles
from faceleak.systems.openset.steps import attacker_identity, decoder_inverter, defense_rows, degraded_victims, leakage_curve, load_judges, thresholds_from, train_conditioned_attack, view2_arrays

GRID_ROWS = 8
params = start(load_audit_params)
name, inversion, openset = params.recognizer, params.inversion, params.openset
table = FaceTable.load("data/lfw/faces.npz")
audited = read_npz("data/audit/templates.npz")["templates"]
attacker = table.arrays["attacker"]
people = table.people[attacker]
recognizer = load_recognizer(name, Path("models"), openset.weights.engine)
identity, targets = attacker_identity(name, inversion.white_box, inversion.surrogate, table, attacker, Path("models"), openset.openset.surrogate_engine)
started = time.perf_counter()
attack, summary = train_conditioned_attack(
    audited[attacker], table.faces[attacker], people, identity_split(people, openset.openset.val_fraction, params.seed), inversion.train,
    openset.openset.face_size, openset.openset.min_leakage, params.seed, identity=identity, targets=targets,
)
training_seconds = time.perf_counter() - started
victims = FaceTable.load("data/openset/victims.npz")
victims = with_templates(victims, name, recognizer.embed(victims.faces))
judged = tuple(judge for judge in openset.openset.judges if judge != name)
judges, roles = load_judges(judged, Path("models"), openset.weights.engine), judge_roles(judged, name, inversion.white_box, inversion.surrogate)
recognizers = read_json("metrics/recognizers.json")
queries = np.arange(len(victims.names))
rows, faces = leakage_curve(
    decoder_inverter(attack, victims.faces.shape[-1]), victims, queries, audited[attacker], inversion.leakages, judges, thresholds_from(recognizers, judged), params.seed, attacked=name
)
first, second, same, folds, users = view2_arrays(lfw.read_pairs(Path("data/raw/lfw_pairs") / lfw.PAIRS_FILE, openset.lfw.folds, openset.lfw.pairs_per_fold))
view2 = (audited[table.rows(first)], audited[table.rows(second)], same, folds, users)
defenses = defense_rows(openset.openset.defenses, audited[attacker], view2, victims, attack, judges, thresholds_from(recognizers, judged, (openset.openset.defenses.fmr,)), params.seed, attacked=name)
write_json("metrics/audit_inversion.json", {
    "recognizer": name,
    "white_box": inversion.white_box,
    "surrogate": None if inversion.white_box else inversion.surrogate,
    "roles": roles,
    "victims": len(queries),
    "training": summary | {"training_seconds": training_seconds},
    "leakage": {f"{row['leakage']:g}": row for row in rows},
    "defenses": {"fmr": openset.openset.defenses.fmr, "rows": {f"{row['defense']}_{row['setting']:g}": row for row in defenses}},
})
write_csv("plots/audit_defenses.csv", defenses)
fmr = f"{openset.openset.defenses.fmr:g}"
privacy_utility("plots/audit_privacy_utility.png", defenses, [f"{judge}_sar_type1_fmr{fmr}" for judge in judged])
originals = degraded_victims(victims.faces[:GRID_ROWS], openset.openset.face_size)
reconstruction_grid("plots/audit_inversion_grid.png", originals, {f"leak {leakage:g}": faces[leakage][:GRID_ROWS] for leakage in inversion.leakages}, list(victims.names[:GRID_ROWS]))
note_timing(compute_seconds=time.perf_counter() - started, training_seconds=training_seconds, epochs=summary["epochs_run"] + summary["warmup_epochs_run"])
