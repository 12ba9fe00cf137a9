"""What every person-facing command shares: where the project's files are when run from any folder, the
one-line error, and the refusal to write over the user's input or an earlier result."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from faceleak.errors import FaceleakError
from faceleak.io import atomic_path

PROJECT = Path(__file__).resolve().parents[2]  # src/faceleak/cli.py -> the project (an editable install)


def project_file(path: Path) -> Path:
    """``path`` as given when it exists from here or is absolute, else the same path in the project."""
    return path if path.is_absolute() or path.exists() else PROJECT / path


def refuse_overwrite(outputs: list[Path], inputs: list[Path], force: bool = False) -> None:
    """A :class:`FaceleakError` if an output is one of the inputs (always) or already exists (unless ``force``)."""
    for output in outputs:
        for source in inputs:
            if output.resolve() == source.resolve() or (output.exists() and source.exists() and output.samefile(source)):
                raise FaceleakError(f"{output} is the input {source}; choose another output path (your file is never written over)")
        if output.exists() and not force:
            raise FaceleakError(f"{output} already exists; choose another output path, or add --force to replace it")


def positive_integer(text: str) -> int:
    """An argparse type: a whole number of at least 1 (argparse turns the refusal into its one-line usage error)."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def error_line(program: str, error: Exception) -> int:
    """Print ``program: error: <message>`` on stderr (one line) and return the exit status 1."""
    print(f"{program}: error: {' '.join(str(error).split())}", file=sys.stderr)
    return 1


def new_file_mode() -> int:
    """The mode a new file of the user's gets (0o666 less the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_output(path: Path, private: bool = False) -> Iterator[Path]:
    """A temporary path that becomes ``path`` only when the block succeeds, with the mode a new file of
    the user's gets (``private``: readable by its owner only, for keys)."""
    with atomic_path(path) as temporary:
        yield temporary
        os.chmod(temporary, 0o600 if private else new_file_mode())
