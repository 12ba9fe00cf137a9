import numpy as np
import pytest

from faceleak.defenses.masking import DimensionMask, leaked_count
from faceleak.params import ParamsError


@pytest.mark.parametrize("leakage, expected", [(0.1, 51), (0.3, 153), (0.5, 256), (1.0, 512)])
def test_leaked_counts(leakage, expected):
    templates = np.random.default_rng(0).normal(size=(20, 512)).astype(np.float32)
    leaked = DimensionMask(leakage, "random", seed=1).fit(templates).transform(templates)
    assert leaked_count(leakage, 512) == expected
    assert (leaked != 0).any(axis=0).sum() == expected


def test_random_strategy_is_seeded():
    templates = np.random.default_rng(0).normal(size=(20, 64))
    first = DimensionMask(0.3, "random", seed=7).fit(templates).leaked_dimensions_
    again = DimensionMask(0.3, "random", seed=7).fit(templates).leaked_dimensions_
    other = DimensionMask(0.3, "random", seed=8).fit(templates).leaked_dimensions_
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_variance_strategies_hide_the_named_dimensions():
    scales = np.arange(1, 11, dtype=float)  # dimension i has standard deviation i + 1
    templates = np.random.default_rng(0).normal(size=(5000, 10)) * scales
    low = DimensionMask(0.3, "low_variance").fit(templates)
    high = DimensionMask(0.3, "high_variance").fit(templates)
    assert low.leaked_dimensions_.tolist() == [7, 8, 9]  # low-variance dimensions hidden
    assert high.leaked_dimensions_.tolist() == [0, 1, 2]  # high-variance dimensions hidden


@pytest.mark.parametrize("leakage", [0.0, -0.1, 1.5])
def test_bad_leakage_is_refused(leakage):
    with pytest.raises(ParamsError, match="leakage"):
        DimensionMask(leakage)


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="leak.strategy"):
        DimensionMask(0.3, "everything")
