"""Stage model_inversion_data: one victim dataset of the model-inversion experiment (lfw or orl), split stratified."""

import sys
from pathlib import Path

from faceleak.stage import start
from faceleak.systems.model_inversion.params import load_model_inversion_params
from faceleak.systems.model_inversion.steps import lfw_face_set, orl_face_set

name = sys.argv[1]
params = start(load_model_inversion_params)
if name == "lfw":
    face_set = lfw_face_set(Path("data/raw/lfw"), params.lfw.min_images, params.splits["lfw"], params.seed)
else:
    face_set = orl_face_set(Path("data/raw/orl"), params.splits["orl"], params.seed)
face_set.save(f"data/mi/{name}/faces.npz")
