"""Which surrogates and attack settings move transfer, and what they cost: one cloak mode crafted on the cloak
cast's photos with each surrogate set and each attack variant, judged by the independent judges of
``params.yaml`` at its thresholds (photos unmatched and identification, as crafted and after the worst
cleaning), on the same photos and seeds as the ``cloak_craft`` stage, with the seconds each photo took.

    .venv/bin/python benchmarks/cloak_surrogates.py                                   # facenet vs facenet+mobilefacenet, mid
    .venv/bin/python benchmarks/cloak_surrogates.py --sets facenet mobilefacenet --mode high
    .venv/bin/python benchmarks/cloak_surrogates.py --sets facenet,mobilefacenet --attack "" steps=12 steps=12,step_fraction=0.17

``--attack`` variants replace keys of ``cloak.attack`` (comma-joined ``key=value``; "" is the params' own);
``--engine`` runs FaceNet as fp32, bf16 or auto. Needs the stages ``lfw_faces``, ``weights`` and
``verification_benchmark``. Prints one row per surrogate set, variant and judge; ``--json`` also writes them.
Not a test: minutes per variant on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import fields, replace
from pathlib import Path

from faceleak.data.images import to_uint8
from faceleak.data.table import FaceTable
from faceleak.defenses.cloak import CloakSettings, cloak_in_batches, load_surrogates
from faceleak.device import active_device, resolve_engine, use_device
from faceleak.io import read_json
from faceleak.metrics.judging import view2_thresholds
from faceleak.models.recognizers import load_recognizer
from faceleak.report import rate_cell
from faceleak.systems.cloak.names import CLEAN
from faceleak.systems.cloak.params import load_cloak_params
from faceleak.systems.cloak.steps import identity_anchors, judge_cloaks, select_cast, unit_faces

ROOT = Path(__file__).resolve().parent.parent


def attack_variant(settings: CloakSettings, variant: str) -> CloakSettings:
    """``settings`` with the comma-joined ``key=value`` pairs of ``variant`` replaced (numbers, as their field's type)."""
    types = {field.name: type(getattr(settings, field.name)) for field in fields(settings)}
    pairs = [item.split("=", 1) for item in variant.split(",") if item]
    unknown = [key for key, _ in pairs if key not in types]
    if unknown:
        raise SystemExit(f"cloak_surrogates: unknown attack key {unknown[0]!r}; expected one of {', '.join(types)}")
    return replace(settings, **{key: types[key](value) for key, value in pairs})


def craft(names: list[str], settings: CloakSettings, table: FaceTable, params, engine: str) -> dict:
    """The cast's photos cloaked with ``settings`` on the surrogates ``names`` (uint8, as the stage writes them), and the seconds per photo."""
    cast = select_cast(table, params.cast, params.seed)
    surrogates = load_surrogates(names, ROOT / "models", engine)
    faces = unit_faces(table.faces[cast.cloaked])
    sources, _, targets = identity_anchors(surrogates, faces, cast.people(table, "cloaked"), unit_faces(table.faces[cast.gallery]), cast.people(table, "gallery"))
    started = time.perf_counter()
    cloaked = cloak_in_batches(faces, surrogates, sources, None, settings, params.seed, params.batch_size, f"cloak {settings.steps} steps on {'+'.join(names)}")
    seconds = (time.perf_counter() - started) / len(faces)
    return {"cast": cast, "faces": to_uint8(cloaked)[..., : faces.shape[1]], "targets": targets, "seconds_per_photo": seconds}


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["facenet", "facenet,mobilefacenet"], help="surrogate sets, names joined by commas")
    parser.add_argument("--mode", default="mid", choices=("low", "mid", "high"))
    parser.add_argument("--attack", nargs="+", default=[""], help='attack variants: comma-joined key=value replacing cloak.attack keys ("" = as in params)')
    parser.add_argument("--engine", choices=("auto", "fp32", "bf16"), help="FaceNet's engine (default: params' weights.engine)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    arguments = parser.parse_args()
    params = load_cloak_params(ROOT / "params.yaml")
    use_device(params.device)
    engine = resolve_engine(arguments.engine or params.weights.engine, active_device(), "--engine")
    table = FaceTable.load(ROOT / "data/lfw/faces.npz")
    benchmark = read_json(ROOT / "metrics/verification_benchmark.json")
    fmr = f"{min(params.fmrs):g}"
    crafted = {
        (names, variant): craft(names.split(","), attack_variant(params.mode_settings(arguments.mode), variant), table, params, engine)
        for names in arguments.sets
        for variant in arguments.attack
    }
    rows = []
    for judge_name in params.judges:
        judge = load_recognizer(judge_name, ROOT / "models", params.weights.engine)
        thresholds = view2_thresholds(benchmark, judge_name, params.fmrs)
        for (names, variant), result in crafted.items():
            role = "white-box" if judge_name in names.split(",") else "independent"
            cells = judge_cloaks(judge, thresholds, table, result["cast"], {CLEAN: table.faces[result["cast"].cloaked], "cloaked": result["faces"]}, result["targets"], params)
            unmatched = {cleaning: figures["verification"][f"fmr_{fmr}"]["photos_unmatched"] for cleaning, figures in cells["cloaked"].items()}
            worst = min(unmatched, key=lambda cleaning: unmatched[cleaning]["rate"])
            rows.append({
                "surrogates": names, "attack": variant or "params", "engine": engine, "mode": arguments.mode, "judge": judge_name, "role": role,
                "seconds_per_photo": result["seconds_per_photo"], "photos_unmatched": unmatched["none"],
                "identification_nn": cells["cloaked"]["none"]["identification"]["nearest_neighbour"], "worst_cleaning": worst, "unmatched_after_worst": unmatched[worst],
            })
            print(
                f"{names:22} {variant or 'params':28} {engine:5} {result['seconds_per_photo']:5.2f} s  {judge_name:8} {role:12} unmatched {rate_cell(unmatched['none']):24}"
                f" identified {rate_cell(rows[-1]['identification_nn']):24} after {worst}: {rate_cell(unmatched[worst])}"
            )
    if arguments.json:
        arguments.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    run()
