"""Benchmark of ``faceleak-cloak`` as a person runs it: a folder of full photos (grey LFW and colour MFR2) cloaked
in one mode, seconds per photo (face detection included) and each photo's SSIM; issue 24's goal is <= 5 s per
photo on 2 cores in ``mid``.

    .venv/bin/python benchmarks/cloak_tool.py                       # 6 LFW + 6 MFR2 photos, mode mid
    .venv/bin/python benchmarks/cloak_tool.py --mode high --photos 4
    .venv/bin/python benchmarks/cloak_tool.py --steps 12                 # fewer steps: faster, weaker

Needs ``data/raw/lfw`` and ``data/raw/mfr2`` (stages download@*) and the surrogates' weights in ``models/`` (stage weights).
Not a test: the figure depends on the machine and its load.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from faceleak.systems.cloak.tool import main

ROOT = Path(__file__).resolve().parent.parent


def photo_folder(destination: Path, photos: int) -> Path:
    """``photos`` LFW photos (grey, 250x250) and as many MFR2 photos (colour, 160x160), the first of each in name order."""
    lfw = sorted((ROOT / "data/raw/lfw").rglob("*.jpg"))[:photos]
    mfr2 = sorted((ROOT / "data/raw/mfr2").rglob("*_0002.png"))[:photos]
    for path in [*lfw, *mfr2]:
        shutil.copy2(path, destination / path.name)
    return destination


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="mid", choices=("low", "mid", "high"))
    parser.add_argument("--photos", type=int, default=6, help="photos of each dataset")
    parser.add_argument("--steps", help="faceleak-cloak --steps (default: the mode's)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "photos").mkdir()
        photos = photo_folder(Path(folder) / "photos", arguments.photos)
        started = time.perf_counter()
        status = main([str(photos), str(Path(folder) / "cloaked"), "--mode", arguments.mode, *(["--steps", arguments.steps] if arguments.steps else [])])
        seconds = time.perf_counter() - started
    print(f"faceleak-cloak --mode {arguments.mode}{f' --steps {arguments.steps}' if arguments.steps else ''}: {2 * arguments.photos} photos in {seconds:.1f} s, {seconds / (2 * arguments.photos):.2f} s per photo (models loaded included), exit {status}")


if __name__ == "__main__":
    run()
