"""Stage spine_evaluate: image-quality and identity metrics of the reconstructions (test split only)."""

from pathlib import Path

from faceleak.io import read_npz, write_json
from faceleak.models.facenet import load_facenet
from faceleak.stage import start
from faceleak.systems.spine.params import load_spine_params
from faceleak.systems.spine.steps import FaceSet, score

params = start(load_spine_params)
metrics = score(
    FaceSet.load("data/processed/faces.npz"),
    read_npz("data/attack/reconstructions.npz")["reconstructions"],
    load_facenet(Path("models/facenet.pt"), params.weights.engine),
)
write_json("metrics/evaluate.json", {"leakage": params.leakage, "strategy": params.leak.strategy} | metrics)
