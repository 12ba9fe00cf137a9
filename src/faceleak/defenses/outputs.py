"""Output defenses of a classifier API: what the oracle returns instead of its exact probabilities."""

from __future__ import annotations

import numpy as np


def rounded(decimals: int):
    """Probabilities rounded to ``decimals`` places (the attack sees 0 below 0.5 x 10^-decimals)."""

    def transform(probabilities: np.ndarray) -> np.ndarray:
        return np.round(probabilities, decimals)

    return transform


def top_label_only(probabilities: np.ndarray) -> np.ndarray:
    """A one-hot vector of the predicted class: no confidence at all."""
    return np.eye(probabilities.shape[1])[probabilities.argmax(axis=1)]


def noisy(scale: float, seed: int):
    """Probabilities plus Gaussian noise of standard deviation ``scale``, clipped and renormalised (seeded)."""
    generator = np.random.default_rng(seed)

    def transform(probabilities: np.ndarray) -> np.ndarray:
        noised = np.clip(probabilities + scale * generator.standard_normal(probabilities.shape), 1e-6, None)
        return noised / noised.sum(axis=1, keepdims=True)

    return transform
