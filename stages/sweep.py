"""Stage sweep (one cell of the leakage x strategy table): leak, train, attack and evaluate in one go."""

import sys
import time
from pathlib import Path

from faceleak.experiment import FaceSet, leak, reconstruct, score, train_attack
from faceleak.io import write_json, write_npz
from faceleak.models.facenet import load_facenet
from faceleak.params import check_leakage
from faceleak.report import cell_name
from faceleak.stage import start, write_timing

leakage, strategy = check_leakage(float(sys.argv[1])), sys.argv[2]
params = start()
faces = FaceSet.load("data/processed/faces.npz")
facenet = load_facenet(Path("models/facenet.pt"))
started = time.perf_counter()
leaked, _ = leak(faces, leakage, strategy, params.seed)
attack, summary = train_attack(faces, leaked, params.train, params.seed, facenet if params.train.identity_weight > 0 else None)
reconstructions = reconstruct(attack, faces, leaked)
cell = cell_name(leakage, strategy)
write_npz(f"data/sweep/{cell}/reconstructions.npz", reconstructions=reconstructions, names=faces.names[faces.mask("test")])
write_json(f"metrics/sweep/{cell}.json", {"leakage": leakage, "strategy": strategy} | score(faces, reconstructions, facenet) | summary)
write_timing(f"sweep/{cell}", time.perf_counter() - started)
