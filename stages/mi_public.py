"""Stage mi_public: the attacker's public prior faces, LFW people outside the model-inversion victims."""

import time
from pathlib import Path

from faceleak.io import write_npz
from faceleak.model_inversion import public_faces
from faceleak.model_inversion_params import load_model_inversion_params
from faceleak.stage import start, write_timing

params = start(load_model_inversion_params)
started = time.perf_counter()
faces = public_faces(Path("data/raw/lfw"), params.lfw_min_images)
write_npz("data/mi/public_faces.npz", faces=faces)
write_timing("mi_public", time.perf_counter() - started, images=len(faces))
