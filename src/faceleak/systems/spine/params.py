"""The spine's params: ``seed``, ``device``, ``leakage`` (top level, for ``dvc exp run -S leakage=0.3``)
and the ``spine`` section of ``params.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceleak.attacks.embedding_inversion import TrainParams
from faceleak.defenses.masking import STRATEGIES
from faceleak.device import DEVICE_CHOICES
from faceleak.params import ParamsError, Section, WeightsParams, read_params_file, weights_params

BAD_IMAGE_POLICIES = ("error", "skip")
MASK_FILTER_SOURCES = ("ensemble", "synthetic", "cross_fit")


@dataclass(frozen=True)
class SyntheticMaskParams:
    """The ConvNeXt trained on synthetic masks: ``photos`` LFW photos of people outside MFR2 (at most
    ``per_person`` each), each also masked; ``val_fraction`` of the people held out; faces framed at
    ``frame_scale`` (low, high) times their MTCNN box, as MFR2's are; trained ``epochs`` (AdamW)."""

    photos: int
    per_person: int
    val_fraction: float
    frame_scale: tuple[float, float]
    epochs: int
    batch_size: int
    learning_rate: float


@dataclass(frozen=True)
class MaskFilterParams:
    """Which MFR2 faces count as unmasked: P(unmasked) >= ``threshold`` from ``source``: the ConvNeXt trained on
    synthetic masks, the ConvNeXt cross-fitted on MFR2 itself (``folds``, ``epochs``, ``batch_size``,
    ``learning_rate``) or the mean of both (``ensemble``); or from the hub ``model`` when set."""

    model: str | None
    source: str
    threshold: float
    folds: int
    image_size: int
    epochs: int
    batch_size: int
    learning_rate: float
    synthetic: SyntheticMaskParams


@dataclass(frozen=True)
class EmbedParams:
    batch_size: int
    face_size: int
    on_bad_image: str
    test_fraction: float
    val_fraction: float


@dataclass(frozen=True)
class LeakParams:
    strategy: str


@dataclass(frozen=True)
class SweepParams:
    leakages: tuple[float, ...]
    strategies: tuple[str, ...]


@dataclass(frozen=True)
class SpineParams:
    seed: int
    device: str
    weights: WeightsParams
    leakage: float
    mask_filter: MaskFilterParams
    embed: EmbedParams
    leak: LeakParams
    train: TrainParams
    sweep: SweepParams


def decoder_train_params(train: Section) -> TrainParams:
    """The embedding-inversion decoder's settings from one ``train`` section."""
    return TrainParams(
        epochs=train.integer("epochs", 1),
        batch_size=train.integer("batch_size", 1),
        learning_rate=train.number("learning_rate", 0.0, 1.0, low_open=True),
        dropout=train.number("dropout", 0.0, 1.0, high_open=True),
        patience=train.integer("patience", 1),
        identity_weight=train.number("identity_weight", 0.0, 1e6),
        base_channels=train.integer("base_channels", 4),
        warmup_epochs=train.integer("warmup_epochs", 0),
        augment_draws=train.integer("augment_draws", 0),
    )


def synthetic_mask_params(synthetic: Section) -> SyntheticMaskParams:
    """The synthetic-mask training data and its ConvNeXt's training (``spine.mask_filter.synthetic``)."""
    frame_scale = synthetic.numbers("frame_scale", 1.0, 3.0)
    if len(frame_scale) != 2 or frame_scale[0] > frame_scale[1]:
        raise ParamsError(f"params: 'spine.mask_filter.synthetic.frame_scale' = {list(frame_scale)} is not allowed; expected [low, high] with 1 <= low <= high <= 3")
    return SyntheticMaskParams(
        photos=synthetic.integer("photos", 2),
        per_person=synthetic.integer("per_person", 1),
        val_fraction=synthetic.number("val_fraction", 0.0, 1.0, low_open=True, high_open=True),
        frame_scale=(frame_scale[0], frame_scale[1]),
        epochs=synthetic.integer("epochs", 1),
        batch_size=synthetic.integer("batch_size", 1),
        learning_rate=synthetic.number("learning_rate", 0.0, 1.0, low_open=True),
    )


def embed_params(embed: Section) -> EmbedParams:
    """How MFR2 faces are read, sized and split (``spine.embed``)."""
    return EmbedParams(
        batch_size=embed.integer("batch_size", 1),
        face_size=embed.integer("face_size", 32),
        on_bad_image=embed.choice("on_bad_image", BAD_IMAGE_POLICIES),
        test_fraction=embed.number("test_fraction", 0.0, 1.0, low_open=True, high_open=True),
        val_fraction=embed.number("val_fraction", 0.0, 1.0, low_open=True, high_open=True),
    )


def parse_spine_params(raw: dict[str, Any]) -> SpineParams:
    """Validate the spine's keys of a params mapping."""
    top = Section(raw, "")
    spine = top.section("spine")
    mask, sweep = spine.section("mask_filter"), spine.section("sweep")
    return SpineParams(
        seed=top.integer("seed"),
        device=top.choice("device", DEVICE_CHOICES),
        weights=weights_params(top),
        leakage=top.number("leakage", 0.0, 1.0, low_open=True),
        mask_filter=MaskFilterParams(
            model=mask.optional_text("model"),
            source=mask.choice("source", MASK_FILTER_SOURCES),
            threshold=mask.number("threshold", 0.5, 1.0),
            folds=mask.integer("folds", 2),
            image_size=mask.integer("image_size", 32),
            epochs=mask.integer("epochs", 1),
            batch_size=mask.integer("batch_size", 1),
            learning_rate=mask.number("learning_rate", 0.0, 1.0, low_open=True),
            synthetic=synthetic_mask_params(mask.section("synthetic")),
        ),
        embed=embed_params(spine.section("embed")),
        leak=LeakParams(strategy=spine.section("leak").choice("strategy", STRATEGIES)),
        train=decoder_train_params(spine.section("train")),
        sweep=SweepParams(leakages=sweep.fractions("leakages"), strategies=sweep.choices("strategies", STRATEGIES)),
    )


def load_spine_params(path: str | Path = "params.yaml") -> SpineParams:
    """Read and validate the spine's params of ``params.yaml``."""
    return parse_spine_params(read_params_file(path))
