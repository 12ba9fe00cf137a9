"""Stage lfw_faces: align the LFW images the protocol needs with MTCNN and take their FaceNet templates."""

import time
from pathlib import Path

import numpy as np

from faceleak.data import lfw, mfr2
from faceleak.data.align import FaceAligner
from faceleak.data.table import FaceTable
from faceleak.io import write_json
from faceleak.models.facenet import embed, load_facenet
from faceleak.stage import note_timing, start

params = start()
images = lfw.list_images(lfw.find_root(Path("data/raw/lfw")))
lfw.check_channels(next(iter(images.values())), params.image.channels)
pairs = lfw.read_pairs(Path("data/raw/lfw_pairs") / lfw.PAIRS_FILE, params.lfw.folds, params.lfw.pairs_per_fold)
victims = sorted({face.identity for face in mfr2.load_faces(Path("data/raw/mfr2"))})
names, attacker = lfw.select_lfw(images, pairs, victims, params.lfw.attacker_images, params.seed)

aligner = FaceAligner(params.lfw.face_size, params.lfw.margin, params.image.channels, params.lfw.batch_size)
started = time.perf_counter()
faces, detected = aligner.align([images[name] for name in names], params.lfw.on_no_face)
aligned = time.perf_counter()
templates = embed(load_facenet(Path("models/facenet.pt"), params.weights.engine), faces, params.lfw.batch_size, progress=True)
embedded = time.perf_counter()

people = np.array([lfw.person_of(name) for name in names])
table = FaceTable(faces, np.array(names), people, {"facenet": templates, "detected": detected, "attacker": attacker})
table.save("data/lfw/faces.npz")
write_json(
    "metrics/lfw_faces.json",
    {
        "images": len(names),
        "people": len(set(people)),
        "attacker_images": int(attacker.sum()),
        "attacker_people": len(set(people[attacker])),
        "view2_pairs": len(pairs),
        "no_face_found": int((~detected).sum()),
    },
)
note_timing(compute_seconds=embedded - started,
    images=len(names),
    align_seconds=aligned - started,
    embed_seconds=embedded - aligned,
    images_per_second=len(names) / (embedded - started),
)
