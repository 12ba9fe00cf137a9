"""Face cloaking (Face/Off): L-infinity bounded perturbations crafted by projected gradient descent with
momentum (MI-FGSM). Against recognition: input diversity on differentiable surrogate recognizers, either
dodging (away from the person's identity) or impersonating (towards a target person's identity). Against
detection: the reference's loss on a differentiable face detector's scored boxes, so the true face is
missed and fake boxes appear elsewhere.

Faces are tensors in [-1, 1] of shape (N, C, H, W), C = 1 (grey, as LFW) or 3; a grey face gets a grey
perturbation. Budgets are in 0..255 pixel levels, so a cloak rounded to uint8 stays within its budget.
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

CLOAK_MODES = ("dodging", "impersonation")
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


SURROGATES: dict[str, Callable[[Path, str], Surrogate]] = {"facenet": facenet_surrogate, "verifier": verifier_surrogate}


def load_surrogates(names: Sequence[str], models_dir: Path = Path("models"), engine: str = "fp32") -> dict[str, Surrogate]:
    """The differentiable surrogates of ``names`` (see :data:`SURROGATES`)."""
    unknown = [name for name in names if name not in SURROGATES]
    if unknown:
        raise ValueError(f"unknown cloak surrogate {unknown[0]!r}; differentiable ones: {', '.join(SURROGATES)}")
    return {name: SURROGATES[name](models_dir, engine) for name in names}


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
        return torch.cat([surrogate(three_channels(faces[i : i + batch_size].to(active_device()))).cpu() for i in range(0, len(faces), batch_size)]).numpy()


def identity_loss(templates: torch.Tensor, sources: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
    """What the cloak minimises: cosine to the person's own template, minus cosine to the target's when impersonating."""
    loss = (templates * sources).sum(1)
    if targets is not None:
        loss = loss - (templates * targets).sum(1)
    return loss.sum()


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
) -> torch.Tensor:
    """MI-FGSM: ``steps`` signed steps of ``step_fraction * epsilon`` levels down the momentum of ``loss``'s
    L1-normalised gradient, projected onto the L-infinity ball of ``epsilon`` levels and onto [-1, 1].
    ``loss(images, generator)`` may draw from the seeded ``generator``. ``smoothing`` > 0 blurs each gradient
    by a Gaussian of that many pixels first (TI-FGSM), for smoother, more transferable perturbations."""
    faces = faces.to(active_device())
    generator = torch.Generator().manual_seed(seed)
    budget, step = epsilon * LEVEL, step_fraction * epsilon * LEVEL
    delta, velocity = torch.zeros_like(faces), torch.zeros_like(faces)
    for _ in range(steps):
        delta.requires_grad_(True)
        (gradient,) = torch.autograd.grad(loss(faces + delta, generator), delta)
        gradient = gaussian_smoothing(gradient, smoothing)
        velocity = momentum * velocity + gradient / gradient.abs().mean(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
        delta = (delta.detach() - step * velocity.sign()).clamp(-budget, budget)
        delta = (faces + delta).clamp(-1, 1) - faces
    return (faces + delta).detach().cpu()


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
    sources = {name: value.to(device) for name, value in sources.items()}
    targets = None if targets is None else {name: value.to(device) for name, value in targets.items()}

    def loss(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return sum(
            identity_loss(surrogate(three_channels(diverse_inputs(images, settings, generator))), sources[name], None if targets is None else targets[name])
            for _ in range(settings.draws)
            for name, surrogate in surrogates.items()
        )

    return momentum_pgd(faces, loss, settings.epsilon, settings.steps, settings.step_fraction, settings.momentum, seed, settings.smoothing)


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
