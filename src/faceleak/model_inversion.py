"""The model-inversion experiment's training steps: the victim classifier and the attacker's prior.

Both use one loop: mini-batches in a seeded order, validation loss after each epoch, early stopping
when it has not improved by ``min_delta`` for ``patience`` epochs, and the best checkpoint restored.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from faceleak.models.autoencoder import ConvAutoencoder
from faceleak.models.small_cnn import SmallCNN


@dataclass(frozen=True)
class FitSettings:
    """Optimiser and stopping settings of one training run."""

    epochs: int
    batch_size: int
    learning_rate: float
    patience: int
    min_delta: float = 0.0
    weight_decay: float = 0.0
    clip_norm: float | None = None


@dataclass
class FitHistory:
    """Per-epoch losses and the epoch of the kept checkpoint."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0


def fit(
    model: nn.Module,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    settings: FitSettings,
    seed: int,
    name: str,
) -> FitHistory:
    """Train ``model`` on (inputs, targets) with early stopping on ``val``; restores the best weights."""
    generator = torch.Generator().manual_seed(seed)
    history, best_loss, best_state, waited = FitHistory(), float("inf"), copy.deepcopy(model.state_dict()), 0
    for epoch in (progress := tqdm(range(settings.epochs), desc=f"train {name}")):
        model.train()
        order, total = torch.randperm(len(train[0]), generator=generator), 0.0
        for start in range(0, len(order), settings.batch_size):
            rows = order[start : start + settings.batch_size]
            value = loss(model(train[0][rows]), train[1][rows])
            optimizer.zero_grad()
            value.backward()
            if settings.clip_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), settings.clip_norm)
            optimizer.step()
            total += value.item() * len(rows)
        model.eval()
        with torch.no_grad():
            val_loss = loss(model(val[0]), val[1]).item()
        history.train_loss.append(total / len(order))
        history.val_loss.append(val_loss)
        progress.set_postfix(train=f"{total / len(order):.4f}", val=f"{val_loss:.4f}")
        if val_loss < best_loss - settings.min_delta:
            best_loss, best_state, waited, history.best_epoch = val_loss, copy.deepcopy(model.state_dict()), 0, epoch
        else:
            waited += 1
            if waited >= settings.patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    return history


def as_input(faces: np.ndarray) -> torch.Tensor:
    """Grey faces (N, H, W) in [0, 1] as a (N, 1, H, W) float tensor."""
    return torch.from_numpy(np.ascontiguousarray(faces, dtype=np.float32))[:, None]


def train_victim(
    faces: np.ndarray, labels: np.ndarray, split: np.ndarray, settings: FitSettings, label_smoothing: float, seed: int
) -> tuple[SmallCNN, FitHistory]:
    """SmallCNN trained with AdamW and label smoothing on the 'train' split, early-stopped on 'val'."""
    torch.manual_seed(seed)
    model = SmallCNN(classes=int(labels.max()) + 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    criterion = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    targets = torch.from_numpy(labels).long()
    parts = {name: (as_input(faces[split == name]), targets[torch.from_numpy(split == name)]) for name in ("train", "val")}
    history = fit(model, criterion, parts["train"], parts["val"], optimizer, settings, seed, "victim")
    return model, history


def train_prior(faces: np.ndarray, val: np.ndarray, settings: FitSettings, latent_dim: int, seed: int) -> tuple[ConvAutoencoder, FitHistory]:
    """The autoencoder prior trained with Adam and MSE; ``val`` marks the faces for early stopping."""
    torch.manual_seed(seed)
    model = ConvAutoencoder(faces.shape[1:], latent_dim)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    inputs = as_input(faces)
    rows = torch.from_numpy(val)
    history = fit(model, nn.functional.mse_loss, (inputs[~rows], inputs[~rows]), (inputs[rows], inputs[rows]), optimizer, settings, seed, "prior")
    return model, history
