"""face-api.js's SSD MobileNet V1 in PyTorch against golden outputs of face-api.js 0.22.2 itself.

The golden numbers (``fixtures/ssd_mobilenet_golden.json``) come from ``fixtures/ssd_golden.js``; its
inputs are LFW images of the mirror, re-created here by name. ``python -m tests.test_ssd_mobilenet DIR``
writes them as raw RGB for that script (see its header).
"""

import io
import json
import os
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from faceleak import vendor
from faceleak.data.images import to_unit_range
from faceleak.errors import MissingInputError
from faceleak.io import save_weights
from faceleak.models import ssd_mobilenet
from tests.conftest import DEFAULT_MIRROR

BIN = vendor.vendored_file("ssd_mobilenetv1_model.bin")
MANIFEST = vendor.vendored_file("ssd_mobilenetv1_model-weights_manifest.json")
GOLDEN = Path(__file__).parent / "fixtures" / "ssd_mobilenet_golden.json"
LFW_ARCHIVE = "lfw-funneled-gray.tgz"
# golden input name -> the LFW images it is made of, side by side (grey 250x250, converted to RGB)
GOLDEN_INPUTS = {
    "Aaron_Peirsol_0003": ["Aaron_Peirsol_0003"],
    "Aaron_Peirsol_0001": ["Aaron_Peirsol_0001"],
    "AJ_Lamas_0001+Aaron_Sorkin_0002": ["AJ_Lamas_0001", "Aaron_Sorkin_0002"],
}


def golden_input(archive: Path, sources: list[str]) -> np.ndarray:
    """uint8 RGB (250, 250 * len(sources), 3): the LFW images ``sources`` side by side."""
    with tarfile.open(archive) as bundle:
        images = []
        for name in sources:
            member = bundle.extractfile(f"lfw_funneled/{name.rsplit('_', 1)[0]}/{name}.jpg")
            images.append(np.asarray(Image.open(io.BytesIO(member.read())).convert("RGB")))
    return np.concatenate(images, axis=1)


def write_golden_inputs(archive: Path, folder: Path) -> None:
    """The inputs of fixtures/ssd_golden.js: ``inputs.json`` and one raw ``<name>.rgb`` per image."""
    folder.mkdir(parents=True, exist_ok=True)
    listing = []
    for name, sources in GOLDEN_INPUTS.items():
        image = golden_input(archive, sources)
        (folder / f"{name}.rgb").write_bytes(image.tobytes())
        listing.append({"name": name, "sources": sources, "height": image.shape[0], "width": image.shape[1]})
    (folder / "inputs.json").write_text(json.dumps(listing, indent=1))


@pytest.fixture(scope="module")
def weights() -> tuple[Path, Path]:
    """The vendored weights and manifest: a failure, not a skip, when they are absent."""
    absent = [str(path) for path in (BIN, MANIFEST) if not path.is_file()]
    if absent:
        pytest.fail(f"{', '.join(absent)} absent: run `.venv/bin/python -m faceleak.vendor`")
    return BIN, MANIFEST


@pytest.fixture(scope="module")
def state(weights) -> dict[str, torch.Tensor]:
    return ssd_mobilenet.convert_face_api_ssd(*weights)


@pytest.fixture(scope="module")
def network(state) -> ssd_mobilenet.SSDMobileNetV1:
    model = ssd_mobilenet.SSDMobileNetV1()
    model.load_state_dict(state)
    return model.eval().requires_grad_(False)


@pytest.fixture(scope="module")
def golden(mirror) -> list[tuple[dict, np.ndarray]]:
    """Each golden record with its re-created input image."""
    records = json.loads(GOLDEN.read_text())["images"]
    return [(record, golden_input(mirror / LFW_ARCHIVE, record["sources"])) for record in records]


def test_golden_fixture_was_made_from_the_vendored_weights():
    recorded = json.loads(GOLDEN.read_text())["weights_sha256"]
    assert recorded == {file.name: file.sha256 for file in vendor.VENDORED if file.name.startswith("ssd_mobilenetv1_model")}


def test_scores_equal_face_api_on_its_top_anchors(network, golden):
    for record, image in golden:
        assert image.shape == (record["height"], record["width"], 3)
        with torch.no_grad():
            boxes, scores = network(ssd_mobilenet.preprocess(image[None])[0])
        assert boxes.shape == (1, ssd_mobilenet.NUM_ANCHORS, 4) and scores.shape == (1, ssd_mobilenet.NUM_ANCHORS)
        ours = scores[0, record["top_anchors"]].numpy()
        assert np.abs(ours - record["top_scores"]).max() < 1e-4, record["name"]


def test_detections_equal_face_api(network, golden):
    records, images = zip(*golden)
    found = [ssd_mobilenet.detect_faces(network, image[None])[0] for image in images]
    assert [len(d) for d in found] == [len(r["detections"]) for r in records] == [1, 0, 2]
    for detections, record in zip(found, records):
        if len(detections):
            expected = np.array(record["detections"])
            assert np.abs(detections[:, :4] - expected[:, :4]).max() < 0.5, record["name"]
            assert np.abs(detections[:, 4] - expected[:, 4]).max() < 1e-4, record["name"]


def test_wrong_byte_count_or_missing_file_fails_clearly(weights, tmp_path):
    manifest = json.loads(MANIFEST.read_text())
    anchors = next(spec for spec in manifest[0]["weights"] if spec["name"] == "Output/extra_dim")
    anchors["shape"] = [1, 5117, 4]
    corrupted = tmp_path / "manifest.json"
    corrupted.write_text(json.dumps(manifest))
    with pytest.raises(ssd_mobilenet.WeightsManifestError, match=r"manifest.json describes 5616941 bytes .* hold 5616957") as error:
        ssd_mobilenet.convert_face_api_ssd(BIN, corrupted)
    assert "\n" not in str(error.value)
    with pytest.raises(MissingInputError, match="faceleak.vendor"):
        ssd_mobilenet.convert_face_api_ssd(tmp_path / "absent.bin", MANIFEST)
    with pytest.raises(MissingInputError, match="convert_face_api_ssd"):
        ssd_mobilenet.load_ssd_mobilenet(tmp_path / "absent.pt")


def test_converter_is_strictly_complete(weights, monkeypatch):
    monkeypatch.setattr(ssd_mobilenet, "_SCOPES", ssd_mobilenet._SCOPES[:-1])
    with pytest.raises(ssd_mobilenet.WeightsManifestError, match=r"missing \['predictors.0.classes.bias'"):
        ssd_mobilenet.convert_face_api_ssd(*weights)


def test_saved_weights_load_frozen(state, tmp_path):
    save_weights(tmp_path / "ssd.pt", state)
    model = ssd_mobilenet.load_ssd_mobilenet(tmp_path / "ssd.pt")
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert torch.equal(model.anchors.cpu(), state["anchors"])


def test_gradient_of_the_max_face_score_reaches_the_pixels(network, golden):
    image = golden[-1][1]
    pixels = to_unit_range(image[None]).requires_grad_(True)
    _, scores = network(ssd_mobilenet.network_input(pixels))
    scores.max().backward()
    assert pixels.grad.shape == pixels.shape and torch.isfinite(pixels.grad).all()
    assert (pixels.grad != 0).float().mean() > 0.01


if __name__ == "__main__":
    write_golden_inputs(Path(os.environ.get("FACELEAK_MIRROR", DEFAULT_MIRROR)) / LFW_ARCHIVE, Path(sys.argv[1]))
