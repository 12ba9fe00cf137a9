"""The attacker's image prior: a convolutional autoencoder with a 64-D latent space, as specified.

Encoder: 1->32->64->128 channels with 4x4 stride-2 convolutions (padding 1) and ReLU, then a linear map
to the latent. Decoder: the mirror image with transposed convolutions and a sigmoid. Three stride-2
steps turn 50x37 into 6x4 (floor division), and the mirrored decoder gives 48x32; its output is
resized to the input size with bilinear interpolation (before the sigmoid, so values stay in (0, 1)).
"""

from __future__ import annotations

import torch
from torch import nn

CHANNELS = (1, 32, 64, 128)


def _encoded_size(size: int) -> int:
    for _ in CHANNELS[1:]:
        size = (size + 2 - 4) // 2 + 1
    return size


class ConvAutoencoder(nn.Module):
    """Faces (N, 1, H, W) in [0, 1] <-> latent codes (N, latent_dim)."""

    def __init__(self, image_size: tuple[int, int] = (50, 37), latent_dim: int = 64):
        super().__init__()
        self.image_size = image_size
        self.grid = (_encoded_size(image_size[0]), _encoded_size(image_size[1]))
        flat = CHANNELS[-1] * self.grid[0] * self.grid[1]
        encoder: list[nn.Module] = []
        for c_in, c_out in zip(CHANNELS[:-1], CHANNELS[1:]):
            encoder += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.ReLU(inplace=True)]
        self.encoder = nn.Sequential(*encoder, nn.Flatten(), nn.Linear(flat, latent_dim))
        self.expand = nn.Linear(latent_dim, flat)
        decoder: list[nn.Module] = []
        reversed_channels = CHANNELS[::-1]
        for c_in, c_out in zip(reversed_channels[:-1], reversed_channels[1:]):
            decoder += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1)]
            if c_out != CHANNELS[0]:
                decoder += [nn.ReLU(inplace=True)]
        self.decoder = nn.Sequential(*decoder)

    def encode(self, faces: torch.Tensor) -> torch.Tensor:
        return self.encoder(faces)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Faces (N, 1, H, W) in (0, 1) from latent codes."""
        grid = self.expand(codes).view(-1, CHANNELS[-1], *self.grid)
        logits = nn.functional.interpolate(self.decoder(torch.relu(grid)), size=self.image_size, mode="bilinear", align_corners=False)
        return torch.sigmoid(logits)

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(faces))
