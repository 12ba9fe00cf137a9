"""Face alignment with facenet-pytorch's MTCNN (its weights ship with the package).

Each image gives one crop: the detected face nearest the image centre (weighted by size, as LFW
centres its subject), widened by ``margin`` pixels of the output crop, resized to ``size``. Where
MTCNN finds no face, ``on_no_face`` decides: 'error', or 'median_box' (crop the median box of the
detected faces, the usual fallback for LFW's few misses; counted by the caller).

:class:`LandmarkAligner` goes one step further for recognizers trained on ArcFace-aligned faces:
MTCNN's five landmarks in a face crop, and the crop warped onto the ArcFace 112x112 template.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from faceleak.data.images import open_image, to_channels
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


def face_region(box: np.ndarray, width: int, height: int, size: int, margin: int) -> tuple[int, int, int, int]:
    """The region (x1, y1, x2, y2) of a ``width`` x ``height`` photo that a crop of ``box`` takes: the box widened so
    that ``margin`` of the crop's ``size`` pixels surround it, within the photo."""
    x1, y1, x2, y2 = box
    pad_x = margin * (x2 - x1) / (size - margin) / 2
    pad_y = margin * (y2 - y1) / (size - margin) / 2
    return int(max(x1 - pad_x, 0)), int(max(y1 - pad_y, 0)), int(min(x2 + pad_x, width)), int(min(y2 + pad_y, height))


def crop(image: Image.Image, box: np.ndarray, size: int, margin: int) -> np.ndarray:
    """uint8 RGB crop (size, size, 3) of ``box`` widened so ``margin`` output pixels surround it."""
    region = face_region(box, image.width, image.height, size, margin)
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


# ArcFace's 5-point template for 112x112 faces (x, y): eye centres, nose tip, mouth corners.
ARCFACE_SIZE = 112
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
)
# Where MTCNN's five landmarks sit in the project's crops, as fractions of the crop's width and height,
# used where MTCNN finds no face: the median of the landmarks it found on 265 of the 269 MFR2 images
# (160x160 crops, framed like the lfw_faces stage's), measured once with LandmarkAligner.landmarks.
FALLBACK_LANDMARKS = np.array([[0.3762, 0.4950], [0.6314, 0.4811], [0.5106, 0.6312], [0.4061, 0.7536], [0.6207, 0.7447]])


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 similarity (rotation, uniform scale, shift) taking points ``source`` (K, 2) closest to
    ``target`` (K, 2) in least squares (Umeyama 1991)."""
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    source_centred, target_centred = source - source_mean, target - target_mean
    u, singular, vt = np.linalg.svd(target_centred.T @ source_centred / len(source))
    signs = np.array([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rotation = u @ np.diag(signs) @ vt
    scale = (singular * signs).sum() / source_centred.var(axis=0).sum()
    return np.hstack([scale * rotation, (target_mean - scale * rotation @ source_mean)[:, None]])


class LandmarkAligner:
    """Face crops warped onto the ArcFace template from MTCNN's five landmarks (fixed ones where it finds no face)."""

    def __init__(self, batch_size: int = 32) -> None:
        from facenet_pytorch import MTCNN

        self.batch_size = batch_size
        self.detector = MTCNN(keep_all=True, device=active_device())

    def _detect(self, faces: np.ndarray) -> np.ndarray:
        """Landmarks (N, 5, 2) of the central face of each RGB crop, NaN where MTCNN finds none."""
        boxes, _, points = self.detector.detect(faces, landmarks=True)
        found = np.full((len(faces), 5, 2), np.nan)
        for index, (box, point) in enumerate(zip(boxes, points)):
            if box is not None:  # central_box chooses on the first 4 columns and returns the whole row
                rows = np.hstack([np.asarray(box, np.float64), np.asarray(point, np.float64).reshape(len(box), 10)])
                found[index] = central_box(rows, faces.shape[2], faces.shape[1])[4:].reshape(5, 2)
        return found

    def landmarks(self, faces: np.ndarray, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Landmarks (N, 5, 2) in uint8 crops (N, H, W, 1|3) and whether MTCNN found each (else the fallback).

        Batches of ``batch_size`` crops are detected side by side on the machine's cores."""
        faces = to_channels(faces, 3)
        batches = [faces[start : start + self.batch_size] for start in range(0, len(faces), self.batch_size)]
        found = np.concatenate([np.zeros((0, 5, 2)), *map_forked(self._detect, batches, desc="landmarks (MTCNN)" if progress else None)])
        detected = ~np.isnan(found).any(axis=(1, 2))
        found[~detected] = FALLBACK_LANDMARKS * [faces.shape[2], faces.shape[1]]
        return found, detected

    def align(self, faces: np.ndarray, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """ArcFace-aligned uint8 RGB faces (N, 112, 112, 3) of crops (N, H, W, 1|3), and whether MTCNN found each."""
        import cv2

        points, detected = self.landmarks(faces, progress)
        aligned = [
            cv2.warpAffine(face, similarity_transform(face_points, ARCFACE_TEMPLATE), (ARCFACE_SIZE, ARCFACE_SIZE), flags=cv2.INTER_LINEAR)
            for face, face_points in zip(to_channels(faces, 3), points)
        ]
        return np.stack(aligned) if aligned else np.zeros((0, ARCFACE_SIZE, ARCFACE_SIZE, 3), np.uint8), detected
