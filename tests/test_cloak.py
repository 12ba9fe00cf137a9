"""Face cloaking: the L-infinity bound, seeded determinism, that the cloak moves the surrogate's template,
the perceptual budget (SSIM as scikit-image computes it, the contrast map, the SSIM floor), the tracker's
cleanings, the rate intervals, the cast and the scenarios, and the params' checks."""

from dataclasses import replace

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from faceleak.data.degrade import CLEANINGS, CleaningSettings, clean
from faceleak.data.images import to_uint8
from faceleak.data.table import FaceTable
from faceleak.defenses.cloak import CloakSettings, cloak, contrast_share, diverse_inputs, ssim_index, surrogate_templates, within_ssim_floor
from faceleak.metrics.image import ssim
from faceleak.metrics.rates import rate, wilson_interval
from faceleak.models.recognizers import Recognizer
from faceleak.params import ParamsError
from faceleak.systems.cloak.params import CastParams, parse_cloak_params
from faceleak.systems.cloak.steps import cross_distances, judge_scenarios, select_cast, unit_faces
from tests.conftest import PROJECT

SETTINGS = CloakSettings(epsilon=8, steps=5, step_fraction=0.3, momentum=1.0, diversity=0.7, scale=(0.9, 1.1), shift=0.05, noise=4, draws=1)


def _surrogate() -> torch.nn.Module:
    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 5, 4), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.LazyLinear(16))
    network(torch.zeros(1, 3, 32, 32))
    network.eval().requires_grad_(False)
    return lambda faces: torch.nn.functional.normalize(network(faces))


def _faces(n: int = 4, channels: int = 1) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, 32, 32, channels), dtype=np.uint8)


def _run(faces: np.ndarray, targets: bool = False, seed: int = 0) -> np.ndarray:
    surrogate = _surrogate()
    tensor = unit_faces(faces)
    sources = {"s": torch.from_numpy(surrogate_templates(surrogate, tensor))}
    chosen = {"s": torch.from_numpy(surrogate_templates(surrogate, unit_faces(faces[::-1].copy())))} if targets else None
    return to_uint8(cloak(tensor, {"s": surrogate}, sources, chosen, SETTINGS, seed))[..., : faces.shape[-1]]


def test_cloak_stays_within_its_budget_and_keeps_grey_faces_grey():
    faces = _faces()
    cloaked = _run(faces)
    assert cloaked.shape == faces.shape and cloaked.dtype == np.uint8
    change = np.abs(cloaked.astype(int) - faces.astype(int))
    assert change.max() <= SETTINGS.epsilon and change.max() > 0


def test_cloak_is_seeded():
    faces = _faces()
    np.testing.assert_array_equal(_run(faces, seed=3), _run(faces, seed=3))
    assert not np.array_equal(_run(faces, seed=3), _run(faces, seed=4))


def test_dodging_lowers_and_impersonation_raises_the_surrogate_similarity():
    faces = _faces(channels=3)
    surrogate = _surrogate()
    before = surrogate_templates(surrogate, unit_faces(faces))
    target = surrogate_templates(surrogate, unit_faces(faces[::-1].copy()))
    dodged = surrogate_templates(surrogate, unit_faces(_run(faces)))
    impersonated = surrogate_templates(surrogate, unit_faces(_run(faces, targets=True)))
    assert ((dodged * before).sum(1) < 0.999).all()
    assert ((impersonated * target).sum(1) > (before * target).sum(1)).all()


def test_input_diversity_keeps_shape_and_is_identity_when_off():
    faces = unit_faces(_faces(channels=3))
    off = CloakSettings(**{**SETTINGS.__dict__, "diversity": 0.0})
    torch.testing.assert_close(diverse_inputs(faces, off, torch.Generator().manual_seed(0)), faces, atol=1e-5, rtol=0)
    assert diverse_inputs(faces, SETTINGS, torch.Generator().manual_seed(0)).shape == faces.shape


@pytest.mark.parametrize("cleaning", CLEANINGS)
@pytest.mark.parametrize("channels", [1, 3])
def test_cleanings_keep_shape_and_change_the_image(cleaning, channels):
    faces = _faces(channels=channels)
    cleaned = clean(faces, cleaning, CleaningSettings(jpeg_quality=75, blur_sigma=1.0, resize_factor=0.5))
    assert cleaned.shape == faces.shape and cleaned.dtype == np.uint8
    assert np.array_equal(cleaned, faces) == (cleaning == "none")


def test_wilson_interval_matches_the_textbook_values():
    low, high = wilson_interval(0, 97)
    assert low == 0.0 and high == pytest.approx(0.0381, abs=1e-4)
    low, high = wilson_interval(5, 10)
    assert (low, high) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    assert wilson_interval(0, 0) is None
    assert [wilson_interval(0, total)[0] for total in (10, 89, 96, 97)] == [0.0] * 4  # not 3e-18 from rounding
    assert [wilson_interval(total, total)[1] for total in (10, 64, 89, 96)] == [1.0] * 4  # not 0.9999999999999998
    assert rate(np.array([True, False, True, True])) == {"rate": 0.75, "count": 3, "total": 4, "ci95": list(wilson_interval(3, 4))}


def _table() -> FaceTable:
    people = np.array([f"P{p}" for p in range(8) for _ in range(6 if p < 3 else 3)])
    return FaceTable(np.zeros((len(people), 4, 4, 1), np.uint8), np.array([f"{p}_{i}" for i, p in enumerate(people)]), people, {})


