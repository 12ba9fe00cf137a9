"""``faceleak-cloak``: cloak every face in a folder of photos against face recognition (dodging).

Each face MTCNN finds is framed like the pipeline's crops, cloaked on the surrogates with the attack of
``params.yaml``'s ``cloak`` section, and the perturbation, resized to the face's region, is added to the photo
at its full resolution (L-infinity within epsilon everywhere). Photos with no face and unreadable files are
reported by name; the rest go on. Exit status 1 when any photo could not be cloaked.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F
from tqdm import tqdm

from faceleak.data.images import BadImageError, open_image, to_unit_range
from faceleak.defenses.cloak import LEVEL, CloakSettings, Surrogate, cloak, load_surrogates, surrogate_templates
from faceleak.device import use_device
from faceleak.errors import FaceleakError
from faceleak.io import atomic_path
from faceleak.systems.cloak.params import load_cloak_params

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
JPEG_QUALITY = 95


def face_region(box: np.ndarray, width: int, height: int, size: int, margin: int) -> tuple[int, int, int, int]:
    """The photo region (x1, y1, x2, y2) of a face box widened so that ``margin`` of ``size`` crop pixels surround it."""
    x1, y1, x2, y2 = box
    pad_x, pad_y = margin * (x2 - x1) / (size - margin) / 2, margin * (y2 - y1) / (size - margin) / 2
    return int(max(x1 - pad_x, 0)), int(max(y1 - pad_y, 0)), int(min(x2 + pad_x, width)), int(min(y2 + pad_y, height))


class PhotoCloaker:
    """Detects the faces of a photo and cloaks each one in place."""

    def __init__(self, surrogates: dict[str, Surrogate], settings: CloakSettings, size: int, margin: int, seed: int) -> None:
        from facenet_pytorch import MTCNN

        self.surrogates, self.settings, self.size, self.margin, self.seed = surrogates, settings, size, margin, seed
        self.detector = MTCNN(keep_all=True, device=torch.device("cpu"))

    def __call__(self, photo: np.ndarray) -> tuple[np.ndarray, int]:
        """The cloaked photo (same shape, uint8) and its number of faces; (photo, 0) when it has none."""
        rgb = Image.fromarray(photo.squeeze(-1) if photo.shape[-1] == 1 else photo).convert("RGB")
        boxes, _ = self.detector.detect(rgb)
        if boxes is None:
            return photo, 0
        height, width = photo.shape[:2]
        regions = [face_region(box, width, height, self.size, self.margin) for box in boxes]
        regions = [(x1, y1, x2, y2) for x1, y1, x2, y2 in regions if x2 - x1 > 1 and y2 - y1 > 1]
        faces = torch.cat([self._crop(photo, region) for region in regions])
        sources = {name: torch.from_numpy(surrogate_templates(surrogate, faces)) for name, surrogate in self.surrogates.items()}
        change = cloak(faces, self.surrogates, sources, None, self.settings, self.seed) - faces
        cloaked = photo.astype(np.float64)
        for (x1, y1, x2, y2), delta in zip(regions, change):
            resized = F.interpolate(delta[None], size=(y2 - y1, x2 - x1), mode="bilinear", align_corners=False)[0]
            levels = (resized / LEVEL).clamp(-self.settings.epsilon, self.settings.epsilon).permute(1, 2, 0).numpy()
            cloaked[y1:y2, x1:x2] += levels
        return np.clip(np.round(cloaked), 0, 255).astype(np.uint8), len(regions)

    def _crop(self, photo: np.ndarray, region: tuple[int, int, int, int]) -> torch.Tensor:
        x1, y1, x2, y2 = region
        face = to_unit_range(photo[None, y1:y2, x1:x2])[:, : photo.shape[-1]]
        return F.interpolate(face, size=(self.size, self.size), mode="bilinear", align_corners=False)


def read_photo(path: Path) -> np.ndarray:
    """A photo as uint8 (H, W, 1) when grey, (H, W, 3) otherwise."""
    image = open_image(path)
    grey = image.mode in ("L", "LA", "I", "I;16", "1")
    return np.asarray(image.convert("L" if grey else "RGB"), dtype=np.uint8).reshape(image.height, image.width, -1)


def write_photo(photo: np.ndarray, path: Path) -> None:
    """Write a photo atomically in the format its suffix names (JPEG at quality 95)."""
    image = Image.fromarray(photo.squeeze(-1) if photo.shape[-1] == 1 else photo)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        image.save(temporary, format=Image.registered_extensions()[path.suffix.lower()], **({"quality": JPEG_QUALITY} if path.suffix.lower() in (".jpg", ".jpeg") else {}))


def cloak_folder(source: Path, destination: Path, cloaker: PhotoCloaker) -> dict[str, object]:
    """Cloak every photo of ``source`` into ``destination`` (same names); what happened to each, and the time."""
    if not source.is_dir():
        raise FaceleakError(f"photo folder {source} does not exist")
    photos = sorted(path for path in source.iterdir() if path.suffix.lower() in PHOTO_SUFFIXES)
    if not photos:
        raise FaceleakError(f"no photos ({', '.join(PHOTO_SUFFIXES)}) in {source}")
    outcome: dict[str, object] = {"cloaked": [], "faces": 0, "no_face": [], "unreadable": []}
    started = time.perf_counter()
    for path in tqdm(photos, desc="cloak photos"):
        try:
            photo = read_photo(path)
        except BadImageError as error:
            outcome["unreadable"].append(path.name)
            tqdm.write(f"faceleak-cloak: error: {error}", file=sys.stderr)
            continue
        cloaked, faces = cloaker(photo)
        if faces == 0:
            outcome["no_face"].append(path.name)
            tqdm.write(f"faceleak-cloak: no face found in {path}; not written", file=sys.stderr)
            continue
        write_photo(cloaked, destination / path.name)
        outcome["cloaked"].append(path.name)
        outcome["faces"] += faces
    outcome["seconds"] = time.perf_counter() - started
    return outcome


def summary(outcome: dict[str, object]) -> str:
    """The run in one line."""
    cloaked, seconds = len(outcome["cloaked"]), outcome["seconds"]
    line = f"faceleak-cloak: {cloaked} photo(s) cloaked, {outcome['faces']} face(s), {seconds:.1f} s ({seconds / max(1, cloaked):.1f} s per photo)"
    for key, label in (("no_face", "no face"), ("unreadable", "unreadable")):
        if outcome[key]:
            line += f"; {label}: {len(outcome[key])} ({', '.join(outcome[key])})"
    return line


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``faceleak-cloak``."""
    parser = argparse.ArgumentParser(prog="faceleak-cloak", description="Cloak the faces in a folder of photos against face recognition.")
    parser.add_argument("source", type=Path, help="folder of photos")
    parser.add_argument("destination", type=Path, help="folder for the cloaked photos (same names)")
    parser.add_argument("--epsilon", type=float, default=None, help="L-infinity budget in levels of 255 (default: the smallest of cloak.epsilons)")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file with the cloak section (default: params.yaml)")
    parser.add_argument("--models", type=Path, default=Path("models"), help="folder with the surrogates' weights (the weights stage's output)")
    arguments = parser.parse_args(argv)
    try:
        params = load_cloak_params(arguments.params)
        use_device(params.device)
        torch.manual_seed(params.seed)
        epsilon = arguments.epsilon if arguments.epsilon is not None else min(params.epsilons)
        if not 0 < epsilon <= 255:
            raise FaceleakError(f"--epsilon {epsilon} is not in (0, 255]")
        surrogates = load_surrogates(params.surrogates, arguments.models, params.weights.engine)
        cloaker = PhotoCloaker(surrogates, params.settings(epsilon), params.lfw.face_size, params.lfw.margin, params.seed)
        outcome = cloak_folder(arguments.source, arguments.destination, cloaker)
    except FaceleakError as error:
        print(f"faceleak-cloak: error: {error}", file=sys.stderr)
        return 1
    print(summary(outcome))
    return 1 if outcome["no_face"] or outcome["unreadable"] else 0


if __name__ == "__main__":
    sys.exit(main())
