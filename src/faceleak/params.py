"""The params infrastructure every system's schema uses, and the shared sections of ``params.yaml``.

``params.yaml`` holds shared keys (``seed``, ``device``, ``download``, ``weights``, ``image``, ``lfw``) and
one section per system; each system checks its own section in ``faceleak.systems.<system>.params``, so a
change to one system's schema does not rerun another's stages. Every value is checked on load; a bad one
raises :class:`ParamsError` naming the key, the value and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from faceleak.device import DEVICE_CHOICES, ENGINE_CHOICES, resolve_device, resolve_engine
from faceleak.errors import FaceleakError

FACENET_WEIGHTS = ("casia-webface", "vggface2")
# How FaceNet runs: fp32 in PyTorch's default layout (the reference numbers), fp32 channels-last, or
# bfloat16 autocast on channels-last (CPUs with AVX-512 BF16 or AMX, and GPUs); outputs are float32.
# In params, ``auto`` picks bf16 where it is native and fp32 elsewhere.
FACENET_ENGINES = ("fp32", "channels_last", "bf16")
FACENET_ENGINE_CHOICES = ("auto", *FACENET_ENGINES)
NO_FACE_POLICIES = ("error", "median_box")
DATASETS = ("mfr2", "lfw", "lfw_pairs", "lfw_dev_train", "lfw_dev_test", "orl")


class ParamsError(FaceleakError, ValueError):
    """A parameter is missing or has a value that is not allowed."""


@dataclass(frozen=True)
class DownloadParams:
    datasets: tuple[str, ...]


@dataclass(frozen=True)
class WeightsParams:
    facenet: str
    engine: str


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
class SharedParams:
    """The keys every system may read: seed, device, datasets, FaceNet weights, image channels, LFW alignment."""

    seed: int
    device: str
    download: DownloadParams
    weights: WeightsParams
    image: ImageParams
    lfw: LFWParams


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

    def engine(self, key: str, device: str, allowed: tuple[str, ...] = ENGINE_CHOICES) -> str:
        """The engine that runs for ``key`` on ``device`` (``auto`` resolved; an emulated bf16 refused)."""
        return resolve_engine(self.choice(key, allowed), resolve_device(device), self._path(key))


def check_leakage(value: Any, key: str = "leakage") -> float:
    """Validate a leakage fraction: a number in (0, 1]."""
    return Section({key: value}, "").number(key, 0.0, 1.0, low_open=True)


def weights_params(top: Section) -> WeightsParams:
    """FaceNet's weights and engine from the top level's ``weights`` section (every system that runs FaceNet
    reads it); ``engine`` is the one that runs on the chosen device."""
    weights = top.section("weights")
    return WeightsParams(facenet=weights.choice("facenet", FACENET_WEIGHTS), engine=weights.engine("engine", top.choice("device", DEVICE_CHOICES), FACENET_ENGINE_CHOICES))


def parse_shared_params(raw: dict[str, Any]) -> SharedParams:
    """Validate the shared keys of a params mapping."""
    top = Section(raw, "")
    lfw = top.section("lfw")
    return SharedParams(
        seed=top.integer("seed"),
        device=top.choice("device", DEVICE_CHOICES),
        download=DownloadParams(datasets=top.section("download").choices("datasets", DATASETS)),
        weights=weights_params(top),
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
    )


def read_params_file(path: str | Path = "params.yaml") -> dict[str, Any]:
    """The raw mapping of a params file."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"params file {path} does not exist")
    with path.open() as handle:
        raw = yaml.safe_load(handle)
    return raw or {}


def load_shared_params(path: str | Path = "params.yaml") -> SharedParams:
    """Read and validate the shared keys of ``params.yaml``."""
    return parse_shared_params(read_params_file(path))
