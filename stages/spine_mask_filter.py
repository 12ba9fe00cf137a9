"""Stage spine_mask_filter: score every MFR2 face with a ConvNeXt mask classifier; keep confident unmasked ones."""

from pathlib import Path

from faceleak.data.mfr2 import load_faces
from faceleak.io import write_json
from faceleak.stage import start
from faceleak.systems.spine.mask_filter import filter_faces
from faceleak.systems.spine.params import load_spine_params

params = start(load_spine_params)
decisions, metrics = filter_faces(load_faces(Path("data/raw/mfr2")), params.mask_filter, params.embed.on_bad_image, params.seed)
write_json("data/interim/mask_filter.json", {"faces": decisions})
write_json("metrics/mask_filter.json", metrics)
