"""The torch device the pipeline runs on: ``device: auto | cpu | cuda`` in params.yaml.

A stage chooses it once (:func:`faceleak.stage.start` calls :func:`use_device`); models, training
loops, attacks and metrics then place their tensors on :func:`active_device`. Results come back to
the CPU as NumPy arrays, so everything downstream is the same on either device.
"""

from __future__ import annotations

import torch

from faceleak.errors import FaceleakError

DEVICE_CHOICES = ("auto", "cpu", "cuda")

_active = torch.device("cpu")


class DeviceUnavailable(FaceleakError, RuntimeError):
    """``device: cuda`` was asked for on a machine without a usable CUDA GPU."""


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when a GPU is usable, else CPU; ``cuda`` without a GPU raises :class:`DeviceUnavailable`."""
    if name not in DEVICE_CHOICES:
        raise DeviceUnavailable(f"device {name!r} is not one of {', '.join(DEVICE_CHOICES)}")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailable("device: cuda was asked for, but torch sees no CUDA GPU here; set device: cpu or auto in params.yaml")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def use_device(name: str) -> torch.device:
    """Resolve ``name`` and make it the device every later step uses."""
    global _active
    _active = resolve_device(name)
    return _active


def active_device() -> torch.device:
    """The device chosen by :func:`use_device` (the CPU until one is chosen)."""
    return _active


def device_of(model: torch.nn.Module) -> torch.device:
    """The device a model's weights are on (the CPU for a model without weights)."""
    return next(model.parameters(), torch.empty(0)).device
