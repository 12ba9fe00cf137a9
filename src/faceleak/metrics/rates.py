"""Rates with their counts and 95% intervals, so every reported rate says how much it can be trusted."""

from __future__ import annotations

import math

import numpy as np

Z_95 = 1.959963984540054


def wilson_interval(successes: int, total: int, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson's score interval of a binomial rate (95% by default); None when ``total`` is 0. Its ends at
    none and at all successes are exactly 0 and 1 (the formula's rounding leaves about 1e-17 from them)."""
    if total == 0:
        return None
    rate = successes / total
    spread = z * math.sqrt(rate * (1 - rate) / total + z * z / (4 * total * total))
    centre = rate + z * z / (2 * total)
    scale = 1 + z * z / total
    return 0.0 if successes == 0 else (centre - spread) / scale, 1.0 if successes == total else (centre + spread) / scale


def flat_rate(key: str, rate: float | None, total: int) -> dict[str, object]:
    """A rate under ``key`` with its count, total and 95% Wilson interval as flat keys (``key``_count,
    _total, _ci95), for metrics files whose rates sit beside other figures."""
    if rate is None or total == 0:
        return {key: None, f"{key}_count": None, f"{key}_total": total, f"{key}_ci95": None}
    count = round(rate * total)
    return {key: rate, f"{key}_count": count, f"{key}_total": total, f"{key}_ci95": list(wilson_interval(count, total))}


def flat_rate_of(key: str, outcomes: np.ndarray) -> dict[str, object]:
    """:func:`flat_rate` of the share of true ``outcomes``."""
    outcomes = np.asarray(outcomes, dtype=bool)
    return flat_rate(key, float(outcomes.mean()) if outcomes.size else None, int(outcomes.size))


def rate(outcomes: np.ndarray) -> dict[str, float | int | list[float] | None]:
    """The share of true ``outcomes`` with its count, total and 95% Wilson interval (rate None when empty)."""
    outcomes = np.asarray(outcomes, dtype=bool)
    successes, total = int(outcomes.sum()), int(outcomes.size)
    interval = wilson_interval(successes, total)
    return {"rate": successes / total if total else None, "count": successes, "total": total, "ci95": list(interval) if interval else None}
