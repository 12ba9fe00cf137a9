"""Stage audit_report: the audited recognizer's page, docs/results/audit_<audit.recognizer>.md, from its metrics."""

from pathlib import Path

from faceleak.io import atomic_path, read_json
from faceleak.stage import start
from faceleak.systems.audit.params import load_audit_params
from faceleak.systems.audit.report import audit_page

params = start(load_audit_params)
with atomic_path(Path("docs/results") / f"audit_{params.recognizer}.md") as temporary:
    temporary.write_text(audit_page(read_json("metrics/audit_view2.json"), read_json("metrics/cloak_craft.json"), read_json("metrics/audit_cloak.json"), read_json("metrics/audit_inversion.json")))
