"""``faceleak-cloak``: cloak every face in a folder of photos against face recognition (dodging).

Each face MTCNN finds is framed like the pipeline's crops, cloaked on the surrogates in the chosen mode of
``params.yaml``'s ``cloak`` section (``low``, ``mid``, ``high``: an L-infinity budget placed where the face has
contrast, and an SSIM floor), and the perturbation, resized to the face's region, is added to the photo at its
full resolution, upright as the photo's EXIF orientation shows it, without the photo's metadata (location
included). The SSIM floor holds on every face region of the photo as written (JPEG included); a face whose
cloak the floor cuts below half its strength is reported. Each photo's line gives its faces and its faces'
smallest SSIM to the original.
The originals are never written over: a destination equal to the source folder is refused, and an output that
exists already is skipped unless ``--force``. GIF photos are written as PNG (GIF's 256 colours would undo the
cloak). Photos with no face, unreadable, oversized or other files are reported by name; the rest go on. Exit
status 1 when any photo could not be cloaked. Runs from any folder: params and models default to the project's.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch.nn import functional as F
from tqdm import tqdm

from faceleak.cli import atomic_output, error_line, positive_integer, project_file
from faceleak.data.align import face_region
from faceleak.data.images import BadImageError, open_image, to_unit_range
from faceleak.defenses.cloak import LEVEL, CloakSettings, Surrogate, SSIM_WINDOW, cloak, load_surrogates, ssim_index, surrogate_templates, within_ssim_floor
from faceleak.device import use_device
from faceleak.errors import FaceleakError
from faceleak.systems.cloak.params import MODE_NAMES, load_cloak_params

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
WRITTEN_AS = {".gif": ".png"}  # formats whose palette would undo the cloak: written losslessly instead
JPEG_QUALITY = 95
MAX_PIXELS = 40_000_000  # larger photos are refused (about 40 megapixels: above any phone camera's)
WEAK_SHARE = 0.5  # a face whose cloak the SSIM floor cuts below this share of its strength is reported
Region = tuple[int, int, int, int]  # x1, y1, x2, y2 in the photo


def in_steps(settings: CloakSettings, steps: int) -> CloakSettings:
    """``settings`` in ``steps`` steps (``--steps``), each scaled so that the steps together travel as far as before (at most the whole budget at once)."""
    return replace(settings, steps=steps, step_fraction=min(settings.step_fraction * settings.steps / steps, 1.0))


@dataclass
class Cloaked:
    """A cloaked photo, its face regions, and per face the share of the cloak the SSIM floor kept."""

    photo: np.ndarray
    regions: list[Region]
    kept: list[float]


class PhotoCloaker:
    """Detects the faces of a photo and cloaks each one in place, every face region keeping the SSIM floor."""

    def __init__(self, surrogates: dict[str, Surrogate], settings: CloakSettings, size: int, margin: int, seed: int) -> None:
        from facenet_pytorch import MTCNN

        self.surrogates, self.settings, self.size, self.margin, self.seed = surrogates, settings, size, margin, seed
        self.detector = MTCNN(keep_all=True, device=torch.device("cpu"))

    def craft(self, photo: np.ndarray) -> tuple[list[Region], torch.Tensor]:
        """The photo's face regions and each face's cloak change (crop-sized, no SSIM floor on the photo yet);
        no regions when the photo has no face."""
        rgb = Image.fromarray(photo.squeeze(-1) if photo.shape[-1] == 1 else photo).convert("RGB")
        boxes, _ = self.detector.detect(rgb)
        if boxes is None:
            return [], torch.empty(0)
        height, width = photo.shape[:2]
        regions = [face_region(box, width, height, self.size, self.margin) for box in boxes]
        regions = [(x1, y1, x2, y2) for x1, y1, x2, y2 in regions if min(x2 - x1, y2 - y1) >= SSIM_WINDOW]
        if not regions:
            return [], torch.empty(0)
        faces = torch.cat([self._crop(photo, region) for region in regions])
        sources = {name: torch.from_numpy(surrogate_templates(surrogate, faces)) for name, surrogate in self.surrogates.items()}
        return regions, cloak(faces, self.surrogates, sources, None, self.settings, self.seed) - faces

    def apply(self, photo: np.ndarray, regions: list[Region], change: torch.Tensor, floor: float) -> Cloaked:
        """The photo with each face's change resized onto its region, every region keeping SSIM >= ``floor`` once rounded."""
        cloaked, kept = photo.astype(np.float64), []
        for (x1, y1, x2, y2), delta in zip(regions, change):
            resized = F.interpolate(delta[None], size=(y2 - y1, x2 - x1), mode="bilinear", align_corners=False)
            levels = (resized / LEVEL).clamp(-self.settings.epsilon, self.settings.epsilon)
            original = torch.from_numpy(cloaked[y1:y2, x1:x2]).permute(2, 0, 1)[None].float()
            levels = ((original + levels).clamp(0, 255) - original)
            bounded = within_ssim_floor(original / 127.5 - 1, levels / 127.5, floor, rounded=True) * 127.5
            kept.append(float(bounded.abs().sum() / levels.abs().sum().clamp_min(1e-12)))
            cloaked[y1:y2, x1:x2] += bounded[0].permute(1, 2, 0).double().numpy()
        return Cloaked(np.clip(np.round(cloaked), 0, 255).astype(np.uint8), regions, kept)

    def _crop(self, photo: np.ndarray, region: Region) -> torch.Tensor:
        x1, y1, x2, y2 = region
        face = to_unit_range(photo[None, y1:y2, x1:x2])[:, : photo.shape[-1]]
        return F.interpolate(face, size=(self.size, self.size), mode="bilinear", align_corners=False)


