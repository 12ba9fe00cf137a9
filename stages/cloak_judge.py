"""Stage cloak_judge: the cloaks judged by recognizers that took no part in crafting them (and, marked
white-box, by the surrogates), in the verification, impersonation and identification scenarios, as crafted
and after a tracker's cleaning; thresholds from the verification benchmark's View 2 impostor pairs."""

from pathlib import Path

from faceleak.data.table import FaceTable
from faceleak.io import read_json, read_npz, write_json
from faceleak.metrics.judging import view2_thresholds
from faceleak.models.recognizers import load_recognizer, recognizer_names
from faceleak.plots import metric_curves, write_csv
from faceleak.stage import note_timing, start
from faceleak.systems.cloak.params import load_cloak_params
from faceleak.systems.cloak.steps import judge_cloaks, stored_cloaks, success_rows

params = start(load_cloak_params)
table = FaceTable.load("data/lfw/faces.npz")
cast, variants, targets = stored_cloaks(table, read_npz("data/cloak/cloaks.npz"))
benchmark = read_json("metrics/verification_benchmark.json")
roles = {**{name: "independent" for name in params.judges}, **{name: "surrogate, white-box" for name in params.surrogates if name in recognizer_names()}}
results = {}
for name, role in roles.items():
    thresholds = view2_thresholds(benchmark, name, params.fmrs)
    judge = load_recognizer(name, Path("models"), params.weights.engine)
    results[name] = {"role": role, "thresholds": thresholds, "cells": judge_cloaks(judge, thresholds, table, cast, variants, targets, params)}
write_json("metrics/cloak.json", {"fmrs": [f"{fmr:g}" for fmr in params.fmrs], "judges": results})
quality = read_json("metrics/cloak_craft.json")["quality"]
rows = success_rows(results, f"{min(params.fmrs):g}", quality)
write_csv("plots/cloak_success.csv", rows)
as_crafted = [row for row in rows if row["cleaning"] == "none"]
uniform = [row for row in as_crafted if row["budget"] == "uniform"]
metric_curves("plots/cloak_dodging.png", [row for row in uniform if row["mode"] in ("clean", "dodging")], ["unmatched photos", "identification top-1 (NN)", "identification top-1 (linear)"], group="judge", x="epsilon")
metric_curves("plots/cloak_impersonation.png", [row for row in uniform if row["mode"] in ("clean", "impersonation")], ["impersonation", "unmatched photos"], group="judge", x="epsilon")
metric_curves("plots/cloak_ssim.png", [row for row in as_crafted if row["mode"] != "impersonation"], ["unmatched photos", "identification top-1 (NN)"], group="curve", x="ssim")
note_timing(judges=len(results))
