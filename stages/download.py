"""Stage download: fetch one dataset (public URL, or the $FACELEAK_MIRROR folder), verify, extract."""

import sys
from pathlib import Path

from faceleak.data import mfr2
from faceleak.data.fetch import fetch_dataset
from faceleak.io import write_json
from faceleak.stage import start

name = sys.argv[1]
start()
provenance = fetch_dataset(name, Path("data/raw") / name, cache_dir=Path("data/downloads"))
if name == "mfr2":
    provenance.update(mfr2.validate(Path("data/raw/mfr2")))
write_json(Path("data/raw") / f"{name}.json", provenance)
