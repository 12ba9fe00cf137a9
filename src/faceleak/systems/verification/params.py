"""The verification system's params: the shared keys it reads (``seed``, ``device``, ``weights``, ``lfw``)
and the ``verification`` section of ``params.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from faceleak.models.recognizers import recognizer_names
from faceleak.params import ImageParams, LFWParams, ParamsError, Section, WeightsParams, parse_shared_params, read_params_file
from faceleak.training import FitSettings


@dataclass(frozen=True)
class InputParams:
    input_size: int
    crop_fraction: float
    embedding_dim: int


@dataclass(frozen=True)
class SiameseParams:
    """The reference's twin: ResNet18, contrastive loss with ``margin``, match below ``threshold``."""

    net: InputParams
    margin: float
    threshold: float
    val_fraction: float
    fit: FitSettings


@dataclass(frozen=True)
class VerifierParams:
    """The project's verifier: FaceResNet of ``width`` with CosFace (``scale``, ``margin``)."""

    net: InputParams
    width: int
    scale: float
    margin: float
    min_images: int
    val_fraction: float
    engine: str  # the training's engine on this device: bf16 (autocast) or fp32
    fit: FitSettings


@dataclass(frozen=True)
class BenchmarkParams:
    recognizers: tuple[str, ...]
    fars: tuple[float, ...]


@dataclass(frozen=True)
class VerificationParams:
    seed: int
    device: str
    weights: WeightsParams
    image: ImageParams
    lfw: LFWParams
    view1_pairs: int | None
    siamese: SiameseParams
    verifier: VerifierParams
    benchmark: BenchmarkParams


def _input(section: Section, multiple: int = 1) -> InputParams:
    size = section.integer("input_size", 16)
    if size % multiple:
        raise ParamsError(f"params: '{section.name}.input_size' = {size} is not allowed; expected a multiple of {multiple}")
    return InputParams(size, section.number("crop_fraction", 0.0, 1.0, low_open=True), section.integer("embedding_dim", 2))


def _fit(section: Section) -> FitSettings:
    return FitSettings(
        epochs=section.integer("epochs", 1),
        batch_size=section.integer("batch_size", 2),
        learning_rate=section.number("learning_rate", 0.0, 10.0, low_open=True),
        patience=section.integer("patience", 1),
        weight_decay=section.number("weight_decay", 0.0, 1.0),
    )


def parse_verification_params(raw: dict) -> VerificationParams:
    """Validate the verification system's keys of a params mapping."""
    shared = parse_shared_params(raw)
    section = Section(raw, "").section("verification")
    siamese, verifier, benchmark = section.section("siamese"), section.section("verifier"), section.section("benchmark")
    return VerificationParams(
        seed=shared.seed,
        device=shared.device,
        weights=shared.weights,
        image=shared.image,
        lfw=shared.lfw,
        view1_pairs=section.optional_integer("view1_pairs", 1),
        siamese=SiameseParams(
            net=_input(siamese),
            margin=siamese.number("margin", 0.0, 100.0, low_open=True),
            threshold=siamese.number("threshold", 0.0, 100.0, low_open=True),
            val_fraction=siamese.number("val_fraction", 0.0, 1.0, low_open=True, high_open=True),
            fit=_fit(siamese),
        ),
        verifier=VerifierParams(
            net=_input(verifier, 8),
            width=verifier.integer("width", 4),
            scale=verifier.number("scale", 0.0, 1000.0, low_open=True),
            margin=verifier.number("margin", 0.0, 1.0),
            min_images=verifier.integer("min_images", 2),
            val_fraction=verifier.number("val_fraction", 0.0, 1.0, low_open=True, high_open=True),
            engine=verifier.engine("engine", shared.device),
            fit=_fit(verifier),
        ),
        benchmark=BenchmarkParams(
            recognizers=benchmark.choices("recognizers", recognizer_names()),
            fars=benchmark.numbers("fars", 0.0, 0.5, low_open=True),
        ),
    )


def load_verification_params(path: str | Path = "params.yaml") -> VerificationParams:
    """Read and validate the verification params of ``params.yaml``."""
    return parse_verification_params(read_params_file(path))
