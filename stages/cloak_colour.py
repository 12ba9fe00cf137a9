"""Stage cloak_colour: the three modes on MFR2's colour photos (a second cast, as people take photos), judged
by the recognizers that took no part, as crafted and after a tracker's cleaning; quality and a colour grid."""

from pathlib import Path

import numpy as np

from faceleak.defenses.cloak import load_surrogates
from faceleak.io import read_json, write_json
from faceleak.metrics.judging import view2_thresholds
from faceleak.models.recognizers import load_recognizer
from faceleak.plots import reconstruction_grid
from faceleak.stage import note_timing, start
from faceleak.systems.cloak.colour import colour_cast_params, unmasked_mfr2
from faceleak.systems.cloak.names import CLEAN, MODE_PREFIX
from faceleak.systems.cloak.params import load_cloak_params
from faceleak.systems.cloak.steps import amplified, craft_cloaks, identity_anchors, judge_cloaks, quality_table, select_cast, unit_faces

GRID_USERS = 6

params = start(load_cloak_params)
table = unmasked_mfr2(Path("data/raw/mfr2"))
cast_params = colour_cast_params(table, params.colour_users)
cast = select_cast(table, cast_params, params.seed)
surrogates = load_surrogates(params.surrogates, Path("models"), params.weights.engine)
originals = table.faces[cast.cloaked]
faces = unit_faces(originals)
sources, targets, target_people = identity_anchors(surrogates, faces, cast.people(table, "cloaked"), unit_faces(table.faces[cast.gallery]), cast.people(table, "gallery"))
cloaked, seconds = craft_cloaks(faces, surrogates, sources, targets, params.model_copy(update={"aims": ()}))
quality = quality_table(originals, cloaked, seconds, params)
benchmark = read_json("metrics/verification_benchmark.json")
results = {}
for name in params.judges:
    thresholds = view2_thresholds(benchmark, name, params.fmrs)
    judge = load_recognizer(name, Path("models"), params.weights.engine)
    results[name] = {"role": "independent", "thresholds": thresholds, "cells": judge_cloaks(judge, thresholds, table, cast, {CLEAN: originals, **cloaked}, target_people, params)}
write_json(
    "metrics/cloak_colour.json",
    {
        "cast": "MFR2 unmasked colour photos: one cloaked and one reference per person with two, the others as identification distractors",
        "users": cast_params.users, "cloaked_photos": len(cast.cloaked), "references": len(cast.references), "gallery_photos": len(cast.gallery),
        "surrogates": list(params.surrogates), "fmrs": [f"{fmr:g}" for fmr in params.fmrs], "quality": quality, "judges": results,
    },
)
rows = np.arange(min(GRID_USERS, len(originals)))
columns = {f"{name} (SSIM >= {mode.ssim_floor:g})": cloaked[f"{MODE_PREFIX}{name}"][rows] for name, mode in params.modes.items()}
for name, mode in params.modes.items():
    columns[f"{name}: change x{127 / mode.epsilon:.0f}"] = amplified(originals[rows], cloaked[f"{MODE_PREFIX}{name}"][rows], 127 / mode.epsilon)
reconstruction_grid("plots/cloak_colour_grid.png", originals[rows], columns, [str(person) for person in cast.people(table, "cloaked")[rows]])
note_timing(photos=len(cast.cloaked), cloaks=len(cast.cloaked) * len(cloaked))
