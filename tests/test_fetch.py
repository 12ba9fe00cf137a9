import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from faceleak.data import fetch, mfr2
from faceleak.data.fetch import FetchError, RemoteFile


def _mirror(folder: Path, name: str, payload: bytes, checksum: str | None = None) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(payload)
    (folder / "SHA256SUMS").write_text(f"{checksum or fetch.sha256_of(folder / name)}  {name}\n")


def test_checksum_mismatch_is_an_error(tmp_path, monkeypatch):
    remote = RemoteFile("toy", "https://example.invalid/toy.zip", None, "toy.zip")
    _mirror(tmp_path / "mirror", "toy.zip", b"not what was listed", checksum="0" * 64)
    monkeypatch.setenv(fetch.MIRROR_ENV, str(tmp_path / "mirror"))
    with pytest.raises(FetchError, match="checksum mismatch"):
        fetch.fetch_file(remote, tmp_path / "cache")


def test_missing_mirror_file_names_the_url_and_the_variable(tmp_path, monkeypatch):
    (tmp_path / "mirror").mkdir()
    monkeypatch.setenv(fetch.MIRROR_ENV, str(tmp_path / "mirror"))
    with pytest.raises(FetchError) as error:
        fetch.fetch_dataset("mfr2", tmp_path / "out", tmp_path / "cache")
    assert fetch.MIRROR_ENV in str(error.value) and fetch.REMOTE_FILES["mfr2"].url in str(error.value)
    assert not (tmp_path / "out").exists()


def test_zip_member_escaping_its_folder_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("fine.txt", "ok")
        bundle.writestr("../escaped.txt", "pwned")
    with pytest.raises(FetchError, match="escapes"):
        fetch.safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out.*")), "a half-written extraction folder was left behind"


def test_tar_absolute_member_is_refused(tmp_path):
    archive = tmp_path / "evil.tgz"
    with tarfile.open(archive, "w:gz") as bundle:
        info = tarfile.TarInfo("/tmp/absolute.txt")
        info.size = 2
        bundle.addfile(info, io.BytesIO(b"no"))
    with pytest.raises(FetchError, match="escapes"):
        fetch.safe_extract(archive, tmp_path / "out")


def test_unreachable_url_fails_fast_with_the_mirror_hint(tmp_path, monkeypatch):
    monkeypatch.delenv(fetch.MIRROR_ENV, raising=False)
    remote = RemoteFile("toy", "http://127.0.0.1:9/toy.zip", None, "toy.zip")
    with pytest.raises(FetchError, match=fetch.MIRROR_ENV):
        fetch.fetch_file(remote, tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*"))


def test_mfr2_from_the_mirror_is_complete(mfr2_root):
    counts = mfr2.validate(mfr2_root)
    assert counts == {"images": 269, "identities": 53, "unmasked": 98, "masked": 171}


def test_incomplete_mfr2_is_named(tmp_path, mfr2_root):
    root = tmp_path / "mfr2"
    root.mkdir()
    (root / "mfr2_labels.txt").write_text((mfr2.find_root(mfr2_root) / "mfr2_labels.txt").read_text())
    (root / "pairs.txt").write_text("")
    with pytest.raises(mfr2.MFR2Error, match="missing"):
        mfr2.validate(tmp_path)
