"""Stage audit_cloak: the cloak system's photos (its modes and uniform budgets, as crafted and after a tracker's
cleaning) judged by the audited recognizer, with its own View 2 thresholds; white-box when the cloak is crafted on it."""

from pathlib import Path

from faceleak.data.table import FaceTable
from faceleak.io import read_json, read_npz, write_json
from faceleak.metrics.judging import view2_thresholds
from faceleak.models.recognizers import load_recognizer
from faceleak.plots import write_csv
from faceleak.stage import note_timing, start
from faceleak.systems.audit.params import load_audit_params
from faceleak.systems.cloak.steps import judge_cloaks, stored_cloaks, success_rows

params = start(load_audit_params)
cloak = params.cloak
table = FaceTable.load("data/lfw/faces.npz")
cast, variants, targets = stored_cloaks(table, read_npz("data/cloak/cloaks.npz"))
judge = load_recognizer(params.recognizer, Path("models"), cloak.weights.engine)
thresholds = view2_thresholds(read_json("metrics/audit_view2.json"), params.recognizer, cloak.fmrs)
role = "surrogate, white-box" if params.recognizer in cloak.surrogates else "independent"
results = {params.recognizer: {"role": role, "thresholds": thresholds, "cells": judge_cloaks(judge, thresholds, table, cast, variants, targets, cloak)}}
write_json("metrics/audit_cloak.json", {"fmrs": [f"{fmr:g}" for fmr in cloak.fmrs], "judges": results})
write_csv("plots/audit_cloak.csv", success_rows(results, f"{min(cloak.fmrs):g}", read_json("metrics/cloak_craft.json")["quality"]))
note_timing(variants=len(variants))