def region_ssim(original: np.ndarray, cloaked: np.ndarray, regions: list[Region]) -> float:
    """The smallest SSIM of the face regions of two photos (uint8, H x W x C)."""
    as_unit = lambda photo, x1, y1, x2, y2: torch.tensor(photo[y1:y2, x1:x2], dtype=torch.float64).permute(2, 0, 1)[None] / 127.5 - 1
    return min(float(ssim_index(as_unit(original, *region), as_unit(cloaked, *region))[0]) for region in regions)


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


def encoded(photo: np.ndarray, suffix: str) -> bytes:
    """The photo in the format ``suffix`` names (JPEG at quality 95), without metadata."""
    image, buffer = Image.fromarray(photo.squeeze(-1) if photo.shape[-1] == 1 else photo), io.BytesIO()
    image.save(buffer, format=Image.registered_extensions()[suffix.lower()], **({"quality": JPEG_QUALITY} if suffix.lower() in (".jpg", ".jpeg") else {}))
    return buffer.getvalue()


def decoded(data: bytes, channels: int) -> np.ndarray:
    """Encoded photo bytes as uint8 (H, W, ``channels``)."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("L" if channels == 1 else "RGB"), dtype=np.uint8).reshape(image.height, image.width, channels)


def write_encoded(data: bytes, path: Path) -> None:
    """Write encoded photo bytes atomically: a reader sees the whole photo or none."""
    with atomic_output(path) as temporary:
        temporary.write_bytes(data)


def write_photo(photo: np.ndarray, path: Path) -> None:
    """Write a photo atomically, without metadata, in the format its suffix names (JPEG at quality 95)."""
    write_encoded(encoded(photo, path.suffix), path)


def cloak_photo(photo: np.ndarray, cloaker: PhotoCloaker, suffix: str) -> tuple[bytes, Cloaked, float]:
    """The cloaked photo encoded as ``suffix``, its faces, and their smallest SSIM to the original as written:
    when the encoding takes a face below the floor, the cloak is applied again with the floor raised by the shortfall."""
    floor = cloaker.settings.ssim_floor
    regions, change = cloaker.craft(photo)
    if not regions:
        return b"", Cloaked(photo, [], []), 1.0
    for _ in range(3):
        result = cloaker.apply(photo, regions, change, floor)
        data = encoded(result.photo, suffix)
        similarity = region_ssim(photo, decoded(data, photo.shape[-1]), result.regions)
        if similarity >= cloaker.settings.ssim_floor:
            break
        floor = min(floor + (cloaker.settings.ssim_floor - similarity) + 0.002, 0.9999)
    return data, result, similarity


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
    outcome: dict[str, object] = {"cloaked": [], "faces": 0, "no_face": [], "unreadable": [], "skipped": [], "weak": [], "ssim": {}}
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
        data, result, similarity = cloak_photo(photo, cloaker, target.suffix)
        if not result.regions:
            _report(outcome, "no_face", path.name, f"no face found in {path}; not written")
            continue
        write_encoded(data, target)
        faces = len(result.regions)
        outcome["cloaked"].append(path.name)
        outcome["faces"] += faces
        outcome["ssim"][path.name] = similarity
        tqdm.write(f"faceleak-cloak: {target}: {faces} face(s), SSIM {similarity:.3f} to the original (smallest over its faces)")
        weak = [number + 1 for number, share in enumerate(result.kept) if share < WEAK_SHARE]
        if weak:
            _report(outcome, "weak", path.name, f"{path}: the SSIM floor of this mode kept under {WEAK_SHARE:.0%} of the cloak on face(s) {', '.join(map(str, weak))}; their protection is weaker (a stronger --mode allows more)")
    outcome["seconds"] = time.perf_counter() - started
    return outcome


def summary(outcome: dict[str, object]) -> str:
    """The run in one line."""
    cloaked, seconds = len(outcome["cloaked"]), outcome["seconds"]
    line = f"faceleak-cloak: {cloaked} photo(s) cloaked, {outcome['faces']} face(s), {seconds:.1f} s ({seconds / max(1, cloaked):.1f} s per photo)"
    for key, label in (("no_face", "no face"), ("unreadable", "unreadable"), ("skipped", "skipped"), ("weak", "weaker cloak")):
        if outcome[key]:
            line += f"; {label}: {len(outcome[key])} ({', '.join(outcome[key])})"
    return line


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``faceleak-cloak``."""
    parser = argparse.ArgumentParser(prog="faceleak-cloak", description="Cloak the faces in a folder of photos against face recognition.")
    parser.add_argument("source", type=Path, help="folder of photos")
    parser.add_argument("destination", type=Path, help="folder for the cloaked photos (same names)")
    parser.add_argument("--mode", choices=MODE_NAMES, default="mid", help="low, mid or high: how much change the photo may show (SSIM floor and budget in params.yaml's cloak.modes; default mid)")
    parser.add_argument(
        "--steps", type=positive_integer, metavar="N",
        help="attack steps (default: the mode's, params.yaml's cloak.attack.steps); fewer is faster and protects less (docs/systems/cloak.md gives the measured trade)",
    )
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file with the cloak section (default: the project's)")
    parser.add_argument("--models", type=Path, default=Path("models"), help="folder with the surrogates' weights (default: the project's, from the weights stage)")
    parser.add_argument("--force", action="store_true", help="replace cloaked copies already in the destination (never the originals)")
    arguments = parser.parse_args(argv)
    try:
        params = load_cloak_params(project_file(arguments.params))
        use_device(params.device)
        torch.manual_seed(params.seed)
        surrogates = load_surrogates(params.surrogates, project_file(arguments.models), params.weights.engine)
        settings = params.mode_settings(arguments.mode) if arguments.steps is None else in_steps(params.mode_settings(arguments.mode), arguments.steps)
        cloaker = PhotoCloaker(surrogates, settings, params.lfw.face_size, params.lfw.margin, params.seed)
        outcome = cloak_folder(arguments.source, arguments.destination, cloaker, arguments.force)
    except FaceleakError as error:
        return error_line("faceleak-cloak", error)
    print(summary(outcome))
    return 1 if outcome["no_face"] or outcome["unreadable"] or outcome["skipped"] else 0


if __name__ == "__main__":
    sys.exit(main())
