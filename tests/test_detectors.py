"""Face detectors by name, and the detector cloak: every detector finds the face of a real LFW photo, and
PGD with Face/Off's loss makes the white-box SSD miss it, within the budget."""

import numpy as np
import pytest
import torch

from faceleak import vendor
from faceleak.data.images import read_rgb
from faceleak.defenses.cloak import box_iou, detection_loss
from faceleak.io import save_weights
from faceleak.models.detectors import DETECTORS, UnknownDetector, load_detector
from faceleak.models.ssd_mobilenet import convert_face_api_ssd, load_ssd_mobilenet
from faceleak.systems.cloak.params import load_cloak_params
from faceleak.systems.cloak.steps import cloak_photos_from_ssd, detection_figures, true_faces


@pytest.fixture(scope="module")
def ssd_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    bin_file, manifest = vendor.vendored_file("ssd_mobilenetv1_model.bin"), vendor.vendored_file("ssd_mobilenetv1_model-weights_manifest.json")
    assert bin_file.is_file(), "run `.venv/bin/python -m faceleak.vendor` (setup.sh does) to fetch face-api.js's SSD weights"
    save_weights(folder / "ssd_mobilenet.pt", convert_face_api_ssd(bin_file, manifest))
    return folder


@pytest.fixture(scope="module")
def photo(lfw_sample) -> np.ndarray:
    return read_rgb(lfw_sample / "Aaron_Peirsol" / "Aaron_Peirsol_0002.jpg")[None]  # the SSD finds this grey face (score 0.78)


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_every_detector_finds_the_face_of_an_lfw_photo(name, ssd_dir, photo):
    reference, _ = true_faces(photo, load_detector("mtcnn"))
    found = load_detector(name, ssd_dir).detect(photo)
    assert len(found) == 1 and found[0].shape[1] == 5
    assert detection_figures(found, reference)["recall"]["count"] == 1


def test_unknown_detector_is_named():
    with pytest.raises(UnknownDetector, match="unknown face detector 'haar'"):
        load_detector("haar")


def test_detection_loss_lowers_boxes_on_the_face_and_raises_the_others():
    boxes = torch.tensor([[[0.1, 0.1, 0.5, 0.5], [0.6, 0.6, 0.9, 0.9]]])
    true = torch.tensor([[0.1, 0.1, 0.5, 0.5]])
    assert box_iou(boxes, true)[0].tolist() == pytest.approx([1.0, 0.0])
    scores = torch.tensor([[0.9, 0.2]], requires_grad=True)
    detection_loss(boxes, scores, true, near_iou=0.3).backward()
    assert scores.grad[0, 0] > 0 and scores.grad[0, 1] < 0  # descent lowers the face's score, raises the fake's


def test_the_ssd_cloak_hides_the_face_within_the_budget(ssd_dir, photo):
    params = load_cloak_params()
    params = params.model_copy(update={"detector": params.detector.model_copy(update={"steps": 10, "batch_size": 1})})
    grey = photo[..., :1]
    faces, _ = true_faces(grey, load_detector("mtcnn"))
    ssd = load_detector("ssd_mobilenet", ssd_dir)
    assert detection_figures(ssd.detect(grey), faces)["recall"]["count"] == 1
    cloaked = cloak_photos_from_ssd(grey, faces, load_ssd_mobilenet(ssd_dir / "ssd_mobilenet.pt"), params, 16)
    assert cloaked.shape == grey.shape and np.abs(cloaked.astype(int) - grey.astype(int)).max() <= 16
    assert detection_figures(ssd.detect(cloaked), faces)["recall"]["count"] == 0
