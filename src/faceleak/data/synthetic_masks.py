"""Face masks drawn onto photos from MTCNN's five landmarks: training data for the mask filter, made, not found.

Each mask is a polygon laid in the face's own frame (eyes to mouth down, eye to eye across): its top at a
nose-bridge height drawn per face (below the nose now and then: partial coverage), its sides past the cheeks,
its bottom an arc under the chin. Four kinds as MFR2 shows them: ``surgical`` (light, pleated, a nose wire),
``cloth`` (any shade, woven noise), ``n95`` (light, domed, a centre seam) and ``patterned`` (stripes, checks,
dots or irregular prints); each lit by the photo's own light, shaded towards its sides, with ear straps, and blended on a soft edge.
Photos are grey (H, W) uint8 like the mirror's LFW; every draw comes from the seeded generator it is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy.ndimage import gaussian_filter

MASK_KINDS = ("surgical", "cloth", "n95", "patterned")
SUPERSAMPLE = 4  # the mask's outline is drawn at 4x and reduced: an anti-aliased edge


@dataclass(frozen=True)
class FaceFrame:
    """A face's frame from five landmarks (eyes, nose, mouth corners; x, y): eye midpoint, unit vectors across
    (left eye to right eye) and down (eyes to mouth), eye distance and eyes-to-mouth height, in pixels."""

    eyes: np.ndarray
    across: np.ndarray
    down: np.ndarray
    width: float
    height: float

    @classmethod
    def from_landmarks(cls, landmarks: np.ndarray) -> FaceFrame:
        left_eye, right_eye, _, mouth_left, mouth_right = np.asarray(landmarks, dtype=np.float64)
        eyes, mouth = (left_eye + right_eye) / 2, (mouth_left + mouth_right) / 2
        across, down = right_eye - left_eye, mouth - eyes
        return cls(eyes, across / np.linalg.norm(across), down / np.linalg.norm(down), float(np.linalg.norm(across)), float(np.linalg.norm(down)))

    def point(self, x: float, y: float) -> np.ndarray:
        """The photo point ``x`` eye distances across and ``y`` eyes-to-mouth heights down from the eye midpoint."""
        return self.eyes + x * self.width * self.across + y * self.height * self.down

    def coordinates(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Every pixel's (across, down) position in the frame's units, arrays of ``shape``."""
        rows, columns = np.mgrid[: shape[0], : shape[1]].astype(np.float64)
        offset_x, offset_y = columns - self.eyes[0], rows - self.eyes[1]
        return (offset_x * self.across[0] + offset_y * self.across[1]) / self.width, (offset_x * self.down[0] + offset_y * self.down[1]) / self.height


def mask_outline(frame: FaceFrame, kind: str, rng: np.random.Generator) -> tuple[list[np.ndarray], float]:
    """The mask's polygon (photo points, clockwise from its top left) and its top's height in the frame."""
    partial = rng.random() < 0.15
    top = rng.uniform(0.7, 0.9) if partial else rng.uniform(0.2, 0.55)
    half_top, half_mid = rng.uniform(0.9, 1.3), rng.uniform(1.05, 1.45)
    chin = rng.uniform(1.6, 2.1)
    peak = rng.uniform(0.05, 0.15) if kind in ("surgical", "n95") else rng.uniform(0.0, 0.08)
    upper = [(-half_top, top + 0.1), (-0.3, top - peak / 2), (0.0, top - peak), (0.3, top - peak / 2), (half_top, top + 0.1)]
    arc = [(half_mid * np.cos(angle), 1.0 + (chin - 1.0) * np.sin(angle)) for angle in np.linspace(0.0, np.pi, 13)]
    return [frame.point(x, y) for x, y in upper + arc], top


