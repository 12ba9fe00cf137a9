"""Stage spine_leak: the attacker's view of every template at the top-level `leakage` and `spine.leak.strategy`."""

from faceleak.io import write_npz
from faceleak.stage import start
from faceleak.systems.spine.params import load_spine_params
from faceleak.systems.spine.steps import FaceSet, leak

params = start(load_spine_params)
leaked, dimensions = leak(FaceSet.load("data/processed/faces.npz"), params.leakage, params.leak.strategy, params.seed)
write_npz("data/leak/leaked.npz", leaked=leaked, leaked_dimensions=dimensions)
