"""Stage openset_defenses: each template protection's utility (LFW View 2 10-fold accuracy on the attacked
recognizer's protected templates) against the open-set attack's success on the protected victim templates."""

import time
from pathlib import Path

from faceleak.data import lfw
from faceleak.data.table import FaceTable
from faceleak.io import read_json, read_npz, write_json
from faceleak.plots import privacy_utility, write_csv
from faceleak.stage import note_timing, start
from faceleak.systems.openset.params import load_openset_params
from faceleak.systems.openset.steps import STORE, defense_rows, load_judges, thresholds_from, trained_attack, view2_arrays

params = start(load_openset_params)
pairs = lfw.read_pairs(Path("data/raw/lfw_pairs") / lfw.PAIRS_FILE, params.lfw.folds, params.lfw.pairs_per_fold)
first, second, same, folds, users = view2_arrays(pairs)
table = FaceTable.load("data/lfw/faces.npz")
templates = read_npz(STORE)["templates"]
view2 = (templates[table.rows(first)], templates[table.rows(second)], same, folds, users)
victims = FaceTable.load("data/openset/victims.npz")
judges = load_judges(params.openset.judges, Path("models"), params.weights.engine)
thresholds = thresholds_from(read_json("metrics/recognizers.json"), params.openset.judges, (params.openset.defenses.fmr,))
attack = trained_attack(params, templates.shape[1])
settings = params.openset.defenses
started = time.perf_counter()
rows = defense_rows(settings, templates[table.arrays["attacker"]], view2, victims, attack, judges, thresholds, params.seed, params.openset.attacked)
seconds = time.perf_counter() - started
write_json("metrics/defenses.json", {"fmr": settings.fmr, "rows": {f"{row['defense']}_{row['setting']:g}": row for row in rows}})
write_csv("plots/defenses.csv", rows)
fmr = f"{settings.fmr:g}"
attacked, first_other = params.openset.attacked, params.openset.judges[1:2]  # dlib by default
privacy_utility("plots/privacy_utility.png", rows, [f"{attacked}_sar_type1_fmr{fmr}", *(f"{judge}_sar_type1_fmr{fmr}" for judge in first_other), f"{attacked}_sar_type2_fmr{fmr}"])
note_timing(compute_seconds=seconds, settings=len(rows))
