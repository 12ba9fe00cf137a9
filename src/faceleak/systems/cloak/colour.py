"""The colour cast: the modes measured on MFR2's colour photos, as people take them (LFW's mirror is grey).

Every MFR2 person with two unmasked photos is a user: one photo is cloaked, the other is the reference the
judges compare it with; the people with one unmasked photo are identification distractors. MFR2's images
are already 160x160 aligned face crops, the pipeline's framing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from faceleak.data.mfr2 import load_faces
from faceleak.data.table import FaceTable
from faceleak.params import not_allowed
from faceleak.systems.cloak.params import CastParams


def unmasked_mfr2(folder: Path) -> FaceTable:
    """MFR2's unmasked photos as a face table (uint8 RGB 160x160, people = MFR2 identities)."""
    faces = [face for face in load_faces(folder) if not face.masked]
    pixels = np.stack([np.asarray(Image.open(face.path).convert("RGB"), dtype=np.uint8) for face in faces])
    return FaceTable(pixels, np.array([face.name for face in faces]), np.array([face.identity for face in faces]), {})


def colour_cast_params(table: FaceTable, users: int | None = None) -> CastParams:
    """Everyone with two photos a user (one cloaked, one reference), or ``users`` of them; everyone with one
    photo a gallery photo (counted from the photos, not set in params: select_cast checks that they suffice)."""
    counts = np.unique(table.people, return_counts=True)[1]
    everyone = int((counts >= 2).sum())
    if users is not None and users > everyone:
        raise not_allowed("cloak.colour_users", users, f"null or at most {everyone} (MFR2's people with two unmasked photos)")
    return CastParams.model_construct(users=everyone if users is None else users, cloaked_photos=1, references=1, gallery_people=int((counts < 2).sum()), gallery_photos=1)
