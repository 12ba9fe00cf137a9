"""The open-set protocol's params: the shared keys, the spine's section (``spine.embed``: how victims are
read; ``spine.train``: the spine's decoder, scored on the open-set judges) and the ``openset`` section."""

from __future__ import annotations

from functools import partial
from typing import Any

from pydantic import ConfigDict, model_validator

from faceleak.models.recognizers import onnx_specs, recognizer_names
from faceleak.params import FACENET_ENGINE_CHOICES, Choices, Engine, Flag, Fraction, Fractions, Int, Ints, Number, Numbers, OneOf, Section, SharedParams, load, parse, refuse
from faceleak.systems.spine.params import DecoderTrain, SpineSection

OWN_SURROGATES = ("facenet",)  # recognizers the black-box attacker owns and takes its identity loss through


class IdentityLoss(Section):
    """Whose gradients an attacker's identity loss takes: the attacked recognizer's (``white_box``) or those of
    ``surrogate``, a recognizer the attacker owns."""

    white_box: Flag
    surrogate: OneOf(OWN_SURROGATES)

    def check_against(self, attacked: str, role: str, where: str = "") -> None:
        """Refuse a white-box loss through a recognizer without usable gradients (FaceNet, or an ONNX model
        aligned by crop), and a black-box loss through the ``attacked`` recognizer itself."""
        spec = onnx_specs().get(attacked)
        if self.white_box and attacked not in OWN_SURROGATES and (spec is None or spec.alignment != "crop"):
            raise refuse(
                f"{where}white_box",
                f"= true is not allowed for {attacked}; expected false: the identity loss needs the {role} recognizer's "
                "gradients on the decoder's faces (FaceNet, or an ONNX model with alignment crop)",
            )
        if self.surrogate == attacked and not self.white_box:
            raise refuse(f"{where}surrogate", f"= {self.surrogate!r} is the {role} recognizer; expected white_box: true (that is the white-box attack)")


class AblationParams(Section):
    """Training recipes side by side: each of ``variants`` is the base ``train`` with the variant's changes."""

    images: Int(2)
    leakage: Fraction
    train: DecoderTrain
    variants: dict[str, DecoderTrain]

    @model_validator(mode="before")
    @classmethod
    def _variants_change_the_base(cls, raw: Any) -> Any:
        base, variants = (raw.get("train"), raw.get("variants")) if isinstance(raw, dict) else (None, None)
        if not isinstance(base, dict) or not isinstance(variants, dict):
            return raw
        if not variants:
            raise refuse("variants", "must name at least one variant")
        for name, changes in variants.items():
            if not isinstance(changes, dict):
                raise refuse(f"variants.{name}", "a mapping of the base train's keys it changes", changes)
            if unknown := sorted(set(changes) - set(base)):
                raise refuse(f"variants.{name}", f"changes {', '.join(unknown)}, not keys of the base train")
        return raw | {"variants": {name: base | changes for name, changes in variants.items()}}


class DefenseParams(Section):
    fmr: Number("(0, 0.5]")
    masking: Fractions
    noise: Numbers("(0, 100]")
    quantization: Ints(1)
    biohash: Ints(1)


class AttackerParams(IdentityLoss):
    """The open-set attacker: ``attacked`` leaks its templates; judged by ``judges``, the attacked one first."""

    model_config = ConfigDict(title="openset")
    attacked: OneOf(recognizer_names)
    face_size: Int(16)
    val_fraction: Number("(0, 1)")
    min_leakage: Fraction
    leakages: Fractions
    fmrs: Numbers("(0, 0.5]")
    judges: Choices(recognizer_names)
    surrogate_engine: Engine(FACENET_ENGINE_CHOICES)  # FaceNet's in the attacker's identity loss (the judges run as weights.engine)
    train: DecoderTrain
    ablation: AblationParams
    defenses: DefenseParams

    @model_validator(mode="before")
    @classmethod
    def _attacked_judged_first(cls, raw: Any) -> Any:
        judges = raw.get("judges") if isinstance(raw, dict) else None
        return raw | {"judges": [raw.get("attacked"), *(name for name in judges if name != raw.get("attacked"))]} if isinstance(judges, list) and judges else raw

    @model_validator(mode="after")
    def _identity_loss(self) -> AttackerParams:
        self.check_against(self.attacked, "attacked")
        return self


class OpenSetParams(SharedParams):
    spine: SpineSection
    openset: AttackerParams



def judge_roles(judges: tuple[str, ...], attacked: str, white_box: bool, surrogate: str) -> dict[str, str]:
    """Each judge's role: the attacked recognizer; the black-box attacker's surrogate (white-box for the attack); the others independent."""
    return {
        name: "attacked" if name == attacked else "surrogate, white-box" if not white_box and name == surrogate else "independent"
        for name in judges
    }


parse_openset_params = partial(parse, OpenSetParams)
load_openset_params = partial(load, OpenSetParams)
