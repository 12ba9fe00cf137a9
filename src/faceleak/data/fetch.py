"""Fetch a dataset archive from its public URL or a local mirror, verify it, extract it safely.

A mirror is a folder named by the environment variable ``FACELEAK_MIRROR`` holding the same files and
a ``SHA256SUMS`` list; every file taken from it must be listed there and match. Files taken from
the public URL are checked against the known sha256 where one is known, and by their contents.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from faceleak.errors import FaceleakError
from faceleak.io import atomic_directory, atomic_path

log = logging.getLogger(__name__)

MIRROR_ENV = "FACELEAK_MIRROR"
CHUNK = 1 << 20


class FetchError(FaceleakError, RuntimeError):
    """A dataset could not be fetched, verified or extracted."""


@dataclass(frozen=True)
class RemoteFile:
    """A public dataset file and the name of its copy in a mirror folder."""

    name: str
    url: str
    url_sha256: str | None
    mirror_name: str


REMOTE_FILES = {
    "mfr2": RemoteFile(
        name="mfr2",
        url="https://drive.google.com/uc?export=download&confirm=t&id=1ukk0n_srRqcsotK2MjlFPj7L0sXcR2fH",
        url_sha256=None,
        mirror_name="mfr2.zip",
    ),
    "lfw": RemoteFile(
        name="lfw",
        url="https://ndownloader.figshare.com/files/5976015",
        url_sha256="b47c8422c8cded889dc5a13418c4bc2abbda121092b3533a83306f90d900100a",
        mirror_name="lfw-funneled-gray.tgz",
    ),
    "lfw_pairs": RemoteFile(
        name="lfw_pairs",
        url="https://ndownloader.figshare.com/files/5976006",
        url_sha256="ea42330c62c92989f9d7c03237ed5d591365e89b3e649747777b70e692dc1592",
        mirror_name="lfw-pairs.txt",
    ),
    "lfw_dev_train": RemoteFile(
        name="lfw_dev_train",
        url="https://ndownloader.figshare.com/files/5976012",
        url_sha256="1d454dada7dfeca0e7eab6f65dc4e97a6312d44cf142207be28d688be92aabfa",
        mirror_name="lfw-pairsDevTrain.txt",
    ),
    "lfw_dev_test": RemoteFile(
        name="lfw_dev_test",
        url="https://ndownloader.figshare.com/files/5976009",
        url_sha256="7cb06600ea8b2814ac26e946201cdb304296262aad67d046a16a7ec85d0ff87c",
        mirror_name="lfw-pairsDevTest.txt",
    ),
    "orl": RemoteFile(
        name="orl",
        url="https://www.cl.cam.ac.uk/Research/DTG/attarchive/pub/data/att_faces.zip",
        url_sha256=None,
        mirror_name="orl_faces.zip",
    ),
}


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_checksum(path: Path, expected: str) -> None:
    """Raise :class:`FetchError` if ``path``'s sha256 is not ``expected``."""
    actual = sha256_of(path)
    if actual != expected.lower():
        raise FetchError(
            f"checksum mismatch for {path}: expected sha256 {expected}, got {actual}; the file is corrupt or "
            "another release: replace it with the published file (delete it and run the download stage again)"
        )


def _mirror_checksums(mirror: Path) -> dict[str, str]:
    sums = mirror / "SHA256SUMS"
    if not sums.is_file():
        raise FetchError(
            f"mirror folder {mirror} (from ${MIRROR_ENV}) has no SHA256SUMS file; point ${MIRROR_ENV} at the "
            "mirror's folder, or write one there with `sha256sum * > SHA256SUMS`"
        )
    checksums = {}
    for line in sums.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            checksums[name.lstrip("*")] = digest
    return checksums


def _from_mirror(remote: RemoteFile, mirror: Path) -> tuple[Path, str]:
    source = mirror / remote.mirror_name
    if not source.is_file():
        raise FetchError(
            f"{remote.mirror_name} is not in the mirror folder {mirror} (set by ${MIRROR_ENV}); "
            f"put it there, or unset {MIRROR_ENV} to download it from {remote.url}"
        )
    expected = _mirror_checksums(mirror).get(remote.mirror_name)
    if expected is None:
        raise FetchError(f"{remote.mirror_name} is not listed in {mirror / 'SHA256SUMS'}; add its sha256 line there")
    verify_checksum(source, expected)
    return source, expected


