"""How close a model-inversion reconstruction comes to the real faces of its target person."""

from __future__ import annotations

import numpy as np

from faceleak.metrics.image import psnr_db, ssim


def nearest_real_face(reconstruction: np.ndarray, real_faces: np.ndarray) -> dict[str, float | int]:
    """SSIM and PSNR (dB) of a uint8 face (H, W, C) against the most similar (by SSIM) of ``real_faces`` (N, H, W, C)."""
    scores = ssim(real_faces, np.broadcast_to(reconstruction, real_faces.shape))
    nearest = int(np.argmax(scores))
    psnr = psnr_db(real_faces[nearest : nearest + 1], reconstruction[None])[0]
    return {"ssim": float(scores[nearest]), "psnr_db": float(psnr), "nearest_index": nearest}
