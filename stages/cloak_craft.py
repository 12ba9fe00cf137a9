"""Stage cloak_craft: choose the protected users and the gallery from LFW, and cloak the users' photos on
the surrogates in every mode a person chooses (low, mid, high) and at every epsilon of the protocol,
dodging and impersonating; image quality, seconds per photo, a grid."""

from pathlib import Path

import numpy as np

from faceleak.data.table import FaceTable
from faceleak.defenses.cloak import load_surrogates
from faceleak.io import write_json, write_npz
from faceleak.plots import reconstruction_grid
from faceleak.stage import note_timing, start
from faceleak.systems.cloak.params import load_cloak_params
from faceleak.systems.cloak.names import MODE_PREFIX
from faceleak.systems.cloak.steps import amplified, craft_cloaks, identity_anchors, quality_table, select_cast, unit_faces

GRID_USERS = 6

params = start(load_cloak_params)
table = FaceTable.load("data/lfw/faces.npz")
cast = select_cast(table, params.cast, params.seed)
surrogates = load_surrogates(params.surrogates, Path("models"), params.weights.engine)
originals = table.faces[cast.cloaked]
faces = unit_faces(originals)
sources, targets, target_people = identity_anchors(surrogates, faces, cast.people(table, "cloaked"), unit_faces(table.faces[cast.gallery]), cast.people(table, "gallery"))
cloaked, seconds = craft_cloaks(faces, surrogates, sources, targets, params)
write_npz("data/cloak/cloaks.npz", cloaked=cast.cloaked, references=cast.references, gallery=cast.gallery, targets=target_people, **{f"faces_{key}": value for key, value in cloaked.items()})
quality = quality_table(originals, cloaked, seconds, params)
write_json(
    "metrics/cloak_craft.json",
    {
        "users": params.cast.users, "cloaked_photos": len(cast.cloaked), "references": len(cast.references), "gallery_photos": len(cast.gallery),
        "surrogates": list(params.surrogates), "flat_share": params.flat_share, "quality": quality,
    },
)
rows = np.unique(cast.people(table, "cloaked"), return_index=True)[1][:GRID_USERS]
columns = {f"{name} (SSIM >= {mode.ssim_floor:g})": cloaked[f"{MODE_PREFIX}{name}"][rows] for name, mode in params.modes.items()}
for name, mode in params.modes.items():
    columns[f"{name}: change x{127 / mode.epsilon:.0f}"] = amplified(originals[rows], cloaked[f"{MODE_PREFIX}{name}"][rows], 127 / mode.epsilon)
strongest = max(params.epsilons)
columns[f"dodging {strongest:g}, uniform: change x{127 / strongest:.0f}"] = amplified(originals[rows], cloaked[f"dodging_{strongest:g}"][rows], 127 / strongest)
reconstruction_grid("plots/cloak_grid.png", originals[rows], columns, [str(person) for person in cast.people(table, "cloaked")[rows]])
note_timing(photos=len(cast.cloaked), cloaks=len(cast.cloaked) * len(cloaked))
