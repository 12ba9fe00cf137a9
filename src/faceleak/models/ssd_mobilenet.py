"""face-api.js's SSD MobileNet V1 face detector (512x512, WIDER FACE) in PyTorch.

The weights are the uint8-quantised tfjs weights of the npm package ``@vladmandic/face-api@1.7.15``
(:mod:`faceleak.vendor` fetches ``ssd_mobilenetv1_model.bin`` and its weights manifest); the manifest
has no topology, so the network follows face-api.js 0.22.2's ``ssdMobilenetv1/*.js`` line by line:
MobileNet V1 (depthwise convolution + batch norm, pointwise convolution + ``convolution_bn_offset``),
eight extra convolutions (ReLU6 after all of these) and six linear box predictors; the anchors are the stored
``Output/extra_dim`` tensor, boxes are decoded with the TF object-detection box coder (scales 10, 10,
5, 5) and the face score is the sigmoid of class logit 1. TensorFlow's SAME padding of a stride-2 3x3
convolution on an even input pads one pixel at the bottom and right only. Input: the image zero-padded
at the bottom/right to a square, resized to 512x512 with TF's legacy bilinear resize (no half-pixel
centres), ``x * 2/255 - 1``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from faceleak.compat import nms_reference
from faceleak.data.images import to_unit_range
from faceleak.device import device_of
from faceleak.errors import FaceleakError, MissingInputError
from faceleak.models.weights import load_frozen

INPUT_SIZE = 512
NUM_ANCHORS = 5118
# MobileNet V1 blocks 1..13: (input channels, output channels, depthwise stride)
_BLOCKS = [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2)]
_BLOCKS += [(512, 512, 1)] * 5 + [(512, 1024, 2), (1024, 1024, 1)]
# Prediction/Conv2d_0..7: (input channels, output channels, kernel, stride)
_EXTRAS = [(1024, 256, 1, 1), (256, 512, 3, 2), (512, 128, 1, 1), (128, 256, 3, 2), (256, 128, 1, 1), (128, 256, 3, 2), (256, 64, 1, 1), (64, 128, 3, 2)]
# Box predictors 0..5: (input channels, anchors per cell) on conv 11, conv 13, extras 1, 3, 5, 7
_PREDICTORS = [(512, 3), (1024, 6), (512, 6), (256, 6), (256, 6), (128, 6)]
_BN_EPSILON = 0.0010000000474974513
_BOX_SCALES = (10.0, 10.0, 5.0, 5.0)
# face-api.js scopes -> modules, tried in order; tensor leaf names -> parameter names
_SCOPES = [
    (r"MobilenetV1/Conv2d_0_pointwise", "backbone.0.conv"),
    (r"MobilenetV1/Conv2d_(\d+)_pointwise", r"backbone.\1.pointwise.conv"),
    (r"MobilenetV1/Conv2d_(\d+)_depthwise", r"backbone.\1.depthwise.conv"),
    (r"MobilenetV1/Conv2d_(\d+)_depthwise/BatchNorm", r"backbone.\1.depthwise.bn"),
    (r"Prediction/Conv2d_(\d+)_pointwise", r"extras.\1.conv"),
    (r"Prediction/BoxPredictor_(\d+)/BoxEncodingPredictor", r"predictors.\1.boxes"),
    (r"Prediction/BoxPredictor_(\d+)/ClassPredictor", r"predictors.\1.classes"),
]
_LEAVES = {"weights": "weight", "depthwise_weights": "weight", "convolution_bn_offset": "bias", "biases": "bias"}
_LEAVES |= {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}
_BYTES = {"float32": 4, "int32": 4, "uint8": 1, "uint16": 2, "float16": 2}


class WeightsManifestError(FaceleakError, ValueError):
    """A tfjs weights manifest does not match its weight files, or does not hold the model expected."""


def tf_same(x: torch.Tensor, stride: int) -> torch.Tensor:
    """TF SAME padding before a 3x3 convolution: stride 2 (even input) pads bottom/right only."""
    return F.pad(x, (0, 1, 0, 1)) if stride == 2 else F.pad(x, (1, 1, 1, 1))


class PointwiseConv(nn.Module):
    """face-api.js ``pointwiseConvLayer``: convolution (TF SAME) + ``convolution_bn_offset``, ReLU6."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1):
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.conv = nn.Conv2d(cin, cout, kernel, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(self.conv(tf_same(x, self.stride) if self.kernel == 3 else x))


class DepthwiseConv(nn.Module):
    """face-api.js ``depthwiseConvLayer``: 3x3 depthwise convolution (TF SAME), batch norm, ReLU6."""

    def __init__(self, channels: int, stride: int):
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(channels, channels, 3, stride, groups=channels, bias=False)
        self.bn = nn.BatchNorm2d(channels, eps=_BN_EPSILON)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(self.bn(self.conv(tf_same(x, self.stride))))


class SeparableBlock(nn.Module):
    """One MobileNet V1 block: depthwise 3x3 (stride 1 or 2) then pointwise 1x1."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.depthwise = DepthwiseConv(cin, stride)
        self.pointwise = PointwiseConv(cin, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class BoxPredictor(nn.Module):
    """1x1 box-encoding and class convolutions, flattened in NHWC order to (N, H*W*A, 4) and (N, H*W*A, 3)."""

    def __init__(self, channels: int, anchors: int):
        super().__init__()
        self.boxes = nn.Conv2d(channels, anchors * 4, 1)
        self.classes = nn.Conv2d(channels, anchors * 3, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(x)
        return self.boxes(x).permute(0, 2, 3, 1).reshape(n, -1, 4), self.classes(x).permute(0, 2, 3, 1).reshape(n, -1, 3)


class SSDMobileNetV1(nn.Module):
    """face-api.js's SSD: network input (N, 3, 512, 512) -> boxes (N, 5118, 4) (ymin, xmin, ymax, xmax), face scores (N, 5118)."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.ModuleList([PointwiseConv(3, 32, 3, 2), *(SeparableBlock(*spec) for spec in _BLOCKS)])
        self.extras = nn.ModuleList(PointwiseConv(*spec) for spec in _EXTRAS)
        self.predictors = nn.ModuleList(BoxPredictor(*spec) for spec in _PREDICTORS)
        self.register_buffer("anchors", torch.zeros(NUM_ANCHORS, 4))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoded boxes in [0, 1] of the padded square, and face scores (sigmoid of class logit 1)."""
        features = []
        for index, layer in enumerate(self.backbone):
            x = layer(x)
            if index in (11, 13):
                features.append(x)
        for index, extra in enumerate(self.extras):
            x = extra(x)
            if index % 2 == 1:
                features.append(x)
        encodings, logits = zip(*(predictor(f) for predictor, f in zip(self.predictors, features)))
        return decode_boxes(torch.cat(encodings, 1), self.anchors), torch.sigmoid(torch.cat(logits, 1)[..., 1])


def decode_boxes(encodings: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """TF object-detection box coder: (ty, tx, th, tw) per anchor (ymin, xmin, ymax, xmax) -> (ymin, xmin, ymax, xmax)."""
    sizes = anchors[:, 2:] - anchors[:, :2]
    centres = anchors[:, :2] + sizes / 2
    scales = encodings.new_tensor(_BOX_SCALES)
    centre = encodings[..., :2] / scales[:2] * sizes + centres
    half = torch.exp(encodings[..., 2:] / scales[2:]) * sizes / 2
    return torch.cat([centre - half, centre + half], -1)


def _dequantize(raw: bytes, spec: dict) -> np.ndarray:
    """One manifest entry's values: affine ``q * scale + min`` (uint8/uint16), float16 cast, or raw float32/int32."""
    dtype, quantization = spec["dtype"], spec.get("quantization")
    if quantization is None:
        return np.frombuffer(raw, np.dtype(dtype).newbyteorder("<")).astype(dtype)
    stored = np.frombuffer(raw, np.dtype(quantization["dtype"]).newbyteorder("<"))
    if quantization["dtype"] == "float16":
        return stored.astype(np.float32)
    values = stored * float(quantization["scale"]) + float(quantization["min"])  # float64, as tfjs computes it
    return np.floor(values + 0.5).astype(np.int32) if dtype == "int32" else values.astype(np.float32)


def read_tfjs_weights(manifest: Path, shards: Sequence[Path]) -> dict[str, np.ndarray]:
    """Tensors of a tfjs weights manifest (or a graph model's JSON), read back-to-back from ``shards`` (all groups' files, in order).

    The byte count the manifest implies must equal the shards' total size exactly (else :class:`WeightsManifestError`).
    """
    for path in (manifest, *shards):
        if not Path(path).is_file():
            raise MissingInputError(f"tfjs weights file {path} does not exist; fetch it with `.venv/bin/python -m faceleak.vendor`")
    try:
        loaded = json.loads(Path(manifest).read_text())
        groups = loaded["weightsManifest"] if isinstance(loaded, dict) else loaded  # a graph model's JSON holds its manifest
        specs = [spec for group in groups for spec in group["weights"]]
        stored = [spec.get("quantization", spec)["dtype"] for spec in specs]
        sizes = [int(np.prod(spec["shape"], dtype=np.int64)) * _BYTES.get(dtype, 0) for spec, dtype in zip(specs, stored)]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise WeightsManifestError(f"{manifest} is not a tfjs weights manifest ({type(error).__name__}: {error})") from None
    if set(stored) - set(_BYTES):
        raise WeightsManifestError(f"{manifest} stores dtypes {sorted(set(stored) - set(_BYTES))} that the reader does not know")
    data = b"".join(Path(path).read_bytes() for path in shards)
    if sum(sizes) != len(data):
        raise WeightsManifestError(f"{manifest} describes {sum(sizes)} bytes of weights but {', '.join(map(str, shards))} hold {len(data)}")
    offsets = np.cumsum([0, *sizes])
    return {spec["name"]: _dequantize(data[start:end], spec).reshape(spec["shape"]) for spec, start, end in zip(specs, offsets, offsets[1:])}


def _torch_name(name: str) -> str:
    """The state-dict key of face-api.js tensor ``name`` (unchanged if it is not one of the network's)."""
    if name == "Output/extra_dim":
        return "anchors"
    scope, _, leaf = name.rpartition("/")
    for pattern, module in _SCOPES:
        if re.fullmatch(pattern, scope) and leaf in _LEAVES:
            return f"{re.sub(pattern, module, scope)}.{_LEAVES[leaf]}"
    return name


def convert_face_api_ssd(weights_bin: Path, manifest: Path) -> dict[str, torch.Tensor]:
    """A :class:`SSDMobileNetV1` state dict (anchors included) from face-api.js's weights, every entry filled.

    Filters: HWIO -> OIHW, depthwise [3, 3, C, 1] -> [C, 1, 3, 3]; the int32 graph constants are dropped.
    """
    tensors = read_tfjs_weights(manifest, [weights_bin])
    state = {}
    for name, value in tensors.items():
        if value.dtype == np.int32 or name.startswith("Preprocessor/"):
            continue  # graph leftovers: stack sizes, axes, the resize size, the input scaling constants
        key = _torch_name(name)
        if "depthwise_weights" in name:
            value = value.transpose(2, 3, 0, 1)
        elif value.ndim == 4:
            value = value.transpose(3, 2, 0, 1)
        state[key] = torch.from_numpy(np.ascontiguousarray(value.reshape(-1, 4) if key == "anchors" else value))
    template = SSDMobileNetV1().state_dict()
    state.update({k: v for k, v in template.items() if k.endswith("num_batches_tracked")})
    missing, unexpected = set(template) - set(state), set(state) - set(template)
    wrong = [k for k in set(template) & set(state) if state[k].shape != template[k].shape]
    if missing or unexpected or wrong:
        raise WeightsManifestError(
            f"{manifest} does not hold face-api.js's SSD MobileNet V1: missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]}, wrong shape {wrong[:3]}"
        )
    return state


def load_ssd_mobilenet(path: Path) -> SSDMobileNetV1:
    """An eval-mode, frozen :class:`SSDMobileNetV1` on the active device, from a state dict saved with ``torch.save``."""
    missing = f"SSD MobileNet weights {path} do not exist; save convert_face_api_ssd(...) of the vendored face-api.js files there first"
    return load_frozen(SSDMobileNetV1(), path, missing)


def _resize_matrix(size: int, device: torch.device) -> torch.Tensor:
    """(512, size) matrix of TF's legacy bilinear resize (source = target * size / 512, no half-pixel centres)."""
    source = np.arange(INPUT_SIZE) * (size / INPUT_SIZE)
    low = np.floor(source).astype(np.int64)
    high, fraction = np.minimum(low + 1, size - 1), source - low
    matrix = np.zeros((INPUT_SIZE, size))
    np.add.at(matrix, (np.arange(INPUT_SIZE), low), 1 - fraction)
    np.add.at(matrix, (np.arange(INPUT_SIZE), high), fraction)
    return torch.from_numpy(matrix).float().to(device)


def network_input(images: torch.Tensor) -> torch.Tensor:
    """Differentiable preprocessing: images in [-1, 1] (N, 3, H, W) -> network input (N, 3, 512, 512).

    Pads with -1 (pixel 0) at the bottom/right to a square of side max(H, W), then resizes bilinearly like tfjs.
    """
    height, width = images.shape[-2:]
    side = max(height, width)
    square = F.pad(images, (0, side - width, 0, side - height), value=-1.0)
    matrix = _resize_matrix(side, images.device).to(images.dtype)
    return matrix @ square @ matrix.T


def preprocess(images: np.ndarray) -> tuple[torch.Tensor, list[float]]:
    """uint8 RGB (N, H, W, 3), or grey (N, H, W, 1) replicated -> network input (N, 3, 512, 512) and each image's pixels per unit box coordinate.

    The scale is the padded square's side; face-api.js divides by its rounded resized size instead, which can
    differ by up to 0.5/512 of a box coordinate when 512 * min(H, W) / max(H, W) is not a whole number.
    """
    return network_input(to_unit_range(images)), [float(max(images.shape[1:3]))] * len(images)


def _detections(boxes: torch.Tensor, scores: torch.Tensor, scale: float, min_confidence: float, iou_threshold: float, max_results: int) -> np.ndarray:
    """face-api.js's post-processing of one image: score > min_confidence, greedy NMS (suppress IoU > threshold), clamp to [0, 1], to pixels."""
    candidates = torch.nonzero(scores > min_confidence).flatten()
    keep = candidates[nms_reference(boxes[candidates][:, [1, 0, 3, 2]], scores[candidates], iou_threshold)][:max_results]
    pixels = boxes[keep][:, [1, 0, 3, 2]].clamp(0, 1) * scale
    return torch.cat([pixels, scores[keep, None]], 1).numpy()


@torch.no_grad()
def detect_faces(model: SSDMobileNetV1, images: np.ndarray, min_confidence: float = 0.5, iou_threshold: float = 0.5, max_results: int = 100, batch_size: int = 8) -> list[np.ndarray]:
    """Faces in uint8 RGB/grey images (N, H, W, 3|1): per image a float32 (K, 5) array of (x1, y1, x2, y2, score) in its pixels, by decreasing score."""
    results, device = [], device_of(model)
    for start in range(0, len(images), batch_size):
        batch, scales = preprocess(images[start : start + batch_size])
        boxes, scores = (t.float().cpu() for t in model(batch.to(device)))
        results += [_detections(b, s, scale, min_confidence, iou_threshold, max_results) for b, s, scale in zip(boxes, scores, scales)]
    return results
