"""Stage spine_mask_filter: score every MFR2 face with the offline ConvNeXts (trained on synthetic masks, cross-fitted on
MFR2); keep the faces the filter finds confidently unmasked."""

from pathlib import Path

from faceleak.data.mfr2 import load_faces
from faceleak.io import read_npz, write_json
from faceleak.plots import face_tiles
from faceleak.stage import note_timing, start
from faceleak.systems.spine.mask_filter import filter_faces, mistakes
from faceleak.systems.spine.params import load_spine_params

params = start(load_spine_params)
decisions, metrics, faces = filter_faces(load_faces(Path("data/raw/mfr2")), read_npz("data/mask/synthetic.npz"), params.mask_filter, params.embed.on_bad_image, params.seed)
write_json("data/interim/mask_filter.json", {"faces": decisions})
write_json("metrics/mask_filter.json", metrics)
note_timing(synthetic_training_seconds=metrics["synthetic_training"]["training_seconds"])
wrong, titles = mistakes(decisions)
face_tiles("plots/mask_filter_errors.png", faces[wrong], titles)
