"""Stage spine_table: gather the sweep's cells into one metrics file and the CSV behind `dvc plots`."""

from pathlib import Path

from faceleak.io import write_json
from faceleak.plots import write_csv
from faceleak.stage import start
from faceleak.systems.spine.params import load_spine_params
from faceleak.systems.spine.sweep import flatten, gather

params = start(load_spine_params)
rows = gather(Path("metrics/sweep"), params.sweep.leakages, params.sweep.strategies)
write_json("metrics/sweep_table.json", flatten(rows))
write_csv("plots/sweep.csv", rows)
