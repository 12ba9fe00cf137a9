"""A small reader of TFLite flatbuffers: tensor names, constant tensors, operators.

Only what a weight converter needs (and a reference interpreter in the tests), following the
TFLite schema (``tensorflow/lite/schema/schema.fbs``): Model (operator_codes, subgraphs, buffers),
SubGraph (tensors, inputs, outputs, operators), Tensor (shape, type, buffer, name), Operator
(opcode_index, inputs, outputs, builtin_options). Constants are read from their buffer's ``data``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceleak.errors import FaceleakError, MissingInputError

# TensorType -> numpy dtype (the types weight files use)
_DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8}
# BuiltinOperator numbers of the ops named in code (schema.fbs)
CONV_2D, DEPTHWISE_CONV_2D = 3, 4


class TFLiteError(FaceleakError, ValueError):
    """A file is not a readable TFLite model, or not the model expected."""


class Table:
    """A flatbuffer table at byte ``position`` of ``data``; fields are read by their schema index."""

    def __init__(self, data: bytes, position: int) -> None:
        self.data, self.position = data, position

    def _field(self, index: int) -> int | None:
        vtable = self.position - struct.unpack_from("<i", self.data, self.position)[0]
        vtable_size = struct.unpack_from("<H", self.data, vtable)[0]
        if 4 + 2 * index >= vtable_size:
            return None
        offset = struct.unpack_from("<H", self.data, vtable + 4 + 2 * index)[0]
        return self.position + offset if offset else None

    def _target(self, index: int) -> int | None:
        field = self._field(index)
        return None if field is None else field + struct.unpack_from("<I", self.data, field)[0]

    def scalar(self, index: int, fmt: str, default: int = 0) -> int:
        """A scalar field in ``struct`` format ``fmt`` ('b', 'i', 'I', ...), or its schema default."""
        field = self._field(index)
        return default if field is None else struct.unpack_from("<" + fmt, self.data, field)[0]

    def vector(self, index: int, dtype: type) -> np.ndarray:
        """A vector of scalars (empty if absent)."""
        target = self._target(index)
        if target is None:
            return np.zeros(0, dtype)
        (length,) = struct.unpack_from("<I", self.data, target)
        return np.frombuffer(self.data, dtype, length, target + 4)

    def table(self, index: int) -> Table | None:
        target = self._target(index)
        return None if target is None else Table(self.data, target)

    def tables(self, index: int) -> list[Table]:
        """A vector of tables (empty if absent)."""
        target = self._target(index)
        if target is None:
            return []
        starts = target + 4 + 4 * np.arange(struct.unpack_from("<I", self.data, target)[0])
        return [Table(self.data, int(s) + struct.unpack_from("<I", self.data, int(s))[0]) for s in starts]

    def string(self, index: int) -> str:
        return self.vector(index, np.uint8).tobytes().decode()


@dataclass(frozen=True)
class Operator:
    """One operator: its BuiltinOperator number, tensor indices in and out, and its options table."""

    code: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: Table | None


@dataclass(frozen=True)
class TFLiteModel:
    """The first subgraph of a TFLite file: tensor names, constants by tensor index, operators in order."""

    names: list[str]
    constants: dict[int, np.ndarray]
    operators: list[Operator]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


def _parse(data: bytes) -> TFLiteModel:
    model = Table(data, struct.unpack_from("<I", data, 0)[0])
    codes = [max(code.scalar(0, "b"), code.scalar(3, "i")) for code in model.tables(1)]
    buffers = model.tables(4)
    graph = model.tables(2)[0]
    names, constants = [], {}
    for index, tensor in enumerate(graph.tables(0)):
        names.append(tensor.string(3))
        raw = buffers[tensor.scalar(2, "I")].vector(0, np.uint8)
        if raw.size:
            constants[index] = raw.copy().view(_DTYPES[tensor.scalar(1, "b")]).reshape(tensor.vector(0, np.int32))
    operators = [
        Operator(codes[op.scalar(0, "I")], tuple(op.vector(1, np.int32).tolist()), tuple(op.vector(2, np.int32).tolist()), op.table(4))
        for op in graph.tables(3)
    ]
    return TFLiteModel(names, constants, operators, tuple(graph.vector(1, np.int32).tolist()), tuple(graph.vector(2, np.int32).tolist()))


def read_tflite(path: Path) -> TFLiteModel:
    """Parse a ``.tflite`` file; a missing, truncated or foreign file raises a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"TFLite model {path} does not exist; fetch it with `.venv/bin/python -m faceleak.vendor`")
    data = path.read_bytes()
    if data[4:8] != b"TFL3":
        raise TFLiteError(f"{path} is not a TFLite model (no TFL3 identifier); fetch it again with `python -m faceleak.vendor`")
    try:
        return _parse(data)
    except (struct.error, ValueError, IndexError, KeyError, UnicodeDecodeError) as error:
        raise TFLiteError(
            f"{path} is truncated or corrupt ({type(error).__name__}: {error}); fetch it again with `python -m faceleak.vendor`"
        ) from error
