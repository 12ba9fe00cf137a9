"""Face recognizers from ONNX files: a user's own model, declared in the ``recognizers:`` section of params.yaml.

A spec says where the file is (its sha256 is checked), which input the graph takes (size, layout, colour order,
normalisation of 0..255 pixels) and how that input is made from the project's face crops: ``crop`` (the central
``crop_fraction`` of the MTCNN crop, resized) or ``arcface_5pt`` (MTCNN's five landmarks, warped onto the ArcFace
112x112 template). Templates come from onnxruntime; where a system needs gradients (a cloak's surrogate, an
identity loss) the same graph runs as a PyTorch module converted by onnx2torch, checked equal to onnxruntime
within :data:`AGREEMENT_TOLERANCE` (:func:`agreement`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
from pydantic import Field, model_validator
from torch.nn import functional as F
from tqdm import tqdm

from faceleak.data.images import to_unit_range
from faceleak.errors import FaceleakError, MissingInputError
from faceleak.models.recognizers import Recognizer
from faceleak.params import Flag, Int, ListOf, Maybe, Number, OneOf, Section, Text, expect, parse, refuse

ALIGNMENTS = ("crop", "arcface_5pt")
COLOURS = ("rgb", "bgr")
LAYOUTS = ("nchw", "nhwc")
AGREEMENT_TOLERANCE = 1e-4  # largest |onnxruntime - PyTorch| allowed in a template
CONVERTIBLE_OPSET = 17  # the newest opset every operator onnx2torch 1.5 converts is defined in; exports use it


class OnnxModelError(FaceleakError, ValueError):
    """An ONNX file that cannot serve as the recognizer its spec describes."""


class OnnxSpec(Section):
    """One ONNX recognizer of params.yaml's ``recognizers:`` section (its ``name`` is the section's key)."""

    name: str
    path: Annotated[Path, expect("the ONNX file's path")]
    sha256: Annotated[str, Field(strict=True, pattern="^[0-9a-f]{64}$"), expect("the file's sha256, 64 lower-case hex digits (sha256sum FILE)")]
    input_size: Int(16)
    alignment: OneOf(ALIGNMENTS)
    crop_fraction: Number("(0, 1]")
    colour: OneOf(COLOURS)
    layout: OneOf(LAYOUTS)
    mean: ListOf(Number("[-1e3, 1e3]"), "three numbers, one per channel", length=3)  # subtracted from 0..255 pixels, per channel of the graph's colour order
    std: ListOf(Number("(0, 1e3]"), "three numbers, one per channel", length=3)
    l2_normalise: Flag
    training_data: Maybe(Text, "a non-empty string") = None

    @model_validator(mode="after")
    def _arcface_size(self) -> OnnxSpec:
        if self.alignment == "arcface_5pt" and self.input_size != 112:
            raise refuse("input_size", "112 with alignment arcface_5pt (the ArcFace template's size)", self.input_size)
        return self


def parse_onnx_specs(raw: dict[str, Any] | None) -> dict[str, OnnxSpec]:
    """Every spec of a ``recognizers:`` mapping (``None``: none), each named by its key."""
    named = {name: spec | {"name": name} if isinstance(spec, dict) else spec for name, spec in (raw or {}).items()}
    return parse(dict[str, OnnxSpec], named, "recognizers")


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checked_model(spec: OnnxSpec) -> Any:
    """The file's ONNX model, after its existence, sha256, format and input shape are checked."""
    import onnx

    where = f"recognizers.{spec.name}"
    if not spec.path.is_file():
        raise MissingInputError(f"{spec.path} ({where}.path) does not exist; put the ONNX file there or correct the path")
    if (found := file_sha256(spec.path)) != spec.sha256:
        raise OnnxModelError(f"{spec.path}: sha256 {found} is not {where}.sha256 {spec.sha256}; use the file the spec describes, or set the spec from `sha256sum {spec.path}` once you trust it")
    try:
        model = onnx.load(str(spec.path))
        onnx.checker.check_model(model)
    except Exception as error:  # onnx raises DecodeError, ValidationError and others for a file that is not a model
        raise OnnxModelError(f"{spec.path} is not a valid ONNX model ({type(error).__name__}); export the recognizer with torch.onnx.export or tf2onnx") from error
    inputs = [value for value in model.graph.input if value.name not in {init.name for init in model.graph.initializer}]
    if len(inputs) != 1:
        raise OnnxModelError(f"{spec.path} takes {len(inputs)} inputs; a recognizer takes one batch of faces")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inputs[0].type.tensor_type.shape.dim]
    expected = [None, 3, spec.input_size, spec.input_size] if spec.layout == "nchw" else [None, spec.input_size, spec.input_size, 3]
    if len(dims) != 4 or any(d is not None and e is not None and d != e for d, e in zip(dims, expected)):
        shown = ["N" if d is None else d for d in dims]
        raise OnnxModelError(f"{spec.path} takes input {shown}, not {expected[1:]} per face ({where}: input_size {spec.input_size}, layout {spec.layout}); set them to the graph's input")
    return model


