"""The typed loader and validator of ``params.yaml``: the reader every system's schema uses, and the
schema of the embedding-inversion systems (the spine and the open-set protocol).

Each other system checks its own sections in its own module (for example
:mod:`faceleak.model_inversion_params`), so a change to one system's schema does not rerun the
stages of another. Every value is checked on load; a bad one raises :class:`ParamsError` naming the
key, the value and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

STRATEGIES = ("random", "low_variance", "high_variance")
FACENET_WEIGHTS = ("casia-webface", "vggface2")
BAD_IMAGE_POLICIES = ("error", "skip")
NO_FACE_POLICIES = ("error", "median_box")
DATASETS = ("mfr2", "lfw", "lfw_pairs", "orl")


class ParamsError(ValueError):
    """A parameter is missing or has a value that is not allowed."""


@dataclass(frozen=True)
class DownloadParams:
    datasets: tuple[str, ...]


@dataclass(frozen=True)
class WeightsParams:
    facenet: str


@dataclass(frozen=True)
class MaskFilterParams:
    model: str | None
    threshold: float
    folds: int
    image_size: int
    epochs: int
    batch_size: int
    learning_rate: float


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
class TrainParams:
    epochs: int
    batch_size: int
    learning_rate: float
    dropout: float
    patience: int
    identity_weight: float
    base_channels: int


@dataclass(frozen=True)
class SweepParams:
    leakages: tuple[float, ...]
    strategies: tuple[str, ...]


@dataclass(frozen=True)
class ImageParams:
    channels: int


@dataclass(frozen=True)
class LFWParams:
    face_size: int
    margin: int
    batch_size: int
    on_no_face: str
    folds: int
    pairs_per_fold: int
    attacker_images: int | None


@dataclass(frozen=True)
class OpenSetParams:
    face_size: int
    val_fraction: float
    min_leakage: float
    leakages: tuple[float, ...]
    fmrs: tuple[float, ...]
    train: TrainParams


@dataclass(frozen=True)
class AblationParams:
    images: int
    leakage: float
    train: TrainParams


@dataclass(frozen=True)
class DefenseParams:
    fmr: float
    masking: tuple[float, ...]
    noise: tuple[float, ...]
    quantization: tuple[int, ...]
    biohash: tuple[int, ...]


@dataclass(frozen=True)
class Params:
    seed: int
    leakage: float
    download: DownloadParams
    weights: WeightsParams
    mask_filter: MaskFilterParams
    embed: EmbedParams
    leak: LeakParams
    train: TrainParams
    sweep: SweepParams
    image: ImageParams
    lfw: LFWParams
    openset: OpenSetParams
    ablation: AblationParams
    defenses: DefenseParams


class Section:
    """Reads and checks the keys of one section, naming ``section.key`` in errors."""

    def __init__(self, raw: dict[str, Any], name: str):
        if not isinstance(raw, dict):
            raise ParamsError(f"params: '{name}' must be a mapping, got {raw!r}")
        self.raw, self.name = raw, name

    def _get(self, key: str) -> Any:
        if key not in self.raw:
            raise ParamsError(f"params: '{self._path(key)}' is missing")
        return self.raw[key]

    def _path(self, key: str) -> str:
        return f"{self.name}.{key}" if self.name else key

    def _fail(self, key: str, value: Any, allowed: str) -> ParamsError:
        return ParamsError(f"params: '{self._path(key)}' = {value!r} is not allowed; expected {allowed}")

    def integer(self, key: str, minimum: int = 0) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self._fail(key, value, f"an integer >= {minimum}")
        return value

    def number(self, key: str, low: float, high: float, low_open: bool = False, high_open: bool = False) -> float:
        value = self._get(key)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
        if not ok:
            interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
            raise self._fail(key, value, f"a number in {interval}")
        return float(value)

    def choice(self, key: str, allowed: tuple[Any, ...]) -> Any:
        value = self._get(key)
        if value not in allowed or isinstance(value, bool):
            raise self._fail(key, value, f"one of {', '.join(map(str, allowed))}")
        return value

    def choices(self, key: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        value = self._get(key)
        if not isinstance(value, list) or not value or any(v not in allowed for v in value):
            raise self._fail(key, value, f"a non-empty list drawn from {', '.join(allowed)}")
        return tuple(value)

    def fractions(self, key: str) -> tuple[float, ...]:
        values = self._get(key)
        if not isinstance(values, list) or not values:
            raise self._fail(key, values, "a non-empty list of numbers in (0, 1]")
        return tuple(check_leakage(value, f"{self._path(key)}[]") for value in values)

    def numbers(self, key: str, low: float, high: float, low_open: bool = False) -> tuple[float, ...]:
        values = self._get(key)
        if not isinstance(values, list) or not values:
            raise self._fail(key, values, f"a non-empty list of numbers in {'(' if low_open else '['}{low}, {high}]")
        return tuple(Section({f"{key}[]": v}, self.name).number(f"{key}[]", low, high, low_open) for v in values)

    def integers(self, key: str, minimum: int) -> tuple[int, ...]:
        values = self._get(key)
        if not isinstance(values, list) or not values:
            raise self._fail(key, values, f"a non-empty list of integers >= {minimum}")
        return tuple(Section({f"{key}[]": v}, self.name).integer(f"{key}[]", minimum) for v in values)

    def optional_integer(self, key: str, minimum: int) -> int | None:
        return None if self._get(key) is None else self.integer(key, minimum)

    def optional_text(self, key: str) -> str | None:
        value = self._get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self._fail(key, value, "null or a non-empty string")
        return value

    def section(self, key: str) -> Section:
        return Section(self._get(key), self._path(key))


def check_leakage(value: Any, key: str = "leakage") -> float:
    """Validate a leakage fraction: a number in (0, 1]."""
    return Section({key: value}, "").number(key, 0.0, 1.0, low_open=True)


def _train_params(train: Section) -> TrainParams:
    return TrainParams(
        epochs=train.integer("epochs", 1),
        batch_size=train.integer("batch_size", 1),
        learning_rate=train.number("learning_rate", 0.0, 1.0, low_open=True),
        dropout=train.number("dropout", 0.0, 1.0, high_open=True),
        patience=train.integer("patience", 1),
        identity_weight=train.number("identity_weight", 0.0, 1e6),
        base_channels=train.integer("base_channels", 4),
    )


def parse_params(raw: dict[str, Any]) -> Params:
    """Validate a params mapping (as read from ``params.yaml``)."""
    top = Section(raw, "")
    mask = top.section("mask_filter")
    embed = top.section("embed")
    train = top.section("train")
    sweep = top.section("sweep")
    lfw = top.section("lfw")
    openset = top.section("openset")
    ablation = top.section("ablation")
    defenses = top.section("defenses")
    return Params(
        seed=top.integer("seed"),
        leakage=top.number("leakage", 0.0, 1.0, low_open=True),
        download=DownloadParams(datasets=top.section("download").choices("datasets", DATASETS)),
        weights=WeightsParams(facenet=top.section("weights").choice("facenet", FACENET_WEIGHTS)),
        mask_filter=MaskFilterParams(
            model=mask.optional_text("model"),
            threshold=mask.number("threshold", 0.5, 1.0),
            folds=mask.integer("folds", 2),
            image_size=mask.integer("image_size", 32),
            epochs=mask.integer("epochs", 1),
            batch_size=mask.integer("batch_size", 1),
            learning_rate=mask.number("learning_rate", 0.0, 1.0, low_open=True),
        ),
        embed=EmbedParams(
            batch_size=embed.integer("batch_size", 1),
            face_size=embed.integer("face_size", 32),
            on_bad_image=embed.choice("on_bad_image", BAD_IMAGE_POLICIES),
            test_fraction=embed.number("test_fraction", 0.0, 1.0, low_open=True, high_open=True),
            val_fraction=embed.number("val_fraction", 0.0, 1.0, low_open=True, high_open=True),
        ),
        leak=LeakParams(strategy=top.section("leak").choice("strategy", STRATEGIES)),
        train=_train_params(train),
        sweep=SweepParams(
            leakages=sweep.fractions("leakages"),
            strategies=sweep.choices("strategies", STRATEGIES),
        ),
        image=ImageParams(channels=top.section("image").choice("channels", (1, 3))),
        lfw=LFWParams(
            face_size=lfw.integer("face_size", 32),
            margin=lfw.integer("margin", 0),
            batch_size=lfw.integer("batch_size", 1),
            on_no_face=lfw.choice("on_no_face", NO_FACE_POLICIES),
            folds=lfw.integer("folds", 2),
            pairs_per_fold=lfw.integer("pairs_per_fold", 1),
            attacker_images=lfw.optional_integer("attacker_images", 2),
        ),
        openset=OpenSetParams(
            face_size=openset.integer("face_size", 16),
            val_fraction=openset.number("val_fraction", 0.0, 1.0, low_open=True, high_open=True),
            min_leakage=openset.number("min_leakage", 0.0, 1.0, low_open=True),
            leakages=openset.fractions("leakages"),
            fmrs=openset.numbers("fmrs", 0.0, 0.5, low_open=True),
            train=_train_params(openset.section("train")),
        ),
        ablation=AblationParams(
            images=ablation.integer("images", 2),
            leakage=ablation.number("leakage", 0.0, 1.0, low_open=True),
            train=_train_params(ablation.section("train")),
        ),
        defenses=DefenseParams(
            fmr=defenses.number("fmr", 0.0, 0.5, low_open=True),
            masking=defenses.fractions("masking"),
            noise=defenses.numbers("noise", 0.0, 100.0, low_open=True),
            quantization=defenses.integers("quantization", 1),
            biohash=defenses.integers("biohash", 1),
        ),
    )


def read_params_file(path: str | Path = "params.yaml") -> dict[str, Any]:
    """The raw mapping of a params file."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"params file {path} does not exist")
    with path.open() as handle:
        raw = yaml.safe_load(handle)
    return raw or {}


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate the embedding-inversion sections of ``params.yaml``."""
    return parse_params(read_params_file(path))
