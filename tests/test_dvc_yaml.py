"""dvc.yaml against the code: every stage declares the package modules its script imports (so a code
change reruns it), follows the layout rule, and runs without an activated environment."""

import ast
import re
from pathlib import Path

import yaml

from tests.conftest import PROJECT

SOURCE = PROJECT / "src"
SYSTEMS = ("spine", "openset", "model_inversion", "verification", "cloak", "encryption", "audit")
SHARED_STAGES = ("download", "weights", "lfw_faces", "lfw_dlib", "report")


def _module_file(module: str) -> Path | None:
    base = SOURCE.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names if alias.name.split(".")[0] == "faceleak"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "faceleak":
            modules.add(node.module)
            modules |= {f"{node.module}.{alias.name}" for alias in node.names if _module_file(f"{node.module}.{alias.name}")}
    return modules


def imported_sources(script: Path) -> list[str]:
    """Every package file a script runs when imported: its faceleak modules, transitively, and their packages' __init__."""
    seen: set[Path] = set()
    pending = [script]
    while pending:
        for module in _imported_modules(pending.pop()):
            parts = module.split(".")
            for depth in range(1, len(parts) + 1):
                found = _module_file(".".join(parts[:depth]))
                if found and found not in seen:
                    seen.add(found)
                    pending.append(found)
    return sorted(str(path.relative_to(PROJECT)) for path in seen)


def _stages() -> dict[str, dict]:
    stages = yaml.safe_load((PROJECT / "dvc.yaml").read_text())["stages"]
    return {name: stage.get("do", stage) for name, stage in stages.items()}


def _script(stage: dict) -> Path:
    return PROJECT / re.search(r"stages/\S+\.py", stage["cmd"])[0]


def test_stage_deps_follow_imports():
    for name, stage in _stages().items():
        script = _script(stage)
        declared = sorted(dep for dep in stage["deps"] if dep.startswith("src/"))
        assert declared == imported_sources(script), f"stage {name}: deps should list {imported_sources(script)}"
        assert str(script.relative_to(PROJECT)) in stage["deps"]


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