def constants_as_initializers(model: Any) -> Any:
    """A copy of ``model`` whose ``Constant`` nodes are initializers and whose nodes name no omitted trailing input
    (onnx2torch reads e.g. Clip's bounds only from initializers, and takes an empty name for a dynamic one)."""
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for node in [node for node in copy.graph.node if node.op_type == "Constant" and [a.name for a in node.attribute] == ["value"]]:
        tensor = onnx.TensorProto()
        tensor.CopyFrom(node.attribute[0].t)
        tensor.name = node.output[0]
        copy.graph.initializer.append(tensor)
        copy.graph.node.remove(node)
    for node in copy.graph.node:
        while node.input and not node.input[-1]:
            node.input.pop()
    return copy


def network_input(spec: OnnxSpec, faces: torch.Tensor) -> torch.Tensor:
    """The graph's input from faces in [-1, 1] (N, 3, H, W): MTCNN crops (``crop``) or faces already on the ArcFace
    template (``arcface_5pt``); differentiable."""
    if spec.alignment == "crop":
        side = faces.shape[-1]
        cut = int(round(side * (1 - spec.crop_fraction) / 2))
        faces = faces[..., cut : side - cut, cut : side - cut] if cut else faces
        faces = F.interpolate(faces, size=(spec.input_size, spec.input_size), mode="bilinear", align_corners=False)
    pixels = (faces + 1.0) * 127.5
    if spec.colour == "bgr":
        pixels = pixels.flip(1)
    pixels = (pixels - pixels.new_tensor(spec.mean)[:, None, None]) / pixels.new_tensor(spec.std)[:, None, None]
    return pixels.permute(0, 2, 3, 1) if spec.layout == "nhwc" else pixels


def as_templates(spec: OnnxSpec, outputs: torch.Tensor, path: Path) -> torch.Tensor:
    """One template per face from the graph's first output (trailing size-1 axes dropped), unit-normed if the spec says."""
    vectors = outputs.reshape(len(outputs), -1)
    if outputs.dim() < 2 or any(size != 1 for size in outputs.shape[2:]):
        raise OnnxModelError(f"{path} outputs {tuple(outputs.shape)} for {len(outputs)} faces, not one vector per face; export the embedding layer's output")
    return F.normalize(vectors, dim=1) if spec.l2_normalise else vectors


