import numpy as np
import pytest
from PIL import Image

from faceleak.data.images import BadImageError, read_images
from faceleak.io import atomic_path, write_json


def _png(path, value):
    Image.fromarray(np.full((10, 10, 3), value, np.uint8)).save(path)
    return path


def test_corrupt_image_is_named(tmp_path):
    good = _png(tmp_path / "good.png", 10)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG broken")
    with pytest.raises(BadImageError, match="bad.png"):
        read_images([good, bad], None, "error")


def test_skip_policy_counts_bad_images(tmp_path):
    good = _png(tmp_path / "good.png", 10)
    images, kept, skipped = read_images([tmp_path / "missing.png", good], 8, "skip")
    assert images.shape == (1, 8, 8, 3) and kept == [1] and len(skipped) == 1 and "missing.png" in skipped[0]


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_non_finite_metrics_become_null(tmp_path):
    write_json(tmp_path / "m.json", {"a": float("nan"), "b": np.float32(1.5)})
    assert (tmp_path / "m.json").read_text().split() == ["{", '"a":', "null,", '"b":', "1.5", "}"]


def test_saved_weights_are_byte_identical_whatever_the_temporary_name(tmp_path):
    import torch

    from faceleak.io import save_weights

    state = {"w": torch.arange(6.0).reshape(2, 3)}
    save_weights(tmp_path / "a.pt", state)
    save_weights(tmp_path / "a.pt", state)
    save_weights(tmp_path / "b.pt", state)
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    assert torch.equal(torch.load(tmp_path / "b.pt", weights_only=True)["w"], state["w"])


def test_npz_files_are_byte_identical_and_round_trip(tmp_path, monkeypatch):
    import time

    from faceleak.io import read_npz, write_npz

    arrays = {"faces": np.arange(24, dtype=np.uint8).reshape(2, 3, 4), "names": np.array(["a.png", "b.png"])}
    write_npz(tmp_path / "a.npz", **arrays)
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0)
    write_npz(tmp_path / "b.npz", **arrays)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    loaded = read_npz(tmp_path / "b.npz")
    assert all(np.array_equal(loaded[key], value) for key, value in arrays.items())
