"""The pipeline files against the code: dvc.yaml is assembled from them, every stage depends on the current manifest
of the code its script imports (so a code change reruns it, and only it), each system's stages sit in its own short
file, follow the layout rule, and run without an activated environment."""

import ast
import re
from pathlib import Path

import pytest
import yaml

from faceleak.code_manifest import MANIFESTS, manifest, manifest_path
from faceleak.pipeline import SYSTEMS, assemble, pipeline_files
from tests.conftest import PROJECT

SHARED_STAGES = ("code", "download", "weights", "lfw_faces", "lfw_dlib", "report")


@pytest.fixture(autouse=True)
def _at_the_project(monkeypatch):
    monkeypatch.chdir(PROJECT)


def _stages() -> dict[str, dict]:
    stages = yaml.safe_load((PROJECT / "dvc.yaml").read_text())["stages"]
    return {name: stage.get("do", stage) for name, stage in stages.items()}


def _script(stage: dict) -> Path:
    return Path(re.search(r"stages/\S+\.py", stage["cmd"])[0])


def test_dvc_yaml_is_assembled_from_the_pipeline_files():
    assert (PROJECT / "dvc.yaml").read_text() == assemble(), "run: .venv/bin/python -m faceleak.pipeline assemble"


def test_each_system_reads_on_one_screen():
    for path in pipeline_files():
        system = path.parent.name if path.parent.name in SYSTEMS else None
        names = yaml.safe_load(path.read_text())["stages"]
        assert len(path.read_text().splitlines()) <= 400, f"{path} is longer than 400 lines"
        assert all(name.startswith(f"{system}_") if system else name in SHARED_STAGES for name in names), f"{path}: {list(names)}"


def test_stages_depend_on_their_current_code_manifest_and_list_no_code():
    for name, stage in _stages().items():
        if name == "code":
            continue
        script = _script(stage)
        assert manifest_path(script).as_posix() in stage["deps"], f"stage {name} does not depend on {manifest_path(script)}"
        assert not [dep for dep in stage["deps"] if dep.startswith(("src/", "stages/"))], f"stage {name} lists code: its manifest covers it"
    for script in sorted(Path("stages").glob("*.py")):
        assert manifest_path(script).read_text() == manifest(script), f"{manifest_path(script)} is stale: run dvc repro code"
    assert {path.stem for path in MANIFESTS.glob("*.md5")} == {script.stem for script in Path("stages").glob("*.py")}


def test_a_manifest_lists_the_script_and_every_module_it_imports():
    files = [line.split("  ")[1] for line in manifest(Path("stages/openset_train.py")).splitlines()]
    assert files[0] == "stages/openset_train.py"
    assert {"src/faceleak/__init__.py", "src/faceleak/systems/openset/steps.py", "src/faceleak/attacks/embedding_inversion.py"} <= set(files)
    assert "src/faceleak/systems/cloak/steps.py" not in files


def test_stages_follow_the_layout_rule():
    for name, stage in _stages().items():
        script = _script(stage)
        assert script.stem == name, f"stage {name} runs {script.name}"
        system = next((system for system in SYSTEMS if name.startswith(f"{system}_")), None)
        assert system or name in SHARED_STAGES, f"stage {name} belongs to no system"


def test_stage_commands_need_no_activated_environment():
    for name, stage in _stages().items():
        assert stage["cmd"].startswith("bin/python "), f"stage {name}: {stage['cmd']}"


def test_stages_that_run_facenet_depend_on_its_engine():
    for name, stage in _stages().items():
        if "params.weights.engine" in _script(stage).read_text():
            assert "weights.engine" in stage["params"], f"stage {name} runs FaceNet but does not declare weights.engine"


def _params_loader(script: Path):
    """The params loader a stage script hands to ``start`` (the shared loader when it names none)."""
    import importlib

    from faceleak.params import load_shared_params

    call = next(
        node for node in ast.walk(ast.parse(script.read_text()))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "start"
    )
    if not call.args:
        return load_shared_params
    name = call.args[0].id
    imports = [node for node in ast.walk(ast.parse(script.read_text())) if isinstance(node, ast.ImportFrom)]
    module = next(node.module for node in imports if name in {alias.name for alias in node.names})
    return getattr(importlib.import_module(module), name)


def _attribute_chains(script: Path) -> set[tuple[str, ...]]:
    """Every ``params.a.b...`` a script reads."""
    chains = set()
    for node in ast.walk(ast.parse(script.read_text())):
        names: list[str] = []
        while isinstance(node, ast.Attribute):
            names.insert(0, node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id == "params" and names:
            chains.add(tuple(names))
    return chains


def test_stage_scripts_read_only_params_their_loader_gives():
    for script in sorted((PROJECT / "stages").glob("*.py")):
        params = _params_loader(script)(PROJECT / "params.yaml")
        chains = _attribute_chains(script)
        assert not chains or "params = start(" in script.read_text(), f"{script.name} reads params without `params = start(...)`"
        for chain in chains:
            value = params
            for name in chain:
                assert hasattr(value, name), f"{script.name} reads params.{'.'.join(chain)}, which its loader does not give"
                value = getattr(value, name)
