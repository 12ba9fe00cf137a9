"""The code each stage runs, one small file per stage script: ``manifests/<script>.md5`` lists the script and
every faceleak module it imports (transitively, with their packages' ``__init__``), each with its md5, in the
format ``md5sum -c`` reads.

A stage depends on its manifest instead of on every module it imports: a change to a module changes the manifests
of exactly the stages that import it, so DVC reruns those and no others, and the pipeline files list data, not code.
The ``code`` stage (the root ``dvc.yaml``) rewrites the manifests whenever ``src/faceleak`` or ``stages/`` changes.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

from faceleak.io import atomic_path

SOURCE = Path("src")
STAGES = Path("stages")
MANIFESTS = Path("manifests")


def _module_file(module: str, source: Path) -> Path | None:
    base = source.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path, source: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names if alias.name.split(".")[0] == "faceleak"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "faceleak":
            modules.add(node.module)
            modules |= {f"{node.module}.{alias.name}" for alias in node.names if _module_file(f"{node.module}.{alias.name}", source)}
    return modules


def imported_sources(script: Path, source: Path = SOURCE) -> list[Path]:
    """Every package file a script runs when imported: its faceleak modules, transitively, and their packages' __init__."""
    seen: set[Path] = set()
    pending = [script]
    while pending:
        for module in _imported_modules(pending.pop(), source):
            parts = module.split(".")
            for depth in range(1, len(parts) + 1):
                found = _module_file(".".join(parts[:depth]), source)
                if found and found not in seen:
                    seen.add(found)
                    pending.append(found)
    return sorted(seen)


def manifest(script: Path, source: Path = SOURCE) -> str:
    """``md5  path`` for the script and each module it imports (paths as given, relative to the project)."""
    files = [script, *imported_sources(script, source)]
    return "".join(f"{hashlib.md5(path.read_bytes()).hexdigest()}  {path.as_posix()}\n" for path in files)


def manifest_path(script: Path, folder: Path = MANIFESTS) -> Path:
    return folder / f"{script.stem}.md5"


def write_manifests(stages: Path = STAGES, source: Path = SOURCE, folder: Path = MANIFESTS) -> list[Path]:
    """One manifest per stage script (each written whole, then renamed into place); manifests of scripts that are
    gone are removed. Returns the manifests written."""
    written = []
    for script in sorted(stages.glob("*.py")):
        with atomic_path(manifest_path(script, folder)) as temporary:
            temporary.write_text(manifest(script, source))
        written.append(manifest_path(script, folder))
    for stale in set(folder.glob("*.md5")) - set(written):
        stale.unlink()
    return written
