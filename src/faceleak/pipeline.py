"""The pipeline's files, and how to land a change that must not alter outputs.

Each system's stages are written in ``src/faceleak/systems/<system>/pipeline.yaml``, beside its code, and the shared
stages and plots in ``src/faceleak/pipeline.yaml``: command, data dependencies, params and outputs, one screen per
system. No file lists code: each stage depends on its manifest (``manifests/<script>.md5``, :mod:`faceleak.code_manifest`).
DVC reads one ``dvc.yaml`` (``dvc repro``, ``dvc exp run`` and stage names work from the project root): it is
assembled from those files. After changing one:

    .venv/bin/python -m faceleak.pipeline assemble          # rewrites dvc.yaml (a test checks it is current)

A refactor (docs/pipeline.md): rerun one stage per system, then

    .venv/bin/python -m faceleak.pipeline compare --against main STAGE ...   # outputs in dvc.lock byte-equal to main's?
    .venv/bin/python -m faceleak.pipeline record STAGE ...                   # code change recorded, outputs absent here
    .venv/bin/python -m faceleak.pipeline record --outputs STAGE ...         # and the output files rewritten in place here
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from hashlib import md5
from pathlib import Path

import yaml
from ruamel.yaml import YAML

from faceleak.code_manifest import MANIFESTS, write_manifests
from faceleak.io import atomic_path

SYSTEMS = ("spine", "openset", "model_inversion", "verification", "cloak", "encryption", "audit")
SHARED = Path("src/faceleak/pipeline.yaml")
DVC_YAML, DVC_LOCK = Path("dvc.yaml"), Path("dvc.lock")
HEADER = "# Assembled by `python -m faceleak.pipeline assemble` from {files}: edit those, not this file.\n"


def pipeline_files() -> list[Path]:
    """The shared file first, then each system's, in the order of ``SYSTEMS``."""
    return [SHARED, *(Path(f"src/faceleak/systems/{system}/pipeline.yaml") for system in SYSTEMS)]


def _sections(text: str) -> tuple[str, dict[str, str]]:
    """A pipeline file's leading comment, and the body of each top-level key (``stages``, ``plots``)."""
    comment, sections, key = [], {}, None
    for line in text.splitlines(keepends=True):
        if match := re.match(r"^([a-z]+):\s*$", line):
            key = match[1]
            sections[key] = ""
        elif key is None:
            comment.append(line)
        else:
            sections[key] += line
    return "".join(comment), sections


def assemble(files: list[Path] | None = None) -> str:
    """The ``dvc.yaml`` that DVC reads: every file's stages (each under its file's leading comment), then the plots."""
    files = pipeline_files() if files is None else files
    stages, plots = [], []
    for path in files:
        comment, sections = _sections(path.read_text())
        unknown = set(sections) - {"stages", "plots"}
        if unknown or "stages" not in sections:
            raise ValueError(f"{path}: a pipeline file holds 'stages:' (and 'plots:'), not {', '.join(sorted(unknown)) or 'nothing'}")
        lead = "".join(f"  {line}" if line.strip() else line for line in comment.splitlines(keepends=True))
        stages.append(f"  # ---- {path.as_posix()} ----\n{lead}{sections['stages'].rstrip()}\n")
        plots += [sections["plots"].rstrip() + "\n"] if "plots" in sections else []
    header = HEADER.format(files=f"{SHARED.as_posix()} and src/faceleak/systems/*/pipeline.yaml")
    return header + "stages:\n" + "\n".join(stages) + ("\nplots:\n" + "".join(plots) if plots else "")


def _lock_stages(text: str) -> dict[str, dict]:
    return yaml.safe_load(text)["stages"]


def compare(stages: list[str], against: str) -> list[str]:
    """Each output of ``stages`` in the workspace's ``dvc.lock`` against the ``against`` commit's: a line per output,
    ``identical`` or ``DIFFERS`` (files and folders alike, by DVC's md5)."""
    before = _lock_stages(subprocess.run(["git", "show", f"{against}:{DVC_LOCK}"], capture_output=True, text=True, check=True).stdout)
    now = _lock_stages(DVC_LOCK.read_text())
    lines = []
    for stage in stages:
        old = {out["path"]: out.get("md5") for out in before.get(stage, {}).get("outs", [])}
        for out in now[stage].get("outs", []):
            verdict = "identical" if old.get(out["path"]) == out.get("md5") else "DIFFERS"
            lines.append(f"{stage}: {out['path']} {verdict}")
    return lines


def _take_md5(entry: dict) -> None:
    content = Path(entry["path"]).read_bytes()
    entry["md5"], entry["size"] = md5(content).hexdigest(), len(content)


def record(stages: list[str], outputs: bool = False) -> None:
    """``dvc commit -f`` for a code change where the outputs are not on this machine: each stage's manifest
    dependency in ``dvc.lock`` takes the manifest's md5 now (run the ``code`` stage first); with ``outputs``,
    so does each output file that is here (rewritten in place as the changed code writes it). Nothing else changes."""
    handler = YAML()
    handler.width, handler.preserve_quotes = 4096, True
    handler.indent(mapping=2, sequence=2, offset=0)
    lock = handler.load(DVC_LOCK.read_text())
    for stage in stages:
        deps = [dep for dep in lock["stages"][stage]["deps"] if dep["path"].startswith(f"{MANIFESTS.as_posix()}/")]
        if not deps:
            raise SystemExit(f"faceleak: error: {stage} has no manifest dependency in {DVC_LOCK}; run it once with dvc repro")
        for entry in deps + [out for out in lock["stages"][stage].get("outs", []) if outputs and Path(out["path"]).is_file()]:
            _take_md5(entry)
    with atomic_path(DVC_LOCK) as temporary, temporary.open("w") as handle:
        handler.dump(lock, handle)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faceleak.pipeline", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("assemble", help="rewrite dvc.yaml from the pipeline files, and the code manifests")
    compared = commands.add_parser("compare", help="outputs of STAGEs in dvc.lock against a commit's")
    compared.add_argument("--against", default="HEAD")
    compared.add_argument("stages", nargs="+")
    recorded = commands.add_parser("record", help="record a code change of STAGEs whose outputs are not here")
    recorded.add_argument("--outputs", action="store_true", help="also each output file here, rewritten in place as the changed code writes it")
    recorded.add_argument("stages", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "assemble":
        write_manifests()
        with atomic_path(DVC_YAML) as temporary:
            temporary.write_text(assemble())
        return 0
    if args.command == "compare":
        lines = compare(args.stages, args.against)
        print("\n".join(lines))
        return int(any(line.endswith("DIFFERS") for line in lines))
    record(args.stages, args.outputs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
