"""The encryption system's params: the shared keys and the ``encryption`` section of ``params.yaml``."""

from __future__ import annotations

from functools import partial
from typing import Any

from pydantic import ConfigDict, ValidationInfo, field_validator, model_validator

from faceleak.defenses.sparse_sharing import SCHEMES
from faceleak.models.recognizers import recognizer_names
from faceleak.models.sparse_autoencoder import SparseAutoencoderConfig
from faceleak.params import Choices, Engine, Fit, FitSection, Flag, Int, Into, Ints, Number, Numbers, OneOf, Section, SystemParams, load, parse, refuse
from faceleak.training import FitSettings

IDENTITY_SURROGATES = ("facenet",)  # recognizers the autoencoder's identity loss can run through (differentiable)


class SplitParams(Section):
    """Identity-disjoint shares of LFW's people for validation and test (the rest trains)."""

    val_fraction: Number("(0, 0.5]")
    test_fraction: Number("(0, 0.5]")


class ModelSection(Section):
    """The network's shape (:class:`~faceleak.models.sparse_autoencoder.SparseAutoencoderConfig`; channels: ``image.channels``)."""

    image_size: Int(8)
    widths: Ints(1)
    code_channels: Int(1)
    k: Int(1)
    pca_path: Flag


class PhaseFit(FitSection):
    epochs: Int(0)  # 0: the phase is skipped


class IdentityParams(Section):
    """The training's second phase: ``weight`` x (1 - cosine) through the frozen ``recognizer`` (white-box for
    this system, so never one of its judges), with its own fit settings (0 epochs: pixels only)."""

    recognizer: OneOf(IDENTITY_SURROGATES)
    weight: Number("[0, 10]")
    train: Into(FitSettings, PhaseFit)


class AdversaryParams(Section):
    """The adversaries' knobs: the reference adversary's ``known_fraction`` of the true code; the learning
    adversary's public faces and training; the decoy classifier's public shared faces."""

    known_fraction: Number("[0, 1]")
    learning_images: Int(2)
    learning: Fit
    classifier_faces: Int(2)


class EvaluationParams(Section):
    test_images: Int(2)
    linkability_pairs: Int(1)


class EncryptionParams(SystemParams):
    model_config = ConfigDict(title="encryption")
    section = "encryption"
    split: SplitParams
    model: SparseAutoencoderConfig
    train: Fit
    identity: IdentityParams
    engine: Engine()  # the training's engine on this device: bf16 (autocast) or fp32
    ks: Ints(1)
    codes: Int(2)
    schemes: Choices(SCHEMES)
    adversaries: AdversaryParams
    evaluation: EvaluationParams
    judges: Choices(recognizer_names)
    fmrs: Numbers("(0, 0.5]")

    @field_validator("model", mode="plain")
    @classmethod
    def _network(cls, value: Any, info: ValidationInfo) -> SparseAutoencoderConfig:
        shape = ModelSection.model_validate(value)
        try:
            return SparseAutoencoderConfig(channels=getattr(info.data.get("image"), "channels", 1), **dict(shape))
        except ValueError as error:
            raise refuse("", f"does not make a network: {error}") from None

    @model_validator(mode="after")
    def _rules(self) -> EncryptionParams:
        if self.identity.recognizer in self.judges:
            raise refuse("judges", f"recognizers other than {self.identity.recognizer} (encryption.identity.recognizer trains the autoencoder: white-box, not a judge)", list(self.judges))
        if max(self.ks) > self.model.code_size:
            raise refuse("ks", f"integers in 1..{self.model.code_size} (encryption.model.code_size)", list(self.ks))
        return self


parse_encryption_params = partial(parse, EncryptionParams)
load_encryption_params = partial(load, EncryptionParams)
