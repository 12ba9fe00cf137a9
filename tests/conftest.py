"""Shared fixtures: offline settings and small real data from the mirror (../shared/datasets)."""

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")

PROJECT = Path(__file__).resolve().parents[1]
DEFAULT_MIRROR = PROJECT.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def mirror() -> Path:
    folder = Path(os.environ.get("FACELEAK_MIRROR", DEFAULT_MIRROR)).resolve()  # relative to where pytest runs
    if not (folder / "SHA256SUMS").is_file():
        pytest.fail(f"the data mirror {folder} is missing; set FACELEAK_MIRROR to the shared datasets folder")
    return folder


@pytest.fixture(scope="session")
def mfr2_root(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from faceleak.data.fetch import safe_extract

    destination = tmp_path_factory.mktemp("raw") / "mfr2"
    safe_extract(mirror / "mfr2.zip", destination)
    return destination


LFW_SAMPLE = ("Aaron_Peirsol_0001", "Aaron_Peirsol_0002", "Abel_Pacheco_0001", "Abel_Pacheco_0004")


@pytest.fixture(scope="session")
def lfw_sample(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few images of two people, taken from the mirror's LFW archive in LFW's own layout."""
    import tarfile

    root = tmp_path_factory.mktemp("lfw") / "lfw_funneled"
    wanted = {f"lfw_funneled/{name.rsplit('_', 1)[0]}/{name}.jpg" for name in LFW_SAMPLE}
    with tarfile.open(mirror / "lfw-funneled-gray.tgz") as archive:
        for member in archive:
            if member.name in wanted:
                archive.extract(member, root.parent, filter="data")
                wanted.discard(member.name)
                if not wanted:
                    break
    assert not wanted, f"missing from the LFW archive: {wanted}"
    return root


@pytest.fixture(scope="module")
def mfr2_unmasked(mfr2_root: Path) -> tuple[np.ndarray, np.ndarray]:
    """Six unmasked MFR2 images (160x160): three people, two each."""
    from faceleak.data.images import read_rgb
    from faceleak.data.mfr2 import load_faces

    faces = [face for face in load_faces(mfr2_root) if not face.masked][:6]
    assert len({face.identity for face in faces}) == 3
    return np.stack([read_rgb(face.path) for face in faces]), np.array([face.identity for face in faces])


def same_padding(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """TensorFlow SAME padding of NHWC ``x``: the total split with the extra pixel after (bottom/right)."""
    size = x.shape[1]
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return np.pad(x, ((0, 0), (total // 2, total - total // 2), (total // 2, total - total // 2), (0, 0)))
