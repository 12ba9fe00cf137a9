"""faceleak-cloak on a folder: grey LFW and colour MFR2 photos are cloaked in the mid mode at full resolution, every face
keeping the SSIM floor, upright and without metadata, a GIF written as PNG, each with its SSIM; a photo with no face, a corrupt file, a file that
is no photo and an output that exists already are reported by name; the originals are never written over;
and the run ends with a one-line summary."""

import stat
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceleak.io import save_weights
from faceleak.models.facenet import convert_opencv_graph
from faceleak.models.mobilefacenet import convert_tflite
from faceleak.vendor import vendored_file
from faceleak.cli import new_file_mode
from faceleak.data.images import BadImageError
from faceleak.systems.cloak import tool
from faceleak.defenses.cloak import CloakSettings
from faceleak.systems.cloak.tool import in_steps, main, output_path, read_photo, write_photo
from tests.conftest import PROJECT

MID_EPSILON, MID_FLOOR = 12, 0.95
PARAMS = str(PROJECT / "params.yaml")  # given explicitly, as a person may


@pytest.fixture(scope="module")
def surrogates_dir(tmp_path_factory) -> Path:
    """The weights of params.yaml's surrogates (FaceNet and MobileFaceNet), as the weights stage writes them."""
    folder = tmp_path_factory.mktemp("models")
    save_weights(folder / "facenet.pt", convert_opencv_graph())
    save_weights(folder / "mobilefacenet.pt", convert_tflite(vendored_file("MobileFaceNet.tflite")))
    return folder


@pytest.fixture
def photos(tmp_path, lfw_sample, mfr2_root) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.open(mfr2_root / "mfr2" / "AdrianDunbar" / "AdrianDunbar_0001.png").convert("RGB").save(folder / "Adrian_Dunbar.jpg", quality=95)  # colour
    (folder / "Aaron_Peirsol_0001.jpg").write_bytes((lfw_sample / "Aaron_Peirsol" / "Aaron_Peirsol_0001.jpg").read_bytes())
    Image.open(lfw_sample / "Abel_Pacheco" / "Abel_Pacheco_0001.jpg").save(folder / "Abel_Pacheco_0001.png")  # lossless: the bound is exact
    Image.fromarray(np.full((120, 90, 3), 200, np.uint8)).save(folder / "wall.png")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    (folder / "notes.txt").write_text("not a photo")
    return folder


def test_cloak_command_on_a_folder(photos, tmp_path, surrogates_dir, capsys):
    out = tmp_path / "out"
    before = {path.name: path.read_bytes() for path in photos.iterdir()}
    status = main([str(photos), str(out), "--mode", "mid", "--steps", "2", "--params", PARAMS, "--models", str(surrogates_dir)])
    captured = capsys.readouterr()
    assert status == 1  # some photos could not be cloaked
    assert {path.name: path.read_bytes() for path in photos.iterdir()} == before  # the originals untouched
    assert sorted(path.name for path in out.iterdir()) == ["Aaron_Peirsol_0001.jpg", "Abel_Pacheco_0001.png", "Adrian_Dunbar.jpg"]
    summary = captured.out.strip().splitlines()[-1]
    assert summary.startswith("faceleak-cloak: 3 photo(s) cloaked") and "no face: 1 (wall.png)" in summary and "unreadable: 1 (broken.jpg)" in summary
    assert "skipped: 1 (notes.txt)" in summary and "notes.txt is not a photo" in captured.err
    assert "broken.jpg is corrupt or unreadable" in captured.err
    assert "Abel_Pacheco_0001.png: 1 face(s), SSIM 0.9" in captured.out
    for name in ("Aaron_Peirsol_0001.jpg", "Abel_Pacheco_0001.png", "Adrian_Dunbar.jpg"):
        original, cloaked = read_photo(photos / name), read_photo(out / name)
        assert cloaked.shape == original.shape  # full resolution, grey stays grey, colour stays colour
        assert np.abs(cloaked.astype(int) - original.astype(int)).mean() > 0.2  # the face region changed (2 attack steps here)
        assert stat.S_IMODE((out / name).stat().st_mode) == new_file_mode()  # a new file of the user's, not 0600
    lossless = np.abs(read_photo(out / "Abel_Pacheco_0001.png").astype(int) - read_photo(photos / "Abel_Pacheco_0001.png").astype(int))
    assert lossless.max() <= MID_EPSILON
    for line in captured.out.splitlines():  # the floor holds on each face as written, JPEG included
        if " face(s), SSIM " in line:
            assert float(line.split("SSIM ")[1].split()[0]) >= MID_FLOOR
    again = main([str(photos), str(out), "--mode", "mid", "--params", PARAMS, "--models", str(surrogates_dir)])
    assert again == 1 and "exists; not written over (add --force" in capsys.readouterr().err


def test_cloak_command_refuses_the_photo_folder_as_destination(photos, surrogates_dir, capsys):
    before = {path.name: path.read_bytes() for path in photos.iterdir()}
    assert main([str(photos), str(photos / "." ), "--params", PARAMS, "--models", str(surrogates_dir)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is the photo folder; choose another folder" in err[0]
    assert {path.name: path.read_bytes() for path in photos.iterdir()} == before


def test_fewer_steps_travel_as_far():
    settings = CloakSettings(epsilon=12, steps=20, step_fraction=0.1, momentum=1.0, diversity=0.7, scale=(0.9, 1.1), shift=0.05, noise=4.0, draws=2)
    fewer = in_steps(settings, 8)
    assert fewer.steps == 8 and fewer.step_fraction == pytest.approx(0.25) and replace(fewer, steps=20, step_fraction=0.1) == settings
    assert in_steps(settings, 1).step_fraction == 1.0  # never past the whole budget in one step


def test_cloak_command_refuses_a_step_count_below_one(photos, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([str(photos), str(tmp_path / "out"), "--steps", "0"])
    assert "argument --steps: '0' is not a whole number of at least 1" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_photos_are_read_upright_and_written_without_metadata(tmp_path, monkeypatch):
    wide = np.zeros((20, 40, 3), np.uint8)
    wide[:, :20] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees to view
    exif[0x8825] = {2: (1.0, 2.0, 3.0)}  # a GPS position
    Image.fromarray(wide).save(tmp_path / "turned.jpg", exif=exif, quality=100)
    photo = read_photo(tmp_path / "turned.jpg")
    assert photo.shape == (40, 20, 3)  # shown upright: 90 degrees turned
    write_photo(photo, tmp_path / "out.jpg")
    assert not Image.open(tmp_path / "out.jpg").getexif()
    assert output_path(Path("a/b.GIF"), Path("c")) == Path("c/b.png")
    monkeypatch.setattr(tool, "MAX_PIXELS", 100)
    with pytest.raises(BadImageError, match="has 40x20 pixels, above the"):
        read_photo(tmp_path / "turned.jpg")


def test_cloak_command_names_missing_weights_and_a_missing_folder(tmp_path, surrogates_dir, capsys):
    assert main([str(tmp_path / "nowhere"), str(tmp_path / "out"), "--params", PARAMS, "--models", str(tmp_path)]) == 1
    assert "facenet.pt do not exist" in capsys.readouterr().err
    assert main([str(tmp_path / "nowhere"), str(tmp_path / "out"), "--params", PARAMS, "--models", str(surrogates_dir)]) == 1
    assert "photo folder" in capsys.readouterr().err and not (tmp_path / "out").exists()