class OnnxRecognizer(Recognizer):
    """A recognizer from an ONNX file: templates by onnxruntime, gradients by its onnx2torch conversion."""

    def __init__(self, spec: OnnxSpec) -> None:
        import onnxruntime

        self.spec, self.name, self.training_data = spec, spec.name, spec.training_data or "not stated"
        self.model = checked_model(spec)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        self.session = onnxruntime.InferenceSession(self.model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        batch = self.session.get_inputs()[0].shape[0]
        self.fixed_batch = batch if isinstance(batch, int) else None
        self.input_size = spec.input_size
        self.alignment = (
            f"{'MTCNN crop' if spec.crop_fraction == 1 else f'central {spec.crop_fraction:g} of the MTCNN crop'} with margin, resized to {spec.input_size}x{spec.input_size}"
            if spec.alignment == "crop"
            else "MTCNN 5-point landmarks in the crop, similarity warp to the ArcFace 112x112 template"
        )
        self.undetected_ = 0
        probe = self._run(torch.zeros(self.fixed_batch or 2, 3, spec.input_size, spec.input_size))
        self.embedding_dim = probe.shape[1]

    @cached_property
    def aligner(self):  # noqa: ANN201 - LandmarkAligner, imported lazily (MTCNN)
        from faceleak.data.align import LandmarkAligner

        return LandmarkAligner()

    @cached_property
    def torch_network(self) -> torch.nn.Module:
        """The graph as a frozen PyTorch module (onnx2torch), for gradients."""
        import onnx
        from onnx2torch import convert

        model = constants_as_initializers(self.model)
        try:
            network = convert(model)
        except NotImplementedError as error:  # an operator of an opset newer than onnx2torch knows: try it down-converted
            try:
                network = convert(onnx.version_converter.convert_version(model, CONVERTIBLE_OPSET))
            except Exception:
                raise OnnxModelError(
                    f"{self.spec.path}: onnx2torch cannot convert it ({error}); it can judge (onnxruntime) but not serve where gradients are needed (a surrogate, an identity loss)"
                ) from error
        return network.eval().requires_grad_(False)

    def _run(self, faces: torch.Tensor) -> np.ndarray:
        """Templates from onnxruntime of faces in [-1, 1], aligned as the spec says."""
        inputs = network_input(self.spec, faces).numpy().astype(np.float32)
        outputs = self.session.run(None, {self.input_name: inputs})[0]
        return as_templates(self.spec, torch.from_numpy(outputs), self.spec.path).numpy()

    def aligned(self, faces: np.ndarray, progress: bool = False) -> np.ndarray:
        """uint8 crops (N, H, W, 1|3) as the graph's faces: the crops themselves, or warped onto the ArcFace template."""
        if self.spec.alignment == "arcface_5pt":
            faces, detected = self.aligner.align(faces, progress)
            self.undetected_ = int((~detected).sum())
        return faces

    def _batches(self, faces: np.ndarray, batch_size: int, progress: bool = False) -> Iterator[torch.Tensor]:
        """The aligned faces in [-1, 1], one batch at a time (the graph's fixed batch, if it has one)."""
        aligned, size = self.aligned(faces, progress), self.fixed_batch or batch_size
        for start in tqdm(range(0, len(aligned), size), desc=f"embed ({self.name}, onnxruntime)", disable=not progress):
            yield to_unit_range(aligned[start : start + size])

    def embed(self, faces: np.ndarray, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        outputs = [np.zeros((0, self.embedding_dim), np.float32), *(self._run(batch) for batch in self._batches(faces, batch_size, progress))]
        return np.concatenate(outputs).astype(np.float32)

    def templates(self, faces: torch.Tensor) -> torch.Tensor:
        """Differentiable templates of graph-aligned faces in [-1, 1] (N, 3, H, W), through the PyTorch conversion."""
        return as_templates(self.spec, self.torch_network(network_input(self.spec, faces)), self.spec.path)

    def agreement(self, faces: np.ndarray, batch_size: int = 32) -> float:
        """Largest |onnxruntime - PyTorch| over the templates of uint8 crops ``faces`` (else :class:`OnnxModelError`
        when above :data:`AGREEMENT_TOLERANCE`)."""
        worst = 0.0
        with torch.no_grad():
            for batch in self._batches(faces, batch_size):
                worst = max(worst, float(np.abs(self._run(batch) - self.templates(batch).numpy()).max()))
        if worst > AGREEMENT_TOLERANCE:
            raise OnnxModelError(f"{self.spec.path}: onnx2torch's conversion differs from onnxruntime by {worst:.2e} (> {AGREEMENT_TOLERANCE:g}); an operator converts wrongly: use it as a judge only (not a surrogate)")
        return worst


def export_onnx(network: torch.nn.Module, input_size: int, target: Path) -> None:
    """Write ``network`` (faces (N, 3, S, S) -> templates) as an ONNX file with a free batch axis, atomically;
    the same network and torch give the same bytes."""
    import warnings

    from faceleak.io import atomic_path

    with atomic_path(target) as temporary, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and constant-folding notes
        torch.onnx.export(
            network.cpu().eval(),
            (torch.zeros(1, 3, input_size, input_size),),
            str(temporary),
            input_names=["faces"],
            output_names=["templates"],
            dynamic_axes={"faces": {0: "batch"}, "templates": {0: "batch"}},
            opset_version=CONVERTIBLE_OPSET,
            dynamo=False,
        )
