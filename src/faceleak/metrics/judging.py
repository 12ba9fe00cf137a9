"""Judging attacks by recognizers: each judge's distance thresholds, set once on LFW View 2's impostor
pairs by the verification benchmark and shared by every system that asks "would this judge accept it?"."""

from __future__ import annotations


def view2_thresholds(benchmark: dict, judge: str, fmrs: tuple[float, ...]) -> dict[str, float]:
    """A judge's distance thresholds at each FMR, set on LFW View 2's impostor pairs by the verification benchmark."""
    if judge not in benchmark["recognizers"]:
        raise KeyError(f"the verification benchmark did not run {judge}; add it to verification.benchmark.recognizers")
    entries = benchmark["recognizers"][judge]["view2"]["thresholds"]
    missing = [f"{fmr:g}" for fmr in fmrs if f"{fmr:g}" not in entries]
    if missing:
        raise KeyError(f"the verification benchmark has no {judge} threshold at FMR {', '.join(missing)}; add it to verification.benchmark.fars")
    return {f"{fmr:g}": entries[f"{fmr:g}"]["distance"] for fmr in fmrs}
