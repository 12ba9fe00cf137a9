"""dlib's face-recognition ResNet (128-D): an independent recognizer the attacker never touches.

Its weights and 5-point landmark model ship in the PyPI package ``face-recognition-models``. Inputs
are aligned face crops (MTCNN crops, MFR2 images or reconstructions): the landmarks are fitted in a
fixed box where dlib's own detector puts the face in such crops, then dlib takes its 150x150 chip.
"""

from __future__ import annotations

import warnings

import numpy as np

from faceleak.data.images import to_channels
from faceleak.errors import FaceleakError
from faceleak.parallel import map_forked

DLIB_EMBEDDING_DIM = 128
# Where dlib's HOG detector puts the face in aligned crops, as fractions (left, top, right, bottom):
# between its median box on MFR2 images (0.225, 0.29, 0.79, 0.91) and on LFW MTCNN crops (0.2, 0.2, 0.79, 0.85).
FACE_BOX = (0.21, 0.24, 0.79, 0.88)
CHIP_SIZE = 150


class DlibUnavailable(FaceleakError, RuntimeError):
    """dlib or its model files are not installed."""


class DlibRecognizer:
    """128-D dlib ResNet descriptors of aligned uint8 face crops; compared by Euclidean distance.

    dlib's network runs on one core, so ``embed`` spreads its batches over ``workers`` processes
    (default: one per core); each batch is computed as in one process, so descriptors are identical.
    """

    def __init__(self, workers: int | None = None) -> None:
        try:
            import dlib
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # pkg_resources deprecation inside the package
                import face_recognition_models as models
        except ImportError as error:
            raise DlibUnavailable(
                "dlib's recognizer needs `dlib-bin` and `face-recognition-models` (with setuptools<81); run ./setup.sh"
            ) from error
        self._dlib = dlib
        self._landmarks = dlib.shape_predictor(models.pose_predictor_five_point_model_location())
        self._network = dlib.face_recognition_model_v1(models.face_recognition_model_location())
        self.workers = workers

    def _chip(self, face: np.ndarray) -> np.ndarray:
        height, width = face.shape[:2]
        left, top, right, bottom = (round(f * s) for f, s in zip(FACE_BOX, (width, height, width, height)))
        shape = self._landmarks(face, self._dlib.rectangle(left, top, right, bottom))
        return self._dlib.get_face_chip(face, shape, size=CHIP_SIZE)

    def describe(self, faces: np.ndarray) -> np.ndarray:
        """Descriptors (N, 128) of RGB uint8 faces (N, H, W, 3), in this process."""
        chips = [self._chip(face) for face in faces]
        return np.stack([np.asarray(d) for d in self._network.compute_face_descriptor(chips)]).astype(np.float32)

    def embed(self, faces: np.ndarray, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Descriptors (N, 128) of uint8 faces (N, H, W, 1|3); grey faces are replicated to RGB."""
        faces = np.ascontiguousarray(to_channels(faces, 3))
        batches = [faces[start : start + batch_size] for start in range(0, len(faces), batch_size)]
        described = map_forked(self.describe, batches, self.workers, "embed (dlib)" if progress else None)
        return np.concatenate(described) if described else np.zeros((0, DLIB_EMBEDDING_DIM), np.float32)