def test_cast_keeps_users_out_of_the_gallery_and_is_seeded():
    table = _table()
    cast = select_cast(table, CastParams(users=2, cloaked_photos=2, references=3, gallery_people=4, gallery_photos=2), seed=1)
    users = set(table.people[cast.cloaked])
    assert len(users) == 2 and set(table.people[cast.references]) == users and not users & set(table.people[cast.gallery])
    assert len(cast.cloaked) == 4 and len(cast.references) == 6 and len(cast.gallery) == 8
    assert not set(cast.cloaked) & set(cast.references)
    again = select_cast(table, CastParams(users=2, cloaked_photos=2, references=3, gallery_people=4, gallery_photos=2), seed=1)
    assert np.array_equal(again.cloaked, cast.cloaked) and np.array_equal(again.gallery, cast.gallery)
    with pytest.raises(ValueError, match="only 3 LFW people"):
        select_cast(table, CastParams.model_construct(users=4, cloaked_photos=2, references=3, gallery_people=1, gallery_photos=2), seed=1)


class _Identity(Recognizer):
    name, embedding_dim, input_size, alignment, training_data = "identity", 2, 1, "none", "none"

    def embed(self, faces, batch_size=32, progress=False):
        return faces


def test_scenarios_count_matches_against_the_thresholds():
    judge = _Identity()
    people = {"cloaked": np.array(["u", "u"]), "references": np.array(["u", "u"]), "gallery": np.array(["t", "t", "g", "g"])}
    references = np.array([[0.0, 0.0], [0.0, 0.1]])
    gallery = np.array([[5.0, 5.0], [5.0, 5.1], [9.0, 0.0], [9.0, 0.1]])
    cloaked = np.array([[0.0, 0.05], [5.0, 5.05]])  # the first still matches its person, the second looks like its target
    figures = judge_scenarios(judge, {"0.001": 0.5}, cloaked, references, gallery, people, np.array(["t", "t"]), seed=0)
    verification = figures["verification"]["fmr_0.001"]
    assert verification["photos_unmatched"]["count"] == 1 and verification["pairs_unmatched"]["total"] == 4
    assert figures["impersonation"]["fmr_0.001"]["count"] == 2 and figures["impersonation"]["fmr_0.001"]["total"] == 4
    assert figures["identification"]["nearest_neighbour"]["total"] == 2
    assert cross_distances(judge, cloaked, gallery).shape == (2, 4)


def test_params_refuse_a_surrogate_as_judge():
    raw = yaml.safe_load((PROJECT / "params.yaml").read_text())
    parse_cloak_params(raw)
    raw["cloak"]["judges"] = ["dlib", "facenet"]
    with pytest.raises(ParamsError, match="facenet, a surrogate"):
        parse_cloak_params(raw)


@pytest.fixture(scope="module")
def lfw_faces(lfw_sample) -> np.ndarray:
    """Real grey LFW photos' central 96x96, uint8 (N, 96, 96, 1)."""
    paths = sorted(lfw_sample.rglob("*.jpg"))[:4]
    return np.stack([np.asarray(Image.open(path).convert("L"))[77:173, 77:173, None] for path in paths])


def test_ssim_index_is_scikit_images(lfw_faces):
    faces = lfw_faces[:3]
    noisy = np.clip(faces.astype(int) + np.random.default_rng(1).integers(-12, 13, faces.shape), 0, 255).astype(np.uint8)
    np.testing.assert_allclose(ssim_index(unit_faces(faces).double(), unit_faces(noisy).double()).numpy(), ssim(faces, noisy), atol=1e-9)


def test_the_budget_follows_contrast_and_the_floor_holds(lfw_faces):
    faces = unit_faces(lfw_faces[:4])
    share = contrast_share(faces, 0.25)
    assert share.shape == (4, 1, *faces.shape[2:]) and 0.25 <= float(share.min()) < 0.5 and float(share.max()) == 1.0
    flat = unit_faces(np.full((1, 32, 32, 1), 128, np.uint8))
    assert torch.all(contrast_share(flat, 0.25) == 0.25)
    change = (torch.rand(faces.shape, generator=torch.Generator().manual_seed(0)) * 2 - 1) * 16 / 127.5
    kept = within_ssim_floor(faces, change, 0.95)
    assert torch.all(ssim_index(faces, faces + kept) >= 0.95) and torch.all(kept.abs() <= change.abs())
    assert torch.allclose(within_ssim_floor(faces, change * 1e-4, 0.95), change * 1e-4, atol=1e-7)  # already above the floor: untouched


def test_a_mode_keeps_its_floor_and_its_bound():
    faces = np.random.default_rng(2).integers(60, 200, (4, 32, 32, 1), dtype=np.uint8)
    settings = replace(SETTINGS, ssim_floor=0.97, flat_share=0.25)
    surrogate = _surrogate()
    tensor = unit_faces(faces)
    cloaked = to_uint8(cloak(tensor, {"s": surrogate}, {"s": torch.from_numpy(surrogate_templates(surrogate, tensor))}, None, settings, 0))[..., :1]
    assert np.abs(cloaked.astype(int) - faces).max() <= settings.epsilon
    assert ssim(faces, cloaked).min() >= 0.97  # after rounding to uint8 too


def test_params_need_the_three_modes():
    raw = yaml.safe_load((PROJECT / "params.yaml").read_text())
    assert parse_cloak_params(raw).mode_settings("mid").ssim_floor == 0.95
    del raw["cloak"]["modes"]["high"]
    with pytest.raises(ParamsError, match="'cloak.modes' has low, mid; expected exactly low, mid, high"):
        parse_cloak_params(raw)
    raw["cloak"]["modes"]["high"] = {"epsilon": 16, "ssim_floor": 1.0}
    with pytest.raises(ParamsError, match="'cloak.modes.high.ssim_floor' = 1.0 is not allowed"):
        parse_cloak_params(raw)
