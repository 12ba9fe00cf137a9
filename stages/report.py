"""Stage report: one results page per system and the headline table under docs/results/, from metrics/ alone."""

from pathlib import Path

from faceleak.io import atomic_path
from faceleak.report import HEADLINE_PAGE, headline
from faceleak.stage import start
from faceleak.systems.cloak import report as cloak
from faceleak.systems.encryption import report as encryption
from faceleak.systems.model_inversion import report as model_inversion
from faceleak.systems.openset import report as openset
from faceleak.systems.spine import report as spine
from faceleak.systems.verification import report as verification

METRICS, PAGES = Path("metrics"), Path("docs/results")
SYSTEMS = (spine, openset, model_inversion, verification, cloak, encryption)

start()
pages = {system.PAGE: system.render(METRICS) for system in SYSTEMS}
pages[HEADLINE_PAGE] = headline(row for system in SYSTEMS for row in system.headline_rows(METRICS))
for name, text in pages.items():
    with atomic_path(PAGES / name) as temporary:
        temporary.write_text(text)
