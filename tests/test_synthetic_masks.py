"""Synthetic masks: drawn below the eyes from five landmarks, every kind, seeded; the training data made from real LFW
photos of people outside MFR2, split by person; the mask filter's sweep; the camera-like augmentation."""

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from faceleak.data.mfr2 import MFR2Face
from faceleak.data.synthetic_masks import MASK_KINDS, FaceFrame, draw_mask, face_crop
from faceleak.models.mask_classifier import camera_views
from faceleak.params import ParamsError
from faceleak.systems.spine.mask_data import eligible_photos, found_faces, synthesize
from faceleak.systems.spine.mask_filter import SWEEP, threshold_sweep
from faceleak.systems.spine.params import parse_spine_params
from tests.conftest import PROJECT

LANDMARKS = np.array([[45.0, 50.0], [75.0, 50.0], [60.0, 65.0], [48.0, 80.0], [72.0, 80.0]])  # eyes, nose, mouth corners


def test_the_face_frame_runs_from_the_eyes_down_to_the_mouth():
    frame = FaceFrame.from_landmarks(LANDMARKS)
    assert np.allclose(frame.point(0, 0), [60, 50]) and np.allclose(frame.point(0, 1), [60, 80]) and np.allclose(frame.point(0.5, 0), [75, 50])
    across, down = frame.coordinates((120, 120))
    assert across[50, 75] == pytest.approx(0.5) and down[80, 60] == pytest.approx(1.0)


@pytest.mark.parametrize("kind", MASK_KINDS)
def test_a_mask_covers_the_lower_face_and_leaves_the_eyes(kind):
    photo = np.random.default_rng(0).integers(90, 160, (120, 120), dtype=np.uint8)
    masked = draw_mask(photo, LANDMARKS, kind, np.random.default_rng(1))
    changed = masked != photo
    assert masked.shape == photo.shape and masked.dtype == np.uint8
    assert changed[85:95, 50:70].mean() > 0.9  # mouth and chin covered
    assert not changed[40:48, 40:80].any()  # the eyes untouched
    assert np.array_equal(masked, draw_mask(photo, LANDMARKS, kind, np.random.default_rng(1)))  # seeded


def test_face_crop_frames_the_box():
    photo = np.zeros((100, 100), np.uint8)
    photo[40:60, 40:60] = 255
    crop = face_crop(photo, np.array([40, 40, 60, 60]), 2.0, 40)
    assert crop.shape == (40, 40) and crop[20, 20] == 255 and crop[2, 2] == 0


def test_training_data_is_made_from_people_outside_mfr2(lfw_sample):
    raw = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params = parse_spine_params(raw).mask_filter.synthetic
    victims = [MFR2Face("AaronPeirsol", 1, "no-mask", Path("unused.png"))]
    assert {path.parent.name for path in eligible_photos(lfw_sample, victims, 2)} == {"Abel_Pacheco"}
    paths = eligible_photos(lfw_sample, [], 1)
    data = synthesize(found_faces(paths), params.model_copy(update={"val_fraction": 0.5}), 32, 0)
    assert data["images"].shape == (4, 32, 32, 1) and data["masked"].tolist() == [False, True, False, True]
    assert set(data["kinds"][data["masked"]]) <= set(MASK_KINDS) and set(data["kinds"][~data["masked"]]) == {""}
    assert len(set(data["people"][data["val"]])) == 1 and not set(data["people"][data["val"]]) & set(data["people"][~data["val"]])


def test_frame_scale_must_be_an_interval():
    raw = yaml.safe_load((PROJECT / "params.yaml").read_text())
    raw["spine"]["mask_filter"]["synthetic"]["frame_scale"] = [1.8, 1.2]
    with pytest.raises(ParamsError, match="'spine.mask_filter.synthetic.frame_scale' = \\[1.8, 1.2\\] is not allowed"):
        parse_spine_params(raw)


def test_the_threshold_sweep_counts_masked_faces_kept():
    p_unmasked = np.array([0.99, 0.9, 0.6, 0.3, 0.96])
    masked = np.array([False, False, True, True, True])
    rows = threshold_sweep(p_unmasked, masked)
    assert [row["threshold"] for row in rows] == list(SWEEP)
    by_threshold = {row["threshold"]: row for row in rows}
    assert by_threshold[0.5]["masked_faces_kept"] == 2 and by_threshold[0.95]["masked_faces_kept"] == 1 and by_threshold[0.95]["recall_unmasked"]["count"] == 1
    assert by_threshold[0.85]["accuracy"]["count"] == 4  # the masked face at 0.96 is the one error


def test_camera_views_keep_shape_and_range():
    batch = torch.rand(6, 3, 32, 32) * 2 - 1
    views = camera_views(batch, torch.Generator().manual_seed(0))
    assert views.shape == batch.shape and views.min() >= -1 and views.max() <= 1 and not torch.equal(views, batch)
