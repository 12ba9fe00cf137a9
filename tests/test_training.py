"""The one training loop: seeded order, early stopping with patience and min_delta, best weights restored."""

import torch
from torch import nn

from faceleak.training import FitSettings, fit


def _run(val_losses: list[float], settings: FitSettings, seed: int = 0):
    torch.manual_seed(seed)
    model = nn.Linear(2, 1)
    inputs, targets = torch.randn(20, 2), torch.randn(20, 1)
    weights_at_epoch = []
    losses = iter(val_losses)

    def val_loss() -> float:
        weights_at_epoch.append(model.weight.detach().clone())
        return next(losses)

    def batch_loss(rows, generator):
        return nn.functional.mse_loss(model(inputs[rows]), targets[rows])

    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    history = fit(model, batch_loss, len(inputs), val_loss, optimizer, settings, seed, "test")
    return model, history, weights_at_epoch


def test_stops_after_patience_and_restores_the_best_epoch():
    settings = FitSettings(epochs=10, batch_size=4, learning_rate=0.1, patience=2)
    model, history, weights = _run([3.0, 1.0, 2.0, 1.5, 0.5, 0.6], settings)
    assert len(history.val_loss) == 4 and history.best_epoch == 1
    assert torch.equal(model.weight, weights[1]) and not model.training


def test_improvements_smaller_than_min_delta_do_not_count():
    settings = FitSettings(epochs=10, batch_size=4, learning_rate=0.1, patience=2, min_delta=0.1)
    _, history, _ = _run([1.0, 0.95, 0.92, 0.5], settings)
    assert len(history.val_loss) == 3 and history.best_epoch == 0


def test_same_seed_same_weights_and_gradient_clipping_applies():
    settings = FitSettings(epochs=3, batch_size=4, learning_rate=0.1, patience=5, clip_norm=1e-6)
    first, _, _ = _run([3.0, 2.0, 1.0], settings)
    second, _, _ = _run([3.0, 2.0, 1.0], settings)
    assert torch.equal(first.weight, second.weight)
    torch.manual_seed(0)
    untouched = nn.Linear(2, 1)
    assert torch.allclose(first.weight, untouched.weight, atol=1e-5)  # 15 steps of norm <= 1e-6 x lr
