"""Stage openset_defenses: each template protection's utility (LFW View 2 10-fold accuracy on protected
FaceNet templates) against the open-set attack's success on the protected victim templates."""

import time
from pathlib import Path

from faceleak.attacks.embedding_inversion import EmbeddingInversionAttack
from faceleak.data import lfw
from faceleak.data.table import FaceTable
from faceleak.io import read_json, write_json
from faceleak.models.facenet import load_facenet
from faceleak.plots import privacy_utility, write_csv
from faceleak.stage import note_timing, start
from faceleak.systems.openset.params import load_openset_params
from faceleak.systems.openset.steps import defense_rows, load_judges, thresholds_from, view2_arrays

params = start(load_openset_params)
pairs = lfw.read_pairs(Path("data/raw/lfw_pairs") / lfw.PAIRS_FILE, params.lfw.folds, params.lfw.pairs_per_fold)
first, second, same, folds, users = view2_arrays(pairs)
table = FaceTable.load("data/lfw/faces.npz")
view2 = (table.arrays["facenet"][table.rows(first)], table.arrays["facenet"][table.rows(second)], same, folds, users)
victims = FaceTable.load("data/openset/victims.npz")
judges = load_judges(params.openset.judges, Path("models"), params.weights.engine)
thresholds = thresholds_from(read_json("metrics/recognizers.json"), params.openset.judges, (params.defenses.fmr,))
attack = EmbeddingInversionAttack(
    params.openset.train, params.openset.face_size, params.seed, load_facenet(Path("models/facenet.pt"), params.weights.engine), lowest_leakage=params.openset.min_leakage
).load("models/openset_decoder.pt")
settings = params.defenses
started = time.perf_counter()
rows = defense_rows(settings, table.arrays["facenet"][table.arrays["attacker"]], view2, victims, attack, judges, thresholds, params.seed)
seconds = time.perf_counter() - started
write_json("metrics/defenses.json", {"fmr": settings.fmr, "rows": {f"{row['defense']}_{row['setting']:g}": row for row in rows}})
write_csv("plots/defenses.csv", rows)
fmr = f"{settings.fmr:g}"
privacy_utility("plots/privacy_utility.png", rows, [f"facenet_sar_type1_fmr{fmr}", f"dlib_sar_type1_fmr{fmr}", f"facenet_sar_type2_fmr{fmr}"])
note_timing(compute_seconds=seconds, settings=len(rows))
