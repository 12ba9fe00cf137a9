"""Every face recognizer the project can load, behind one interface and selected by name.

A recognizer takes uint8 face crops in the project's common framing (MTCNN crops of the ``lfw_faces``
stage, MFR2's aligned images, reconstructions; (N, H, W, 1|3), grey replicated to RGB) and returns
one template per face. Each one brings the input its network expects from those crops (resize,
landmarks, 5-point alignment) and says how it compares templates (:meth:`Recognizer.distance`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

import numpy as np

from faceleak.errors import FaceleakError
from faceleak.metrics.verification import pair_distances


class UnknownRecognizer(FaceleakError, ValueError):
    """A recognizer name that the registry does not know."""


class Recognizer(ABC):
    """A face recognizer: ``embed`` turns face crops into templates, ``distance`` compares them."""

    name: str
    embedding_dim: int
    input_size: int
    alignment: str
    training_data: str

    @abstractmethod
    def embed(self, faces: np.ndarray, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Templates (N, D) of uint8 face crops (N, H, W, 1|3)."""

    def distance(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Row-wise distances between two template arrays (smaller = more alike): Euclidean."""
        return pair_distances(first, second)

    def describe(self) -> dict[str, object]:
        """Name, template size, input size, alignment and training data, for metrics and reports."""
        return {"name": self.name, "embedding_dim": self.embedding_dim, "input_size": self.input_size, "alignment": self.alignment, "training_data": self.training_data}


class FaceNetRecognizer(Recognizer):
    """FaceNet (InceptionResnetV1, CASIA-WebFace): crops resized to 160, unit-norm 512-D templates."""

    name = "facenet"
    embedding_dim = 512
    input_size = 160
    alignment = "MTCNN box crop with margin, resized to 160x160"
    training_data = "CASIA-WebFace (its authors left out LFW's people)"

    def __init__(self, models_dir: Path, engine: str = "fp32") -> None:
        from faceleak.models.facenet import load_facenet

        self.network = load_facenet(Path(models_dir) / "facenet.pt", engine)

    def embed(self, faces: np.ndarray, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        from faceleak.models.facenet import embed

        return embed(self.network, faces, batch_size, progress)


class DlibResNetRecognizer(Recognizer):
    """dlib's ResNet (128-D): 5 landmarks fitted in the crop, then dlib's 150x150 chip."""

    name = "dlib"
    embedding_dim = 128
    input_size = 150
    alignment = "dlib 5-point landmarks in the crop, dlib face chip 150x150"
    training_data = "about 3 million faces of 7,485 people (dlib's author avoided LFW's people)"

    def __init__(self, models_dir: Path, engine: str = "fp32") -> None:
        from faceleak.models.dlib_face import DlibRecognizer

        self.network = DlibRecognizer()

    def embed(self, faces: np.ndarray, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        return self.network.embed(faces, batch_size, progress)


class MobileFaceNetRecognizer(Recognizer):
    """MobileFaceNet-192 (MS1M): MTCNN's 5 landmarks in the crop, ArcFace alignment to 112x112, unit-norm 192-D.

    ``undetected_`` counts the faces of the last ``embed`` call where MTCNN found no landmarks (fixed ones used)."""

    name = "mobilefacenet"
    embedding_dim = 192
    input_size = 112
    alignment = "MTCNN 5-point landmarks in the crop (fixed points where none found), similarity warp to the ArcFace 112x112 template"
    training_data = "MS1M-refine-v2 (MS-Celeb-1M, public figures: LFW's and MFR2's people may be in it)"

    def __init__(self, models_dir: Path, engine: str = "fp32") -> None:
        from faceleak.data.align import LandmarkAligner
        from faceleak.models.mobilefacenet import load_mobilefacenet

        self.network = load_mobilefacenet(Path(models_dir) / "mobilefacenet.pt")
        self.aligner = LandmarkAligner()
        self.undetected_ = 0

    def embed(self, faces: np.ndarray, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        from faceleak.models.mobilefacenet import embed

        aligned, detected = self.aligner.align(faces, progress)
        self.undetected_ = int((~detected).sum())
        return embed(self.network, aligned, batch_size, progress)


class FaceresRecognizer(Recognizer):
    """HSE faceres (MobileNet V1, VGGFace2): crops resized to 224, unit-norm 1,024-D descriptors."""

    name = "faceres"
    embedding_dim = 1024
    input_size = 224
    alignment = "MTCNN box crop with margin, resized to 224x224"
    training_data = "VGGFace2 (about 9,000 public figures: LFW's and MFR2's people may be in it)"

    def __init__(self, models_dir: Path, engine: str = "fp32") -> None:
        from faceleak.models.faceres import load_faceres

        self.network = load_faceres(Path(models_dir) / "faceres.pt")

    def embed(self, faces: np.ndarray, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        from faceleak.models.faceres import embed

        return embed(self.network, faces, batch_size, progress)


class TrainedVerifier(Recognizer):
    """A verifier trained by the verification stages (``models/verification/<file>.pt`` and its ``.json``)."""

    def __init__(self, name: str, weights: Path, training_data: str) -> None:
        from faceleak.models.verifiers import load_verifier

        self.name, self.training_data = name, training_data
        self.network, self.config = load_verifier(weights)
        self.embedding_dim, self.input_size = self.config.embedding_dim, self.config.input_size
        self.alignment = f"central {self.config.crop_fraction:g} of the MTCNN crop, grey, resized to {self.input_size}x{self.input_size}"

    def embed(self, faces: np.ndarray, batch_size: int = 256, progress: bool = False) -> np.ndarray:
        from faceleak.models.verifiers import verifier_templates

        return verifier_templates(self.network, self.config, faces, batch_size)


def verification_model(models_dir: Path, file: str) -> Path:
    """Where the verification stages keep the trained model ``file``."""
    return Path(models_dir) / "verification" / f"{file}.pt"


REGISTRY: dict[str, Callable[[Path, str], Recognizer]] = {
    "facenet": FaceNetRecognizer,
    "dlib": DlibResNetRecognizer,
    "mobilefacenet": MobileFaceNetRecognizer,
    "faceres": FaceresRecognizer,
    "siamese": lambda models_dir, engine: TrainedVerifier("siamese", verification_model(models_dir, "siamese"), "LFW View 1 training pairs' images (people shared with View 2)"),
    "verifier": lambda models_dir, engine: TrainedVerifier("verifier", verification_model(models_dir, "verifier_view1"), "LFW people outside the pairs it is tested on"),
}


ONNX_SECTION = "recognizers"  # params.yaml's section of recognizers from ONNX files (faceleak.models.onnx_recognizer)


def onnx_specs(params_file: Path = Path("params.yaml")) -> dict:
    """The ONNX recognizers ``params_file`` declares, by name (none without the file or its section)."""
    from faceleak.models.onnx_recognizer import parse_onnx_specs
    from faceleak.params import ParamsError, read_params_file

    specs = parse_onnx_specs(read_params_file(params_file).get(ONNX_SECTION)) if Path(params_file).is_file() else {}
    if clash := sorted(set(specs) & set(REGISTRY)):
        raise ParamsError(f"params: '{ONNX_SECTION}.{clash[0]}' is not allowed; expected a name the project's recognizers do not use ({', '.join(REGISTRY)})")
    return specs


def recognizer_names() -> tuple[str, ...]:
    """Names that :func:`load_recognizer` accepts: the project's recognizers and params.yaml's ONNX ones."""
    return (*REGISTRY, *onnx_specs())


def load_recognizer(name: str, models_dir: Path = Path("models"), engine: str = "fp32") -> Recognizer:
    """The recognizer called ``name``, with its weights from ``models_dir`` (``engine``: FaceNet's), or the
    ONNX recognizer params.yaml's ``recognizers:`` section declares under that name."""
    if name in REGISTRY:
        return REGISTRY[name](Path(models_dir), engine)
    specs = onnx_specs()
    if name not in specs:
        raise UnknownRecognizer(f"unknown recognizer {name!r}; known: {', '.join(recognizer_names())}")
    from faceleak.models.onnx_recognizer import OnnxRecognizer

    return OnnxRecognizer(specs[name])
