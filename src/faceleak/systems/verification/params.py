"""The verification system's params: the shared keys and the ``verification`` section of ``params.yaml``."""

from __future__ import annotations

from functools import partial

from pydantic import ConfigDict, model_validator

from faceleak.models.recognizers import recognizer_names
from faceleak.params import Choices, Engine, FitSection, Int, Maybe, Number, Numbers, Section, SystemParams, load, parse, refuse


class InputParams(FitSection):
    """A trained network's input (``input_size``, the ``crop_fraction`` of the MTCNN crop it sees), its templates'
    size, and its training (:attr:`fit`)."""

    input_size: Int(16)
    crop_fraction: Number("(0, 1]")
    embedding_dim: Int(2)
    batch_size: Int(2)
    learning_rate: Number("(0, 10]")


class SiameseParams(InputParams):
    """The reference's twin: ResNet18, contrastive loss with ``margin``, match below ``threshold``."""

    margin: Number("(0, 100]")
    threshold: Number("(0, 100]")
    val_fraction: Number("(0, 1)")


class VerifierParams(InputParams):
    """The project's verifier: FaceResNet of ``width`` with CosFace (``scale``, ``margin``)."""

    model_config = ConfigDict(title="verification.verifier")
    width: Int(4)
    scale: Number("(0, 1000]")
    margin: Number("[0, 1]")
    min_images: Int(2)
    val_fraction: Number("(0, 1)")
    engine: Engine()  # the training's engine on this device: bf16 (autocast) or fp32

    @model_validator(mode="after")
    def _halvings(self) -> VerifierParams:
        if self.input_size % 8:
            raise refuse("input_size", "a multiple of 8", self.input_size)
        return self


class BenchmarkParams(Section):
    recognizers: Choices(recognizer_names)
    fars: Numbers("(0, 0.5]")


class VerificationParams(SystemParams):
    section = "verification"
    view1_pairs: Maybe(Int(1), "an integer >= 1")
    siamese: SiameseParams
    verifier: VerifierParams
    benchmark: BenchmarkParams


parse_verification_params = partial(parse, VerificationParams)
load_verification_params = partial(load, VerificationParams)
