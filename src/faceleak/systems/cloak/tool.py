"""``faceleak-cloak``: cloak every face in a folder of photos against face recognition (dodging).

Each face MTCNN finds is framed like the pipeline's crops, cloaked on the surrogates with the attack of
``params.yaml``'s ``cloak`` section, and the perturbation, resized to the face's region, is added to the photo
at its full resolution (L-infinity within epsilon everywhere), upright as the photo's EXIF orientation shows it,
without the photo's metadata (location included). Each photo's line gives its faces and SSIM to the original.
The originals are never written over: a destination equal to the source folder is refused, and an output that
exists already is skipped unless ``--force``. GIF photos are written as PNG (GIF's 256 colours would undo the
cloak). Photos with no face, unreadable, oversized or other files are reported by name; the rest go on. Exit
status 1 when any photo could not be cloaked. Runs from any folder: params and models default to the project's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch.nn import functional as F
from tqdm import tqdm

from faceleak.cli import atomic_output, error_line, project_file
from faceleak.data.images import BadImageError, open_image, to_unit_range
from faceleak.defenses.cloak import LEVEL, CloakSettings, Surrogate, cloak, load_surrogates, surrogate_templates
from faceleak.device import use_device
from faceleak.errors import FaceleakError
from faceleak.metrics.image import ssim
from faceleak.systems.cloak.params import load_cloak_params

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
WRITTEN_AS = {".gif": ".png"}  # formats whose palette would undo the cloak: written losslessly instead
JPEG_QUALITY = 95
MAX_PIXELS = 40_000_000  # larger photos are refused (about 40 megapixels: above any phone camera's)


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
    """A photo, upright as its EXIF orientation shows it, as uint8 (H, W, 1) when grey, (H, W, 3) otherwise."""
    try:
        with Image.open(path) as header:  # the header alone: a huge photo is refused before it is decoded
            width, height = header.size
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
        width = height = 0  # open_image below names the problem
    if width * height > MAX_PIXELS:
        raise BadImageError(f"image {path} has {width}x{height} pixels, above the {MAX_PIXELS // 1_000_000} megapixels this tool takes; resize it first")
    image = ImageOps.exif_transpose(open_image(path))
    grey = image.mode in ("L", "LA", "I", "I;16", "1")
    return np.asarray(image.convert("L" if grey else "RGB"), dtype=np.uint8).reshape(image.height, image.width, -1)


def output_path(source: Path, destination: Path) -> Path:
    """Where a photo's cloaked copy goes: the same name in ``destination`` (a GIF as PNG)."""
    suffix = source.suffix.lower()
    return destination / (source.stem + WRITTEN_AS[suffix] if suffix in WRITTEN_AS else source.name)


def write_photo(photo: np.ndarray, path: Path) -> None:
    """Write a photo atomically, without metadata, in the format its suffix names (JPEG at quality 95)."""
    image = Image.fromarray(photo.squeeze(-1) if photo.shape[-1] == 1 else photo)
    with atomic_output(path) as temporary:
        image.save(temporary, format=Image.registered_extensions()[path.suffix.lower()], **({"quality": JPEG_QUALITY} if path.suffix.lower() in (".jpg", ".jpeg") else {}))


def _report(outcome: dict[str, object], key: str, name: str, message: str) -> None:
    outcome[key].append(name)
    tqdm.write(f"faceleak-cloak: {message}", file=sys.stderr)


