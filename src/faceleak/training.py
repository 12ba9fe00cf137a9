"""The one training loop of faceleak's models: mini-batches in a seeded order, the validation loss
after each epoch, early stopping when it has not improved by ``min_delta`` for ``patience`` epochs,
and the best checkpoint restored at the end."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm import tqdm

BatchLoss = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


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
    """Per-epoch losses and the (0-based) epoch of the kept checkpoint."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0


def fit(
    model: nn.Module,
    batch_loss: BatchLoss,
    train_size: int,
    val_loss: Callable[[], float],
    optimizer: torch.optim.Optimizer,
    settings: FitSettings,
    seed: int,
    name: str,
) -> FitHistory:
    """Train ``model`` and restore its best weights.

    ``batch_loss(rows, generator)`` is the loss of the training rows ``rows``; it may draw from
    ``generator`` (the loop's seeded generator, which also orders the batches). ``val_loss()`` is
    called in eval mode without gradients.
    """
    generator = torch.Generator().manual_seed(seed)
    history, best_loss, best_state, waited = FitHistory(), float("inf"), copy.deepcopy(model.state_dict()), 0
    for epoch in (progress := tqdm(range(settings.epochs), desc=f"train {name}")):
        model.train()
        order, total = torch.randperm(train_size, generator=generator), 0.0
        batches = range(0, train_size, settings.batch_size)
        for start in tqdm(batches, desc=f"epoch {epoch + 1}", leave=False, disable=len(batches) < 50):
            rows = order[start : start + settings.batch_size]
            value = batch_loss(rows, generator)
            optimizer.zero_grad()
            value.backward()
            if settings.clip_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), settings.clip_norm)
            optimizer.step()
            total += value.item() * len(rows)
        model.eval()
        with torch.no_grad():
            validation = val_loss()
        history.train_loss.append(total / train_size)
        history.val_loss.append(validation)
        progress.set_postfix(train=f"{total / train_size:.4f}", val=f"{validation:.4f}")
        if validation < best_loss - settings.min_delta:
            best_loss, best_state, waited, history.best_epoch = validation, copy.deepcopy(model.state_dict()), 0, epoch
        else:
            waited += 1
            if waited >= settings.patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    return history
