"""Stage openset_plot: SAR and mAP@1 against leakage for the open-set and the spine's protocols."""

from faceleak.io import read_json
from faceleak.plots import metric_curves
from faceleak.report import flat_figures
from faceleak.stage import start
from faceleak.systems.openset.params import load_openset_params

params = start(load_openset_params)
rows = []
for protocol, path in (("open-set (LFW attacker)", "metrics/openset.json"), ("spine (MFR2 closed set)", "metrics/spine_curve.json")):
    rows += [{"protocol": protocol} | flat_figures(row) for row in read_json(path)["leakage"].values()]
metrics = [
    f"{recognizer}_{figure}"
    for recognizer in params.openset.judges
    for figure in [*(f"sar_type1_fmr{fmr:g}" for fmr in params.openset.fmrs), "map_at_1"]
]
metric_curves("plots/leakage_curves.png", rows, metrics, group="protocol")
