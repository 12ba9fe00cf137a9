"""Stage leak: the attacker's view of every template at the top-level `leakage` and `leak.strategy`."""

from faceleak.experiment import FaceSet, leak
from faceleak.io import write_npz
from faceleak.stage import start

params = start()
leaked, dimensions = leak(FaceSet.load("data/processed/faces.npz"), params.leakage, params.leak.strategy, params.seed)
write_npz("data/leak/leaked.npz", leaked=leaked, leaked_dimensions=dimensions)
