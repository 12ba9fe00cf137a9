"""How close a model-inversion reconstruction comes to the real faces of its target person."""

from __future__ import annotations

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def nearest_real_face(reconstruction: np.ndarray, real_faces: np.ndarray) -> dict[str, float | int]:
    """SSIM and PSNR (dB) of a grey face in [0, 1] against the most similar (by SSIM) of ``real_faces``."""
    scores = [structural_similarity(reconstruction, real, data_range=1.0) for real in real_faces]
    nearest = int(np.argmax(scores))
    with np.errstate(divide="ignore"):  # an exact copy has infinite PSNR
        psnr = peak_signal_noise_ratio(real_faces[nearest], reconstruction, data_range=1.0)
    return {"ssim": float(scores[nearest]), "psnr_db": float(psnr), "nearest_index": nearest}
