"""Independent pieces of work spread over the machine's cores, in forked processes.

Small models on small batches (MTCNN's many crops, the genetic search's 50-face queries) and dlib's
single-threaded network leave cores idle when one process runs them. :func:`map_forked` runs one
process per core, each with one torch thread, and returns results in input order. The models used
here give the same numbers with one thread as with several, so results do not depend on the number
of workers (tests check it). Workers are forked, not spawned: a spawned worker would re-run the stage
script that started it. On a GPU the work stays in the one process that holds the device.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

import torch
from tqdm import tqdm

from faceleak.device import active_device

Item = TypeVar("Item")
Result = TypeVar("Result")

_task: Callable | None = None


def available_workers() -> int:
    """Cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _run_task(item):
    assert _task is not None
    return _task(item)


def map_forked(
    function: Callable[[Item], Result], items: Sequence[Item], workers: int | None = None, desc: str | None = None
) -> list[Result]:
    """``[function(item) for item in items]``, spread over ``workers`` forked processes (default: one per core).

    The workers inherit ``function`` (closures and loaded models included) when they fork; items and
    results travel pickled. With one worker, one item, or a non-CPU device, it runs in this process.
    """
    global _task
    workers = min(workers or available_workers(), len(items))
    progress = {"total": len(items), "desc": desc, "disable": desc is None}
    if workers <= 1 or active_device().type != "cpu":
        return [function(item) for item in tqdm(items, **progress)]
    _task = function
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=torch.set_num_threads, initargs=(1,)) as pool:
            return list(tqdm(pool.map(_run_task, items), **progress))
    finally:
        _task = None
