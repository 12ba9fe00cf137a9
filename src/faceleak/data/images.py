"""Reading face images with clear errors for missing or corrupt files."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from faceleak.errors import FaceleakError

log = logging.getLogger(__name__)


class BadImageError(FaceleakError, ValueError):
    """An image file is missing, unreadable or corrupt."""


def open_image(path: Path, mode: str | None = None) -> Image.Image:
    """An image file, fully loaded and converted to PIL ``mode`` (None keeps the file's mode).

    Raises :class:`BadImageError` naming the file when it is missing, unreadable or corrupt.
    """
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy() if mode is None else image.convert(mode)
    except FileNotFoundError as error:
        raise BadImageError(f"image {path} does not exist") from error
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise BadImageError(f"image {path} is corrupt or unreadable: {error}") from error


def read_rgb(path: Path, size: int | None = None) -> np.ndarray:
    """Read an image as uint8 RGB (H, W, 3), optionally resized to ``size`` x ``size``."""
    rgb = open_image(path, "RGB")
    if size is not None and rgb.size != (size, size):
        rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(rgb, dtype=np.uint8)


def read_images(paths: Sequence[Path], size: int | None, on_bad_image: str) -> tuple[np.ndarray, list[int], list[str]]:
    """Read many images; ``on_bad_image`` is 'error' (raise) or 'skip' (log, count and leave out).

    Returns the stacked images, the indices of the paths read, and the messages of skipped ones.
    """
    images, kept, skipped = [], [], []
    for index, path in enumerate(paths):
        try:
            images.append(read_rgb(path, size))
            kept.append(index)
        except BadImageError as error:
            if on_bad_image == "error":
                raise
            log.warning("skipping: %s", error)
            skipped.append(str(error))
    if not images:
        raise BadImageError("no image could be read")
    return np.stack(images), kept, skipped


def to_unit_range(images: np.ndarray) -> torch.Tensor:
    """uint8 images (N, H, W, 3), or grey (N, H, W, 1) replicated, -> float tensor (N, 3, H, W) in [-1, 1]."""
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Float images in [-1, 1] (N, 3, H, W) -> uint8 (N, H, W, 3)."""
    pixels = ((images.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).numpy()


def to_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """uint8 (N, H, W, 1|3) images with ``channels`` channels: grey is PIL's 'L' luma, colour repeats grey."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    if images.shape[-1] == channels:
        return images
    if channels == 3:
        return np.repeat(images, 3, axis=-1)
    luma = images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.clip(np.round(luma), 0, 255).astype(np.uint8)[..., None]


def resized_faces(faces: np.ndarray, size: int, batch: int = 1024) -> torch.Tensor:
    """uint8 faces (N, S, S, C) as [-1, 1] tensors (N, 3, size, size), converted chunk by chunk."""
    return torch.cat(
        [torch.nn.functional.interpolate(to_unit_range(faces[i : i + batch]), size=size, mode="area") for i in range(0, len(faces), batch)]
    )


def resized_uint8(faces: np.ndarray, size: int) -> np.ndarray:
    """uint8 faces resized to ``size`` (area averaging), with the input's channel count."""
    return to_channels(to_uint8(resized_faces(faces, size)), faces.shape[-1])
