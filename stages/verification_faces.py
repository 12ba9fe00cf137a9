"""Stage verification_faces: the MTCNN crops of LFW View 1's training and test pair images, taken from the
lfw_faces stage's table where it has them and aligned here (same settings) where it does not."""

from pathlib import Path

from faceleak.data import lfw
from faceleak.data.align import FaceAligner
from faceleak.data.table import FaceTable
from faceleak.io import write_json
from faceleak.stage import start
from faceleak.systems.verification.params import load_verification_params
from faceleak.systems.verification.steps import faces_for, pair_names, view1_pairs

params = start(load_verification_params)
table = FaceTable.load("data/lfw/faces.npz")
images = lfw.list_images(lfw.find_root(Path("data/raw/lfw")))
aligner = FaceAligner(params.lfw.face_size, params.lfw.margin, params.image.channels, params.lfw.batch_size)
counts = {}
for part, folder, file in (("train", "lfw_dev_train", lfw.DEV_TRAIN_FILE), ("test", "lfw_dev_test", lfw.DEV_TEST_FILE)):
    pairs = view1_pairs(Path("data/raw") / folder / file, params.view1_pairs)
    faces = faces_for(pair_names(pairs), table, lambda names: aligner.align([images[name] for name in names], params.lfw.on_no_face)[0])
    faces.save(f"data/verification/view1_{part}.npz")
    counts[part] = {"pairs": len(pairs), "images": len(faces.names), "people": len(set(faces.people)), "aligned_here": int(faces.arrays["aligned_here"].sum())}
write_json("metrics/verification_faces.json", counts)
