"""Compare a run's metrics with committed ones within a stated tolerance, not byte for byte.

Outputs are byte-stable on one CPU type, not across types (another CPU's kernels round differently, and
training amplifies it), so a fresh run on another machine is checked for what its figures say:

- a rate with a 95% interval (``K`` beside ``K_count``, ``K_total``, ``K_ci95``, or a ``{rate, count,
  total, ci95}`` mapping) agrees when the fresh rate lies inside the committed interval;
- a rate's total (``K_total``) must be equal: the same data was judged;
- any other number agrees within ``rtol`` (relative) or ``atol`` (absolute);
- run figures (seconds, minutes, throughput, memory) and the engine a result was made with are not
  compared (the engine is listed); text, flags and list lengths must be equal.

    .venv/bin/python -m faceleak.compare_metrics                 # metrics/ against HEAD's
    .venv/bin/python -m faceleak.compare_metrics --against main --rtol 0.05

Exit status 1 when a figure moved, or a file or key is missing on either side.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUN_FIGURES = ("seconds", "minutes", "per_s", "memory_mb")
ENGINE_KEYS = ("engine", "surrogate_engine")


@dataclass(frozen=True)
class Difference:
    """A figure that disagrees (``moved``), exists on one side only (``missing``/``new``), or is noted (``engine``)."""

    path: str
    kind: str
    fresh: Any
    committed: Any


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_run_figure(key: str) -> bool:
    return any(part in key for part in RUN_FIGURES)


def _inside(value: Any, interval: Any) -> bool:
    return _is_number(value) and isinstance(interval, list) and interval[0] - 1e-9 <= value <= interval[1] + 1e-9


def _numbers_agree(fresh: float, committed: float, rtol: float, atol: float) -> bool:
    return abs(fresh - committed) <= atol + rtol * abs(committed)


def compare_trees(fresh: Any, committed: Any, rtol: float = 0.02, atol: float = 1e-6, path: str = "") -> list[Difference]:
    """Every disagreement between two metrics trees (see the module's rules)."""
    if isinstance(committed, dict) and isinstance(fresh, dict):
        return _compare_mappings(fresh, committed, rtol, atol, path)
    if isinstance(committed, list) and isinstance(fresh, list):
        if len(fresh) != len(committed):
            return [Difference(path, "moved", f"{len(fresh)} items", f"{len(committed)} items")]
        return [d for i, (a, b) in enumerate(zip(fresh, committed)) for d in compare_trees(a, b, rtol, atol, f"{path}[{i}]")]
    if _is_number(fresh) and _is_number(committed):
        return [] if _numbers_agree(fresh, committed, rtol, atol) else [Difference(path, "moved", fresh, committed)]
    if fresh is None and isinstance(committed, float) and committed != committed:  # NaN written as null
        return []
    return [] if fresh == committed else [Difference(path, "moved", fresh, committed)]


def _compare_mappings(fresh: dict, committed: dict, rtol: float, atol: float, path: str) -> list[Difference]:
    if {"rate", "ci95"} <= committed.keys() and "rate" in fresh:
        inside = _inside(fresh["rate"], committed["ci95"]) or fresh["rate"] == committed["rate"]
        moved = [] if inside else [Difference(f"{path}/rate", "moved", fresh["rate"], committed["ci95"])]
        if fresh.get("total") != committed.get("total"):
            moved.append(Difference(f"{path}/total", "moved", fresh.get("total"), committed.get("total")))
        return moved
    differences = []
    for key in sorted(committed.keys() | fresh.keys()):
        where = f"{path}/{key}"
        if key not in fresh:
            differences.append(Difference(where, "missing", None, committed[key]))
        elif key not in committed:
            differences.append(Difference(where, "engine" if key in ENGINE_KEYS else "new", fresh[key], None))
        elif key in ENGINE_KEYS:
            if fresh[key] != committed[key]:
                differences.append(Difference(where, "engine", fresh[key], committed[key]))
        elif _is_run_figure(key):
            continue
        elif f"{key}_ci95" in committed:
            if not (_inside(fresh[key], committed[f"{key}_ci95"]) or fresh[key] == committed[key]):
                differences.append(Difference(where, "moved", fresh[key], committed[f"{key}_ci95"]))
        elif key.endswith(("_count", "_ci95")) and f"{key.rsplit('_', 1)[0]}_ci95" in committed:
            continue  # judged with its rate
        elif key.endswith("_total") and fresh[key] != committed[key]:
            differences.append(Difference(where, "moved", fresh[key], committed[key]))  # a rate over other data
        else:
            differences.extend(compare_trees(fresh[key], committed[key], rtol, atol, where))
    return differences


def committed_metrics(revision: str, path: Path) -> Any:
    """The metrics file ``path`` as committed at ``revision`` (None when it is not there)."""
    shown = subprocess.run(["git", "show", f"{revision}:{path.as_posix()}"], capture_output=True, text=True)
    return json.loads(shown.stdout) if shown.returncode == 0 else None


def compare_folder(folder: Path, revision: str, rtol: float, atol: float) -> dict[str, list[Difference]]:
    """Each metrics file of ``folder`` against ``revision``'s, with the files only one side has."""
    listed = subprocess.run(["git", "ls-tree", "-r", "--name-only", revision, folder.as_posix()], capture_output=True, text=True, check=True)
    paths = sorted({Path(name) for name in listed.stdout.split() if name.endswith(".json")} | set(folder.rglob("*.json")))
    results = {}
    for path in paths:
        committed = committed_metrics(revision, path)
        if not path.is_file():
            results[path.as_posix()] = [Difference("", "missing", None, "file")]
        elif committed is None:
            results[path.as_posix()] = [Difference("", "new", "file", None)]
        else:
            results[path.as_posix()] = compare_trees(json.loads(path.read_text()), committed, rtol, atol)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faceleak.compare_metrics", description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="HEAD", help="git revision holding the committed metrics (default HEAD)")
    parser.add_argument("--folder", type=Path, default=Path("metrics"))
    parser.add_argument("--rtol", type=float, default=0.02, help="relative tolerance of numbers without an interval (default 0.02)")
    parser.add_argument("--atol", type=float, default=1e-6, help="absolute tolerance of numbers without an interval")
    arguments = parser.parse_args(argv)
    results = compare_folder(arguments.folder, arguments.against, arguments.rtol, arguments.atol)
    failed = 0
    for name, differences in results.items():
        for difference in differences:
            failed += difference.kind != "engine"
            print(f"{difference.kind}: {name}{difference.path}: {difference.fresh!r} (committed {difference.committed!r})")
    agreeing = sum(not any(d.kind != "engine" for d in differences) for differences in results.values())
    print(f"{agreeing} of {len(results)} metrics files agree with {arguments.against} (rates inside its 95% intervals, other numbers within rtol {arguments.rtol:g})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
