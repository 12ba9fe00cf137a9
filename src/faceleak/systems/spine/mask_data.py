"""The mask filter's training data, made: LFW photos of people outside MFR2, each once as it is and once with a
synthetic mask drawn from its MTCNN landmarks, framed as MFR2 frames its faces, split by person."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from faceleak.data.images import open_image
from faceleak.data.lfw import identity_key, list_images, person_of
from faceleak.data.mfr2 import MFR2Face
from faceleak.data.splits import identity_split
from faceleak.data.synthetic_masks import MASK_KINDS, draw_mask, face_crop
from faceleak.systems.spine.params import SyntheticMaskParams

DETECTION_BATCH = 32
MIN_PROBABILITY = 0.95  # MTCNN's face probability below which a photo is left out
FRAME_RAISE = 0.06  # MFR2 frames sit about this share of the frame above the face box's centre (measured on its faces)
Found = tuple[Path, np.ndarray, np.ndarray, np.ndarray]  # a photo's path, the grey photo, its face's box and five landmarks


def eligible_photos(lfw_root: Path, mfr2_faces: list[MFR2Face], per_person: int) -> list[Path]:
    """Up to ``per_person`` LFW photos (the first in number order) of each person who is not in MFR2."""
    victims = {identity_key(face.identity) for face in mfr2_faces}
    chosen: dict[str, list[Path]] = {}
    for name, path in sorted(list_images(lfw_root).items()):
        person = person_of(name)
        if identity_key(person) not in victims and len(chosen.setdefault(person, [])) < per_person:
            chosen[person].append(path)
    return [path for paths in chosen.values() for path in paths]


def central_faces(photos: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Per grey photo, the box and five landmarks of the confident face nearest its centre (LFW's subject), or None."""
    from facenet_pytorch import MTCNN

    detector = MTCNN(keep_all=True, device=torch.device("cpu"))
    found: list[tuple[np.ndarray, np.ndarray] | None] = []
    for start in tqdm(range(0, len(photos), DETECTION_BATCH), desc="landmarks"):
        batch = photos[start : start + DETECTION_BATCH]
        boxes, probabilities, landmarks = detector.detect([Image.fromarray(photo).convert("RGB") for photo in batch], landmarks=True)
        for photo, box, probability, points in zip(batch, boxes, probabilities, landmarks):
            confident = [] if box is None else [i for i, p in enumerate(probability) if p >= MIN_PROBABILITY]
            if not confident:
                found.append(None)
                continue
            centre = np.array(photo.shape[::-1]) / 2
            nearest = min(confident, key=lambda i: np.linalg.norm((box[i][:2] + box[i][2:]) / 2 - centre))
            found.append((box[nearest], points[nearest]))
    return found


def found_faces(paths: list[Path]) -> list[Found]:
    """The photos with a confident central face, each detected once (MTCNN)."""
    photos = [np.asarray(open_image(path, "L")) for path in paths]
    return [(path, photo, *face) for path, photo, face in zip(paths, photos, central_faces(photos)) if face is not None]


def framed(photo: np.ndarray, box: np.ndarray, scale: float, raise_share: float, size: int) -> np.ndarray:
    """The photo's face framed as MFR2 frames its faces: ``scale`` times the box, raised by ``raise_share``."""
    side = scale * max(box[2] - box[0], box[3] - box[1])
    shift = np.array([0.0, -raise_share * side, 0.0, -raise_share * side])
    return face_crop(photo, box + shift, scale, size)


def synthesize(found: list[Found], params: SyntheticMaskParams, size: int, seed: int) -> dict[str, np.ndarray]:
    """Each found face, unmasked and masked (a kind drawn per photo), framed at ``size``: uint8 images
    (2N, size, size, 1), ``masked``, the mask ``kind`` ('' unmasked), ``people`` and the identity-disjoint ``val``."""
    rng = np.random.default_rng(seed)
    images, masked, kinds, people = [], [], [], []
    for path, photo, box, landmarks in found:
        kind = MASK_KINDS[rng.integers(len(MASK_KINDS))]
        scale, raise_share = rng.uniform(*params.frame_scale), FRAME_RAISE + rng.uniform(-0.04, 0.04)
        images += [framed(photo, box, scale, raise_share, size), framed(draw_mask(photo, landmarks, kind, rng), box, scale, raise_share, size)]
        masked += [False, True]
        kinds += ["", kind]
        people += [person_of(path.stem)] * 2
    people_array = np.array(people)
    return {
        "images": np.stack(images)[..., None],
        "masked": np.array(masked),
        "kinds": np.array(kinds),
        "people": people_array,
        "val": identity_split(people_array, params.val_fraction, seed),
    }


def kinds_grid(found: list[Found], size: int, seed: int, faces: int = 6) -> tuple[np.ndarray, dict[str, np.ndarray], list[str]]:
    """The first ``faces`` found faces framed unmasked, and each with every mask kind, and their photos' names: for the report's grid."""
    rng = np.random.default_rng(seed)
    shown = found[:faces]
    originals = np.stack([framed(photo, box, 1.4, FRAME_RAISE, size) for _, photo, box, _ in shown])[..., None]
    columns = {kind: np.stack([framed(draw_mask(photo, points, kind, rng), box, 1.4, FRAME_RAISE, size) for _, photo, box, points in shown])[..., None] for kind in MASK_KINDS}
    return originals, columns, [path.stem for path, *_ in shown]
