"""faceleak-share on real photos: lock and unlock round-trip, and every bad input (a wrong key, tampered or
truncated shares, a photo without a face, an unreadable photo, an output over an input) is one line with a
non-zero exit and nothing written."""

import hashlib
import hmac
import json
import stat
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from faceleak.attacks.sparse_code import decode
from faceleak.defenses.sparse_sharing import scrambling
from faceleak.models.sparse_autoencoder import SparseAutoencoder, save_sparse_autoencoder
from faceleak.systems.encryption.params import load_encryption_params
from faceleak.systems.encryption.share_tool import DENSE_SHARES_FORMAT, PERMUTED_SHARES_FORMAT, compact, covered_bytes, face_of, main, read_shares
from faceleak.systems.encryption.steps import encode, model_faces, pixels
from tests.conftest import PROJECT

PARAMS = load_encryption_params(PROJECT / "params.yaml")


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    """An untrained autoencoder of the params' shape: the commands, not the model's quality, are under test."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "autoencoder.pt"
    save_sparse_autoencoder(SparseAutoencoder(PARAMS.model).eval(), path)
    return path


@pytest.fixture
def photo(tmp_path, lfw_sample) -> Path:
    path = tmp_path / "me.jpg"
    path.write_bytes((lfw_sample / "Aaron_Peirsol" / "Aaron_Peirsol_0001.jpg").read_bytes())
    return path


def _run(*arguments, model_path: Path) -> int:
    return main(["--model", str(model_path), *map(str, arguments)])


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("faceleak-share: error: "), err
    return err[0]


def test_lock_and_unlock_round_trip_a_real_photo(photo, tmp_path, model_path, capsys):
    shares, face = tmp_path / "me.shares", tmp_path / "face.png"
    assert _run("lock", photo, shares, model_path=model_path) == 0
    key = tmp_path / "me.shares.key"
    assert "shares written to" in capsys.readouterr().out
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(shares.stat().st_mode) & 0o044  # the key private, the shares not
    codes, _, _, _, stored_format = read_shares(shares)
    assert codes.shape == (PARAMS.codes, PARAMS.model.code_size) and ((codes != 0).sum(1) == PARAMS.model.k).all()
    assert stored_format == "faceleak-shares/3"
    with np.load(shares) as stored:  # compact: a 2-byte position and a float16 value per nonzero
        assert stored["positions"].nbytes + stored["values"].nbytes == PARAMS.codes * PARAMS.model.k * 4
    assert _run("unlock", shares, key, face, model_path=model_path) == 0
    from faceleak.models.sparse_autoencoder import load_sparse_autoencoder

    model = load_sparse_autoencoder(model_path)
    code = encode(model, model_faces(face_of(photo, PARAMS.lfw.face_size, PARAMS.lfw.margin), PARAMS.model.image_size))
    expected = pixels(decode(model, code.astype(np.float16).astype(np.float32)))  # the values as the shares store them
    assert np.array_equal(np.asarray(Image.open(face)), expected[0, ..., 0])


def test_shares_of_the_earlier_formats_still_unlock(photo, tmp_path, model_path):
    shares, key = tmp_path / "me.shares", tmp_path / "me.shares.key"
    assert _run("lock", photo, shares, model_path=model_path) == 0
    assert _run("unlock", shares, key, tmp_path / "new.png", model_path=model_path) == 0
    codes, model_sha, _, _, _ = read_shares(shares)
    stored_key = json.loads(key.read_text())
    order, signs = scrambling(int(stored_key["seed"]), codes.shape[1])
    permuted_only = codes * signs[order]  # as the formats before sign flips published the same codes
    secret = bytes.fromhex(stored_key["secret"])
    for name, fields in {"dense": {"format": DENSE_SHARES_FORMAT, "codes": permuted_only}, "permuted": {"format": PERMUTED_SHARES_FORMAT, **compact(permuted_only)}}.items():
        fields["model"] = model_sha
        payload = covered_bytes(fields)
        with open(tmp_path / f"{name}.shares", "wb") as handle:
            np.savez(handle, **fields, checksum=hashlib.sha256(payload).hexdigest(), tag=hmac.new(secret, payload, hashlib.sha256).hexdigest())
        assert _run("unlock", tmp_path / f"{name}.shares", key, tmp_path / f"{name}.png", model_path=model_path) == 0
        assert np.array_equal(np.asarray(Image.open(tmp_path / f"{name}.png")), np.asarray(Image.open(tmp_path / "new.png"))), name


def test_a_colour_photo_locks(mfr2_root, tmp_path, model_path):
    colour = next(path for path in sorted(mfr2_root.rglob("*.png")) + sorted(mfr2_root.rglob("*.jpg")) if Image.open(path).mode == "RGB")
    assert _run("lock", colour, tmp_path / "c.shares", model_path=model_path) == 0
    assert _run("unlock", tmp_path / "c.shares", tmp_path / "c.shares.key", tmp_path / "c.png", model_path=model_path) == 0


def test_a_wrong_key_tampered_or_truncated_shares_are_refused(photo, tmp_path, model_path, capsys):
    for name in ("a", "b"):
        assert _run("lock", photo, tmp_path / f"{name}.shares", model_path=model_path) == 0
    capsys.readouterr()
    out = tmp_path / "face.png"
    assert _run("unlock", tmp_path / "a.shares", tmp_path / "b.shares.key", out, model_path=model_path) == 1
    assert "does not belong to the shares" in _one_error_line(capsys)
    data = bytearray((tmp_path / "a.shares").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "tampered.shares").write_bytes(bytes(data))
    (tmp_path / "truncated.shares").write_bytes(bytes(data[: len(data) // 3]))
    for bad in ("tampered", "truncated"):
        assert _run("unlock", tmp_path / f"{bad}.shares", tmp_path / "a.shares.key", out, model_path=model_path) == 1
        _one_error_line(capsys)
    (tmp_path / "notes.txt").write_text("not a key")
    assert _run("unlock", tmp_path / "a.shares", tmp_path / "notes.txt", out, model_path=model_path) == 1
    assert "is not a faceleak-share key file" in _one_error_line(capsys)
    assert not out.exists()


def test_bad_photos_and_outputs_over_inputs_are_refused(photo, tmp_path, model_path, capsys):
    wall, broken = tmp_path / "wall.png", tmp_path / "broken.jpg"
    Image.fromarray(np.full((120, 90, 3), 200, np.uint8)).save(wall)
    broken.write_bytes(b"not a jpeg")
    assert _run("lock", wall, tmp_path / "w.shares", model_path=model_path) == 1
    assert "no face found in" in _one_error_line(capsys)
    assert _run("lock", broken, tmp_path / "b.shares", model_path=model_path) == 1
    assert "corrupt or unreadable" in _one_error_line(capsys)
    before = photo.read_bytes()
    assert _run("lock", photo, photo, model_path=model_path) == 1
    assert "is the input" in _one_error_line(capsys)
    assert photo.read_bytes() == before
    assert _run("lock", photo, tmp_path / "me.shares", model_path=model_path) == 0
    capsys.readouterr()
    assert _run("lock", photo, tmp_path / "me.shares", model_path=model_path) == 1  # would lose the first key
    assert "already exists" in _one_error_line(capsys)
    assert _run("unlock", tmp_path / "me.shares", tmp_path / "me.shares.key", tmp_path / "me.shares", model_path=model_path) == 1
    _one_error_line(capsys)
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind
