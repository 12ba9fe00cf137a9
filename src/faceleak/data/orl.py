"""The ORL / AT&T faces: 40 subjects x 10 grey 92x112 images (``orl_faces/s<N>/<M>.pgm``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from faceleak.data.images import open_image
from faceleak.errors import FaceleakError

SUBJECTS = 40
IMAGES_PER_SUBJECT = 10


class ORLError(FaceleakError, ValueError):
    """The ORL copy is not the 40 x 10 layout."""


def load_orl(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Faces float32 (400, 112, 92) in [0, 1] and labels 0..39 (subject s<N> is label N - 1)."""
    root = folder / "orl_faces"
    if not root.is_dir():
        raise ORLError(f"{folder} has no orl_faces/ folder; run the download stage for orl")
    faces, labels = [], []
    for subject in range(1, SUBJECTS + 1):
        paths = [root / f"s{subject}" / f"{number}.pgm" for number in range(1, IMAGES_PER_SUBJECT + 1)]
        missing = [str(path) for path in paths if not path.is_file()]
        if missing:
            raise ORLError(f"ORL is incomplete: {missing[0]} is missing")
        for path in paths:
            faces.append(np.asarray(open_image(path, "L"), dtype=np.float32) / 255.0)
            labels.append(subject - 1)
    return np.stack(faces), np.array(labels)


def crop_like_lfw_people(faces: np.ndarray, size: tuple[int, int] = (50, 37)) -> np.ndarray:
    """ORL faces (N, 112, 92) brought to the LFW people's shape: the central crop with LFW's aspect
    ratio (112 x 83), resized bilinearly to ``size`` (height, width), float32 in [0, 1]."""
    height, width = faces.shape[1:]
    crop_width = round(height * size[1] / size[0])
    left = (width - crop_width) // 2
    return np.stack(
        [np.asarray(Image.fromarray(face[:, left : left + crop_width]).resize(size[::-1], Image.Resampling.BILINEAR)) for face in faces]
    ).astype(np.float32)
