"""Stage spine_mask_data: LFW photos of people outside MFR2, unmasked and with synthetic masks drawn from their landmarks."""

from pathlib import Path

import numpy as np

from faceleak.data.lfw import find_root
from faceleak.data.mfr2 import load_faces
from faceleak.io import write_npz
from faceleak.plots import reconstruction_grid
from faceleak.stage import start
from faceleak.systems.spine.mask_data import eligible_photos, found_faces, kinds_grid, synthesize
from faceleak.systems.spine.params import load_spine_params

GRID_SIZE = 96  # pixels per face in the report's grid

params = start(load_spine_params)
synthetic = params.mask_filter.synthetic
eligible = eligible_photos(find_root(Path("data/raw/lfw")), load_faces(Path("data/raw/mfr2")), synthetic.per_person)
chosen = [eligible[i] for i in sorted(np.random.default_rng(params.seed).choice(len(eligible), min(synthetic.photos, len(eligible)), replace=False))]
found = found_faces(chosen)
write_npz("data/mask/synthetic.npz", **synthesize(found, synthetic, params.mask_filter.image_size, params.seed))
reconstruction_grid("plots/mask_synthetic_grid.png", *kinds_grid(found, GRID_SIZE, params.seed))
