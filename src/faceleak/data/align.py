"""Face alignment with facenet-pytorch's MTCNN (its weights ship with the package).

Each image gives one crop: the detected face nearest the image centre (weighted by size, as LFW
centres its subject), widened by ``margin`` pixels of the output crop, resized to ``size``. Where
MTCNN finds no face, ``on_no_face`` decides: 'error', or 'median_box' (crop the median box of the
detected faces, the usual fallback for LFW's few misses; counted by the caller).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from faceleak.data.images import open_image
from faceleak.device import active_device
from faceleak.errors import FaceleakError
from faceleak.parallel import map_forked
from faceleak.params import NO_FACE_POLICIES


class NoFaceError(FaceleakError, ValueError):
    """MTCNN found no face in an image."""


def _load(path: Path, channels: int) -> Image.Image:
    return open_image(path, "L" if channels == 1 else "RGB").convert("RGB")


def central_box(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """The box maximising size minus twice its squared offset from the image centre."""
    sizes = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    centres = (boxes[:, :2] + boxes[:, 2:4]) / 2
    offsets = ((centres - [width / 2, height / 2]) ** 2).sum(axis=1)
    return boxes[np.argmax(sizes - 2.0 * offsets)]


def crop(image: Image.Image, box: np.ndarray, size: int, margin: int) -> np.ndarray:
    """uint8 RGB crop (size, size, 3) of ``box`` widened so ``margin`` output pixels surround it."""
    x1, y1, x2, y2 = box
    pad_x = margin * (x2 - x1) / (size - margin) / 2
    pad_y = margin * (y2 - y1) / (size - margin) / 2
    region = (
        int(max(x1 - pad_x, 0)),
        int(max(y1 - pad_y, 0)),
        int(min(x2 + pad_x, image.width)),
        int(min(y2 + pad_y, image.height)),
    )
    resized = image.crop(region).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)


class FaceAligner:
    """MTCNN detection and cropping of many images; ``channels`` 1 reads them grey (crops (N, S, S, 1))."""

    def __init__(self, size: int = 160, margin: int = 56, channels: int = 3, batch_size: int = 32):
        from facenet_pytorch import MTCNN

        if not 0 <= margin < size:
            raise ValueError(f"margin must be in [0, size), got {margin} for size {size}")
        self.size, self.margin, self.channels, self.batch_size = size, margin, channels, batch_size
        self.detector = MTCNN(image_size=size, margin=margin, keep_all=True, device=active_device())

    def _detect(self, images: list[Image.Image]) -> list[np.ndarray | None]:
        same_size = len({image.size for image in images}) == 1
        batches = [images] if same_size else [[image] for image in images]
        found = []
        for batch in batches:
            boxes, _ = self.detector.detect(batch)
            found += [None if b is None else np.asarray(b, dtype=np.float64)[:, :4] for b in boxes]
        return [None if b is None else central_box(b, image.width, image.height) for b, image in zip(found, images)]

    def _detect_and_crop(self, paths: Sequence[Path]) -> list[tuple[np.ndarray | None, np.ndarray | None]]:
        """(box, crop) of each image; (None, None) where MTCNN finds no face. Each image is decoded once."""
        images = [_load(path, self.channels) for path in paths]
        boxes = self._detect(images)
        return [(box, None if box is None else crop(image, box, self.size, self.margin)) for image, box in zip(images, boxes)]

    def align(self, paths: Sequence[Path], on_no_face: str = "median_box") -> tuple[np.ndarray, np.ndarray]:
        """Aligned uint8 crops (N, size, size, channels) and whether MTCNN found each face.

        Batches of ``batch_size`` images are detected side by side on the machine's cores."""
        if on_no_face not in NO_FACE_POLICIES:
            raise ValueError(f"on_no_face = {on_no_face!r}; expected one of {', '.join(NO_FACE_POLICIES)}")
        batches = [paths[start : start + self.batch_size] for start in range(0, len(paths), self.batch_size)]
        found = [face for batch in map_forked(self._detect_and_crop, batches, desc="align faces (MTCNN)") for face in batch]
        detected = np.array([box is not None for box, _ in found])
        if not detected.all() and (on_no_face == "error" or not detected.any()):
            missing = [str(paths[i]) for i in np.flatnonzero(~detected)[:5]]
            raise NoFaceError(
                f"MTCNN found no face in {int((~detected).sum())} image(s), e.g. {', '.join(missing)}; "
                "remove those images, or set lfw.on_no_face: median_box to crop the median detected box"
            )
        fallback = np.median(np.stack([box for box, _ in found if box is not None]), axis=0)
        crops = [
            face if face is not None else crop(_load(path, self.channels), fallback, self.size, self.margin)
            for path, (_, face) in zip(paths, found)
        ]
        return np.stack(crops)[..., : self.channels], detected
