"""Stage lfw_dlib: dlib descriptors of the View 2 pair images (the independent recognizer's templates)."""

import time
from pathlib import Path

import numpy as np

from faceleak.data import lfw
from faceleak.data.table import FaceTable
from faceleak.io import write_npz
from faceleak.models.dlib_face import DlibRecognizer
from faceleak.stage import note_timing, start

params = start()
pairs = lfw.read_pairs(Path("data/raw/lfw_pairs") / lfw.PAIRS_FILE, params.lfw.folds, params.lfw.pairs_per_fold)
names = sorted({name for pair in pairs for name in (pair.first, pair.second)})
table = FaceTable.load("data/lfw/faces.npz")
started = time.perf_counter()
descriptors = DlibRecognizer().embed(table.faces[table.rows(names)], progress=True)
seconds = time.perf_counter() - started
write_npz("data/lfw/dlib.npz", names=np.array(names), dlib=descriptors)
note_timing(compute_seconds=seconds, images=len(names), images_per_second=len(names) / seconds)
