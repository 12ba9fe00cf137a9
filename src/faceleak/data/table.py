"""A table of aligned faces with per-face arrays, saved as one byte-stable ``.npz``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceleak.io import read_npz, write_npz


@dataclass
class FaceTable:
    """Aligned uint8 faces (N, S, S, C) with their image names, people and per-face arrays by name."""

    faces: np.ndarray
    names: np.ndarray
    people: np.ndarray
    arrays: dict[str, np.ndarray]

    def save(self, path: str | Path) -> None:
        write_npz(path, faces=self.faces, names=self.names, people=self.people, **self.arrays)

    @classmethod
    def load(cls, path: str | Path) -> "FaceTable":
        data = read_npz(path)
        return cls(data.pop("faces"), data.pop("names"), data.pop("people"), data)

    def rows(self, names: list[str] | np.ndarray) -> np.ndarray:
        """Row indices of image names (KeyError naming the first one missing)."""
        return rows_of(self.names, names)


def rows_of(names: np.ndarray, wanted: list[str] | np.ndarray) -> np.ndarray:
    """Indices in ``names`` of each ``wanted`` name (KeyError naming the first one missing)."""
    index = {name: row for row, name in enumerate(names)}
    missing = [name for name in wanted if name not in index]
    if missing:
        raise KeyError(f"{len(missing)} image(s) are not in the table, e.g. {missing[0]}")
    return np.array([index[name] for name in wanted], dtype=np.int64)
