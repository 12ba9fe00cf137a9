"""LFW: the View 2 pairs file, name matching with MFR2, identity-disjoint attacker data, grey copies."""

from pathlib import Path

import numpy as np
import pytest

from faceleak.data import lfw
from faceleak.data.splits import identity_split


def test_view2_pairs_from_the_mirror(mirror):
    pairs = lfw.read_pairs(mirror / "lfw-pairs.txt")
    assert len(pairs) == 6000 and sum(pair.same for pair in pairs) == 3000
    assert {pair.fold for pair in pairs} == set(range(10))
    assert pairs[0] == lfw.Pair("Abel_Pacheco_0001", "Abel_Pacheco_0004", True, 0)
    assert pairs[300].first == "Abdel_Madi_Shabneh_0001" and not pairs[300].same
    small = lfw.read_pairs(mirror / "lfw-pairs.txt", folds=2, pairs_per_fold=5)
    assert len(small) == 20 and [p.same for p in small[:10]] == [True] * 5 + [False] * 5


def test_pairs_file_errors_name_the_problem(tmp_path):
    with pytest.raises(lfw.LFWError, match="does not exist"):
        lfw.read_pairs(tmp_path / "nope.txt")
    bad = tmp_path / "pairs.txt"
    bad.write_text("10 300\nAbel_Pacheco\t1\t4\n")
    with pytest.raises(lfw.LFWError, match="expected 6000 pairs"):
        lfw.read_pairs(bad)
    with pytest.raises(lfw.LFWError, match="asked for 11"):
        lfw.read_pairs(bad, folds=11)


def test_identity_key_matches_mfr2_spelling():
    assert lfw.identity_key("AdrianDunbar") == lfw.identity_key("Adrian_Dunbar")
    assert lfw.person_of("Aaron_Peirsol_0001") == "Aaron_Peirsol"


def test_attacker_images_exclude_every_victim_identity():
    images = {name: Path(f"{name}.jpg") for name in ("Ben_Affleck_0001", "Ben_Affleck_0002", "Ann_Lee_0001", "Bo_Li_0001")}
    pairs = [lfw.Pair("Ben_Affleck_0001", "Ben_Affleck_0002", True, 0)]
    names, attacker = lfw.select_lfw(images, pairs, ["BenAffleck"], None, seed=0)
    assert names == sorted(images)  # the victim's images stay for View 2, but not as attacker data
    assert [name for name, chosen in zip(names, attacker) if chosen] == ["Ann_Lee_0001", "Bo_Li_0001"]
    names, attacker = lfw.select_lfw(images, pairs, ["BenAffleck"], 1, seed=0)
    assert attacker.sum() == 1 and len(names) == 3


def test_missing_view2_image_is_an_error():
    with pytest.raises(lfw.LFWError, match="not in the LFW copy"):
        lfw.select_lfw({}, [lfw.Pair("A_0001", "A_0002", True, 0)], [], None, seed=0)


def test_attacker_validation_split_is_by_identity():
    people = np.repeat([f"p{i}" for i in range(20)], 3)
    val = identity_split(people, 0.25, seed=1)
    assert set(people[val]).isdisjoint(people[~val]) and len(set(people[val])) == 5
    assert np.array_equal(val, identity_split(people, 0.25, seed=1))


def test_grey_copy_refuses_colour_processing(lfw_sample):
    sample = next(lfw_sample.glob("*/*.jpg"))
    lfw.check_channels(sample, 1)
    with pytest.raises(lfw.LFWError, match="grayscale"):
        lfw.check_channels(sample, 3)
