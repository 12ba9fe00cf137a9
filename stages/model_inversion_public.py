"""Stage model_inversion_public: the attacker's public prior faces, LFW people outside the model-inversion victims."""

import time
from pathlib import Path

from faceleak.io import write_npz
from faceleak.stage import note_timing, start
from faceleak.systems.model_inversion.params import load_model_inversion_params
from faceleak.systems.model_inversion.steps import public_faces

params = start(load_model_inversion_params)
started = time.perf_counter()
faces = public_faces(Path("data/raw/lfw"), params.lfw.min_images)
write_npz("data/mi/public_faces.npz", faces=faces)
note_timing(compute_seconds=time.perf_counter() - started, images=len(faces))
