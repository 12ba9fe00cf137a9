"""Partial leakage of an embedding, and the targeted masking of dimensions as a defense.

``leakage`` is the fraction of dimensions the attacker obtains; the others are hidden (zeroed). The
strategy decides which are hidden: ``random`` (seeded), ``low_variance`` (hide the dimensions whose
variance over the enrolled templates is lowest: the reference's targeted masking), ``high_variance``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from faceleak.params import check_leakage

STRATEGIES = ("random", "low_variance", "high_variance")


def leaked_count(leakage: float, dimensions: int) -> int:
    """How many of ``dimensions`` the attacker obtains: floor(leakage x dimensions), at least 1."""
    return max(1, math.floor(check_leakage(leakage) * dimensions + 1e-9))


class DimensionMask:
    """Chooses the leaked dimensions (``fit`` on enrolled templates) and hides the rest (``transform``)."""

    def __init__(self, leakage: float, strategy: str = "random", seed: int = 0):
        if strategy not in STRATEGIES:
            raise ValueError(f"spine.leak.strategy = {strategy!r} is not allowed; expected one of {', '.join(STRATEGIES)}")
        self.leakage = check_leakage(leakage)
        self.strategy = strategy
        self.seed = seed

    def fit(self, templates: np.ndarray) -> "DimensionMask":
        """Pick the leaked dimensions; variance strategies use the variance of ``templates`` per dimension."""
        dimensions = templates.shape[1]
        count = leaked_count(self.leakage, dimensions)
        if self.strategy == "random":
            order = np.random.default_rng(self.seed).permutation(dimensions)
        else:
            by_variance = np.argsort(templates.var(axis=0), kind="stable")
            # low_variance hides the lowest-variance dimensions, so the highest-variance ones leak.
            order = by_variance[::-1] if self.strategy == "low_variance" else by_variance
        self.leaked_dimensions_ = np.sort(order[:count])
        self.dimensions_ = dimensions
        return self

    def mask(self) -> np.ndarray:
        """The 0/1 mask of leaked dimensions (a conditioned decoder's second input)."""
        mask = np.zeros(self.dimensions_, dtype=np.float32)
        mask[self.leaked_dimensions_] = 1.0
        return mask

    def transform(self, templates: np.ndarray) -> np.ndarray:
        """Templates with every hidden dimension set to zero."""
        if templates.shape[1] != self.dimensions_:
            raise ValueError(f"templates have {templates.shape[1]} dimensions; the mask was fit on {self.dimensions_}")
        leaked = np.zeros_like(templates)
        leaked[:, self.leaked_dimensions_] = templates[:, self.leaked_dimensions_]
        return leaked


def random_masks(count: int, dimensions: int, lowest: float, generator: torch.Generator) -> torch.Tensor:
    """0/1 masks (count, dimensions): each row leaks a random set of a uniform fraction in [lowest, 1]."""
    fractions = lowest + (1.0 - lowest) * torch.rand(count, generator=generator)
    leaked = torch.clamp(torch.floor(fractions * dimensions + 1e-9), min=1)
    ranks = torch.rand(count, dimensions, generator=generator).argsort(dim=1).argsort(dim=1)
    return (ranks < leaked[:, None]).float()
