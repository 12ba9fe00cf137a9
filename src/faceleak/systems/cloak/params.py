"""The cloaking system's params: the shared keys it reads (``seed``, ``device``, ``weights``, ``image``,
``lfw``) and the ``cloak`` section of ``params.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from faceleak.data.degrade import CleaningSettings
from faceleak.defenses.cloak import CLOAK_AIMS, CloakSettings, surrogate_names
from faceleak.models.detectors import DETECTORS
from faceleak.models.recognizers import recognizer_names
from faceleak.params import ImageParams, LFWParams, ParamsError, Section, WeightsParams, parse_shared_params, read_params_file

MODE_NAMES = ("low", "mid", "high")  # the budgets a person chooses, least visible first
WHITE_BOX_DETECTOR = "ssd_mobilenet"  # the detector the cloak is crafted on: never one of its judges


@dataclass(frozen=True)
class CastParams:
    """Who takes part: ``users`` protected people (``cloaked_photos`` cloaked, ``references`` kept clean),
    and ``gallery_people`` other LFW people (``gallery_photos`` each) as distractors and targets."""

    users: int
    cloaked_photos: int
    references: int
    gallery_people: int
    gallery_photos: int


@dataclass(frozen=True)
class ModeParams:
    """A budget a person chooses: dodging within ``epsilon`` levels (L-infinity), put where the face has
    contrast, every face keeping SSIM >= ``ssim_floor`` to its original."""

    epsilon: float
    ssim_floor: float


@dataclass(frozen=True)
class DetectorAttackParams:
    """The attack on the SSD detector: ``photos`` full LFW photos, momentum PGD of ``steps`` steps of
    ``step_fraction * epsilon``; a box with IoU >= ``near_iou`` with the true face counts as the face;
    ``judges``: black-box detectors that took no part in it."""

    photos: int
    steps: int
    step_fraction: float
    momentum: float
    near_iou: float
    batch_size: int
    judges: tuple[str, ...]


@dataclass(frozen=True)
class CloakParams:
    seed: int
    device: str
    weights: WeightsParams
    image: ImageParams
    lfw: LFWParams
    cast: CastParams
    modes: dict[str, ModeParams]  # low, mid, high: faceleak-cloak --mode
    flat_share: float  # the modes' share of epsilon where the face is flat
    epsilons: tuple[float, ...]
    aims: tuple[str, ...]
    attack: CloakSettings  # its epsilon is a placeholder: each of ``epsilons`` is run, and each mode
    batch_size: int
    surrogates: tuple[str, ...]
    judges: tuple[str, ...]
    fmrs: tuple[float, ...]
    cleaning: CleaningSettings
    detector: DetectorAttackParams

    def settings(self, epsilon: float) -> CloakSettings:
        """The attack settings at budget ``epsilon``, the same everywhere on the face, no SSIM floor."""
        return replace(self.attack, epsilon=epsilon)

    def mode_settings(self, mode: str) -> CloakSettings:
        """The attack settings of a mode (``low``, ``mid``, ``high``): its epsilon put where the face has contrast, and its SSIM floor."""
        chosen = self.modes[mode]
        return replace(self.attack, epsilon=chosen.epsilon, ssim_floor=chosen.ssim_floor, flat_share=self.flat_share)


def parse_cloak_params(raw: dict) -> CloakParams:
    """Validate the cloaking system's keys of a params mapping; a surrogate may never be a judge."""
    shared = parse_shared_params(raw)
    section = Section(raw, "").section("cloak")
    cast, attack, cleaning, detector = (section.section(key) for key in ("cast", "attack", "cleaning", "detector"))
    scale = attack.numbers("scale", 0.1, 4.0, low_open=True)
    if len(scale) != 2 or scale[0] > scale[1]:
        raise ParamsError(f"params: 'cloak.attack.scale' = {list(scale)} is not allowed; expected [low, high] with low <= high")
    modes = section.section("modes")
    if sorted(modes.raw) != sorted(MODE_NAMES):
        raise ParamsError(f"params: 'cloak.modes' has {', '.join(modes.raw) or 'none'}; expected exactly {', '.join(MODE_NAMES)}")
    chosen = {name: modes.section(name) for name in MODE_NAMES}
    surrogates, judges = section.choices("surrogates", surrogate_names()), section.choices("judges", recognizer_names())
    shared_models = sorted(set(surrogates) & set(judges))
    if shared_models:
        raise ParamsError(f"params: 'cloak.judges' lists {', '.join(shared_models)}, a surrogate the cloak is crafted on; a judge must be independent")
    return CloakParams(
        seed=shared.seed,
        device=shared.device,
        weights=shared.weights,
        image=shared.image,
        lfw=shared.lfw,
        cast=CastParams(
            users=cast.integer("users", 1),
            cloaked_photos=cast.integer("cloaked_photos", 1),
            references=cast.integer("references", 1),
            gallery_people=cast.integer("gallery_people", 2),
            gallery_photos=cast.integer("gallery_photos", 1),
        ),
        modes={name: ModeParams(mode.number("epsilon", 0.0, 255.0, low_open=True), mode.number("ssim_floor", 0.0, 1.0, high_open=True)) for name, mode in chosen.items()},
        flat_share=section.number("flat_share", 0.0, 1.0, low_open=True),
        epsilons=section.numbers("epsilons", 0.0, 255.0, low_open=True),
        aims=section.choices("aims", CLOAK_AIMS),
        attack=CloakSettings(
            epsilon=0.0,
            steps=attack.integer("steps", 1),
            step_fraction=attack.number("step_fraction", 0.0, 1.0, low_open=True),
            momentum=attack.number("momentum", 0.0, 10.0),
            diversity=attack.number("diversity", 0.0, 1.0),
            scale=(scale[0], scale[1]),
            shift=attack.number("shift", 0.0, 0.5),
            noise=attack.number("noise", 0.0, 255.0),
            draws=attack.integer("draws", 1),
            smoothing=attack.number("smoothing", 0.0, 20.0),
        ),
        batch_size=section.integer("batch_size", 1),
        surrogates=surrogates,
        judges=judges,
        fmrs=section.numbers("fmrs", 0.0, 0.5, low_open=True),
        cleaning=CleaningSettings(
            jpeg_quality=round(cleaning.number("jpeg_quality", 1, 100)),
            blur_sigma=cleaning.number("blur_sigma", 0.0, 20.0, low_open=True),
            resize_factor=cleaning.number("resize_factor", 0.0, 1.0, low_open=True, high_open=True),
        ),
        detector=DetectorAttackParams(
            photos=detector.integer("photos", 1),
            steps=detector.integer("steps", 1),
            step_fraction=detector.number("step_fraction", 0.0, 1.0, low_open=True),
            momentum=detector.number("momentum", 0.0, 10.0),
            near_iou=detector.number("near_iou", 0.0, 1.0, low_open=True),
            batch_size=detector.integer("batch_size", 1),
            judges=detector.choices("judges", tuple(name for name in DETECTORS if name != WHITE_BOX_DETECTOR)),
        ),
    )


def load_cloak_params(path: str | Path = "params.yaml") -> CloakParams:
    """Read and validate the cloaking params of ``params.yaml``."""
    return parse_cloak_params(read_params_file(path))
