import copy
import re

import pytest
import yaml

from faceleak.params import ParamsError, load_shared_params, parse_shared_params
from faceleak.systems.model_inversion.params import parse_model_inversion_params
from faceleak.systems.openset.params import load_openset_params, parse_openset_params
from faceleak.systems.spine.params import load_spine_params, parse_spine_params
from tests.conftest import PROJECT


@pytest.fixture
def raw():
    return yaml.safe_load((PROJECT / "params.yaml").read_text())


def test_project_params_are_valid():
    assert 0 < load_spine_params(PROJECT / "params.yaml").leakage <= 1
    assert load_shared_params(PROJECT / "params.yaml").device in ("auto", "cpu", "cuda")
    assert load_openset_params(PROJECT / "params.yaml").openset.fmrs == (0.01, 0.001)


@pytest.mark.parametrize("value", [0, 0.0, -0.2, 1.01, "0.3", True, None])
def test_leakage_outside_the_interval_names_the_key(raw, value):
    raw["leakage"] = value
    with pytest.raises(ParamsError, match=r"'leakage'.*\(0\.0, 1\.0\]"):
        parse_spine_params(raw)


def test_leakage_one_is_allowed(raw):
    raw["leakage"] = 1
    assert parse_spine_params(raw).leakage == 1.0


def _set(raw: dict, path: str, value) -> dict:
    bad = copy.deepcopy(raw)
    *sections, key = path.split(".")
    target = bad
    for section in sections:
        target = target[section]
    target[key] = value
    return bad


@pytest.mark.parametrize(
    "parse, path, value, message",
    [
        (parse_spine_params, "spine.leak.strategy", "all", "spine.leak.strategy"),
        (parse_spine_params, "spine.train.epochs", 0, "spine.train.epochs"),
        (parse_spine_params, "spine.mask_filter.threshold", 1.2, "spine.mask_filter.threshold"),
        (parse_spine_params, "spine.embed.on_bad_image", "ignore", "spine.embed.on_bad_image"),
        (parse_spine_params, "spine.sweep.leakages", [0.1, 2.0], "spine.sweep.leakages"),
        (parse_spine_params, "device", "tpu", "'device'"),
        (parse_shared_params, "weights.facenet", "imagenet", "weights.facenet"),
        (parse_shared_params, "image.channels", 2, "image.channels"),
        (parse_shared_params, "lfw.on_no_face", "skip", "lfw.on_no_face"),
        (parse_shared_params, "lfw.attacker_images", 1.5, "lfw.attacker_images"),
        (parse_openset_params, "openset.fmrs", [0.001, 0.9], "openset.fmrs[]"),
        (parse_openset_params, "openset.defenses.biohash", [], "openset.defenses.biohash"),
        (parse_openset_params, "openset.defenses.quantization", [2, 0], "openset.defenses.quantization[]"),
        (parse_openset_params, "openset.ablation.train.patience", 0, "openset.ablation.train.patience"),
    ],
)
def test_bad_values_name_their_key(raw, parse, path, value, message):
    with pytest.raises(ParamsError, match=re.escape(message)):
        parse(_set(raw, path, value))


def test_missing_key_is_named(raw):
    del raw["spine"]["train"]["patience"]
    with pytest.raises(ParamsError, match="spine.train.patience' is missing"):
        parse_spine_params(raw)


@pytest.mark.parametrize(
    "parse, path, message",
    [
        (parse_spine_params, "spine.train.epoch", "'spine.train.epoch' is not a key of its section"),
        (parse_spine_params, "spine.trian", "'spine.trian' is not a key of its section"),
        (parse_openset_params, "openset.defenses.bits", "'openset.defenses.bits' is not a key of its section"),
    ],
)
def test_an_unknown_key_is_named_not_ignored(raw, parse, path, message):
    """A typo in a section (``epoch:`` for ``epochs:``) is refused, not silently left at its default."""
    with pytest.raises(ParamsError, match=re.escape(message)):
        parse(_set(raw, path, 3))


@pytest.mark.parametrize(
    "parse, path, message",
    [
        (parse_spine_params, "spine.device", "'spine.device' is a shared key, not a key of its section; set it at the top"),
        (parse_model_inversion_params, "model_inversion.seed", "'model_inversion.seed' is a shared key"),
    ],
)
def test_a_shared_key_in_a_section_is_refused_not_taken(raw, parse, path, message):
    """``spine.device: cpu`` would otherwise replace the top-level ``device`` for one system only."""
    with pytest.raises(ParamsError, match=re.escape(message)):
        parse(_set(raw, path, "cpu"))


@pytest.mark.parametrize(
    "parse, path, value, message",
    [
        (parse_openset_params, "openset", 5, "'openset' = 5 is not allowed; expected a mapping"),
        (parse_openset_params, "openset.ablation", 5, "'openset.ablation' = 5 is not allowed; expected a mapping"),
        (parse_openset_params, "openset.ablation.variants.long", 5, "'openset.ablation.variants.long' = 5 is not allowed; expected a mapping"),
        (parse_openset_params, "openset.ablation.variants.long", None, "'openset.ablation.variants.long' = None is not allowed; expected a mapping"),
        (parse_spine_params, "spine.train", None, "'spine.train' = None is not allowed; expected a mapping"),
        (parse_spine_params, "spine", [1], "'spine' = [1] is not allowed; expected a mapping"),
    ],
)
def test_a_section_that_is_not_a_mapping_gets_one_line(raw, parse, path, value, message):
    with pytest.raises(ParamsError, match=re.escape(message)):
        parse(_set(raw, path, value))


def test_a_system_reads_only_its_own_section(raw):
    """A broken model_inversion section does not stop the spine (each system checks its own keys)."""
    raw["model_inversion"]["orl"]["targets"] = 99
    assert parse_spine_params(raw).leakage == raw["leakage"]
