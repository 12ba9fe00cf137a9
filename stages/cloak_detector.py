"""Stage cloak_detector: full LFW photos cloaked against face-api.js's SSD MobileNet V1 detector (Face/Off's
loss, PGD at every epsilon), and the true face's recall and the fake boxes per photo by the SSD (white-box)
and by detectors that took no part in crafting, as cloaked and after JPEG; image quality and speed."""

import time
from pathlib import Path

import numpy as np

from faceleak.data import lfw
from faceleak.data.degrade import clean
from faceleak.data.images import read_rgb, to_channels
from faceleak.io import write_json
from faceleak.models.detectors import load_detector
from faceleak.models.ssd_mobilenet import load_ssd_mobilenet
from faceleak.plots import reconstruction_grid
from faceleak.stage import note_timing, start
from faceleak.systems.cloak.params import WHITE_BOX_DETECTOR, load_cloak_params
from faceleak.systems.cloak.names import CLEAN
from faceleak.systems.cloak.steps import amplified, cloak_photos_from_ssd, detection_figures, quality_figures, true_faces

CLEANINGS = ("none", "jpeg")
REFERENCE = "mtcnn"  # its central box on the clean photo is the true face
GRID_PHOTOS = 4

params = start(load_cloak_params)
images = lfw.list_images(lfw.find_root(Path("data/raw/lfw")))
names = np.random.default_rng(params.seed).permutation(sorted(images))[: 2 * params.detector.photos]
candidates = np.stack([to_channels(read_rgb(images[name]), params.image.channels) for name in names])
faces, found = true_faces(candidates, load_detector(REFERENCE))
keep = np.flatnonzero(found)[: params.detector.photos]
photos, faces, names = candidates[keep], faces[keep], names[keep]

network = load_ssd_mobilenet(Path("models") / "ssd_mobilenet.pt")
variants, quality = {CLEAN: photos}, {}
for epsilon in params.epsilons:
    started = time.perf_counter()
    variants[f"ssd_{epsilon:g}"] = cloak_photos_from_ssd(photos, faces, network, params, epsilon)
    quality[f"ssd_{epsilon:g}"] = {**quality_figures(photos, variants[f"ssd_{epsilon:g}"]), "seconds_per_photo": (time.perf_counter() - started) / len(photos)}

results = {}
for name in (WHITE_BOX_DETECTOR, *params.detector.judges):
    detector = load_detector(name)
    role = "white-box (the cloak is crafted on it)" if name == WHITE_BOX_DETECTOR else "independent"
    if name == REFERENCE:
        role += "; its clean boxes are the true faces"
    results[name] = {
        "role": role,
        "operating_point": detector.operating_point,
        "cells": {variant: {cleaning: detection_figures(detector.detect(clean(cloaked, cleaning, params.cleaning)), faces) for cleaning in CLEANINGS} for variant, cloaked in variants.items()},
    }
write_json("metrics/cloak_detector.json", {"photos": len(photos), "candidates": len(candidates), "true_face_reference": REFERENCE, "quality": quality, "detectors": results})
strongest = f"ssd_{max(params.epsilons):g}"
columns = {key.replace("_", " "): value[:GRID_PHOTOS] for key, value in variants.items() if key != CLEAN}
columns[f"{strongest.replace('_', ' ')}: change x{127 / max(params.epsilons):.0f}"] = amplified(photos[:GRID_PHOTOS], variants[strongest][:GRID_PHOTOS], 127 / max(params.epsilons))
reconstruction_grid("plots/cloak_detector_grid.png", photos[:GRID_PHOTOS], columns, [str(name) for name in names[:GRID_PHOTOS]])
note_timing(photos=len(photos))
