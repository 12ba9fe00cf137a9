"""Stage openset_victims: the kept MFR2 faces as the open-set victims (grey if image.channels is 1), with
every judge's templates (FaceNet's the leaked ones)."""

import time
from pathlib import Path

import numpy as np

from faceleak.data import mfr2
from faceleak.data.images import read_images, to_channels
from faceleak.data.table import FaceTable
from faceleak.io import read_json, write_json
from faceleak.stage import note_timing, start
from faceleak.systems.openset.params import load_openset_params
from faceleak.systems.openset.steps import judge_templates, load_judges

params = start(load_openset_params)
kept = [face for face in read_json("data/interim/mask_filter.json")["faces"] if face["kept"]]
root = mfr2.find_root(Path("data/raw/mfr2"))
paths = [mfr2.image_path(root, face["identity"], face["number"]) for face in kept]
native, read, skipped = read_images(paths, None, params.spine.embed.on_bad_image)
faces = to_channels(native, params.image.channels)
started = time.perf_counter()
templates = judge_templates(load_judges(params.openset.judges, Path("models"), params.weights.engine), faces)
seconds = time.perf_counter() - started
identities = np.array([kept[i]["identity"] for i in read])
FaceTable(faces, np.array([paths[i].stem for i in read]), identities, templates).save("data/openset/victims.npz")
write_json(
    "metrics/victims.json",
    {
        "victims": len(identities),
        "identities": len(set(identities)),
        "identities_with_two_or_more_images": int((np.unique(identities, return_counts=True)[1] >= 2).sum()),
        "skipped_bad_images": len(skipped),
    },
)
note_timing(compute_seconds=seconds, images_per_second=len(identities) / seconds)
