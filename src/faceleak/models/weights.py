"""Pretrained networks loaded from the state dicts the weights stage saves."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from faceleak.device import active_device
from faceleak.errors import MissingInputError

Network = TypeVar("Network", bound=nn.Module)


def load_frozen(network: Network, weights: Path, missing: str) -> Network:
    """``network`` with the state dict at ``weights`` (loaded ``weights_only``), in eval mode and frozen, on the
    active device; ``missing`` is the error's text when there is no such file."""
    if not Path(weights).is_file():
        raise MissingInputError(missing)
    network.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return network.eval().requires_grad_(False).to(active_device())
