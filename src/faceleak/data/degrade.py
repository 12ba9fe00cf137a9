"""Image cleanings a face tracker can apply before it enrols or matches photos: JPEG re-encoding, a
Gaussian blur and a down-and-up resize (uint8 faces (N, H, W, 1|3) in, same shape out)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CLEANINGS = ("none", "jpeg", "blur", "resize")


@dataclass(frozen=True)
class CleaningSettings:
    jpeg_quality: int  # 1..100
    blur_sigma: float  # Gaussian sigma in pixels
    resize_factor: float  # shrink to this share of the side, then back up (bilinear)


def _each(faces: np.ndarray, change) -> np.ndarray:
    """``change`` applied to every (H, W) or (H, W, 3) image, keeping the (N, H, W, C) shape."""
    return np.stack([change(face[..., 0] if face.shape[-1] == 1 else face).reshape(face.shape) for face in faces]) if len(faces) else faces.copy()


def jpeg(faces: np.ndarray, quality: int) -> np.ndarray:
    """Faces encoded as JPEG at ``quality`` and decoded again."""

    def recode(image: np.ndarray) -> np.ndarray:
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise ValueError("JPEG encoding failed")
        return cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)

    return _each(faces, recode)


def blur(faces: np.ndarray, sigma: float) -> np.ndarray:
    """Faces under a Gaussian blur of ``sigma`` pixels (kernel of 6 sigma, odd)."""
    side = 2 * int(np.ceil(3 * sigma)) + 1
    return _each(faces, lambda image: cv2.GaussianBlur(image, (side, side), sigma))


def down_up(faces: np.ndarray, factor: float) -> np.ndarray:
    """Faces shrunk to ``factor`` of their side (area averaging) and resized back (bilinear)."""

    def resize(image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        small = cv2.resize(image, (max(1, round(width * factor)), max(1, round(height * factor))), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)

    return _each(faces, resize)


def clean(faces: np.ndarray, cleaning: str, settings: CleaningSettings) -> np.ndarray:
    """Faces after one of :data:`CLEANINGS` ("none" returns them unchanged)."""
    if cleaning == "none":
        return faces
    if cleaning == "jpeg":
        return jpeg(faces, settings.jpeg_quality)
    if cleaning == "blur":
        return blur(faces, settings.blur_sigma)
    if cleaning == "resize":
        return down_up(faces, settings.resize_factor)
    raise ValueError(f"unknown cleaning {cleaning!r}; expected one of {', '.join(CLEANINGS)}")
