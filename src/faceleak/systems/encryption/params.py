"""The encryption system's params: the shared keys it reads (``seed``, ``device``, ``weights``, ``image``,
``lfw``) and the ``encryption`` section of ``params.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from faceleak.defenses.sparse_sharing import SCHEMES
from faceleak.models.recognizers import recognizer_names
from faceleak.models.sparse_autoencoder import SparseAutoencoderConfig
from faceleak.params import ImageParams, LFWParams, ParamsError, Section, WeightsParams, parse_shared_params, read_params_file
from faceleak.training import FitSettings


@dataclass(frozen=True)
class SplitParams:
    """Identity-disjoint shares of LFW's people for validation and test (the rest trains)."""

    val_fraction: float
    test_fraction: float


@dataclass(frozen=True)
class AdversaryParams:
    """The adversaries' knobs: the reference adversary's ``known_fraction`` of the true code; the learning
    adversary's public faces and training; the decoy classifier's public shared faces."""

    known_fraction: float
    learning_images: int
    learning: FitSettings
    classifier_faces: int


IDENTITY_SURROGATES = ("facenet",)  # recognizers the autoencoder's identity loss can run through (differentiable)


@dataclass(frozen=True)
class IdentityParams:
    """The training's second phase: ``weight`` x (1 - cosine) through the frozen ``recognizer`` (white-box for
    this system, so never one of its judges), with its own fit settings (0 epochs: pixels only)."""

    recognizer: str
    weight: float
    train: FitSettings


@dataclass(frozen=True)
class EncryptionParams:
    seed: int
    device: str
    weights: WeightsParams
    image: ImageParams
    lfw: LFWParams
    split: SplitParams
    model: SparseAutoencoderConfig
    train: FitSettings
    identity: IdentityParams
    engine: str  # the training's engine on this device: bf16 (autocast) or fp32
    ks: tuple[int, ...]
    codes: int
    schemes: tuple[str, ...]
    adversaries: AdversaryParams
    test_images: int
    linkability_pairs: int
    judges: tuple[str, ...]
    fmrs: tuple[float, ...]


def _fit_settings(section: Section, least_epochs: int = 1) -> FitSettings:
    return FitSettings(
        epochs=section.integer("epochs", least_epochs),
        batch_size=section.integer("batch_size", 1),
        learning_rate=section.number("learning_rate", 0.0, 1.0, low_open=True),
        patience=section.integer("patience", 1),
    )


def parse_encryption_params(raw: dict) -> EncryptionParams:
    """Validate the encryption system's keys of a params mapping."""
    shared = parse_shared_params(raw)
    section = Section(raw, "").section("encryption")
    split, model, adversaries, evaluation = (section.section(key) for key in ("split", "model", "adversaries", "evaluation"))
    try:
        config = SparseAutoencoderConfig(
            image_size=model.integer("image_size", 8),
            channels=shared.image.channels,
            widths=model.integers("widths", 1),
            code_channels=model.integer("code_channels", 1),
            k=model.integer("k", 1),
        )
    except ValueError as error:
        raise ParamsError(f"params: 'encryption.model' does not make a network: {error}") from error
    identity = section.section("identity")
    judges = section.choices("judges", recognizer_names())
    surrogate = identity.choice("recognizer", IDENTITY_SURROGATES)
    if surrogate in judges:
        raise ParamsError(f"params: 'encryption.judges' = {list(judges)} is not allowed; expected recognizers other than {surrogate} (encryption.identity.recognizer trains the autoencoder: white-box, not a judge)")
    ks = section.integers("ks", 1)
    if max(ks) > config.code_size:
        raise ParamsError(f"params: 'encryption.ks' = {list(ks)} is not allowed; expected integers in 1..{config.code_size} (encryption.model.code_size)")
    return EncryptionParams(
        seed=shared.seed,
        device=shared.device,
        weights=shared.weights,
        image=shared.image,
        lfw=shared.lfw,
        split=SplitParams(val_fraction=split.number("val_fraction", 0.0, 0.5, low_open=True), test_fraction=split.number("test_fraction", 0.0, 0.5, low_open=True)),
        model=config,
        train=_fit_settings(section.section("train")),
        identity=IdentityParams(surrogate, identity.number("weight", 0.0, 10.0), _fit_settings(identity.section("train"), least_epochs=0)),
        engine=section.engine("engine", shared.device),
        ks=ks,
        codes=section.integer("codes", 2),
        schemes=section.choices("schemes", SCHEMES),
        adversaries=AdversaryParams(
            known_fraction=adversaries.number("known_fraction", 0.0, 1.0),
            learning_images=adversaries.integer("learning_images", 2),
            learning=_fit_settings(adversaries.section("learning")),
            classifier_faces=adversaries.integer("classifier_faces", 2),
        ),
        test_images=evaluation.integer("test_images", 2),
        linkability_pairs=evaluation.integer("linkability_pairs", 1),
        judges=judges,
        fmrs=section.numbers("fmrs", 0.0, 0.5, low_open=True),
    )


def load_encryption_params(path: str | Path = "params.yaml") -> EncryptionParams:
    """Read and validate the encryption params of ``params.yaml``."""
    return parse_encryption_params(read_params_file(path))
