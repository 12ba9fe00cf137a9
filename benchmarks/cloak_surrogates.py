"""Which surrogates move transfer: one cloak mode crafted on the cloak cast's photos with each surrogate set,
judged by the independent judges of ``params.yaml`` at its thresholds (photos unmatched and identification,
as crafted and after the worst cleaning), on the same photos and seeds as the ``cloak_craft`` stage.

    .venv/bin/python benchmarks/cloak_surrogates.py                                   # facenet vs facenet+mobilefacenet, mid
    .venv/bin/python benchmarks/cloak_surrogates.py --sets facenet mobilefacenet --mode high

Needs the stages ``lfw_faces``, ``weights`` and ``verification_benchmark``. Prints one row per surrogate set
and judge; ``--json`` also writes them. Not a test: minutes per set on 2 cores.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from faceleak.data.images import to_uint8
from faceleak.data.table import FaceTable
from faceleak.defenses.cloak import cloak_in_batches, load_surrogates
from faceleak.io import read_json
from faceleak.metrics.judging import view2_thresholds
from faceleak.models.recognizers import load_recognizer
from faceleak.report import rate_cell
from faceleak.systems.cloak.names import CLEAN
from faceleak.systems.cloak.params import load_cloak_params
from faceleak.systems.cloak.steps import identity_anchors, judge_cloaks, select_cast, unit_faces

ROOT = Path(__file__).resolve().parent.parent


def craft(names: list[str], mode: str, table: FaceTable, params) -> dict:
    """The cast's photos cloaked in ``mode`` on the surrogates ``names`` (uint8, as the stage writes them)."""
    cast = select_cast(table, params.cast, params.seed)
    surrogates = load_surrogates(names, ROOT / "models", params.weights.engine)
    faces = unit_faces(table.faces[cast.cloaked])
    sources, _, targets = identity_anchors(surrogates, faces, cast.people(table, "cloaked"), unit_faces(table.faces[cast.gallery]), cast.people(table, "gallery"))
    cloaked = cloak_in_batches(faces, surrogates, sources, None, params.mode_settings(mode), params.seed, params.batch_size, f"cloak {mode} on {'+'.join(names)}")
    return {"cast": cast, "faces": to_uint8(cloaked)[..., : faces.shape[1]], "targets": targets}


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["facenet", "facenet,mobilefacenet"], help="surrogate sets, names joined by commas")
    parser.add_argument("--mode", default="mid", choices=("low", "mid", "high"))
    parser.add_argument("--json", type=Path, help="also write the rows here")
    arguments = parser.parse_args()
    params = load_cloak_params(ROOT / "params.yaml")
    table = FaceTable.load(ROOT / "data/lfw/faces.npz")
    benchmark = read_json(ROOT / "metrics/verification_benchmark.json")
    fmr = f"{min(params.fmrs):g}"
    crafted = {names: craft(names.split(","), arguments.mode, table, params) for names in arguments.sets}
    rows = []
    for judge_name in params.judges:
        judge = load_recognizer(judge_name, ROOT / "models", params.weights.engine)
        thresholds = view2_thresholds(benchmark, judge_name, params.fmrs)
        for names, result in crafted.items():
            role = "white-box" if judge_name in names.split(",") else "independent"
            cells = judge_cloaks(judge, thresholds, table, result["cast"], {CLEAN: table.faces[result["cast"].cloaked], "cloaked": result["faces"]}, result["targets"], params)
            unmatched = {cleaning: figures["verification"][f"fmr_{fmr}"]["photos_unmatched"] for cleaning, figures in cells["cloaked"].items()}
            worst = min(unmatched, key=lambda cleaning: unmatched[cleaning]["rate"])
            rows.append({
                "surrogates": names, "mode": arguments.mode, "judge": judge_name, "role": role, "photos_unmatched": unmatched["none"],
                "identification_nn": cells["cloaked"]["none"]["identification"]["nearest_neighbour"], "worst_cleaning": worst, "unmatched_after_worst": unmatched[worst],
            })
            print(f"{names:28} {judge_name:14} {role:12} unmatched {rate_cell(unmatched['none']):26} identified {rate_cell(rows[-1]['identification_nn']):26} after {worst}: {rate_cell(unmatched[worst])}")
    if arguments.json:
        arguments.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    run()
