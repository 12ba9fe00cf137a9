"""Template protections: deterministic with a key, the identity transform keeps the baseline utility,
and each transform does what it says."""

import numpy as np
import pytest

from faceleak.defenses.templates import BioHash, GaussianNoise, LowVarianceMasking, Quantization, Unprotected, protections
from faceleak.metrics.verification import pair_distances, tenfold_accuracy


def _templates(count=40, seed=0):
    rows = np.random.default_rng(seed).standard_normal((count, 512))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _pairs(seed=0):
    """View-2-like pairs: same-person pairs are close, different ones random; 10 folds."""
    first = _templates(200, seed)
    second = _templates(200, seed + 1)
    same = np.tile([True, False], 100)
    second[same] = first[same] + 0.05 * second[same]
    return first, second / np.linalg.norm(second, axis=1, keepdims=True), same, np.repeat(np.arange(10), 20)


def test_unprotected_utility_equals_the_baseline():
    first, second, same, folds = _pairs()
    users = np.array([f"u{i}" for i in range(200)])
    plain = tenfold_accuracy(pair_distances(first, second), same, folds)
    protection = Unprotected()
    stored = protection.protect(np.concatenate([first, second]), np.concatenate([users, users]))
    assert tenfold_accuracy(protection.distances(stored[:200], stored[200:]), same, folds) == plain


@pytest.mark.parametrize("make", [lambda: GaussianNoise(0.5, seed=3), lambda: BioHash(128, secret=3, stolen_key=True), lambda: Quantization(2)])
def test_protections_are_deterministic(make):
    templates, users = _templates(), np.array([f"u{i % 7}" for i in range(40)])
    assert np.array_equal(make().protect(templates, users), make().protect(templates, users))


def test_noise_differs_between_templates_and_has_the_given_norm():
    templates = _templates()
    protected = GaussianNoise(0.5, seed=0).protect(np.concatenate([templates[:1], templates[:1] * 0.999]), None)
    assert not np.allclose(protected[0], protected[1], atol=1e-3)
    cosine = float(protected[0] @ templates[0])
    assert 0.85 < cosine < 0.93  # 1 / sqrt(1 + 0.5^2) = 0.894


def test_quantization_uses_two_to_the_bits_levels():
    assert len(np.unique(Quantization(2).protect(_templates(), None))) == 4
    assert len(np.unique(Quantization(1).protect(_templates(), None))) == 2


def test_masking_hides_the_lowest_variance_dimensions():
    reference = _templates(200) * np.where(np.arange(512) < 128, 0.01, 1.0)  # the first 128 barely vary
    masking = LowVarianceMasking(0.25, reference)
    stored = masking.protect(_templates(), None)
    assert (stored[:, :128] == 0).all() and (stored[:, 128:] != 0).all()
    _, mask = masking.attacker_input(stored, None)
    assert mask.sum() == 384 and mask[:128].sum() == 0


def test_biohash_keys_differ_per_user_and_with_the_secret():
    templates = np.repeat(_templates(1), 2, axis=0)
    hashes = BioHash(256, secret=1, stolen_key=False)
    codes = hashes.protect(templates, np.array(["alice", "bob"]))
    assert set(np.unique(codes)) == {-1.0, 1.0} and codes.shape == (2, 256)
    assert 0.3 < hashes.distances(codes[:1], codes[1:])[0] < 0.7  # same face, different keys: unlinkable
    other = BioHash(256, secret=2, stolen_key=False).protect(templates[:1], np.array(["alice"]))
    assert not np.array_equal(codes[:1], other)


def test_biohash_stolen_key_inverts_and_a_guessed_key_does_not():
    templates, users = _templates(20), np.array([f"u{i}" for i in range(20)])
    cosines = {}
    for stolen in (True, False):
        protection = BioHash(512, secret=5, stolen_key=stolen)
        estimate, mask = protection.attacker_input(protection.protect(templates, users), users)
        cosines[stolen] = float(np.mean(np.sum(estimate * templates, axis=1)))
        assert mask.sum() == 512
    assert cosines[True] > 0.6 and abs(cosines[False]) < 0.15


def test_biohash_needs_no_more_bits_than_dimensions():
    with pytest.raises(ValueError, match="bits <="):
        BioHash(1024, secret=0, stolen_key=True)


def test_protections_list_every_setting():
    names = [p.name for p in protections((0.5,), (0.1, 0.2), (2,), (64,), _templates(), seed=0)]
    assert names == ["none", "low_variance_masking", "gaussian_noise", "gaussian_noise", "quantization", "biohash", "biohash_stolen_key"]
