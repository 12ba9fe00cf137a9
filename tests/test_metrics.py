import numpy as np
import pytest
import torch

from faceleak.metrics import identity, image


def _faces(seed: int, count: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(count, 32, 32, 3), dtype=np.uint8)


def test_identical_images():
    faces = _faces(0)
    assert np.all(image.mse(faces, faces) == 0)
    assert np.all(np.isinf(image.psnr_db(faces, faces)))
    assert np.allclose(image.ssim(faces, faces), 1.0)


def test_mse_and_psnr_known_values():
    black, white = np.zeros((1, 8, 8, 3), np.uint8), np.full((1, 8, 8, 3), 255, np.uint8)
    assert image.mse(black, white)[0] == pytest.approx(1.0)
    assert image.psnr_db(black, white)[0] == pytest.approx(0.0)
    grey = np.full((1, 8, 8, 3), 51, np.uint8)  # 0.2 away from black
    assert image.psnr_db(black, grey)[0] == pytest.approx(10 * np.log10(1 / 0.04))


def test_lpips_and_fid_are_none_without_their_weights(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    values, reason = image.lpips_distance(_faces(0), _faces(1))
    assert values is None and "absent" in reason
    fid, reason = image.inception_fid(_faces(0), _faces(1))
    assert fid is None and "absent" in reason


def test_frechet_distance_of_a_set_with_itself_is_zero():
    features = np.random.default_rng(0).normal(size=(50, 4))
    assert image.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    assert image.frechet_distance(features, features + 1.0) == pytest.approx(4.0, rel=1e-3)


def test_cosine_similarity():
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    b = np.array([[2.0, 0.0], [1.0, 0.0]])
    assert identity.cosine_similarity(a, b).tolist() == [1.0, 0.0]


def test_map_at_1_on_a_constructed_gallery():
    gallery = np.eye(4)
    gallery_ids = np.array(["a", "a", "b", "c"])
    queries = np.array([[0.9, 0.1, 0, 0], [0, 0, 0.2, 0.8], [0.1, 0, 0.9, 0]])
    query_ids = np.array(["a", "b", "b"])
    score, count = identity.map_at_1(queries, query_ids, gallery, gallery_ids)
    assert (score, count) == (pytest.approx(2 / 3), 3)
    excluded = np.zeros((3, 4), bool)
    excluded[0, 0] = True  # the source image of query 0: its other image of 'a' is still found
    excluded[2, 2] = True  # query 2's only gallery image of 'b' removed: not answerable
    score, count = identity.map_at_1(queries, query_ids, gallery, gallery_ids, excluded)
    assert (score, count) == (pytest.approx(0.5), 2)
