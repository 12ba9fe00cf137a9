"""Params as declarations: the value types every schema uses, the shared sections of ``params.yaml``, and
:func:`parse`, which checks a mapping against a schema (pydantic) and turns its first error into one line.

``params.yaml`` holds shared keys (``seed``, ``device``, ``leakage``, ``download``, ``weights``, ``image``,
``lfw``) and one section per system; each system's schema in ``faceleak.systems.<system>.params`` reads the
shared keys and its own section, so a change to one system's schema does not rerun another's stages. A bad
value raises :class:`ParamsError` naming the key, the value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from functools import partial
from pathlib import Path
from typing import Annotated, Any, ClassVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, TypeAdapter, ValidationError, ValidationInfo, WrapValidator, model_validator
from pydantic_core import PydanticCustomError

from faceleak.device import DEVICE_CHOICES, ENGINE_CHOICES, resolve_device, resolve_engine
from faceleak.errors import FaceleakError
from faceleak.training import FitSettings

FACENET_WEIGHTS = ("casia-webface", "vggface2")
# How FaceNet runs: fp32 in PyTorch's default layout (the reference numbers), fp32 channels-last, or
# bfloat16 autocast on channels-last (CPUs with AVX-512 BF16 or AMX, and GPUs); outputs are float32.
# In params, ``auto`` picks bf16 where it is native and fp32 elsewhere.
FACENET_ENGINES = ("fp32", "channels_last", "bf16")
FACENET_ENGINE_CHOICES = ("auto", *FACENET_ENGINES)
NO_FACE_POLICIES = ("error", "median_box")
DATASETS = ("mfr2", "lfw", "lfw_pairs", "lfw_dev_train", "lfw_dev_test", "orl")
UNKNOWN_KEY = "is not a key of its section; remove it or correct its name"
SHARED_KEY = "is a shared key, not a key of its section; set it at the top of params.yaml"
MAPPING = "a mapping (indented key: value lines)"
MAPPING_ERRORS = ("dict_type", "model_type", "model_attributes_type")


class ParamsError(FaceleakError, ValueError):
    """A parameter is missing or has a value that is not allowed."""


def expect(described: str | Callable[[], str], items: bool = False) -> WrapValidator:
    """Any failure of the value becomes "expected ``described``"; with ``items``, a list item's own error is kept."""

    def check(value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError as error:
            if items and any(line["loc"] for line in error.errors()):
                raise
            raise PydanticCustomError("expected", described() if callable(described) else described) from None

    return WrapValidator(check)


NO_VALUE = object()


def _not_allowed(value: Any, expected: str) -> str:
    return f"= {value!r} is not allowed; expected {expected}"


def not_allowed(key: str, value: Any, expected: str) -> ParamsError:
    """The one-line error of a value checked outside a schema (against the data, say):
    ``params: '<key>' = <value> is not allowed; expected <expected>``."""
    return ParamsError(f"params: '{key}' {_not_allowed(value, expected)}")


def refuse(key: str, text: str, value: Any = NO_VALUE) -> PydanticCustomError:
    """A cross-field rule's refusal: ``params: '<where>.<key>' <text>``, or, given the ``value`` (``None`` too),
    the one-line form ``params: '<where>.<key>' = <value> is not allowed; expected <text>``."""
    return PydanticCustomError("refused", text if value is NO_VALUE else _not_allowed(value, text), {"key": key})


def Int(minimum: int = 0, maximum: int | None = None) -> Any:
    limit = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
    return Annotated[int, Field(strict=True, ge=minimum, le=maximum), expect(f"an integer {limit}")]


def _interval(bounds: str) -> tuple[dict[str, float], str]:
    """``"(0, 1]"`` as pydantic's limits and as messages show it (``(0.0, 1.0]``)."""
    low, high = (float(end) for end in bounds[1:-1].split(","))
    return {"gt" if bounds[0] == "(" else "ge": low, "lt" if bounds[-1] == ")" else "le": high}, f"{bounds[0]}{low}, {high}{bounds[-1]}"


def Number(bounds: str) -> Any:
    """A number in ``bounds``, an interval written as in mathematics: ``"(0, 1]"``, ``"[0.5, 1]"``."""
    limits, shown = _interval(bounds)
    return Annotated[float, Field(strict=True, **limits), expect(f"a number in {shown}")]


def _allowed(choices: tuple[Any, ...] | Callable[[], tuple[Any, ...]]) -> tuple[Any, ...]:
    return choices() if callable(choices) else choices


def _one_of(value: Any, choices: tuple[Any, ...] | Callable[[], tuple[Any, ...]]) -> Any:
    if isinstance(value, bool) or value not in (allowed := _allowed(choices)):
        raise PydanticCustomError("expected", f"one of {', '.join(map(str, allowed))}")
    return value


def OneOf(choices: tuple[Any, ...] | Callable[[], tuple[Any, ...]], kind: type = str) -> Any:
    """One of ``choices`` (a callable is asked when a value is checked: names that params.yaml itself adds)."""
    return Annotated[kind, PlainValidator(lambda value: _one_of(value, choices))]


def ListOf(item: Any, described: str | Callable[[], str], length: int | None = None, items: bool = True) -> Any:
    """A non-empty list of ``item`` (``length`` of them when given) as a tuple; a bad item is named ``key[]``
    with its own message (``items``), or the list as a whole."""
    return Annotated[tuple[item, ...], Field(min_length=length or 1, max_length=length), expect(described, items)]


def Numbers(bounds: str) -> Any:
    return ListOf(Number(bounds), f"a non-empty list of numbers in {_interval(bounds)[1]}")


def Ints(minimum: int) -> Any:
    return ListOf(Int(minimum), f"a non-empty list of integers >= {minimum}")


def Choices(choices: tuple[str, ...] | Callable[[], tuple[str, ...]]) -> Any:
    return ListOf(OneOf(choices), lambda: f"a non-empty list drawn from {', '.join(_allowed(choices))}", items=False)


def Pair(bounds: str, rule: str) -> Any:
    """``[low, high]`` within ``bounds``, low <= high (``rule`` says so in the message)."""

    def ordered(pair: tuple[float, ...]) -> tuple[float, ...]:
        if pair[0] > pair[1]:
            raise PydanticCustomError("expected", rule)
        return pair

    return Annotated[ListOf(Number(bounds), rule, length=2), AfterValidator(ordered)]


def Maybe(kind: Any, described: str) -> Any:
    """``null`` or a ``kind``."""
    return Annotated[kind | None, expect(f"null or {described}")]


Flag = Annotated[bool, Field(strict=True), expect("true or false")]
Text = Annotated[str, Field(strict=True, pattern=r"\S"), expect("a non-empty string")]
Fraction = Number("(0, 1]")
Fractions = Numbers("(0, 1]")


def _engine(value: Any, info: ValidationInfo, choices: tuple[str, ...]) -> str:
    device = (info.context or {}).get("device")
    key = f"{info.config['title']}.{info.field_name}"
    return resolve_engine(_one_of(value, choices), resolve_device(device), key) if device in DEVICE_CHOICES else _one_of(value, choices)


def Engine(choices: tuple[str, ...] = ENGINE_CHOICES) -> Any:
    """An engine, resolved for the device (``auto``: bf16 where native; an emulated bf16 refused), named in
    messages by its section's ``title``."""
    return Annotated[str, PlainValidator(lambda value, info: _engine(value, info, choices))]


def Into(kind: type, schema: type[BaseModel], **fixed: Any) -> Any:
    """A section checked by ``schema`` and made into ``kind``, the object the system's code takes."""
    return Annotated[kind, PlainValidator(lambda value, info: kind(**dict(schema.model_validate(value, context=info.context)), **fixed))]


class Section(BaseModel):
    """A section of ``params.yaml``: every key declared, none unknown."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class FitSection(Section):
    """One training run's optimiser and stopping settings (:class:`~faceleak.training.FitSettings`)."""

    epochs: Int(1)
    batch_size: Int(1)
    learning_rate: Number("(0, 1]")
    patience: Int(1)
    min_delta: Number("[0, 1]") = 0.0
    weight_decay: Number("[0, 1]") = 0.0
    clip_norm: Maybe(Number("(0, 1e6]"), "a number in (0.0, 1000000.0]") = None

    @property
    def fit(self) -> FitSettings:
        return FitSettings(**{field.name: getattr(self, field.name) for field in fields(FitSettings)})


Fit = Into(FitSettings, FitSection)


class DownloadParams(Section):
    datasets: Choices(DATASETS)


class WeightsParams(Section):
    model_config = ConfigDict(title="weights")
    facenet: OneOf(FACENET_WEIGHTS)
    engine: Engine(FACENET_ENGINE_CHOICES)


class ImageParams(Section):
    channels: OneOf((1, 3), int)


class LFWParams(Section):
    face_size: Int(32)
    margin: Int(0)
    batch_size: Int(1)
    on_no_face: OneOf(NO_FACE_POLICIES)
    folds: Int(2)
    pairs_per_fold: Int(1)
    attacker_images: Maybe(Int(2), "an integer >= 2")


class SharedParams(BaseModel):
    """The keys every system may read: seed, device, the spine's leakage, datasets, FaceNet weights, image channels, LFW alignment."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    seed: Int(0)
    device: OneOf(DEVICE_CHOICES)
    leakage: Fraction
    download: DownloadParams
    weights: WeightsParams
    image: ImageParams
    lfw: LFWParams


class SystemParams(SharedParams):
    """The shared keys with one section's keys beside them (``params.seed`` and ``params.judges`` alike);
    errors still name a section key by its place in params.yaml (``cloak.judges``)."""

    section: ClassVar[str]

    @model_validator(mode="before")
    @classmethod
    def _beside_shared(cls, raw: dict[str, Any]) -> dict[str, Any]:
        own = raw[cls.section]
        shared = SharedParams.model_fields
        declared = {name for name, field in cls.model_fields.items() if name not in shared or field.annotation is not shared[name].annotation}
        if undeclared := sorted(set(own) - declared):
            raise refuse(f"{cls.section}.{undeclared[0]}", SHARED_KEY if undeclared[0] in shared else UNKNOWN_KEY)
        return {**raw, **own}


def _line(error: dict[str, Any], schema: Any, raw: Any, where: str) -> str:
    """The error as one line, naming its key in params.yaml (``[]``: an item of a list)."""
    location = [*error["loc"], *(part for part in error.get("ctx", {}).get("key", "").split(".") if part)]
    section = getattr(schema, "section", None)
    if section and location and (location[0] in raw[section] or location[0] not in raw):
        location.insert(0, section)
    key = ".".join([where] * bool(where) + [str(part) for part in location if not isinstance(part, int)])
    key += "[]" * (bool(location) and isinstance(location[-1], int))
    expected = MAPPING if error["type"] in MAPPING_ERRORS else error["msg"]
    problems = {"missing": "is missing", "extra_forbidden": UNKNOWN_KEY, "refused": error["msg"]}
    return f"params: '{key}' " + problems.get(error["type"], _not_allowed(error["input"], expected))


def parse(schema: Any, raw: Any, where: str = "") -> Any:
    """``raw`` checked against ``schema`` (a model or a type) and made into it; ``where`` names its place in params.yaml."""
    section = getattr(schema, "section", None)
    if section and section not in raw:
        raise ParamsError(f"params: '{section}' is missing")
    if section and not isinstance(raw[section], dict):
        raise not_allowed(section, raw[section], MAPPING)
    try:
        return TypeAdapter(schema).validate_python(raw, context={"device": raw.get("device")} if isinstance(raw, dict) else {})
    except ValidationError as error:
        raise ParamsError(_line(error.errors()[0], schema, raw, where)) from None


def check_leakage(value: Any, key: str = "leakage") -> float:
    """Validate a leakage fraction: a number in (0, 1]."""
    return parse(Fraction, value, key)


def read_params_file(path: str | Path = "params.yaml") -> dict[str, Any]:
    """The raw mapping of a params file."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"params file {path} does not exist")
    with path.open() as handle:
        raw = yaml.safe_load(handle)
    return raw or {}


def load(schema: Any, path: str | Path = "params.yaml") -> Any:
    """``params.yaml`` (or ``path``) read and checked against ``schema``."""
    return parse(schema, read_params_file(path))


parse_shared_params = partial(parse, SharedParams)
load_shared_params = partial(load, SharedParams)
