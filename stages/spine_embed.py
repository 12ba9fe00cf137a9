"""Stage spine_embed: FaceNet templates of the kept faces, the faces at face_size, and the image split."""

import time
from pathlib import Path

from faceleak.data.mfr2 import find_root
from faceleak.io import read_json, write_json
from faceleak.models.facenet import load_facenet
from faceleak.stage import note_timing, start
from faceleak.systems.spine.params import load_spine_params
from faceleak.systems.spine.steps import embed_kept_faces

params = start(load_spine_params)
kept = [face for face in read_json("data/interim/mask_filter.json")["faces"] if face["kept"]]
started = time.perf_counter()
faces, skipped = embed_kept_faces(kept, find_root(Path("data/raw/mfr2")), load_facenet(Path("models/facenet.pt"), params.weights.engine), params.embed, params.seed)
seconds = time.perf_counter() - started
faces.save("data/processed/faces.npz")
write_json("metrics/embed.json", {"faces": len(faces.names), "identities": len(set(faces.identities)), "skipped_bad_images": len(skipped)})
note_timing(compute_seconds=seconds, images_per_second=len(faces.names) / seconds)