def mask_texture(kind: str, across: np.ndarray, down: np.ndarray, top: float, base: float, rng: np.random.Generator) -> np.ndarray:
    """The mask's grey levels (0-255) over the photo around ``base``, before lighting; ``across``/``down`` are the frame's coordinates."""
    if kind == "surgical":
        pleats = np.cos(2 * np.pi * (down - top) / rng.uniform(0.3, 0.6)) ** rng.choice([2, 8])
        wire = np.exp(-(((down - top - 0.06) / 0.04) ** 2)) * (np.abs(across) < 0.35)
        levels = base - rng.uniform(0, 25) * pleats + rng.uniform(0, 25) * wire
    elif kind == "cloth":
        levels = np.full(across.shape, base)
    elif kind == "n95":
        seam = np.exp(-((across / 0.03) ** 2)) * (down > top)
        levels = base - rng.uniform(5, 30) * seam
    else:
        contrast, period = rng.uniform(30, 110) * rng.choice([-1, 1]), rng.uniform(0.1, 0.35)
        style = rng.integers(4)
        stripes = lambda values: np.sin(2 * np.pi * values / period) > 0
        if style == 3:  # a print: irregular blobs in two or three tones (florals, camouflage)
            field = gaussian_filter(rng.normal(0, 1, across.shape), rng.uniform(1.0, 4.0))
            pattern = np.digitize(field / field.std(), np.sort(rng.uniform(-1, 1, rng.integers(1, 3)))) / 2
        else:
            pattern = stripes(down) if style == 0 else stripes(across) ^ stripes(down) if style == 1 else (np.sin(2 * np.pi * across / period) * np.sin(2 * np.pi * down / period)) > 0.6
        levels = base + contrast * (pattern - 0.5)
    weave = gaussian_filter(rng.normal(0, 1, across.shape), rng.uniform(0.3, 2.0))
    return levels + rng.uniform(1, 10) * weave / weave.std()


def mask_base(kind: str, skin: float, rng: np.random.Generator) -> float:
    """The mask's mean grey level: half the time near the skin's (a light blue mask is skin-grey in grey), else
    one of its kind's (surgical and N95 light, cloth and patterned anything)."""
    if rng.random() < 0.5:
        return float(np.clip(skin + rng.uniform(-35, 35), 15, 245))
    return rng.uniform(150, 245) if kind in ("surgical", "n95") else rng.uniform(15, 235)


def draw_mask(photo: np.ndarray, landmarks: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """``photo`` (H, W grey uint8) with a mask of ``kind`` drawn on the face whose five landmarks are given."""
    frame = FaceFrame.from_landmarks(landmarks)
    outline, top = mask_outline(frame, kind, rng)
    height, width = photo.shape
    canvas = Image.new("L", (width * SUPERSAMPLE, height * SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(canvas)
    draw.polygon([tuple(point * SUPERSAMPLE) for point in outline], fill=255)
    if rng.random() < 0.6:  # ear straps
        strap = max(1, round(rng.uniform(0.02, 0.06) * frame.width * SUPERSAMPLE))
        for corner, ear in ((outline[0], frame.point(-1.5, 0.3)), (outline[4], frame.point(1.5, 0.3)), (outline[5], frame.point(1.45, 1.3)), (outline[-1], frame.point(-1.45, 1.3))):
            draw.line([tuple(corner * SUPERSAMPLE), tuple(ear * SUPERSAMPLE)], fill=255, width=strap)
    alpha = gaussian_filter(np.asarray(canvas.resize((width, height), Image.Resampling.BOX), dtype=np.float64) / 255, rng.uniform(0.2, 1.2))
    across, down = frame.coordinates((height, width))
    skin = float(photo[(np.abs(across) < 0.5) & (down > 0.2) & (down < 1.2)].mean())
    light = gaussian_filter(photo.astype(np.float64), frame.width * rng.uniform(0.12, 0.35))
    relief = rng.uniform(0.3, 0.8)  # how much of the face's own light and relief shows through the mask
    lit = (1 - relief) + relief * light / max(light[alpha > 0.5].mean() if (alpha > 0.5).any() else light.mean(), 1.0)
    shade = 1.0 - rng.uniform(0.0, 0.3) * np.clip(np.abs(across) / 1.3, 0, 1) ** 2
    texture = mask_texture(kind, across, down, top, mask_base(kind, skin, rng), rng) * lit * shade
    return np.clip(np.round(alpha * texture + (1 - alpha) * photo), 0, 255).astype(np.uint8)


def face_crop(photo: np.ndarray, box: np.ndarray, scale: float, size: int) -> np.ndarray:
    """A square ``size`` crop of ``photo`` centred on a face box (x1, y1, x2, y2), ``scale`` times the box's longer
    side (the photo's median grey beyond its edges), as uint8 (size, size)."""
    centre_x, centre_y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = scale * max(box[2] - box[0], box[3] - box[1]) / 2
    image = Image.fromarray(photo)
    region = (centre_x - half, centre_y - half, centre_x + half, centre_y + half)
    side = max(size, round(2 * half))  # cut at the photo's own scale, then reduce with antialiasing (as a photo resized is)
    cut = image.transform((side, side), Image.Transform.EXTENT, region, Image.Resampling.BILINEAR, fillcolor=int(np.median(photo)))
    return np.asarray(cut.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)
