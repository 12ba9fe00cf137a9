"""Face verifiers trained from scratch: the reference's ResNet18 twin (contrastive loss on pairs) and
the project's embedding net (additive-margin identity loss), with the preprocessing both share.

A verifier's :class:`VerifierConfig` travels with its weights (``<name>.json`` beside ``<name>.pt``), so
the recognizer registry rebuilds it by name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch import nn
from torch.nn import functional as F

from faceleak.data.images import to_unit_range
from faceleak.errors import MissingInputError
from faceleak.io import read_json, save_weights, write_json

ARCHITECTURES = ("resnet18", "face_resnet")


@dataclass(frozen=True)
class VerifierConfig:
    """How to rebuild a verifier and feed it: network, template size, input side, crop, channels, and
    whether templates are compared as unit vectors (cosine-trained) or raw (contrastive-trained)."""

    architecture: str
    embedding_dim: int
    input_size: int
    crop_fraction: float  # the central share of the project's face crop that the network sees
    channels: int
    unit_norm: bool
    width: int = 64  # face_resnet: channels of its first stage


def preprocess(faces: np.ndarray | torch.Tensor, config: VerifierConfig) -> torch.Tensor:
    """Network input (N, C, S, S) in [-1, 1] from uint8 crops (N, H, W, 1|3) or [-1, 1] tensors (N, 3, H, W)."""
    batch = to_unit_range(faces) if isinstance(faces, np.ndarray) else faces
    side = batch.shape[-1]
    keep = round(side * config.crop_fraction)
    offset = (side - keep) // 2
    batch = batch[..., offset : offset + keep, offset : offset + keep]
    batch = F.interpolate(batch, size=config.input_size, mode="area" if keep > config.input_size else "bilinear")
    grey = batch.mean(dim=1, keepdim=True)
    return grey.expand(-1, config.channels, -1, -1) if config.channels == 3 else grey


class _Block(nn.Module):
    """A pre-activation-free residual block: conv-BN-PReLU-conv-BN plus a (projected) shortcut."""

    def __init__(self, inputs: int, outputs: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False), nn.BatchNorm2d(outputs), nn.PReLU(outputs),
            nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False), nn.BatchNorm2d(outputs),
        )
        self.shortcut = nn.Identity() if stride == 1 and inputs == outputs else nn.Sequential(
            nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs)
        )
        self.activation = nn.PReLU(outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.body(x) + self.shortcut(x))


class FaceResNet(nn.Module):
    """A small residual face-embedding net: stem, three stages of two blocks (stride 2 each), then the
    ArcFace-style output head (BN, dropout, flatten, linear, BN)."""

    def __init__(self, config: VerifierConfig, dropout: float = 0.2):
        super().__init__()
        width = config.width
        self.stem = nn.Sequential(nn.Conv2d(config.channels, width // 2, 3, 1, 1, bias=False), nn.BatchNorm2d(width // 2), nn.PReLU(width // 2))
        stages, inputs = [], width // 2
        for outputs in (width, 2 * width, 4 * width):
            stages += [_Block(inputs, outputs, 2), _Block(outputs, outputs, 1)]
            inputs = outputs
        self.stages = nn.Sequential(*stages)
        side = config.input_size // 8
        self.head = nn.Sequential(
            nn.BatchNorm2d(inputs), nn.Dropout(dropout), nn.Flatten(),
            nn.Linear(inputs * side * side, config.embedding_dim), nn.BatchNorm1d(config.embedding_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


def build_verifier(config: VerifierConfig) -> nn.Module:
    """An untrained network for ``config`` (the reference's ResNet18 is torchvision's, no pretrained weights)."""
    if config.architecture == "resnet18":
        return torchvision.models.resnet18(weights=None, num_classes=config.embedding_dim)
    if config.architecture == "face_resnet":
        return FaceResNet(config)
    raise ValueError(f"unknown verifier architecture {config.architecture!r}; expected one of {', '.join(ARCHITECTURES)}")


class MarginHead(nn.Module):
    """CosFace's additive-margin softmax: logits ``scale * (cos(x, w_y) - margin)`` for the true class."""

    def __init__(self, embedding_dim: int, classes: int, scale: float, margin: float):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(classes, embedding_dim) * 0.01)
        self.scale, self.margin = scale, margin

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The margin cross-entropy of a batch."""
        cosine = F.normalize(embeddings) @ F.normalize(self.weight).T
        logits = self.scale * (cosine - self.margin * F.one_hot(labels, cosine.shape[1]))
        return F.cross_entropy(logits, labels)


def contrastive_loss(first: torch.Tensor, second: torch.Tensor, same: torch.Tensor, margin: float) -> torch.Tensor:
    """Hadsell et al.'s contrastive loss on Euclidean distances: pull same pairs in, push others past ``margin``."""
    distance = F.pairwise_distance(first, second)
    return (same * distance**2 + (1 - same) * F.relu(margin - distance) ** 2).mean()


@torch.no_grad()
def verifier_templates(model: nn.Module, config: VerifierConfig, faces: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Templates (N, D) of uint8 face crops, unit-norm when ``config.unit_norm``."""
    device = next(model.parameters()).device
    outputs = [model(preprocess(faces[start : start + batch_size], config).to(device)).float().cpu() for start in range(0, len(faces), batch_size)]
    templates = torch.cat(outputs) if outputs else torch.zeros(0, config.embedding_dim)
    return (F.normalize(templates) if config.unit_norm else templates).numpy()


def save_verifier(model: nn.Module, config: VerifierConfig, weights: Path) -> None:
    """Weights at ``weights`` and the config beside them (``.json``)."""
    save_weights(weights, model.state_dict())
    write_json(Path(weights).with_suffix(".json"), asdict(config))


def load_verifier(weights: Path) -> tuple[nn.Module, VerifierConfig]:
    """An eval-mode, frozen verifier and its config, saved by :func:`save_verifier`."""
    weights = Path(weights)
    if not weights.is_file() or not weights.with_suffix(".json").is_file():
        raise MissingInputError(f"verifier weights {weights} (or its .json) do not exist; run the verification stages first")
    config = VerifierConfig(**read_json(weights.with_suffix(".json")))
    model = build_verifier(config)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.eval().requires_grad_(False), config