def _download(remote: RemoteFile, target: Path, timeout_s: float = 30.0) -> None:
    import requests

    try:
        with requests.get(remote.url, stream=True, timeout=timeout_s) as response:
            response.raise_for_status()
            total = int(response.headers.get("content-length", 0)) or None
            with target.open("wb") as handle, tqdm(total=total, unit="B", unit_scale=True, desc=remote.name) as bar:
                for chunk in response.iter_content(CHUNK):
                    handle.write(chunk)
                    bar.update(len(chunk))
    except requests.RequestException as error:
        raise FetchError(
            f"could not download {remote.name} from {remote.url} ({error}); "
            f"offline, point ${MIRROR_ENV} at a folder holding {remote.mirror_name} and SHA256SUMS"
        ) from error


def fetch_file(remote: RemoteFile, cache_dir: Path) -> tuple[Path, str]:
    """Return a verified local copy of ``remote`` and its sha256: from the mirror if set, else the URL."""
    mirror = os.environ.get(MIRROR_ENV)
    if mirror:
        return _from_mirror(remote, Path(mirror).expanduser())
    target = cache_dir / remote.mirror_name
    if not target.is_file():
        with atomic_path(target) as temporary:
            _download(remote, temporary)
            if remote.url_sha256:
                verify_checksum(temporary, remote.url_sha256)
    elif remote.url_sha256:
        verify_checksum(target, remote.url_sha256)
    return target, sha256_of(target)


def safe_member_path(root: Path, name: str) -> Path:
    """Where archive member ``name`` lands under ``root``; :class:`FetchError` if it would leave ``root``."""
    member = PurePosixPath(name)
    if member.is_absolute() or ".." in member.parts:
        raise FetchError(f"archive member {name!r} escapes the extraction folder; refusing to extract")
    destination = (root / member).resolve()
    if not destination.is_relative_to(root.resolve()):
        raise FetchError(f"archive member {name!r} escapes the extraction folder; refusing to extract")
    return destination


def _extract_zip(archive: Path, root: Path) -> None:
    with zipfile.ZipFile(archive) as bundle:
        members = bundle.infolist()
        for member in members:
            safe_member_path(root, member.filename)
            if (member.external_attr >> 16) & 0o170000 == 0o120000:
                raise FetchError(f"archive member {member.filename!r} is a symbolic link; refusing to extract")
        for member in tqdm(members, desc=f"extract {archive.name}", leave=False):
            bundle.extract(member, root)


def _extract_tar(archive: Path, root: Path) -> None:
    with tarfile.open(archive) as bundle:
        members = bundle.getmembers()
        for member in members:
            safe_member_path(root, member.name)
            if not (member.isfile() or member.isdir()):
                raise FetchError(f"archive member {member.name!r} is not a plain file or folder; refusing to extract")
        bundle.extractall(root, members=members, filter="data")


def safe_extract(archive: Path, destination: Path) -> None:
    """Extract a zip or tar archive into ``destination`` atomically, refusing members that escape it."""
    with atomic_directory(destination) as temporary:
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, temporary)
        elif tarfile.is_tarfile(archive):
            _extract_tar(archive, temporary)
        else:
            raise FetchError(f"{archive} is neither a zip nor a tar archive")


def fetch_dataset(name: str, destination: Path, cache_dir: Path) -> dict[str, str]:
    """Fetch dataset ``name`` into ``destination`` (extracted, or copied if not an archive).

    Returns provenance: source (mirror or URL) and sha256.
    """
    if name not in REMOTE_FILES:
        raise FetchError(f"unknown dataset {name!r}; known: {', '.join(REMOTE_FILES)}")
    remote = REMOTE_FILES[name]
    local, digest = fetch_file(remote, cache_dir)
    if zipfile.is_zipfile(local) or tarfile.is_tarfile(local):
        safe_extract(local, destination)
    else:
        with atomic_directory(destination) as temporary:
            shutil.copyfile(local, temporary / remote.mirror_name)
    source = "mirror" if os.environ.get(MIRROR_ENV) else remote.url
    log.info("fetched %s from %s (sha256 %s)", name, source, digest)
    return {"dataset": name, "source": source, "file": remote.mirror_name, "sha256": digest}
