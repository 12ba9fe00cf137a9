"""The audit system's params: the ``audit`` section of ``params.yaml``, with the cloak system's params (the audit
judges its photos) and the open set's (its victims, judges, template protections and decoder) it reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from faceleak.attacks.embedding_inversion import TrainParams
from faceleak.models.recognizers import recognizer_names
from faceleak.params import Section, read_params_file
from faceleak.systems.cloak.params import CloakParams, parse_cloak_params
from faceleak.systems.openset.params import OpenSetParams, identity_loss, parse_openset_params
from faceleak.systems.spine.params import decoder_train_params

@dataclass(frozen=True)
class InversionParams:
    """The black-box template inversion of the audited recognizer: a decoder trained on public LFW faces and the
    audited recognizer's templates of them (queried), its identity loss through ``surrogate`` (``white_box``:
    through the audited recognizer itself); judged at each of ``leakages``."""

    white_box: bool
    surrogate: str
    leakages: tuple[float, ...]
    train: TrainParams


@dataclass(frozen=True)
class AuditParams:
    """``recognizer`` audited; refused when its LFW View 2 accuracy is below ``min_view2_accuracy``; its
    ONNX and PyTorch paths compared on ``agreement_faces`` real faces; View 2 thresholds at ``fmrs``."""

    recognizer: str
    min_view2_accuracy: float
    agreement_faces: int
    fmrs: tuple[float, ...]
    inversion: InversionParams
    cloak: CloakParams
    openset: OpenSetParams

    @property
    def seed(self) -> int:
        return self.cloak.seed

    @property
    def device(self) -> str:
        return self.cloak.device


def _inversion(section: Section, audited: str) -> InversionParams:
    white_box, surrogate = identity_loss(section, audited, role="audited")
    return InversionParams(
        white_box=white_box,
        surrogate=surrogate,
        leakages=section.fractions("leakages"),
        train=decoder_train_params(section.section("train")),
    )


def parse_audit_params(raw: dict) -> AuditParams:
    """Validate the audit's keys of a params mapping."""
    section = Section(raw, "").section("audit")
    recognizer = section.choice("recognizer", recognizer_names())
    return AuditParams(
        recognizer=recognizer,
        min_view2_accuracy=section.number("min_view2_accuracy", 0.5, 1.0),
        agreement_faces=section.integer("agreement_faces", 1),
        fmrs=section.numbers("fmrs", 0.0, 1.0, low_open=True),
        inversion=_inversion(section.section("inversion"), recognizer),
        cloak=parse_cloak_params(raw),
        openset=parse_openset_params(raw),
    )


def load_audit_params(path: str | Path = "params.yaml") -> AuditParams:
    """Read and validate the audit's params."""
    return parse_audit_params(read_params_file(path))
