import copy
import re

import pytest
import yaml

from faceleak.params import ParamsError, load_params, parse_params
from tests.conftest import PROJECT


@pytest.fixture
def raw():
    return yaml.safe_load((PROJECT / "params.yaml").read_text())


def test_project_params_are_valid():
    params = load_params(PROJECT / "params.yaml")
    assert 0 < params.leakage <= 1


@pytest.mark.parametrize("value", [0, 0.0, -0.2, 1.01, "0.3", True, None])
def test_leakage_outside_the_interval_names_the_key(raw, value):
    raw["leakage"] = value
    with pytest.raises(ParamsError, match=r"'leakage'.*\(0\.0, 1\.0\]"):
        parse_params(raw)


def test_leakage_one_is_allowed(raw):
    raw["leakage"] = 1
    assert parse_params(raw).leakage == 1.0


@pytest.mark.parametrize(
    "section, key, value, message",
    [
        ("leak", "strategy", "all", "leak.strategy"),
        ("train", "epochs", 0, "train.epochs"),
        ("mask_filter", "threshold", 1.2, "mask_filter.threshold"),
        ("embed", "on_bad_image", "ignore", "embed.on_bad_image"),
        ("sweep", "leakages", [0.1, 2.0], "sweep.leakages"),
        ("weights", "facenet", "imagenet", "weights.facenet"),
        ("image", "channels", 2, "image.channels"),
        ("lfw", "on_no_face", "skip", "lfw.on_no_face"),
        ("lfw", "attacker_images", 1.5, "lfw.attacker_images"),
        ("openset", "fmrs", [0.001, 0.9], "openset.fmrs[]"),
        ("defenses", "biohash", [], "defenses.biohash"),
        ("defenses", "quantization", [2, 0], "defenses.quantization[]"),
    ],
)
def test_bad_values_name_their_key(raw, section, key, value, message):
    bad = copy.deepcopy(raw)
    bad[section][key] = value
    with pytest.raises(ParamsError, match=re.escape(message)):
        parse_params(bad)


def test_missing_key_is_named(raw):
    del raw["train"]["patience"]
    with pytest.raises(ParamsError, match="train.patience' is missing"):
        parse_params(raw)
