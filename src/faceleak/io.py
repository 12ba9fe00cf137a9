"""Atomic writers: every output goes to a temporary file beside its target, then is renamed."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from faceleak.errors import MissingInputError

_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=target.suffix)
    os.close(handle)
    temporary = Path(temporary)
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``target``; it replaces ``target`` only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        yield temporary
        if target.exists():
            shutil.rmtree(target)
        os.replace(temporary, target)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_json(target: str | Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON; non-finite floats become null."""
    with atomic_path(target) as temporary:
        temporary.write_text(json.dumps(_jsonable(data), indent=2, sort_keys=False) + "\n")


def read_json(path: str | Path) -> dict[str, Any]:
    """Read a JSON file, naming it if it is missing."""
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"{path} does not exist; run the stage that writes it first")
    return json.loads(path.read_text())


def write_npz(target: str | Path, **arrays: np.ndarray) -> None:
    """Write arrays to a compressed ``.npz``, byte-identical for identical arrays (so DVC sees no change).

    ``np.savez_compressed`` stamps each member with the current time, so members are written here
    with a fixed timestamp.
    """
    with atomic_path(target) as temporary, zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, array in arrays.items():
            member = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            with bundle.open(member, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.asanyarray(array), allow_pickle=False)


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` into memory."""
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"{path} does not exist; run the stage that writes it first")
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def save_weights(target: str | Path, state: dict[str, torch.Tensor]) -> None:
    """Save a state dict atomically, byte-identical for identical weights (so DVC sees no change).

    ``torch.save`` to a path names the archive's inner folder after the file, so it is serialised in
    memory first and only the bytes go to the temporary file.
    """
    buffer = io.BytesIO()
    torch.save({name: tensor.cpu() for name, tensor in state.items()}, buffer)
    with atomic_path(target) as temporary:
        temporary.write_bytes(buffer.getvalue())
