"""Face-mask classifier (transformers ``ConvNextForImageClassification``).

Offline: a small ConvNeXt trained from scratch, on synthetic masks of other people's faces
(:mod:`faceleak.systems.spine.mask_data`) or cross-fitted on identity-grouped folds, so that every face is
scored by a model that never saw its identity. With a Hugging Face model id, that pretrained classifier
scores every face instead (needs the hub, or its local cache).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
from torch.nn import functional as F
from sklearn.model_selection import GroupKFold
from tqdm import tqdm
from transformers import ConvNextConfig, ConvNextForImageClassification

import faceleak  # noqa: F401  (installs the torchvision compatibility step)
from faceleak.data.images import to_unit_range
from faceleak.device import active_device, device_of
from faceleak.errors import FaceleakError

UNMASKED, MASKED = 0, 1


class MaskModelUnavailable(FaceleakError, RuntimeError):
    """A pretrained mask classifier could not be loaded."""


def build_convnext(image_size: int) -> ConvNextForImageClassification:
    """A small two-class ConvNeXt (unmasked / masked), randomly initialised from the seeded RNG."""
    config = ConvNextConfig(
        num_channels=3,
        patch_size=4,
        hidden_sizes=[24, 48, 96, 192],
        depths=[1, 1, 2, 1],
        image_size=image_size,
        num_labels=2,
        id2label={UNMASKED: "unmasked", MASKED: "masked"},
        label2id={"unmasked": UNMASKED, "masked": MASKED},
    )
    return ConvNextForImageClassification(config)


Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def flip_and_gain(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random mirror and a gain of 0.9-1.1."""
    flip = torch.rand(batch.shape[0], generator=generator) < 0.5
    batch = torch.where(flip[:, None, None, None], batch.flip(-1), batch)
    gain = 1.0 + 0.2 * (torch.rand(batch.shape[0], 1, 1, 1, generator=generator) - 0.5)
    return (batch * gain).clamp(-1.0, 1.0)


def camera_views(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """:func:`flip_and_gain`, then another camera's view: contrast 0.7-1.3, brightness +-0.15, a shift of up
    to 6% and a zoom of 0.9-1.1, and a blur (3x3 box) on half the faces."""
    n = batch.shape[0]
    uniform = lambda low, high, *shape: low + (high - low) * torch.rand(n, *shape, generator=generator)
    batch = flip_and_gain(batch, generator)
    mean = batch.mean(dim=(1, 2, 3), keepdim=True)
    batch = (batch - mean) * uniform(0.7, 1.3, 1, 1, 1) + mean + uniform(-0.15, 0.15, 1, 1, 1)
    zoom, shift = uniform(0.9, 1.1), uniform(-0.06, 0.06, 2)
    zeros = torch.zeros(n)
    theta = torch.stack([torch.stack([zoom, zeros, shift[:, 0]], 1), torch.stack([zeros, zoom, shift[:, 1]], 1)], 1)
    batch = F.grid_sample(batch, F.affine_grid(theta, list(batch.shape), align_corners=False), padding_mode="border", align_corners=False)
    blurred = F.avg_pool2d(F.pad(batch, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return torch.where((torch.rand(n, generator=generator) < 0.5)[:, None, None, None], blurred, batch).clamp(-1.0, 1.0)


def train_classifier(
    images: np.ndarray, labels: np.ndarray, epochs: int, batch_size: int, learning_rate: float, seed: int,
    augment: Augment = flip_and_gain, progress: str | None = None, start_from: ConvNextForImageClassification | None = None,
) -> ConvNextForImageClassification:
    """Train a ConvNeXt on uint8 faces and 0/1 labels (class-balanced loss), each batch through ``augment``: a fresh
    one, or a copy of ``start_from`` (fine-tuning); ``progress`` names a progress bar over the epochs."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    device = active_device()
    model = (build_convnext(images.shape[1]) if start_from is None else copy.deepcopy(start_from)).to(device)
    inputs, targets = to_unit_range(images), torch.from_numpy(labels).long()
    counts = torch.bincount(targets, minlength=2).clamp(min=1).float()
    loss_fn = torch.nn.CrossEntropyLoss(weight=(counts.sum() / (2 * counts)).to(device))
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.05)
    model.train()
    for _ in tqdm(range(epochs), desc=progress, disable=progress is None):
        order = torch.randperm(len(inputs), generator=generator)
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            logits = model(pixel_values=augment(inputs[index], generator).to(device)).logits
            loss = loss_fn(logits, targets[index].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


@torch.no_grad()
def unmasked_probability(model: ConvNextForImageClassification, inputs: torch.Tensor, unmasked_index: int) -> np.ndarray:
    """Softmax probability of the unmasked class for preprocessed inputs."""
    device = device_of(model)
    probabilities = [model(pixel_values=chunk.to(device)).logits.softmax(-1)[:, unmasked_index].cpu() for chunk in inputs.split(64)]
    return torch.cat(probabilities).numpy()


def cross_fit_unmasked_probability(
    images: np.ndarray, masked: np.ndarray, identities: np.ndarray, folds: int, epochs: int,
    batch_size: int, learning_rate: float, seed: int, start_from: ConvNextForImageClassification | None = None,
) -> np.ndarray:
    """P(unmasked) for every face from a ConvNeXt trained on the other identities' folds (fresh, or fine-tuned from ``start_from``)."""
    probabilities = np.full(len(images), np.nan, dtype=np.float64)
    splits = list(GroupKFold(n_splits=folds).split(images, masked, groups=identities))
    for fold, (train_index, score_index) in enumerate(tqdm(splits, desc="mask classifier folds")):
        model = train_classifier(
            images[train_index], masked[train_index].astype(np.int64), epochs, batch_size, learning_rate, seed + fold, start_from=start_from
        )
        probabilities[score_index] = unmasked_probability(model, to_unit_range(images[score_index]), UNMASKED)
    return probabilities


def _unmasked_label_index(id2label: dict[int, str]) -> int:
    for index, label in id2label.items():
        normalised = label.lower().replace("_", "").replace("-", "").replace(" ", "")
        if normalised.startswith(("without", "nomask", "unmasked")):
            return int(index)
    raise MaskModelUnavailable(f"cannot tell which label means 'no mask' among {id2label}")


def pretrained_unmasked_probability(model_id: str, images: np.ndarray) -> np.ndarray:
    """P(unmasked) from a pretrained Hugging Face ConvNeXt mask classifier (respects HF_HUB_OFFLINE)."""
    from transformers import AutoImageProcessor

    try:
        processor = AutoImageProcessor.from_pretrained(model_id)
        model = ConvNextForImageClassification.from_pretrained(model_id).eval().to(active_device())
    except (OSError, ValueError) as error:
        raise MaskModelUnavailable(
            f"could not load the mask classifier {model_id!r} from the Hugging Face hub or its cache ({error}); "
            "offline, set mask_filter.model: null to train the cross-fitted ConvNeXt instead"
        ) from error
    inputs = processor(images=list(images), return_tensors="pt")["pixel_values"]
    return unmasked_probability(model, inputs, _unmasked_label_index(model.config.id2label))
