"""The spine's params: the shared keys (``leakage`` at top level, for ``dvc exp run -S leakage=0.3``) and the
``spine`` section of ``params.yaml``."""

from __future__ import annotations

from functools import partial

from faceleak.attacks.embedding_inversion import TrainParams
from faceleak.defenses.masking import STRATEGIES
from faceleak.params import Choices, Fraction, Fractions, Int, Into, Maybe, Number, OneOf, Pair, Section, SystemParams, Text, load, parse

BAD_IMAGE_POLICIES = ("error", "skip")
MASK_FILTER_SOURCES = ("ensemble", "synthetic", "cross_fit")


class SyntheticMaskParams(Section):
    """The ConvNeXt trained on synthetic masks: ``photos`` LFW photos of people outside MFR2 (at most
    ``per_person`` each), each also masked; ``val_fraction`` of the people held out; faces framed at
    ``frame_scale`` (low, high) times their MTCNN box, as MFR2's are; trained ``epochs`` (AdamW)."""

    photos: Int(2)
    per_person: Int(1)
    val_fraction: Number("(0, 1)")
    frame_scale: Pair("[1, 3]", "[low, high] with 1 <= low <= high <= 3")
    epochs: Int(1)
    batch_size: Int(1)
    learning_rate: Fraction


class MaskFilterParams(Section):
    """Which MFR2 faces count as unmasked: P(unmasked) >= ``threshold`` from ``source``: the ConvNeXt trained on
    synthetic masks, the ConvNeXt cross-fitted on MFR2 itself (``folds``, ``epochs``, ``batch_size``,
    ``learning_rate``) or the mean of both (``ensemble``); or from the hub ``model`` when set."""

    model: Maybe(Text, "a non-empty string")
    source: OneOf(MASK_FILTER_SOURCES)
    threshold: Number("[0.5, 1]")
    folds: Int(2)
    image_size: Int(32)
    epochs: Int(1)
    batch_size: Int(1)
    learning_rate: Fraction
    synthetic: SyntheticMaskParams


class EmbedParams(Section):
    """How MFR2 faces are read, sized and split."""

    batch_size: Int(1)
    face_size: Int(32)
    on_bad_image: OneOf(BAD_IMAGE_POLICIES)
    test_fraction: Number("(0, 1)")
    val_fraction: Number("(0, 1)")


class LeakParams(Section):
    strategy: OneOf(STRATEGIES)


class SweepParams(Section):
    leakages: Fractions
    strategies: Choices(STRATEGIES)


class TrainSection(Section):
    """An embedding-inversion decoder's width and training (:class:`~faceleak.attacks.embedding_inversion.TrainParams`)."""

    epochs: Int(1)
    batch_size: Int(1)
    learning_rate: Fraction
    dropout: Number("[0, 1)")
    patience: Int(1)
    identity_weight: Number("[0, 1e6]")
    base_channels: Int(4)
    warmup_epochs: Int(0)
    augment_draws: Int(0)


DecoderTrain = Into(TrainParams, TrainSection)


class SpineSection(Section):
    mask_filter: MaskFilterParams
    embed: EmbedParams
    leak: LeakParams
    train: DecoderTrain
    sweep: SweepParams


class SpineParams(SpineSection, SystemParams):
    section = "spine"


parse_spine_params = partial(parse, SpineParams)
load_spine_params = partial(load, SpineParams)
