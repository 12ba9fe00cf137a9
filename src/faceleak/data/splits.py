"""Identity-disjoint splits: hold out whole people, never single images of a person."""

from __future__ import annotations

import numpy as np


def identity_split(people: np.ndarray, val_fraction: float, seed: int) -> np.ndarray:
    """True for rows whose person falls in a seeded ``val_fraction`` of the people (at least one)."""
    unique = np.unique(people)
    if len(unique) < 2:
        raise ValueError("an identity-disjoint split needs at least two people")
    count = min(len(unique) - 1, max(1, round(val_fraction * len(unique))))
    held_out = set(np.random.default_rng(seed).choice(unique, count, replace=False))
    return np.array([person in held_out for person in people])
