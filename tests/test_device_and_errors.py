"""The device choice (``device: auto | cpu | cuda``) and stage scripts' tool-like errors."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
import yaml

from faceleak.device import DeviceUnavailable, active_device, resolve_device, use_device
from faceleak.models.small_cnn import SmallCNN
from tests.conftest import PROJECT


def test_auto_picks_cuda_only_when_there_is_one():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_one_line_error():
    with pytest.raises(DeviceUnavailable, match="no CUDA GPU") as error:
        resolve_device("cuda")
    assert "\n" not in str(error.value)


def test_a_small_model_runs_on_the_chosen_device_as_on_the_cpu():
    """One training step of the SmallCNN on the active device ('auto') gives the CPU's result."""
    def one_step(device: torch.device) -> torch.Tensor:
        torch.manual_seed(0)
        model = SmallCNN(classes=3).to(device)
        faces = torch.rand(4, 1, 50, 37, generator=torch.Generator().manual_seed(1)).to(device)
        loss = torch.nn.functional.cross_entropy(model(faces), torch.tensor([0, 1, 2, 0], device=device))
        loss.backward()
        return torch.cat([p.grad.flatten() for p in model.parameters()]).cpu()

    chosen = use_device("auto")
    try:
        assert active_device() == chosen
        assert torch.allclose(one_step(chosen), one_step(torch.device("cpu")), atol=1e-4)
    finally:
        use_device("cpu")


def _params() -> dict:
    return yaml.safe_load((PROJECT / "params.yaml").read_text())


def _run_stage(tmp_path: Path, params: dict, *arguments: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``bin/python stages/<arguments>`` in an empty project folder holding ``params``."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    shutil.copytree(PROJECT / "stages", project / "stages")
    command = [str(PROJECT / "bin/python"), str(Path("stages") / arguments[0]), *arguments[1:]]
    return subprocess.run(command, cwd=project, env=os.environ | (env or {}), capture_output=True, text=True)


def _assert_one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert lines[-1].startswith("faceleak: error: ") and all(word in lines[-1] for word in words), result.stderr


def test_a_bad_param_is_one_line_naming_the_key(tmp_path):
    params = _params() | {"leakage": 2}
    _assert_one_line_error(_run_stage(tmp_path, params, "spine_leak.py"), "'leakage' = 2")


def test_cuda_asked_for_without_a_gpu_is_one_line(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    _assert_one_line_error(_run_stage(tmp_path, _params() | {"device": "cuda"}, "spine_leak.py"), "device: cuda")


def test_a_missing_input_names_the_stage_to_run(tmp_path):
    _assert_one_line_error(_run_stage(tmp_path, _params(), "spine_leak.py"), "faces.npz does not exist", "run the stage")


def test_a_checksum_mismatch_is_one_line(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "orl_faces.zip").write_bytes(b"not the ORL archive")
    (mirror / "SHA256SUMS").write_text(f"{'0' * 64}  orl_faces.zip\n")
    result = _run_stage(tmp_path, _params(), "download.py", "orl", env={"FACELEAK_MIRROR": str(mirror)})
    _assert_one_line_error(result, "checksum mismatch", "replace it")
    assert not (tmp_path / "project" / "data/raw/orl").exists()


def test_an_unexpected_error_keeps_its_traceback(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("from faceleak.stage import start\nstart()\n1 / 0\n")
    result = _run_stage(tmp_path, _params(), str(broken))
    assert result.returncode == 1 and "Traceback" in result.stderr and "ZeroDivisionError" in result.stderr
