"""The model-inversion victim: a small face classifier, exactly as the reference specifies."""

from __future__ import annotations

import torch
from torch import nn


def _conv_block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class SmallCNN(nn.Module):
    """conv 1->32, 32->64 (3x3, padding 1, BatchNorm, ReLU), max-pool 2x2, conv 64->128 (same),
    adaptive average pool to 4x4, linear 2048->256, ReLU, dropout 0.3, linear 256->classes."""

    def __init__(self, classes: int = 7):
        super().__init__()
        self.features = nn.Sequential(
            *_conv_block(1, 32), *_conv_block(32, 64), nn.MaxPool2d(2), *_conv_block(64, 128), nn.AdaptiveAvgPool2d(4)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(2048, 256), nn.ReLU(inplace=True), nn.Dropout(0.3), nn.Linear(256, classes)
        )

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        """Logits (N, classes) of grey faces (N, 1, H, W) in [0, 1]."""
        return self.classifier(self.features(faces))
