"""MFR2 (Masked Faces in Real-World for face Recognition): layout checks and labels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from faceleak.errors import FaceleakError

EXPECTED_IMAGES = 269
EXPECTED_IDENTITIES = 53
UNMASKED_LABEL = "no-mask"


class MFR2Error(FaceleakError, ValueError):
    """The MFR2 folder does not hold what the dataset should."""


@dataclass(frozen=True)
class MFR2Face:
    """One labelled MFR2 image."""

    identity: str
    number: int
    mask_type: str
    path: Path

    @property
    def masked(self) -> bool:
        return self.mask_type != UNMASKED_LABEL

    @property
    def name(self) -> str:
        return self.path.name


def find_root(folder: Path) -> Path:
    """The folder holding ``mfr2_labels.txt`` (the extracted archive's ``mfr2/`` or ``folder`` itself)."""
    for candidate in (folder / "mfr2", folder):
        if (candidate / "mfr2_labels.txt").is_file():
            return candidate
    raise MFR2Error(f"no mfr2_labels.txt under {folder}; is this the extracted MFR2 archive?")


def image_path(root: Path, identity: str, number: int) -> Path:
    """Where MFR2 keeps image ``number`` of ``identity`` under its root folder."""
    return root / identity / f"{identity}_{number:04d}.png"


def load_faces(folder: Path) -> list[MFR2Face]:
    """Parse ``mfr2_labels.txt`` into faces whose image files exist."""
    root = find_root(folder)
    faces = []
    for line_number, line in enumerate((root / "mfr2_labels.txt").read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = [field.strip() for field in line.split(",")]
        if len(fields) != 3 or not fields[1].isdigit():
            raise MFR2Error(f"mfr2_labels.txt line {line_number} is malformed: {line!r}")
        identity, number, mask_type = fields[0], int(fields[1]), fields[2]
        faces.append(MFR2Face(identity, number, mask_type, image_path(root, identity, number)))
    return faces


def validate(folder: Path) -> dict[str, int]:
    """Check the extracted archive: 269 labelled images on disk, 53 identities, ``pairs.txt``."""
    root = find_root(folder)
    if not (root / "pairs.txt").is_file():
        raise MFR2Error(f"{root} has no pairs.txt")
    faces = load_faces(folder)
    missing = [str(face.path) for face in faces if not face.path.is_file()]
    if missing:
        raise MFR2Error(f"{len(missing)} labelled MFR2 images are missing, e.g. {missing[0]}")
    on_disk = len(list(root.glob("*/*.png")))
    identities = len({face.identity for face in faces})
    if (len(faces), on_disk, identities) != (EXPECTED_IMAGES, EXPECTED_IMAGES, EXPECTED_IDENTITIES):
        raise MFR2Error(
            f"MFR2 should have {EXPECTED_IMAGES} labelled images of {EXPECTED_IDENTITIES} identities; found "
            f"{len(faces)} labels, {on_disk} images on disk, {identities} identities"
        )
    unmasked = sum(not face.masked for face in faces)
    return {"images": len(faces), "identities": identities, "unmasked": unmasked, "masked": len(faces) - unmasked}
