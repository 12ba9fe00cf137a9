"""Stage spine_sweep (one cell of the leakage x strategy table): leak, train, attack and evaluate in one go."""

import sys
import time
from pathlib import Path

from faceleak.io import write_json, write_npz
from faceleak.models.facenet import load_facenet
from faceleak.params import check_leakage
from faceleak.stage import note_timing, start
from faceleak.systems.spine.params import load_spine_params
from faceleak.systems.spine.steps import FaceSet, leak, reconstruct, score, train_attack
from faceleak.systems.spine.sweep import cell_name

params = start(load_spine_params)
leakage, strategy = check_leakage(float(sys.argv[1])), sys.argv[2]
faces = FaceSet.load("data/processed/faces.npz")
facenet = load_facenet(Path("models/facenet.pt"), params.weights.engine)
started = time.perf_counter()
leaked, _ = leak(faces, leakage, strategy, params.seed)
attack, summary = train_attack(faces, leaked, params.train, params.seed, facenet if params.train.identity_weight > 0 else None)
reconstructions = reconstruct(attack, faces, leaked)
cell = cell_name(leakage, strategy)
write_npz(f"data/sweep/{cell}/reconstructions.npz", reconstructions=reconstructions, names=faces.names[faces.mask("test")])
write_json(f"metrics/sweep/{cell}.json", {"leakage": leakage, "strategy": strategy} | score(faces, reconstructions, facenet) | summary)
note_timing(compute_seconds=time.perf_counter() - started)
