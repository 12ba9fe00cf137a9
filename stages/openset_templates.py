"""Stage openset_templates: the attacked recognizer's (``openset.attacked``) templates of every LFW face, the open set's
one store of them (the attacker's training templates, the leak masks' reference, the retrieval baseline, View 2 of the
template protections). FaceNet's are the face table's (embedded by lfw_faces); any other recognizer is queried here,
forward passes only: the black-box attacker's access."""

import time
from pathlib import Path

from faceleak.data.table import FaceTable
from faceleak.io import write_npz
from faceleak.models.recognizers import load_recognizer
from faceleak.stage import note_timing, start
from faceleak.systems.openset.params import load_openset_params
from faceleak.systems.openset.steps import STORE

params = start(load_openset_params)
table = FaceTable.load("data/lfw/faces.npz")
name = params.openset.attacked
started = time.perf_counter()
stored = name == "facenet"
templates = table.arrays[name] if stored else load_recognizer(name, Path("models"), params.weights.engine).embed(table.faces, progress=True)
write_npz(STORE, names=table.names, templates=templates)
note_timing(compute_seconds=time.perf_counter() - started, faces=len(templates), queried=not stored)
