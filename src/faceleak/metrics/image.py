"""Image-quality metrics on uint8 RGB faces (N, H, W, 3): MSE, PSNR, SSIM, LPIPS, Frechet distances.

LPIPS and FID need pretrained backbones that are web downloads; they are used only when their
weights are already in torch's hub cache, and are ``None`` with a reason otherwise.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from skimage.metrics import structural_similarity

import faceleak  # noqa: F401  (installs the torchvision compatibility step)
from faceleak.data.images import to_unit_range
from faceleak.device import active_device

log = logging.getLogger(__name__)

LPIPS_BACKBONE_FILES = {"alex": "alexnet-owt-7be5be79.pth", "vgg": "vgg16-397923af.pth"}
FID_INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"


def _unit(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float64) / 255.0


def mse(originals: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    """Per-image mean squared error on pixels scaled to [0, 1]."""
    return ((_unit(originals) - _unit(reconstructions)) ** 2).mean(axis=(1, 2, 3))


def psnr_db(originals: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    """Per-image PSNR in dB (peak 1.0); identical images give +inf."""
    errors = mse(originals, reconstructions)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(1.0 / errors)


def ssim(originals: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    """Per-image SSIM (scikit-image, colour, data range 1)."""
    return np.array(
        [
            structural_similarity(_unit(a), _unit(b), channel_axis=-1, data_range=1.0)
            for a, b in zip(originals, reconstructions)
        ]
    )


def _hub_checkpoint(filename: str) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def lpips_distance(originals: np.ndarray, reconstructions: np.ndarray, net: str = "alex") -> tuple[np.ndarray | None, str]:
    """Per-image LPIPS, or ``(None, reason)`` when the backbone's pretrained weights are absent."""
    checkpoint = _hub_checkpoint(LPIPS_BACKBONE_FILES[net])
    if not checkpoint.is_file():
        reason = f"LPIPS not computed: the {net} backbone weights {checkpoint} are absent (a web download)"
        log.warning(reason)
        return None, reason
    import lpips

    device = active_device()
    model = lpips.LPIPS(net=net, verbose=False).eval().to(device)
    with torch.no_grad():
        distances = model(to_unit_range(originals).to(device), to_unit_range(reconstructions).to(device)).flatten().cpu().numpy()
    return distances, f"LPIPS with the pretrained {net} backbone"


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (pytorch-fid's formula)."""
    from pytorch_fid.fid_score import calculate_frechet_distance

    return float(
        calculate_frechet_distance(
            features_a.mean(0), np.cov(features_a, rowvar=False), features_b.mean(0), np.cov(features_b, rowvar=False)
        )
    )


def inception_fid(originals: np.ndarray, reconstructions: np.ndarray) -> tuple[float | None, str]:
    """pytorch-fid's FID on its Inception pool features, or ``(None, reason)`` when its weights are absent."""
    checkpoint = _hub_checkpoint(FID_INCEPTION_FILE)
    if not checkpoint.is_file():
        reason = f"FID not computed: pytorch-fid's Inception weights {checkpoint} are absent (a web download)"
        log.warning(reason)
        return None, reason
    from pytorch_fid.inception import InceptionV3

    device = active_device()
    model = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval().to(device)
    with torch.no_grad():
        features = [
            model(torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255.0).to(device))[0].flatten(1).cpu().numpy()
            for images in (originals, reconstructions)
        ]
    return frechet_distance(*features), "FID on pytorch-fid Inception pool3 features"
