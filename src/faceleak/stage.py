"""What every stage script shares: logging, params, seeding, the device, tool-like errors, timings."""

from __future__ import annotations

import atexit
import logging
import os
import random
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import numpy as np
import torch

from faceleak.device import use_device
from faceleak.errors import FaceleakError
from faceleak.io import write_json
from faceleak.params import load_shared_params

SystemParams = TypeVar("SystemParams")
TIMINGS = Path("timings")  # git-ignored and no DVC output: run figures change every run, results do not
_run: dict = {"started": None, "failed": False, "figures": {}}


def report_expected_errors(kind: type[BaseException], error: BaseException, traceback: TracebackType | None) -> None:
    """``sys.excepthook``: an expected :class:`FaceleakError` is one line on stderr; anything else keeps its traceback."""
    _run["failed"] = True
    if isinstance(error, FaceleakError):
        print(f"faceleak: error: {error}", file=sys.stderr)
    else:
        sys.__excepthook__(kind, error, traceback)


def start(load: Callable[[], SystemParams] = load_shared_params) -> SystemParams:
    """Set up a stage: expected errors as one line, logging, the system's params (checked by ``load``),
    every RNG seeded with their ``seed``, and their ``device`` made the active one."""
    sys.excepthook = report_expected_errors
    _run["started"] = time.perf_counter()
    atexit.register(_write_timing)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    params = load()
    random.seed(params.seed)
    np.random.seed(params.seed)
    torch.manual_seed(params.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    use_device(params.device)
    return params


def note_timing(**figures: float) -> None:
    """Add run figures (compute seconds, throughput) to the stage's ``timings/<stage>.json``."""
    _run["figures"].update(figures)


def _write_timing() -> None:
    """At a successful exit: the stage's wall time, peak memory (its own and its largest worker's, see
    :mod:`faceleak.parallel`) and noted figures in ``timings/<stage>.json``.

    Kept out of ``metrics/``, DVC's outputs and git, so that a rerun changes no tracked file. The name is
    DVC's stage name (``$DVC_STAGE``), or the script's name when run by hand.
    """
    if _run["failed"]:
        return
    name = os.environ.get("DVC_STAGE") or Path(sys.argv[0]).stem
    peak_memory_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    worker_memory_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    seconds = time.perf_counter() - _run["started"]
    memory = {"peak_memory_mb": peak_memory_mb} | ({"peak_worker_memory_mb": worker_memory_mb} if worker_memory_mb else {})
    write_json(TIMINGS / f"{name}.json", {"seconds": seconds, **_run["figures"], **memory})
