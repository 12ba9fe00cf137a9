"""What every stage script shares: logging, params, seeding, timing and peak memory."""

from __future__ import annotations

import logging
import random
import resource
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from faceleak.io import write_json
from faceleak.params import load_params

SystemParams = TypeVar("SystemParams")


def start(load: Callable[[], SystemParams] = load_params) -> SystemParams:
    """Configure logging, load and validate the system's params with ``load``, seed every RNG with their ``seed``."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    params = load()
    random.seed(params.seed)
    np.random.seed(params.seed)
    torch.manual_seed(params.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return params


def write_timing(name: str, seconds: float, **figures: float) -> None:
    """Record a stage's wall time, peak memory and other run figures in ``timings/<name>.json``.

    Kept apart from ``metrics/`` so that ``dvc metrics diff`` shows results, not run-to-run noise.
    """
    peak_memory_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    write_json(Path("timings") / f"{name}.json", {"seconds": seconds, **figures, "peak_memory_mb": peak_memory_mb})
