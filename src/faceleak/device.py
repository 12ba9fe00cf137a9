"""The torch device the pipeline runs on: ``device: auto | cpu | cuda`` in params.yaml.

A stage chooses it once (:func:`faceleak.stage.start` calls :func:`use_device`); models, training
loops, attacks and metrics then place their tensors on :func:`active_device`. Results come back to
the CPU as NumPy arrays, so everything downstream is the same on either device.
"""

from __future__ import annotations

import logging

import torch

from faceleak.errors import FaceleakError

DEVICE_CHOICES = ("auto", "cpu", "cuda")
# How a network's arithmetic runs: ``auto`` is bf16 autocast where the device computes bf16 natively, else fp32.
ENGINE_CHOICES = ("auto", "fp32", "bf16")
# FaceNet forward and backward on 32 faces, bf16 autocast against fp32, on a 2-core AVX2 CPU (issue 22).
EMULATED_BF16_SLOWDOWN = 15

log = logging.getLogger(__name__)

_active = torch.device("cpu")


class DeviceUnavailable(FaceleakError, RuntimeError):
    """``device: cuda`` was asked for on a machine without a usable CUDA GPU."""


class EngineUnavailable(FaceleakError, RuntimeError):
    """An engine was asked for that the device runs only emulated (bf16 on a CPU without AVX-512 BF16 or AMX)."""


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


def cpu_capability() -> str:
    """What the CPU offers torch: its kernels' instruction set (``AVX2``, ``AVX512``, ...) and native bf16 units."""
    units = [name for name, present in (("AVX-512 BF16", torch.cpu._is_avx512_bf16_supported()), ("AMX", torch.cpu._is_amx_tile_supported())) if present]
    return " + ".join([torch.backends.cpu.get_cpu_capability(), *units])


def bf16_native(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 in hardware: a CUDA GPU with bf16, or a CPU whose torch kernels are
    AVX-512 (or newer) and that has AVX-512 BF16 or AMX units. Elsewhere bf16 autocast is emulated and slow."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return torch.backends.cpu.get_cpu_capability().startswith("AVX512") and (torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def resolve_engine(choice: str, device: torch.device, key: str) -> str:
    """The engine that runs for params key ``key`` set to ``choice`` (``auto`` -> bf16 where native, else fp32).

    An explicit ``bf16`` where it is only emulated raises :class:`EngineUnavailable`; other engines pass
    through. The choice is logged, so a stage's log says which numerics made its results.
    """
    native = bf16_native(device)
    where = "CUDA" if device.type == "cuda" else f"CPU {cpu_capability()}"
    if choice == "bf16" and not native:
        raise EngineUnavailable(
            f"params: '{key}' = 'bf16' is about {EMULATED_BF16_SLOWDOWN}x slower than fp32 here ({where}: bf16 is emulated); set {key} to auto or fp32"
        )
    engine = ("bf16" if native else "fp32") if choice == "auto" else choice
    log.info("%s: %s -> %s engine (%s)", key, choice, engine, where)
    return engine
