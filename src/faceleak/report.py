"""Shared helpers of result reporting: nested metrics flattened into one row, and the Markdown of the results pages.

The pages under ``docs/results/`` are rendered from ``metrics/`` alone: same metrics in, same bytes out.
A ``null`` metric is shown as ``n/a``; a figure that does not apply to a row is an empty cell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceleak.io import read_json

NA = "n/a"  # a metric that is null in metrics/: never replaced by a number
PLOTS = "../../plots"  # the figures, relative to a page in docs/results/
HEADLINE_PAGE = "headline.md"
HEADLINE_BASE = "docs/results/"  # the pages, relative to the README that the headline table is pasted into


def flat_figures(figures: dict, prefix: str = "") -> dict[str, object]:
    """Nested metrics as one flat row: ``{"facenet": {"map_at_1": x}}`` -> ``{"facenet_map_at_1": x}``."""
    flat: dict[str, object] = {}
    for key, value in figures.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flat_figures(value, f"{name}_"))
        else:
            flat[name] = value
    return flat


def load(metrics: Path, name: str) -> dict[str, Any]:
    """One metrics file of the folder ``metrics``."""
    return read_json(Path(metrics) / name)


def count(rate: float, total: int | float | None) -> int | None:
    """The number of successes behind ``rate`` out of ``total``, or None unless it is a whole number."""
    if total is None or rate is None:
        return None
    exact = rate * total
    return round(exact) if abs(exact - round(exact)) < 1e-6 * max(1.0, float(total)) else None


def integer(value: float | None) -> str:
    """A whole number with thousands separators (``11,328``); ``n/a`` for null."""
    return NA if value is None else f"{round(value):,}"


def number(value: float | None, digits: int = 3) -> str:
    """A float with ``digits`` decimals; ``n/a`` for null."""
    return NA if value is None else f"{value:.{digits}f}"


def percent(rate: float | None, total: int | float | None = None) -> str:
    """A rate as a percentage with one decimal, with its count when ``total`` makes it whole: ``85.6% (83/97)``."""
    if rate is None:
        return NA
    hits = count(rate, total)
    text = f"{100 * rate:.1f}%"
    return text if hits is None else f"{text} ({hits:,}/{round(total):,})"


def rate_cell(entry: dict[str, Any] | None) -> str:
    """A rate of :func:`faceleak.metrics.rates.rate` with its count and 95% interval: ``12.5% (8/64; 6.4-22.8%)``."""
    if entry is None or entry["rate"] is None:
        return NA
    low, high = entry["ci95"]
    return f"{100 * entry['rate']:.1f}% ({entry['count']:,}/{entry['total']:,}; {100 * low:.1f}-{100 * high:.1f}%)"


def flat_rate_cell(figures: Mapping[str, Any], key: str) -> str:
    """A rate stored as flat keys (:func:`faceleak.metrics.rates.flat_rate`) as :func:`rate_cell` shows it;
    an empty cell when ``figures`` lack it."""
    if key not in figures:
        return ""
    return rate_cell({"rate": figures[key], "count": figures[f"{key}_count"], "total": figures[f"{key}_total"], "ci95": figures[f"{key}_ci95"]})


def fmr_label(fmr: float | str) -> str:
    """A false-match rate as the tables name it: ``0.001`` -> ``1e-3``."""
    mantissa, exponent = f"{float(fmr):.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def cell(row: Mapping[str, Any], key: str, show: Callable[[Any], str]) -> str:
    """``row[key]`` through ``show``; ``n/a`` for null, an empty cell for a key the row does not have."""
    if key not in row:
        return ""
    return NA if row[key] is None else show(row[key])


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table; every row must have the header's width."""
    lines = [_line(header), "|" + "---|" * len(header)]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row of {len(row)} cells under a header of {len(header)}: {row!r}")
        lines.append(_line(row))
    return "\n".join(lines)


def _line(cells: Sequence[object]) -> str:
    return "| " + " | ".join(str(text).replace("|", "\\|") for text in cells) + " |"


def figure(alt: str, name: str) -> str:
    """A Markdown image of ``plots/<name>``, linked from a page in docs/results/."""
    return f"![{alt}]({PLOTS}/{name})"


def section(heading: str, *blocks: str) -> str:
    """A level-2 section: its heading, then its blocks (paragraphs, tables, figures)."""
    return "\n\n".join([f"## {heading}", *blocks])


def page(title: str, summary: str, *blocks: str) -> str:
    """A whole page: title, summary, blocks, one trailing newline."""
    return "\n\n".join([f"# {title}", summary, *blocks]) + "\n"


@dataclass(frozen=True)
class HeadlineRow:
    """One key figure of a system for the headline table: the system's page, what is measured and its value."""

    system: str
    page: str
    figure: str
    value: str


def headline(rows: Iterable[HeadlineRow], base: str = HEADLINE_BASE) -> str:
    """The headline table, each row linking to its system's page under ``base``."""
    body = [(f"[{row.system}]({base}{row.page})", row.figure, row.value) for row in rows]
    return table(("system", "figure", "value"), body) + "\n"
