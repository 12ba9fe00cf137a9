"""The device choice (``device: auto | cpu | cuda``) and stage scripts' tool-like errors."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
import yaml

from faceleak import device
from faceleak.device import DeviceUnavailable, EngineUnavailable, active_device, bf16_native, resolve_device, resolve_engine, use_device
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


def _fake_cpu(monkeypatch: pytest.MonkeyPatch, kernels: str, avx512_bf16: bool, amx: bool = False) -> None:
    monkeypatch.setattr(device.torch.backends.cpu, "get_cpu_capability", lambda: kernels)
    monkeypatch.setattr(device.torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(device.torch.cpu, "_is_amx_tile_supported", lambda: amx)


@pytest.mark.parametrize(("kernels", "avx512_bf16", "amx", "engine"), [
    ("AVX512", True, False, "bf16"),   # AVX-512 BF16 (the project's AMD EPYC)
    ("AVX512", False, True, "bf16"),   # AMX (Sapphire Rapids and newer)
    ("AVX512", False, False, "fp32"),  # AVX-512 without bf16 units: emulated
    ("AVX2", False, False, "fp32"),    # most laptops and many cloud CPUs
    ("AVX2", True, False, "fp32"),     # torch held to AVX2 kernels (ATEN_CPU_CAPABILITY=avx2): emulated
])
def test_auto_picks_bf16_only_where_the_cpu_runs_it_natively(monkeypatch, kernels, avx512_bf16, amx, engine):
    _fake_cpu(monkeypatch, kernels, avx512_bf16, amx)
    cpu = torch.device("cpu")
    assert bf16_native(cpu) == (engine == "bf16")
    assert resolve_engine("auto", cpu, "encryption.engine") == engine
    assert resolve_engine("fp32", cpu, "encryption.engine") == "fp32"


def test_explicit_bf16_on_a_cpu_without_it_is_refused_in_one_line(monkeypatch):
    _fake_cpu(monkeypatch, "AVX2", avx512_bf16=False)
    with pytest.raises(EngineUnavailable, match="'openset.surrogate_engine' = 'bf16' is about 15x slower than fp32 here") as error:
        resolve_engine("bf16", torch.device("cpu"), "openset.surrogate_engine")
    assert "\n" not in str(error.value) and "auto or fp32" in str(error.value)
    _fake_cpu(monkeypatch, "AVX512", avx512_bf16=True)
    assert resolve_engine("bf16", torch.device("cpu"), "openset.surrogate_engine") == "bf16"


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


def test_bf16_asked_for_on_an_avx2_cpu_is_one_line(tmp_path):
    """torch held to its AVX2 kernels (as on an AVX2 CPU) runs bf16 emulated: the stage refuses it before any work."""
    params = _params()
    params["encryption"]["engine"] = "bf16"
    result = _run_stage(tmp_path, params, "encryption_train.py", env={"ATEN_CPU_CAPABILITY": "avx2"})
    _assert_one_line_error(result, "'encryption.engine' = 'bf16'", "slower than fp32", "auto or fp32")


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
