"""Transposed-convolution decoder from a (partially leaked) embedding to a face."""

from __future__ import annotations

import math

import torch
from torch import nn

_START_SIZE = 4


class EmbeddingDecoder(nn.Module):
    """Linear to a 4x4 map, then stride-2 transposed convs (BatchNorm, ReLU) doubling to ``face_size``.

    Output: RGB in [-1, 1]. The input is scaled by sqrt(embedding_dim) so a unit-norm template has
    entries of order one. A ``conditioned`` decoder also takes the 0/1 mask of the leaked dimensions,
    so one decoder serves any leak.
    """

    def __init__(
        self,
        embedding_dim: int = 512,
        face_size: int = 128,
        base_channels: int = 16,
        dropout: float = 0.2,
        conditioned: bool = False,
    ):
        super().__init__()
        blocks = int(math.log2(face_size // _START_SIZE))
        if _START_SIZE * 2**blocks != face_size:
            raise ValueError(f"face_size must be 4 x a power of two, got {face_size}")
        channels = [base_channels * 2 ** (blocks - i) for i in range(blocks + 1)]
        self.embedding_dim, self.conditioned = embedding_dim, conditioned
        self.project = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(embedding_dim * (2 if conditioned else 1), channels[0] * _START_SIZE**2),
            nn.ReLU(inplace=True),
        )
        layers: list[nn.Module] = []
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        layers += [nn.Conv2d(channels[-1], 3, 3, padding=1), nn.Tanh()]
        self.upsample = nn.Sequential(*layers)
        self.start_channels = channels[0]

    def forward(self, leaked: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        inputs = leaked * math.sqrt(self.embedding_dim)
        if self.conditioned:
            if mask is None:
                raise ValueError("a conditioned decoder needs the mask of leaked dimensions")
            inputs = torch.cat([inputs, mask], dim=1)
        features = self.project(inputs)
        return self.upsample(features.view(-1, self.start_channels, _START_SIZE, _START_SIZE))
