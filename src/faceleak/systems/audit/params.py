"""The audit system's params: the ``audit`` section of ``params.yaml``, with the cloak system's params (the audit
judges its photos) and the open set's (its victims, judges, template protections and decoder) it reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import model_validator

from faceleak.models.recognizers import recognizer_names
from faceleak.params import Fractions, Int, Number, Numbers, OneOf, SystemParams, parse, read_params_file
from faceleak.systems.cloak.params import CloakParams
from faceleak.systems.openset.params import IdentityLoss, OpenSetParams
from faceleak.systems.spine.params import DecoderTrain


class InversionParams(IdentityLoss):
    """The black-box template inversion of the audited recognizer: a decoder trained on public LFW faces and the
    audited recognizer's templates of them (queried), its identity loss through ``surrogate`` (``white_box``:
    through the audited recognizer itself); judged at each of ``leakages``."""

    leakages: Fractions
    train: DecoderTrain


class AuditSection(SystemParams):
    """``recognizer`` audited; refused when its LFW View 2 accuracy is below ``min_view2_accuracy``; its
    ONNX and PyTorch paths compared on ``agreement_faces`` real faces; View 2 thresholds at ``fmrs``."""

    section = "audit"
    recognizer: OneOf(recognizer_names)
    min_view2_accuracy: Number("[0.5, 1]")
    agreement_faces: Int(1)
    fmrs: Numbers("(0, 1]")
    inversion: InversionParams

    @model_validator(mode="after")
    def _identity_loss(self) -> AuditSection:
        self.inversion.check_against(self.recognizer, "audited", "inversion.")
        return self


@dataclass(frozen=True)
class AuditParams:
    """The audit's section (its keys read as ``params.recognizer``), with the cloak's and the open set's params."""

    audit: AuditSection
    cloak: CloakParams
    openset: OpenSetParams

    def __getattr__(self, name: str) -> Any:
        return getattr(self.audit, name)


def parse_audit_params(raw: dict) -> AuditParams:
    """Validate the audit's keys of a params mapping, and the cloak's and the open set's it reads."""
    return AuditParams(parse(AuditSection, raw), parse(CloakParams, raw), parse(OpenSetParams, raw))


def load_audit_params(path: str | Path = "params.yaml") -> AuditParams:
    """Read and validate the audit's params."""
    return parse_audit_params(read_params_file(path))