def cloak_folder(source: Path, destination: Path, cloaker: PhotoCloaker, force: bool = False) -> dict[str, object]:
    """Cloak every photo of ``source`` into ``destination``; what happened to each, and the time."""
    if not source.is_dir():
        raise FaceleakError(f"photo folder {source} does not exist")
    if destination.resolve() == source.resolve():
        raise FaceleakError(f"the destination {destination} is the photo folder; choose another folder (the originals are never written over)")
    files = sorted(path for path in source.iterdir() if path.is_file() and not path.name.startswith("."))
    photos = [path for path in files if path.suffix.lower() in PHOTO_SUFFIXES]
    if not photos:
        raise FaceleakError(f"no photos ({', '.join(PHOTO_SUFFIXES)}) in {source}")
    outcome: dict[str, object] = {"cloaked": [], "faces": 0, "no_face": [], "unreadable": [], "skipped": [], "ssim": {}}
    for path in files:
        if path.suffix.lower() not in PHOTO_SUFFIXES:
            _report(outcome, "skipped", path.name, f"{path} is not a photo ({', '.join(PHOTO_SUFFIXES)}); skipped")
    started = time.perf_counter()
    for path in tqdm(photos, desc="cloak photos"):
        target = output_path(path, destination)
        if target.exists() and not force:
            _report(outcome, "skipped", path.name, f"{target} exists; not written over (add --force to replace it)")
            continue
        try:
            photo = read_photo(path)
        except BadImageError as error:
            _report(outcome, "unreadable", path.name, f"error: {error}")
            continue
        cloaked, faces = cloaker(photo)
        if faces == 0:
            _report(outcome, "no_face", path.name, f"no face found in {path}; not written")
            continue
        write_photo(cloaked, target)
        outcome["cloaked"].append(path.name)
        outcome["faces"] += faces
        outcome["ssim"][path.name] = float(ssim(photo[None], read_photo(target)[None])[0])
        tqdm.write(f"faceleak-cloak: {target}: {faces} face(s), SSIM {outcome['ssim'][path.name]:.3f} to the original")
    outcome["seconds"] = time.perf_counter() - started
    return outcome


def summary(outcome: dict[str, object]) -> str:
    """The run in one line."""
    cloaked, seconds = len(outcome["cloaked"]), outcome["seconds"]
    line = f"faceleak-cloak: {cloaked} photo(s) cloaked, {outcome['faces']} face(s), {seconds:.1f} s ({seconds / max(1, cloaked):.1f} s per photo)"
    for key, label in (("no_face", "no face"), ("unreadable", "unreadable"), ("skipped", "skipped")):
        if outcome[key]:
            line += f"; {label}: {len(outcome[key])} ({', '.join(outcome[key])})"
    return line


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``faceleak-cloak``."""
    parser = argparse.ArgumentParser(prog="faceleak-cloak", description="Cloak the faces in a folder of photos against face recognition.")
    parser.add_argument("source", type=Path, help="folder of photos")
    parser.add_argument("destination", type=Path, help="folder for the cloaked photos (same names)")
    parser.add_argument("--epsilon", type=float, default=None, help="L-infinity budget in levels of 255 (default: the smallest of cloak.epsilons)")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file with the cloak section (default: the project's)")
    parser.add_argument("--models", type=Path, default=Path("models"), help="folder with the surrogates' weights (default: the project's, from the weights stage)")
    parser.add_argument("--force", action="store_true", help="replace cloaked copies already in the destination (never the originals)")
    arguments = parser.parse_args(argv)
    try:
        params = load_cloak_params(project_file(arguments.params))
        use_device(params.device)
        torch.manual_seed(params.seed)
        epsilon = arguments.epsilon if arguments.epsilon is not None else min(params.epsilons)
        if not 0 < epsilon <= 255:
            raise FaceleakError(f"--epsilon {epsilon} is not in (0, 255]")
        surrogates = load_surrogates(params.surrogates, project_file(arguments.models), params.weights.engine)
        cloaker = PhotoCloaker(surrogates, params.settings(epsilon), params.lfw.face_size, params.lfw.margin, params.seed)
        outcome = cloak_folder(arguments.source, arguments.destination, cloaker, arguments.force)
    except FaceleakError as error:
        return error_line("faceleak-cloak", error)
    print(summary(outcome))
    return 1 if outcome["no_face"] or outcome["unreadable"] or outcome["skipped"] else 0


if __name__ == "__main__":
    sys.exit(main())
