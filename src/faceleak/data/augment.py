"""Random, differentiable views of face batches (shift, scale, flip, blur, noise), so that an attack
optimised through a recognizer holds under small changes of the image instead of exploiting one
exact pixel pattern (expectation over transformations)."""

from __future__ import annotations

import math

import torch
from torch.nn import functional

MAX_SHIFT = 0.06  # of the image side
SCALES = (0.9, 1.1)
MAX_BLUR_SIGMA = 1.0  # pixels of a 64-pixel face (scaled with the side)
MAX_NOISE = 0.04  # standard deviation on the [-1, 1] scale


def _blurred(faces: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """Each face under a separable Gaussian blur of its own sigma (pixels; 0 leaves it as is)."""
    radius = max(1, math.ceil(3 * float(sigmas.max())))
    offsets = torch.arange(-radius, radius + 1, dtype=faces.dtype, device=faces.device)
    weights = torch.exp(-0.5 * (offsets[None, :] / sigmas.clamp_min(1e-3)[:, None]) ** 2)
    weights = weights / weights.sum(dim=1, keepdim=True)  # (N, K); sigma ~0 gives a unit impulse
    count, channels, height, width = faces.shape
    kernels = weights.repeat_interleave(channels, dim=0)  # one kernel per (face, channel)
    flat = faces.reshape(1, count * channels, height, width)
    flat = functional.conv2d(functional.pad(flat, (radius, radius, 0, 0), mode="replicate"), kernels[:, None, None, :], groups=count * channels)
    flat = functional.conv2d(functional.pad(flat, (0, 0, radius, radius), mode="replicate"), kernels[:, None, :, None], groups=count * channels)
    return flat.reshape(faces.shape)


def random_views(faces: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One random view of each face in [-1, 1] (N, C, H, W): shifted by up to 6% of the side, scaled by
    0.9-1.1, mirrored with probability 1/2, blurred (sigma up to 1 pixel per 64), with Gaussian noise
    (std up to 0.04). Differentiable in ``faces``; every draw comes from ``generator``."""
    count = len(faces)

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(count, generator=generator)

    scale = uniform(*SCALES)
    flip = torch.where(torch.rand(count, generator=generator) < 0.5, -1.0, 1.0)
    shift = torch.stack([uniform(-MAX_SHIFT, MAX_SHIFT), uniform(-MAX_SHIFT, MAX_SHIFT)], dim=1) * 2
    theta = torch.zeros(count, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1], theta[:, :, 2] = flip / scale, 1 / scale, shift
    grid = functional.affine_grid(theta.to(faces), list(faces.shape), align_corners=False)
    views = functional.grid_sample(faces, grid, mode="bilinear", padding_mode="border", align_corners=False)
    sigmas = uniform(0.0, MAX_BLUR_SIGMA * faces.shape[-1] / 64).to(faces)
    noise = uniform(0.0, MAX_NOISE).to(faces)[:, None, None, None]
    views = _blurred(views, sigmas) + noise * torch.randn(views.shape, generator=generator).to(faces)
    return views.clamp(-1.0, 1.0)
