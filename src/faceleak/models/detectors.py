"""Face detectors behind one interface, selected by name: face-api.js's SSD MobileNet V1 (the port in
:mod:`faceleak.models.ssd_mobilenet`), MTCNN (facenet-pytorch), dlib's HOG and CNN (MMOD) detectors, and
libfacedetection (``yuface``). Each takes uint8 photos (N, H, W, 1|3) and gives, per photo, a float
array (K, 5) of (x1, y1, x2, y2, score) in its pixels, at the detector's own operating threshold."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

import numpy as np

from faceleak.data.images import to_channels
from faceleak.errors import FaceleakError


class UnknownDetector(FaceleakError, ValueError):
    """A face detector name that is not in the registry."""


class FaceDetector(ABC):
    """A face detector: ``detect`` gives each photo's boxes and scores."""

    name: str
    operating_point: str

    @abstractmethod
    def detect(self, photos: np.ndarray) -> list[np.ndarray]:
        """Per photo, (K, 5) rows of (x1, y1, x2, y2, score) in its pixels."""


def _rows(boxes: list[list[float]]) -> np.ndarray:
    return np.array(boxes, dtype=np.float64).reshape(-1, 5)


class SSDDetector(FaceDetector):
    """face-api.js's default detector (SSD MobileNet V1, WIDER FACE), score > 0.5, NMS IoU 0.5."""

    name, operating_point = "ssd_mobilenet", "score > 0.5 (face-api.js's default minConfidence)"

    def __init__(self, models_dir: Path) -> None:
        from faceleak.models.ssd_mobilenet import load_ssd_mobilenet

        self.network = load_ssd_mobilenet(Path(models_dir) / "ssd_mobilenet.pt")

    def detect(self, photos: np.ndarray) -> list[np.ndarray]:
        from faceleak.models.ssd_mobilenet import detect_faces

        return [found.astype(np.float64) for found in detect_faces(self.network, photos)]


class MTCNNDetector(FaceDetector):
    """MTCNN (facenet-pytorch's weights), its default thresholds."""

    name, operating_point = "mtcnn", "facenet-pytorch's default stage thresholds (0.6, 0.7, 0.7)"

    def __init__(self, models_dir: Path) -> None:
        from facenet_pytorch import MTCNN

        self.network = MTCNN(keep_all=True)

    def detect(self, photos: np.ndarray) -> list[np.ndarray]:
        from PIL import Image

        found = []
        for photo in to_channels(photos, 3):
            boxes, scores = self.network.detect(Image.fromarray(photo))
            found.append(_rows([] if boxes is None else [[*box, score] for box, score in zip(boxes, scores)]))
        return found


class DlibHOGDetector(FaceDetector):
    """dlib's HOG + linear SVM frontal face detector, one upsampling, score > 0."""

    name, operating_point = "dlib_hog", "SVM score > 0, image upsampled once"

    def __init__(self, models_dir: Path) -> None:
        import dlib

        self.network = dlib.get_frontal_face_detector()

    def detect(self, photos: np.ndarray) -> list[np.ndarray]:
        found = []
        for photo in to_channels(photos, 3):
            rects, scores, _ = self.network.run(photo, 1, 0.0)
            found.append(_rows([[r.left(), r.top(), r.right(), r.bottom(), score] for r, score in zip(rects, scores)]))
        return found


class DlibCNNDetector(FaceDetector):
    """dlib's CNN (MMOD) face detector from face-recognition-models, one upsampling, confidence > 0."""

    name, operating_point = "dlib_cnn", "MMOD confidence > 0, image upsampled once"

    def __init__(self, models_dir: Path) -> None:
        import dlib
        import face_recognition_models

        self.network = dlib.cnn_face_detection_model_v1(face_recognition_models.cnn_face_detector_model_location())

    def detect(self, photos: np.ndarray) -> list[np.ndarray]:
        found = []
        for photo in to_channels(photos, 3):
            hits = self.network(photo, 1)
            found.append(_rows([[h.rect.left(), h.rect.top(), h.rect.right(), h.rect.bottom(), h.confidence] for h in hits]))
        return found


class YuFaceDetector(FaceDetector):
    """libfacedetection (the ``yuface`` wheel), confidence > 0.5."""

    name, operating_point = "yuface", "confidence > 0.5 (yuface's default)"

    def __init__(self, models_dir: Path) -> None:
        import yuface

        self.module = yuface

    def detect(self, photos: np.ndarray) -> list[np.ndarray]:
        found = []
        for photo in to_channels(photos, 3):
            scores, boxes, _ = self.module.detect(np.ascontiguousarray(photo[..., ::-1]), conf=0.5)
            found.append(_rows([[x, y, x + w, y + h, score / 100] for (x, y, w, h), score in zip(boxes.astype(float), scores.astype(float))]))
        return found


DETECTORS: dict[str, Callable[[Path], FaceDetector]] = {
    "ssd_mobilenet": SSDDetector,
    "mtcnn": MTCNNDetector,
    "dlib_hog": DlibHOGDetector,
    "dlib_cnn": DlibCNNDetector,
    "yuface": YuFaceDetector,
}


def load_detector(name: str, models_dir: Path = Path("models")) -> FaceDetector:
    """The face detector ``name`` (see :data:`DETECTORS`)."""
    if name not in DETECTORS:
        raise UnknownDetector(f"unknown face detector {name!r}; known: {', '.join(DETECTORS)}")
    return DETECTORS[name](Path(models_dir))

