"""Stage audit_export: the example of a recognizer of yours, the weights stage's faceres written as an ONNX file
(models/onnx/faceres.onnx), so the audit runs on a real ONNX model; your own file goes beside it."""

from pathlib import Path

from faceleak.models.faceres import INPUT_SIZE, load_faceres
from faceleak.models.onnx_recognizer import export_onnx
from faceleak.params import load_shared_params
from faceleak.stage import start

start(load_shared_params)
export_onnx(load_faceres(Path("models/faceres.pt")), INPUT_SIZE, Path("models/onnx/faceres.onnx"))
