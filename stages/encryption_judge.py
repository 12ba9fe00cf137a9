"""Stage encryption_judge: each reconstruction (and the original at the model's size, the ceiling)
against its original photo, by recognizers that took no part in the encryption or any attack;
thresholds from the verification benchmark's View 2 impostor pairs."""

from pathlib import Path

from faceleak.data.table import FaceTable
from faceleak.io import read_json, read_npz, write_json
from faceleak.metrics.judging import view2_thresholds
from faceleak.models.recognizers import load_recognizer
from faceleak.stage import note_timing, start
from faceleak.systems.encryption.params import load_encryption_params
from faceleak.systems.encryption.steps import judge_reconstructions

params = start(load_encryption_params)
table = FaceTable.load("data/lfw/faces.npz")
stored = read_npz("data/encryption/reconstructions.npz")
reconstructions = dict(zip(stored["names"].tolist(), stored["faces"]))
benchmark = read_json("metrics/verification_benchmark.json")
judges = {}
for name in params.judges:
    thresholds = view2_thresholds(benchmark, name, params.fmrs)
    judge = load_recognizer(name, Path("models"), params.weights.engine)
    judges[name] = {"thresholds": thresholds, "reconstructions": judge_reconstructions(judge, thresholds, table.faces[stored["rows"]], reconstructions)}
write_json("metrics/encryption.json", {"fmrs": [f"{fmr:g}" for fmr in params.fmrs], "judged_faces": len(stored["rows"]), "judges": judges})
note_timing(judges=len(judges), faces=len(stored["rows"]) * len(reconstructions))
