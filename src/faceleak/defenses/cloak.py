"""Face cloaking (Face/Off): L-infinity bounded perturbations crafted by projected gradient descent with
momentum (MI-FGSM). Against recognition: input diversity on differentiable surrogate recognizers, either
dodging (away from the person's identity) or impersonating (towards a target person's identity). Against
detection: the reference's loss on a differentiable face detector's scored boxes, so the true face is
missed and fake boxes appear elsewhere.

Faces are tensors in [-1, 1] of shape (N, C, H, W), C = 1 (grey, as LFW) or 3; a grey face gets a grey
perturbation. Budgets are in 0..255 pixel levels, so a cloak rounded to uint8 stays within its budget.

A perceptual budget (``ssim_floor`` > 0) puts the change where the eye misses it: each pixel's bound is
epsilon scaled by the face's local contrast there (never below ``flat_share`` of it, on flat skin), and
after every step each face's change is scaled down until its SSIM to the original is at least the floor.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from faceleak.device import active_device

CLOAK_AIMS = ("dodging", "impersonation")
LEVEL = 2.0 / 255.0  # one uint8 pixel level in the [-1, 1] range

# A differentiable recognizer: faces in [-1, 1] (N, 3, H, W) -> unit templates (N, D), gradients to the input.
Surrogate = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class CloakSettings:
    """PGD with momentum: ``steps`` of ``step_fraction * epsilon`` each; every step's input is, with
    probability ``diversity``, rescaled by a factor in ``scale``, shifted by up to ``shift`` of the side and
    given uniform noise of ``noise`` levels; ``draws`` such inputs average their gradients; ``smoothing`` blurs
    each gradient (TI-FGSM)."""

    epsilon: float  # L-infinity budget, in pixel levels of 255
    steps: int
    step_fraction: float
    momentum: float
    diversity: float
    scale: tuple[float, float]
    shift: float
    noise: float  # in pixel levels of 255
    draws: int
    smoothing: float = 0.0  # Gaussian sigma (pixels) applied to each gradient (TI-FGSM); 0: none
    ssim_floor: float = 0.0  # every cloaked face keeps at least this SSIM to its original; 0: no floor
    flat_share: float = 1.0  # share of epsilon allowed where the face is flat (1: the same budget everywhere)


def facenet_surrogate(models_dir: Path, engine: str) -> Surrogate:
    """FaceNet (the weights stage's InceptionResnetV1) as a differentiable surrogate."""
    from faceleak.models.facenet import load_facenet, standardize

    network = load_facenet(Path(models_dir) / "facenet.pt", engine)
    return lambda faces: F.normalize(network(standardize(faces)).float())


def verifier_surrogate(models_dir: Path, engine: str) -> Surrogate:
    """The verification system's from-scratch CosFace verifier (View 1 split) as a differentiable surrogate."""
    from faceleak.models.recognizers import verification_model
    from faceleak.models.verifiers import load_verifier, preprocess

    network, config = load_verifier(verification_model(models_dir, "verifier_view1"))
    network = network.to(active_device())
    return lambda faces: F.normalize(network(preprocess(faces, config)).float())


def arcface_grid(points: np.ndarray, height: int, width: int) -> torch.Tensor:
    """The sampling grid (1, 112, 112, 2) that warps a (height x width) face crop with five landmarks ``points``
    (5, 2) onto the ArcFace template, as ``cv2.warpAffine`` with their similarity transform does."""
    from faceleak.data.align import ARCFACE_SIZE, ARCFACE_TEMPLATE, similarity_transform

    # output pixel -> crop pixel (pixel centres at integer coordinates), then both in grid_sample's [-1, 1] units
    inverse = np.linalg.inv(np.vstack([similarity_transform(points, ARCFACE_TEMPLATE), [0, 0, 1]]))
    to_unit = lambda w, h: np.array([[2 / w, 0, 1 / w - 1], [0, 2 / h, 1 / h - 1], [0, 0, 1]])
    theta = (to_unit(width, height) @ inverse @ np.linalg.inv(to_unit(ARCFACE_SIZE, ARCFACE_SIZE)))[:2]
    return F.affine_grid(torch.tensor(theta, dtype=torch.float32)[None], [1, 3, ARCFACE_SIZE, ARCFACE_SIZE], align_corners=False)


class LandmarkSurrogate:
    """A surrogate whose network wants ArcFace-aligned faces: :meth:`align_to` finds MTCNN's five landmarks on
    the clean faces once, and each call warps its faces (the same ones, perturbed) by them, differentiably."""

    def __init__(self, network: Surrogate) -> None:
        from faceleak.data.align import LandmarkAligner

        self.network, self.aligner, self.grids = network, LandmarkAligner(), None

    def align_to(self, faces: torch.Tensor) -> None:
        """Find the landmarks of faces in [-1, 1] (N, 1|3, H, W) (fixed points where MTCNN finds none)."""
        from faceleak.data.images import to_uint8

        points, _ = self.aligner.landmarks(to_uint8(faces.detach().cpu()))
        self.grids = torch.cat([arcface_grid(face_points, *faces.shape[-2:]) for face_points in points]) if len(faces) else None

    def __call__(self, faces: torch.Tensor) -> torch.Tensor:
        if self.grids is None or len(self.grids) != len(faces):
            raise RuntimeError("LandmarkSurrogate: call align_to(faces) with the clean faces first")
        return self.network(F.grid_sample(faces, self.grids.to(faces), mode="bilinear", padding_mode="zeros", align_corners=False))


def align_surrogates(surrogates: dict[str, Surrogate], faces: torch.Tensor) -> None:
    """Let every surrogate that aligns by landmarks find them on ``faces`` (the clean faces about to be cloaked)."""
    for surrogate in surrogates.values():
        if isinstance(surrogate, LandmarkSurrogate):
            surrogate.align_to(faces)


def mobilefacenet_surrogate(models_dir: Path, engine: str) -> Surrogate:
    """MobileFaceNet-192 (MS1M, ArcFace family) as a differentiable surrogate, on faces aligned by their landmarks."""
    from faceleak.models.mobilefacenet import load_mobilefacenet, standardize

    network = load_mobilefacenet(Path(models_dir) / "mobilefacenet.pt")
    return LandmarkSurrogate(lambda faces: network(standardize(faces)))


def faceres_surrogate(models_dir: Path, engine: str) -> Surrogate:
    """HSE faceres (VGGFace2, MobileNet V1) as a differentiable surrogate."""
    from faceleak.models.faceres import load_faceres, templates

    network = load_faceres(Path(models_dir) / "faceres.pt")
    return lambda faces: templates(network, faces)


SURROGATES: dict[str, Callable[[Path, str], Surrogate]] = {
    "facenet": facenet_surrogate,
    "mobilefacenet": mobilefacenet_surrogate,
    "faceres": faceres_surrogate,
    "verifier": verifier_surrogate,
}


def onnx_surrogate(name: str) -> Surrogate:
    """An ONNX recognizer of params.yaml's ``recognizers:`` section as a differentiable surrogate (its onnx2torch
    conversion; warped by the faces' landmarks when it takes ArcFace-aligned faces)."""
    from faceleak.models.onnx_recognizer import OnnxRecognizer
    from faceleak.models.recognizers import onnx_specs

    recognizer = OnnxRecognizer(onnx_specs()[name])
    return LandmarkSurrogate(recognizer.templates) if recognizer.spec.alignment == "arcface_5pt" else recognizer.templates


def surrogate_names() -> tuple[str, ...]:
    """Names :func:`load_surrogates` accepts: :data:`SURROGATES` and params.yaml's ONNX recognizers."""
    from faceleak.models.recognizers import onnx_specs

    return (*SURROGATES, *onnx_specs())


def load_surrogates(names: Sequence[str], models_dir: Path = Path("models"), engine: str = "fp32") -> dict[str, Surrogate]:
    """The differentiable surrogates of ``names`` (see :func:`surrogate_names`)."""
    unknown = [name for name in names if name not in surrogate_names()]
    if unknown:
        raise ValueError(f"unknown cloak surrogate {unknown[0]!r}; differentiable ones: {', '.join(surrogate_names())}")
    return {name: SURROGATES[name](models_dir, engine) if name in SURROGATES else onnx_surrogate(name) for name in names}


def diverse_inputs(faces: torch.Tensor, settings: CloakSettings, generator: torch.Generator) -> torch.Tensor:
    """Input diversity: each face, with probability ``settings.diversity``, randomly rescaled and shifted
    (zero padding where it leaves the frame, as a crop-and-pad does) and given uniform noise."""
    n = len(faces)
    draw = lambda low, high: low + (high - low) * torch.rand(n, generator=generator)
    chosen = torch.rand(n, generator=generator) < settings.diversity
    zoom = torch.where(chosen, 1.0 / draw(*settings.scale), torch.ones(n))
    shift = (2 * torch.rand(n, 2, generator=generator) - 1) * settings.shift * chosen[:, None]
    zeros = torch.zeros(n)
    theta = torch.stack([torch.stack([zoom, zeros, 2 * shift[:, 0]], 1), torch.stack([zeros, zoom, 2 * shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(faces), list(faces.shape), align_corners=False)
    moved = F.grid_sample(faces, grid, padding_mode="zeros", align_corners=False)
    noise = (2 * torch.rand(faces.shape, generator=generator) - 1) * settings.noise * LEVEL * chosen[:, None, None, None]
    return moved + noise.to(faces)


def three_channels(faces: torch.Tensor) -> torch.Tensor:
    """Grey faces (N, 1, H, W) replicated to three channels (a view); colour faces unchanged."""
    return faces.expand(-1, 3, -1, -1) if faces.shape[1] == 1 else faces


def surrogate_templates(surrogate: Surrogate, faces: torch.Tensor, batch_size: int = 32) -> np.ndarray:
    """Unit templates (N, D) of faces in [-1, 1] (N, 1|3, H, W), without gradients."""
    with torch.no_grad():
        return torch.cat([_aligned_templates(surrogate, three_channels(faces[i : i + batch_size].to(active_device()))).cpu() for i in range(0, len(faces), batch_size)]).numpy()


def _aligned_templates(surrogate: Surrogate, faces: torch.Tensor) -> torch.Tensor:
    align_surrogates({"surrogate": surrogate}, faces)
    return surrogate(faces)


def identity_loss(templates: torch.Tensor, sources: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
    """What the cloak minimises: cosine to the person's own template, minus cosine to the target's when impersonating."""
    loss = (templates * sources).sum(1)
    if targets is not None:
        loss = loss - (templates * targets).sum(1)
    return loss.sum()


SSIM_WINDOW = 7  # scikit-image's defaults (uniform 7x7 window, sample covariance), for data in [0, 1]
SSIM_C1, SSIM_C2 = 0.01**2, 0.03**2
FULL_BUDGET_CONTRAST = 0.125  # a 7x7 standard deviation of 32 levels gets the whole budget (the median face crop's 90th percentile of it)


def _window_means(images: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(images, SSIM_WINDOW, stride=1)


def ssim_index(originals: torch.Tensor, changed: torch.Tensor) -> torch.Tensor:
    """Per-face SSIM (N,) of faces in [-1, 1] (N, C, H, W), equal to scikit-image's ``structural_similarity``
    (7x7 uniform window, sample covariance, mean over the window positions inside the face and its channels)."""
    correction = SSIM_WINDOW**2 / (SSIM_WINDOW**2 - 1)
    originals, changed = (originals + 1) / 2, (changed + 1) / 2
    mean_a, mean_b = _window_means(originals), _window_means(changed)
    var_a = correction * (_window_means(originals * originals) - mean_a**2)
    var_b = correction * (_window_means(changed * changed) - mean_b**2)
    covariance = correction * (_window_means(originals * changed) - mean_a * mean_b)
    index = (2 * mean_a * mean_b + SSIM_C1) * (2 * covariance + SSIM_C2) / ((mean_a**2 + mean_b**2 + SSIM_C1) * (var_a + var_b + SSIM_C2))
    return index.mean(dim=(1, 2, 3))


def contrast_share(faces: torch.Tensor, flat_share: float) -> torch.Tensor:
    """Each pixel's share (N, 1, H, W) of the L-infinity budget: the local contrast around it (the 7x7
    standard deviation, with SSIM's constant so flat regions are not zero) over :data:`FULL_BUDGET_CONTRAST`,
    within [``flat_share``, 1]. SSIM and the eye both tolerate a change in proportion to that contrast."""
    if flat_share >= 1:
        return torch.ones_like(faces[:, :1])
    grey = F.pad((faces.mean(1, keepdim=True) + 1) / 2, [SSIM_WINDOW // 2] * 4, mode="reflect")
    mean = _window_means(grey)
    spread = (_window_means(grey * grey) - mean**2).clamp_min(0).add(SSIM_C2).sqrt()
    return (spread / FULL_BUDGET_CONTRAST).clamp(flat_share, 1.0)


def to_levels(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] rounded to the nearest uint8 level, as :func:`faceleak.data.images.to_uint8` writes them."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round() / 127.5 - 1


def within_ssim_floor(faces: torch.Tensor, change: torch.Tensor, floor: float, rounded: bool = False, halvings: int = 6) -> torch.Tensor:
    """``change`` scaled down per face (one factor each, by bisection) so that SSIM(faces, faces + change) >= ``floor``;
    ``rounded``: the change as rounded to uint8 levels (the faces are on them), the SSIM then in float64 as
    scikit-image computes it, and the factor found to 1/1024 (else to 1/2^``halvings``)."""
    if floor <= 0:
        return change
    original, step = (faces.double(), change.double()) if rounded else (faces, change)
    halvings = max(halvings, 10) if rounded else halvings
    with torch.no_grad():
        changed = lambda scale: original + scale[:, None, None, None] * step
        finished = (lambda scale: to_levels(changed(scale)) - original) if rounded else (lambda scale: changed(scale) - original)
        passes = lambda scale: ssim_index(original, original + finished(scale)) >= floor
        low, high = torch.zeros(len(faces), dtype=original.dtype, device=faces.device), torch.ones(len(faces), dtype=original.dtype, device=faces.device)
        whole = passes(high)
        for _ in range(halvings):
            middle = (low + high) / 2
            ok = passes(middle)
            low, high = torch.where(ok, middle, low), torch.where(ok, high, middle)
        return finished(torch.where(whole, high, low)).to(change.dtype)


def gaussian_smoothing(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Each channel of (N, C, H, W) blurred by a Gaussian of ``sigma`` pixels (kernel of 6 sigma, odd; reflected
    borders); ``sigma`` 0 returns the images."""
    if sigma == 0:
        return images
    radius = int(math.ceil(3 * sigma))
    taps = torch.exp(-((torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device) / sigma) ** 2) / 2)
    taps = taps / taps.sum()
    channels = images.shape[1]
    padded = F.pad(images, (radius, radius, radius, radius), mode="reflect")
    rows = F.conv2d(padded, taps.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
    return F.conv2d(rows, taps.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)


def momentum_pgd(
    faces: torch.Tensor,
    loss: Callable[[torch.Tensor, torch.Generator], torch.Tensor],
    epsilon: float,
    steps: int,
    step_fraction: float,
    momentum: float,
    seed: int,
    smoothing: float = 0.0,
    ssim_floor: float = 0.0,
    flat_share: float = 1.0,
) -> torch.Tensor:
    """MI-FGSM: ``steps`` signed steps of ``step_fraction * epsilon`` levels down the momentum of ``loss``'s
    L1-normalised gradient, projected onto the L-infinity ball of ``epsilon`` levels and onto [-1, 1].
    ``loss(images, generator)`` may draw from the seeded ``generator``. ``smoothing`` > 0 blurs each gradient
    by a Gaussian of that many pixels first (TI-FGSM), for smoother, more transferable perturbations.
    ``flat_share`` < 1 scales each pixel's bound and step by :func:`contrast_share`; ``ssim_floor`` > 0 keeps
    every face's SSIM at or above it after each step (:func:`within_ssim_floor`)."""
    faces = faces.to(active_device())
    generator = torch.Generator().manual_seed(seed)
    share = contrast_share(faces, flat_share)
    budget, step = epsilon * LEVEL * share, step_fraction * epsilon * LEVEL * share
    delta, velocity = torch.zeros_like(faces), torch.zeros_like(faces)
    for _ in range(steps):
        delta.requires_grad_(True)
        (gradient,) = torch.autograd.grad(loss(faces + delta, generator), delta)
        gradient = gaussian_smoothing(gradient, smoothing)
        velocity = momentum * velocity + gradient / gradient.abs().mean(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
        delta = torch.maximum(torch.minimum(delta.detach() - step * velocity.sign(), budget), -budget)
        delta = within_ssim_floor(faces, (faces + delta).clamp(-1, 1) - faces, ssim_floor)
    return (faces + within_ssim_floor(faces, delta, ssim_floor, rounded=True)).detach().cpu()


def cloak(
    faces: torch.Tensor,
    surrogates: dict[str, Surrogate],
    sources: dict[str, torch.Tensor],
    targets: dict[str, torch.Tensor] | None,
    settings: CloakSettings,
    seed: int,
) -> torch.Tensor:
    """Faces cloaked against recognition, within ``settings.epsilon`` levels (L-infinity, and inside [-1, 1]).

    ``sources[name]`` (N, D) are each surrogate's unit templates of the person to move away from;
    ``targets[name]`` the target's (impersonation), or None (dodging). The same ``seed`` gives the same cloak."""
    device = active_device()
    align_surrogates(surrogates, faces)
    sources = {name: value.to(device) for name, value in sources.items()}
    targets = None if targets is None else {name: value.to(device) for name, value in targets.items()}

    def loss(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return sum(
            identity_loss(surrogate(three_channels(diverse_inputs(images, settings, generator))), sources[name], None if targets is None else targets[name])
            for _ in range(settings.draws)
            for name, surrogate in surrogates.items()
        )

    return momentum_pgd(
        faces, loss, settings.epsilon, settings.steps, settings.step_fraction, settings.momentum, seed, settings.smoothing, settings.ssim_floor, settings.flat_share
    )


def cloak_in_batches(
    faces: torch.Tensor,
    surrogates: dict[str, Surrogate],
    sources: dict[str, torch.Tensor],
    targets: dict[str, torch.Tensor] | None,
    settings: CloakSettings,
    seed: int,
    batch_size: int = 16,
    desc: str | None = None,
) -> torch.Tensor:
    """:func:`cloak` over batches of ``batch_size`` faces (batch ``b`` seeded ``seed + b``), with a progress bar."""
    cloaked = []
    for number, start in enumerate(tqdm(range(0, len(faces), batch_size), desc=desc, disable=desc is None)):
        rows = slice(start, start + batch_size)
        batch_targets = None if targets is None else {name: value[rows] for name, value in targets.items()}
        cloaked.append(cloak(faces[rows], surrogates, {name: value[rows] for name, value in sources.items()}, batch_targets, settings, seed + number))
    return torch.cat(cloaked) if cloaked else faces.clone()


def box_iou(boxes: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """IoU of boxes (N, A, 4) with one reference box per image (N, 4); both (y1, x1, y2, x2) or both (x1, y1, x2, y2)."""
    low = torch.maximum(boxes[..., :2], reference[:, None, :2])
    high = torch.minimum(boxes[..., 2:], reference[:, None, 2:])
    overlap = (high - low).clamp_min(0).prod(-1)
    area = (boxes[..., 2:] - boxes[..., :2]).clamp_min(0).prod(-1)
    reference_area = (reference[:, 2:] - reference[:, :2]).clamp_min(0).prod(-1)
    return overlap / (area + reference_area[:, None] - overlap).clamp_min(1e-12)


def detection_loss(boxes: torch.Tensor, scores: torch.Tensor, true_faces: torch.Tensor, near_iou: float) -> torch.Tensor:
    """Face/Off's detector loss ``-sum_b score_b * area_b * sign(d_b - t)`` over every anchor's box b, with
    d_b = 1 - IoU(b, true face) and t = 1 - ``near_iou``: minimising it lowers the boxes on the true face and
    raises the boxes elsewhere."""
    iou = box_iou(boxes, true_faces)
    area = (boxes[..., 2:] - boxes[..., :2]).clamp_min(0).prod(-1)
    sign = torch.where(iou >= near_iou, -1.0, 1.0)
    return -(scores * area * sign).sum()


def cloak_from_detector(
    images: torch.Tensor,
    detector: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    true_faces: torch.Tensor,
    near_iou: float,
    epsilon: float,
    steps: int,
    step_fraction: float,
    momentum: float,
    seed: int,
) -> torch.Tensor:
    """Images (N, C, H, W) in [-1, 1] cloaked against a differentiable detector (images -> boxes (N, A, 4) and
    scores (N, A), boxes in the coordinates of ``true_faces`` (N, 4)) by :func:`momentum_pgd`."""
    true_faces = true_faces.to(active_device())

    def loss(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        boxes, scores = detector(three_channels(batch))
        return detection_loss(boxes, scores, true_faces, near_iou)

    return momentum_pgd(images, loss, epsilon, steps, step_fraction, momentum, seed)
