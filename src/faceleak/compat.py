"""Compatibility step for a torchvision whose compiled ops cannot load (a CUDA build beside CPU torch).

torchvision registers fake kernels for ``torchvision::nms`` at import time and fails with
``operator torchvision::nms does not exist`` when its ``_C`` extension did not load. Calling
:func:`ensure_torchvision_ops` before torchvision is imported defines the ``nms`` and ``qnms``
operators in pure torch, so that torchvision (and facenet-pytorch, transformers) import and MTCNN's
``batched_nms`` works; other compiled ops (roi_align, deform_conv2d) stay unavailable. Where torchvision's own ops load, it does nothing.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)

_NMS_SCHEMA = "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"
_fallback_library: torch.library.Library | None = None


def nms_reference(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression; same contract as ``torchvision.ops.nms``.

    Boxes are ``(x1, y1, x2, y2)``; returns indices of kept boxes, by decreasing score.
    """
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    order = torch.argsort(scores, descending=True, stable=True)
    sorted_boxes = boxes[order].float()
    x1, y1, x2, y2 = sorted_boxes.unbind(dim=1)
    areas = (x2 - x1).clamp(min=0) * (y2 - y1).clamp(min=0)
    inter_w = (torch.minimum(x2[:, None], x2[None]) - torch.maximum(x1[:, None], x1[None])).clamp(min=0)
    inter_h = (torch.minimum(y2[:, None], y2[None]) - torch.maximum(y1[:, None], y1[None])).clamp(min=0)
    inter = inter_w * inter_h
    iou = inter / (areas[:, None] + areas[None] - inter).clamp(min=torch.finfo(torch.float32).tiny)
    overlaps = (iou > iou_threshold).cpu().numpy()
    suppressed = np.zeros(len(order), dtype=bool)
    keep = []
    for i in range(len(order)):
        if not suppressed[i]:
            keep.append(i)
            suppressed |= overlaps[i]
    return order[torch.tensor(keep, dtype=torch.int64, device=boxes.device)]


def _has_nms_op() -> bool:
    return hasattr(torch.ops.torchvision, "nms")


def _load_torchvision_extension() -> bool:
    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None:
        return False
    extension = Path(spec.origin).parent / "_C.so"
    try:
        torch.ops.load_library(str(extension))
    except (OSError, RuntimeError) as error:
        log.info("torchvision's compiled ops do not load (%s); using pure-torch nms", error)
        return False
    return _has_nms_op()


def ensure_torchvision_ops() -> bool:
    """Define pure-torch ``torchvision::nms``/``qnms`` if torchvision's own ops cannot load.

    Returns True when the fallback was installed, False when it was not needed.
    """
    global _fallback_library
    if _fallback_library is not None or _has_nms_op():
        return False
    if "torchvision" not in sys.modules and _load_torchvision_extension():
        return False
    library = torch.library.Library("torchvision", "DEF")
    for name in ("nms", "qnms"):
        library.define(name + _NMS_SCHEMA)
        library.impl(name, nms_reference, "CompositeExplicitAutograd")
    _fallback_library = library
    import torchvision.extension

    torchvision.extension._has_ops = lambda: True  # its Python ops check this flag before calling nms
    return True
