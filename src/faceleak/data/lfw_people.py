"""LFW people as scikit-learn's ``fetch_lfw_people`` serves them: the central crop of each funneled
250x250 image (rows 70:195, columns 78:172), resized by 0.4 to 50x37, grey, in [0, 1]."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from faceleak.data.images import open_image
from faceleak.data.lfw import person_of

SKLEARN_BOX = (78, 70, 172, 195)  # left, top, right, bottom
SKLEARN_RESIZE = 0.4
# Images per person of every LFW person with 20 or more images (13,233 images in all), largest first:
# what the params check knows about LFW before any data is read.
LFW_IMAGES_PER_PERSON = (
    530, 236, 144, 121, 109, 77, 71, 60, 55, 53, 52, 52, 49, 48, 44, 42, 42, 41, 41, 39, 39, 37, 36, 35, 33, 33,
    33, 32, 32, 32, 31, 31, 30, 30, 29, 29, 28, 28, 27, 26, 26, 25, 24, 24, 24, 23, 23, 23, 22, 22, 22, 22, 22,
    21, 21, 21, 21, 20, 20, 20, 20, 20,
)
FEWEST_KNOWN_IMAGES = 20


def people_with_at_least(min_images: int) -> tuple[int, int]:
    """(people, images) of LFW people with at least ``min_images`` images (``min_images`` >= 20)."""
    if min_images < FEWEST_KNOWN_IMAGES:
        raise ValueError(f"LFW's sizes are known here for min_images >= {FEWEST_KNOWN_IMAGES}, not {min_images}")
    counts = [count for count in LFW_IMAGES_PER_PERSON if count >= min_images]
    return len(counts), sum(counts)


def crop_like_sklearn(path: Path, resize: float = SKLEARN_RESIZE) -> np.ndarray:
    """One face as float32 (50, 37) in [0, 1] for resize 0.4 (colour images are channel-averaged)."""
    left, top, right, bottom = SKLEARN_BOX
    size = (int(resize * (right - left)), int(resize * (bottom - top)))
    face = np.asarray(open_image(path).crop(SKLEARN_BOX).resize(size), dtype=np.float32) / 255.0
    return face.mean(axis=2) if face.ndim == 3 else face


def images_per_person(images: dict[str, Path]) -> Counter[str]:
    """How many of ``images`` (keyed by LFW image name) each person has."""
    return Counter(person_of(name) for name in images)


def load_people(images: dict[str, Path], min_images: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Faces (N, 50, 37), integer labels and the sorted people with at least ``min_images`` images."""
    counts = images_per_person(images)
    people = sorted(person for person, count in counts.items() if count >= min_images)
    if not people:
        raise ValueError(f"no LFW person has {min_images} or more images")
    chosen = [name for name in images if person_of(name) in set(people)]
    faces = np.stack([crop_like_sklearn(images[name]) for name in chosen])
    labels = np.array([people.index(person_of(name)) for name in chosen])
    return faces, labels, people


def stratified_split(labels: np.ndarray, sizes: tuple[int, int, int], seed: int) -> np.ndarray:
    """Seeded split into 'train' / 'val' / 'test' of the given sizes, each stratified by label."""
    from sklearn.model_selection import train_test_split

    if sum(sizes) != len(labels):
        raise ValueError(f"split sizes {sizes} do not add up to the {len(labels)} images")
    rows = np.arange(len(labels))
    train, rest = train_test_split(rows, train_size=sizes[0], stratify=labels, random_state=seed)
    val, test = train_test_split(rest, train_size=sizes[1], stratify=labels[rest], random_state=seed)
    split = np.empty(len(labels), dtype="<U5")
    split[train], split[val], split[test] = "train", "val", "test"
    return split
