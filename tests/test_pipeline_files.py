"""The pipeline tools on small files: assembling dvc.yaml from pipeline files, comparing outputs with a commit's
dvc.lock, recording a code change without the outputs, and the code manifests."""

import hashlib
import subprocess
from pathlib import Path

import pytest
import yaml

from faceleak import pipeline
from faceleak.code_manifest import manifest, write_manifests

LOCK = """schema: '2.0'
stages:
  first:
    cmd: bin/python stages/first.py
    deps:
    - path: data/in.txt
      hash: md5
      md5: c0ffee
      size: 3
    - path: manifests/first.md5
      hash: md5
      md5: old
      size: 1
    outs:
    - path: data/out.txt
      hash: md5
      md5: {out}
      size: 4
"""


def test_assemble_joins_the_stages_under_each_files_comment_and_the_plots_last(tmp_path):
    shared, system = tmp_path / "shared.yaml", tmp_path / "system.yaml"
    shared.write_text("# Shared stages.\nstages:\n  code:\n    cmd: bin/python stages/code.py\n\nplots:\n  - plots/a.png\n")
    system.write_text("# System x.\n# Its second line.\nstages:\n  x_one:\n    cmd: bin/python stages/x_one.py\n")
    text = pipeline.assemble([shared, system])
    assert list(yaml.safe_load(text)["stages"]) == ["code", "x_one"] and yaml.safe_load(text)["plots"] == ["plots/a.png"]
    assert "  # System x.\n  # Its second line.\n  x_one:" in text and text.index("x_one") < text.index("plots:")


def test_assemble_refuses_a_file_with_other_top_level_keys(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("vars:\n  - a.yaml\nstages:\n  x:\n    cmd: true\n")
    with pytest.raises(ValueError, match="bad.yaml: a pipeline file holds 'stages:'"):
        pipeline.assemble([bad])


def test_compare_reads_outputs_against_a_commit_and_record_touches_only_manifests(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q"], check=True)
    Path("dvc.lock").write_text(LOCK.format(out="aaaa"))
    subprocess.run([*git, "add", "dvc.lock"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    assert pipeline.compare(["first"], "HEAD") == ["first: data/out.txt identical"]
    Path("dvc.lock").write_text(LOCK.format(out="bbbb"))
    assert pipeline.compare(["first"], "HEAD") == ["first: data/out.txt DIFFERS"]

    Path("manifests").mkdir()
    Path("manifests/first.md5").write_text("new manifest\n")
    pipeline.record(["first"])
    entry = yaml.safe_load(Path("dvc.lock").read_text())["stages"]["first"]
    assert entry["deps"][1] == {"path": "manifests/first.md5", "hash": "md5", "md5": hashlib.md5(b"new manifest\n").hexdigest(), "size": 13}
    assert entry["deps"][0]["md5"] == "c0ffee" and entry["outs"][0]["md5"] == "bbbb"

    Path("data").mkdir()
    Path("data/out.txt").write_text("patched\n")
    pipeline.record(["first"], outputs=True)
    entry = yaml.safe_load(Path("dvc.lock").read_text())["stages"]["first"]
    assert entry["outs"][0]["md5"] == hashlib.md5(b"patched\n").hexdigest() and entry["deps"][0]["md5"] == "c0ffee"


def test_manifests_follow_imports_and_drop_scripts_that_are_gone(tmp_path):
    source, stages, folder = tmp_path / "src", tmp_path / "stages", tmp_path / "manifests"
    (source / "faceleak").mkdir(parents=True)
    (source / "faceleak/__init__.py").write_text("")
    (source / "faceleak/used.py").write_text("from faceleak import deeper\n")
    (source / "faceleak/deeper.py").write_text("X = 1\n")
    (source / "faceleak/unused.py").write_text("")
    stages.mkdir()
    (stages / "one.py").write_text("from faceleak.used import thing\n")
    folder.mkdir()
    (folder / "gone.md5").write_text("")
    assert [path.name for path in write_manifests(stages, source, folder)] == ["one.md5"]
    listed = [line.split("  ")[1] for line in (folder / "one.md5").read_text().splitlines()]
    assert [Path(path).name for path in listed] == ["one.py", "__init__.py", "deeper.py", "used.py"]
    assert not (folder / "gone.md5").exists() and (folder / "one.md5").read_text() == manifest(stages / "one.py", source)
