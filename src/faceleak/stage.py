"""What every stage script shares: logging, params, seeding, timing and peak memory."""

from __future__ import annotations

import logging
import random
import resource
import sys

import numpy as np
import torch

from faceleak.params import Params, load_params


def start() -> Params:
    """Configure logging, load and validate ``params.yaml``, seed every RNG."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    params = load_params()
    random.seed(params.seed)
    np.random.seed(params.seed)
    torch.manual_seed(params.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return params


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
