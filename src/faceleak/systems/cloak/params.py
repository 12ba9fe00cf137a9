"""The cloaking system's params: the shared keys and the ``cloak`` section of ``params.yaml``."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from pydantic import model_validator

from faceleak.data.degrade import CleaningSettings
from faceleak.defenses.cloak import CLOAK_AIMS, CloakSettings, surrogate_names
from faceleak.models.detectors import DETECTORS
from faceleak.models.recognizers import recognizer_names
from faceleak.params import Choices, Fraction, Int, Into, Maybe, Number, Numbers, Pair, Section, SystemParams, load, parse, refuse

MODE_NAMES = ("low", "mid", "high")  # the budgets a person chooses, least visible first
WHITE_BOX_DETECTOR = "ssd_mobilenet"  # the detector the cloak is crafted on: never one of its judges


class CastParams(Section):
    """Who takes part: ``users`` protected people (``cloaked_photos`` cloaked, ``references`` kept clean),
    and ``gallery_people`` other LFW people (``gallery_photos`` each) as distractors and targets."""

    users: Int(1)
    cloaked_photos: Int(1)
    references: Int(1)
    gallery_people: Int(2)
    gallery_photos: Int(1)


class ModeParams(Section):
    """A budget a person chooses: dodging within ``epsilon`` levels (L-infinity), put where the face has
    contrast, every face keeping SSIM >= ``ssim_floor`` to its original."""

    epsilon: Number("(0, 255]")
    ssim_floor: Number("[0, 1)")


class AttackSection(Section):
    """MI-FGSM with input diversity (:class:`~faceleak.defenses.cloak.CloakSettings`, its epsilon set per run)."""

    steps: Int(1)
    step_fraction: Fraction
    momentum: Number("[0, 10]")
    diversity: Number("[0, 1]")
    scale: Pair("(0.1, 4]", "[low, high] with low <= high")
    shift: Number("[0, 0.5]")
    noise: Number("[0, 255]")
    draws: Int(1)
    smoothing: Number("[0, 20]")


class CleaningSection(Section):
    jpeg_quality: Int(1, 100)
    blur_sigma: Number("(0, 20]")
    resize_factor: Number("(0, 1)")


class DetectorAttackParams(Section):
    """The attack on the SSD detector: ``photos`` full LFW photos, momentum PGD of ``steps`` steps of
    ``step_fraction * epsilon``; a box with IoU >= ``near_iou`` with the true face counts as the face;
    ``judges``: black-box detectors that took no part in it."""

    photos: Int(1)
    steps: Int(1)
    step_fraction: Fraction
    momentum: Number("[0, 10]")
    near_iou: Fraction
    batch_size: Int(1)
    judges: Choices(tuple(name for name in DETECTORS if name != WHITE_BOX_DETECTOR))


class CloakParams(SystemParams):
    section = "cloak"
    cast: CastParams
    colour_users: Maybe(Int(1), "an integer >= 1")  # cloak_colour's users: null for everyone with two photos
    modes: dict[str, ModeParams]  # low, mid, high: faceleak-cloak --mode
    flat_share: Fraction  # the modes' share of epsilon where the face is flat
    epsilons: Numbers("(0, 255]")
    aims: Choices(CLOAK_AIMS)
    attack: Into(CloakSettings, AttackSection, epsilon=0.0)  # a placeholder: each of ``epsilons`` is run, and each mode
    batch_size: Int(1)
    surrogates: Choices(surrogate_names)
    judges: Choices(recognizer_names)
    fmrs: Numbers("(0, 0.5]")
    cleaning: Into(CleaningSettings, CleaningSection)
    detector: DetectorAttackParams

    @model_validator(mode="after")
    def _independent_judges(self) -> CloakParams:
        if sorted(self.modes) != sorted(MODE_NAMES):
            raise refuse("modes", f"has {', '.join(self.modes) or 'none'}; expected exactly {', '.join(MODE_NAMES)}")
        if shared := sorted(set(self.surrogates) & set(self.judges)):
            raise refuse("judges", f"lists {', '.join(shared)}, a surrogate the cloak is crafted on; a judge must be independent")
        return self

    def settings(self, epsilon: float) -> CloakSettings:
        """The attack settings at budget ``epsilon``, the same everywhere on the face, no SSIM floor."""
        return replace(self.attack, epsilon=epsilon)

    def mode_settings(self, mode: str) -> CloakSettings:
        """The attack settings of a mode (``low``, ``mid``, ``high``): its epsilon put where the face has contrast, and its SSIM floor."""
        chosen = self.modes[mode]
        return replace(self.attack, epsilon=chosen.epsilon, ssim_floor=chosen.ssim_floor, flat_share=self.flat_share)


parse_cloak_params = partial(parse, CloakParams)
load_cloak_params = partial(load, CloakParams)
