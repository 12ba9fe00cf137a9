"""faceleak-cloak on a folder: real LFW photos are cloaked within the budget at full resolution, a photo
with no face and a corrupt file are reported by name, and the run ends with a one-line summary."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from faceleak.io import save_weights
from faceleak.models.facenet import convert_opencv_graph
from faceleak.systems.cloak.tool import main, read_photo
from tests.conftest import PROJECT

EPSILON = 8


@pytest.fixture(scope="module")
def facenet_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    save_weights(folder / "facenet.pt", convert_opencv_graph())
    return folder


@pytest.fixture
def quick_params(tmp_path) -> Path:
    raw = yaml.safe_load((PROJECT / "params.yaml").read_text())
    raw["cloak"]["attack"]["steps"] = 2
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def photos(tmp_path, lfw_sample) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "Aaron_Peirsol_0001.jpg").write_bytes((lfw_sample / "Aaron_Peirsol" / "Aaron_Peirsol_0001.jpg").read_bytes())
    Image.open(lfw_sample / "Abel_Pacheco" / "Abel_Pacheco_0001.jpg").save(folder / "Abel_Pacheco_0001.png")  # lossless: the bound is exact
    Image.fromarray(np.full((120, 90, 3), 200, np.uint8)).save(folder / "wall.png")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    return folder


def test_cloak_command_on_a_folder(photos, tmp_path, facenet_dir, quick_params, capsys):
    out = tmp_path / "out"
    status = main([str(photos), str(out), "--epsilon", str(EPSILON), "--params", str(quick_params), "--models", str(facenet_dir)])
    captured = capsys.readouterr()
    assert status == 1  # some photos could not be cloaked
    assert sorted(path.name for path in out.iterdir()) == ["Aaron_Peirsol_0001.jpg", "Abel_Pacheco_0001.png"]
    summary = captured.out.strip().splitlines()[-1]
    assert summary.startswith("faceleak-cloak: 2 photo(s) cloaked") and "no face: 1 (wall.png)" in summary and "unreadable: 1 (broken.jpg)" in summary
    assert "broken.jpg is corrupt or unreadable" in captured.err
    for name in ("Aaron_Peirsol_0001.jpg", "Abel_Pacheco_0001.png"):
        original, cloaked = read_photo(photos / name), read_photo(out / name)
        assert cloaked.shape == original.shape  # full resolution, grey stays grey
        assert np.abs(cloaked.astype(int) - original.astype(int)).mean() > 0.5
    lossless = np.abs(read_photo(out / "Abel_Pacheco_0001.png").astype(int) - read_photo(photos / "Abel_Pacheco_0001.png").astype(int))
    assert lossless.max() <= EPSILON


def test_cloak_command_names_missing_weights_and_a_missing_folder(tmp_path, facenet_dir, quick_params, capsys):
    assert main([str(tmp_path / "nowhere"), str(tmp_path / "out"), "--params", str(quick_params), "--models", str(tmp_path)]) == 1
    assert "facenet.pt do not exist" in capsys.readouterr().err
    assert main([str(tmp_path / "nowhere"), str(tmp_path / "out"), "--params", str(quick_params), "--models", str(facenet_dir)]) == 1
    assert "photo folder" in capsys.readouterr().err and not (tmp_path / "out").exists()
