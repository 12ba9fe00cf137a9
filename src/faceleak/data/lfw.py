"""LFW on disk: images by person, the View 1 and View 2 verification pairs, and matching names with MFR2."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from faceleak.errors import FaceleakError

LFW_FOLDER = "lfw_funneled"
PAIRS_FILE = "lfw-pairs.txt"
DEV_TRAIN_FILE = "lfw-pairsDevTrain.txt"
DEV_TEST_FILE = "lfw-pairsDevTest.txt"


class LFWError(FaceleakError, ValueError):
    """The LFW copy or its pairs file is not what the pipeline expects."""


@dataclass(frozen=True)
class Pair:
    """One pair of image names, whether they show the same person, and its fold (0-based; View 1: 0)."""

    first: str
    second: str
    same: bool
    fold: int


def image_name(person: str, number: int) -> str:
    """LFW's file stem for a person's image: ``Aaron_Peirsol_0001``."""
    return f"{person}_{number:04d}"


def person_of(name: str) -> str:
    """The person of an image name (the stem without its number)."""
    return name.rsplit("_", 1)[0]


def identity_key(name: str) -> str:
    """Spelling-insensitive key for a person, so MFR2's ``AdrianDunbar`` matches LFW's ``Adrian_Dunbar``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def find_root(folder: Path) -> Path:
    """The folder holding one sub-folder per person."""
    root = folder / LFW_FOLDER
    if not root.is_dir():
        raise LFWError(f"{folder} has no {LFW_FOLDER}/ folder; run the download stage for lfw")
    return root


def list_images(root: Path) -> dict[str, Path]:
    """Every image of the LFW copy, by image name, in sorted order."""
    images = {path.stem: path for path in sorted(root.glob("*/*.jpg"))}
    if not images:
        raise LFWError(f"no LFW images under {root}")
    return images


def read_pairs(path: Path, folds: int = 10, pairs_per_fold: int = 300) -> list[Pair]:
    """Pairs from an LFW pairs file: per fold, the first ``pairs_per_fold`` same and different pairs.

    View 2's ``pairs.txt`` starts '<folds> <pairs per fold>'; View 1's ``pairsDevTrain/Test.txt`` start
    '<pairs>' and read as one fold (``read_pairs(path, 1, 1100)``, or :func:`read_dev_pairs`).
    """
    if not path.is_file():
        raise LFWError(f"pairs file {path} does not exist; run the download stage for it")
    lines = path.read_text().split("\n")
    header = lines[0].split()
    if len(header) not in (1, 2) or not all(value.isdigit() for value in header):
        raise LFWError(f"{path}: first line should be '<folds> <pairs per fold>' or '<pairs>', got {lines[0]!r}")
    file_folds, file_per_fold = (int(header[0]), int(header[1])) if len(header) == 2 else (1, int(header[0]))
    if folds > file_folds or pairs_per_fold > file_per_fold:
        raise LFWError(f"{path} has {file_folds} folds of {file_per_fold}; asked for {folds} of {pairs_per_fold}")
    rows = [line.split() for line in lines[1:] if line.strip()]
    if len(rows) != 2 * file_folds * file_per_fold:
        raise LFWError(f"{path}: expected {2 * file_folds * file_per_fold} pairs, found {len(rows)}")
    pairs = []
    for index, row in enumerate(rows):
        fold, position = divmod(index, 2 * file_per_fold)
        same = position < file_per_fold
        if fold >= folds or position % file_per_fold >= pairs_per_fold:
            continue
        if same and len(row) == 3:
            pairs.append(Pair(image_name(row[0], int(row[1])), image_name(row[0], int(row[2])), True, fold))
        elif not same and len(row) == 4:
            pairs.append(Pair(image_name(row[0], int(row[1])), image_name(row[2], int(row[3])), False, fold))
        else:
            raise LFWError(f"{path}: pair line {index + 2} {' '.join(row)!r} does not fit its place in fold {fold + 1}")
    return pairs


def read_dev_pairs(path: Path) -> list[Pair]:
    """Every pair of a View 1 file (``lfw-pairsDevTrain.txt`` or ``lfw-pairsDevTest.txt``), as fold 0."""
    if not path.is_file():
        raise LFWError(f"pairs file {path} does not exist; run the download stage for it")
    header = path.read_text().split("\n", 1)[0].split()
    if len(header) != 1 or not header[0].isdigit():
        raise LFWError(f"{path}: a View 1 pairs file starts with '<pairs>', got {' '.join(header)!r}")
    return read_pairs(path, 1, int(header[0]))


def check_channels(sample: Path, channels: int) -> None:
    """Refuse colour processing of a grey LFW copy (the mirror's), which would silently be grey."""
    with Image.open(sample) as image:
        pixels = np.asarray(image.convert("RGB"))
    grey = bool((pixels == pixels[..., :1]).all())
    if channels == 3 and grey:
        raise LFWError(f"the LFW copy is grayscale ({sample}); set image.channels: 1 or download colour LFW")


def select_lfw(
    images: dict[str, Path], pairs: list[Pair], victim_people: list[str], attacker_images: int | None, seed: int
) -> tuple[list[str], np.ndarray]:
    """Image names to align (View 2 pair images and attacker images) and which are attacker images.

    Attacker images are LFW images of people outside ``victim_people`` (every one, or a seeded sample
    of ``attacker_images``).
    """
    victims = {identity_key(person) for person in victim_people}
    eligible = [name for name in images if identity_key(person_of(name)) not in victims]
    if attacker_images is not None and attacker_images < len(eligible):
        chosen = np.random.default_rng(seed).choice(len(eligible), attacker_images, replace=False)
        eligible = [eligible[i] for i in sorted(chosen)]
    in_pairs = {name for pair in pairs for name in (pair.first, pair.second)}
    missing = sorted(in_pairs - images.keys())
    if missing:
        raise LFWError(f"{len(missing)} View 2 image(s) are not in the LFW copy, e.g. {missing[0]}")
    names = sorted(in_pairs | set(eligible))
    attacker = set(eligible)
    return names, np.array([name in attacker for name in names])
