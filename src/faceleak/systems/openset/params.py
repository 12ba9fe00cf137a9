"""The open-set protocol's params: the shared keys it reads (``seed``, ``device``, ``image``, ``lfw``),
the spine's ``spine.embed`` (how victims are read) and ``spine.train`` (the spine's decoder, scored on the
open-set judges), and the ``openset`` section of ``params.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceleak.attacks.embedding_inversion import TrainParams
from faceleak.models.recognizers import onnx_specs, recognizer_names
from faceleak.params import FACENET_ENGINE_CHOICES, ImageParams, LFWParams, ParamsError, Section, WeightsParams, parse_shared_params, read_params_file
from faceleak.systems.spine.params import EmbedParams, decoder_train_params, embed_params

OWN_SURROGATES = ("facenet",)  # recognizers the black-box attacker owns and takes its identity loss through


@dataclass(frozen=True)
class AttackerParams:
    attacked: str  # the recognizer whose templates leak (queried for the attacker's training templates)
    white_box: bool  # the identity loss through the attacked recognizer's gradients (else through ``surrogate``)
    surrogate: str  # the black-box attacker's own recognizer
    face_size: int
    val_fraction: float
    min_leakage: float
    leakages: tuple[float, ...]
    fmrs: tuple[float, ...]
    judges: tuple[str, ...]  # the attacked recognizer first
    surrogate_engine: str  # FaceNet's engine in the attacker's identity loss (the judges run as weights.engine)
    train: TrainParams


@dataclass(frozen=True)
class AblationParams:
    images: int
    leakage: float
    variants: dict[str, TrainParams]  # each: the base ``train`` settings with the variant's changes


@dataclass(frozen=True)
class DefenseParams:
    fmr: float
    masking: tuple[float, ...]
    noise: tuple[float, ...]
    quantization: tuple[int, ...]
    biohash: tuple[int, ...]


@dataclass(frozen=True)
class OpenSetParams:
    seed: int
    device: str
    weights: WeightsParams
    image: ImageParams
    lfw: LFWParams
    embed: EmbedParams
    spine_train: TrainParams
    openset: AttackerParams
    ablation: AblationParams
    defenses: DefenseParams


def _judges(openset: Section, attacked: str) -> tuple[str, ...]:
    """The judges' names: registry names, the attacked recognizer (whose templates leak) first, added if not listed."""
    return (attacked, *(name for name in openset.choices("judges", recognizer_names()) if name != attacked))


def identity_loss(section: Section, attacked: str, role: str = "attacked") -> tuple[bool, str]:
    """``white_box`` and ``surrogate`` of ``section``: whose gradients the attacker's identity loss takes (the ``attacked``
    recognizer's needs FaceNet or an ONNX model aligned by crop; the surrogate is one the attacker owns, not the attacked)."""
    white_box = section._get("white_box")
    if not isinstance(white_box, bool):
        raise section._fail("white_box", white_box, "true or false")
    specs = onnx_specs()
    if white_box and attacked not in OWN_SURROGATES and (attacked not in specs or specs[attacked].alignment != "crop"):
        raise ParamsError(
            f"params: '{section.name}.white_box' = true is not allowed for {attacked}; expected false: the identity loss needs the {role} "
            f"recognizer's gradients on the decoder's faces (FaceNet, or an ONNX model with alignment crop)"
        )
    surrogate = section.choice("surrogate", OWN_SURROGATES)
    if surrogate == attacked and not white_box:
        raise ParamsError(f"params: '{section.name}.surrogate' = {surrogate!r} is the {role} recognizer; expected white_box: true (that is the white-box attack)")
    return white_box, surrogate


def judge_roles(judges: tuple[str, ...], attacked: str, white_box: bool, surrogate: str) -> dict[str, str]:
    """Each judge's role: the attacked recognizer; the black-box attacker's surrogate (white-box for the attack); the others independent."""
    return {
        name: "attacked" if name == attacked else "surrogate, white-box" if not white_box and name == surrogate else "independent"
        for name in judges
    }


def _ablation_variants(ablation: Section) -> dict[str, TrainParams]:
    """Each variant of ``ablation.variants``: the base ``ablation.train`` with the variant's changed keys."""
    base, variants = ablation.section("train"), ablation.section("variants")
    decoder_train_params(base)  # a bad base value is named as the base's key, not as every variant's
    if not variants.raw:
        raise ParamsError(f"params: '{variants.name}' must name at least one variant")
    trained = {}
    for name in variants.raw:
        changes = variants.section(name)
        unknown = sorted(set(changes.raw) - set(base.raw))
        if unknown:
            raise ParamsError(f"params: '{changes.name}' changes {', '.join(unknown)}, not keys of '{base.name}'")
        trained[name] = decoder_train_params(Section(base.raw | changes.raw, changes.name))
    return trained


def parse_openset_params(raw: dict[str, Any]) -> OpenSetParams:
    """Validate the open-set protocol's keys of a params mapping."""
    shared = parse_shared_params(raw)
    spine, openset = Section(raw, "").section("spine"), Section(raw, "").section("openset")
    ablation, defenses = openset.section("ablation"), openset.section("defenses")
    attacked = openset.choice("attacked", recognizer_names())
    white_box, surrogate = identity_loss(openset, attacked)
    return OpenSetParams(
        seed=shared.seed,
        device=shared.device,
        weights=shared.weights,
        image=shared.image,
        lfw=shared.lfw,
        embed=embed_params(spine.section("embed")),
        spine_train=decoder_train_params(spine.section("train")),
        openset=AttackerParams(
            attacked=attacked,
            white_box=white_box,
            surrogate=surrogate,
            face_size=openset.integer("face_size", 16),
            val_fraction=openset.number("val_fraction", 0.0, 1.0, low_open=True, high_open=True),
            min_leakage=openset.number("min_leakage", 0.0, 1.0, low_open=True),
            leakages=openset.fractions("leakages"),
            fmrs=openset.numbers("fmrs", 0.0, 0.5, low_open=True),
            judges=_judges(openset, attacked),
            surrogate_engine=openset.engine("surrogate_engine", shared.device, FACENET_ENGINE_CHOICES),
            train=decoder_train_params(openset.section("train")),
        ),
        ablation=AblationParams(
            images=ablation.integer("images", 2),
            leakage=ablation.number("leakage", 0.0, 1.0, low_open=True),
            variants=_ablation_variants(ablation),
        ),
        defenses=DefenseParams(
            fmr=defenses.number("fmr", 0.0, 0.5, low_open=True),
            masking=defenses.fractions("masking"),
            noise=defenses.numbers("noise", 0.0, 100.0, low_open=True),
            quantization=defenses.integers("quantization", 1),
            biohash=defenses.integers("biohash", 1),
        ),
    )


def load_openset_params(path: str | Path = "params.yaml") -> OpenSetParams:
    """Read and validate the open-set protocol's params of ``params.yaml``."""
    return parse_openset_params(read_params_file(path))
