"""faceleak: measure how much identity leaks out of face-recognition systems."""

from faceleak.compat import ensure_torchvision_ops

ensure_torchvision_ops()

__version__ = "0.1.0"
