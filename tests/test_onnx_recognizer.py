"""Recognizers from ONNX files: MobileFaceNet exported to ONNX and run by onnxruntime and by its onnx2torch
conversion (both equal to the project's PyTorch port within 1e-4), the registry and surrogate joins, and each
bad input refused in one line naming the file and the fix."""

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from faceleak import vendor
from faceleak.data.images import to_unit_range
from faceleak.defenses.cloak import load_surrogates, surrogate_templates
from faceleak.errors import MissingInputError
from faceleak.io import save_weights
from faceleak.metrics.verification import pair_distances
from faceleak.models import mobilefacenet
from faceleak.models.onnx_recognizer import OnnxModelError, OnnxRecognizer, export_onnx, file_sha256, parse_onnx_specs
from faceleak.models.recognizers import load_recognizer, onnx_specs, recognizer_names
from faceleak.params import ParamsError
from faceleak.systems.audit.steps import NotAFaceRecognizer, check_separates

TFLITE = vendor.vendored_file("MobileFaceNet.tflite")
pytestmark = pytest.mark.skipif(not TFLITE.is_file(), reason=f"{TFLITE} is absent: run `.venv/bin/python -m faceleak.vendor`")


def _spec(path: Path, **changes) -> dict:
    """The params entry of an ArcFace-style export: MobileFaceNet wants (pixel - 127.5) / 128 on the ArcFace warp."""
    entry = {
        "path": str(path), "sha256": file_sha256(path) if path.is_file() else "0" * 64, "input_size": 112, "alignment": "arcface_5pt",
        "crop_fraction": 1.0, "colour": "rgb", "layout": "nchw", "mean": [127.5] * 3, "std": [128.0] * 3, "l2_normalise": True, "training_data": "MS1M",
    }
    return entry | changes


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, Path]:
    """MobileFaceNet's weights (for the PyTorch port) and the same network exported to ONNX."""
    folder = tmp_path_factory.mktemp("onnx")
    state = mobilefacenet.convert_tflite(TFLITE)
    save_weights(folder / "mobilefacenet.pt", state)
    network = mobilefacenet.MobileFaceNet()
    network.load_state_dict(state)
    export_onnx(network, 112, folder / "mobilefacenet.onnx")
    return folder, folder / "mobilefacenet.onnx"


@pytest.fixture()
def project(exported, tmp_path, monkeypatch) -> Path:
    """A working folder whose params.yaml declares the export as ``mine``."""
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"recognizers": {"mine": _spec(exported[1])}}))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_onnx_paths_equal_the_pytorch_port_on_real_faces(exported, project, mfr2_unmasked):
    images, identities = mfr2_unmasked
    port = load_recognizer("mobilefacenet", exported[0]).embed(images)
    recognizer = load_recognizer("mine")
    assert isinstance(recognizer, OnnxRecognizer) and recognizer.embedding_dim == 192 and recognizer.fixed_batch is None
    templates = recognizer.embed(images, batch_size=4)
    assert templates.shape == (6, 192) and templates.dtype == np.float32
    assert np.abs(templates - port).max() < 1e-4
    assert recognizer.agreement(images) < 1e-4
    first, second = np.triu_indices(6, 1)
    distances = pair_distances(templates[first], templates[second])
    same = identities[first] == identities[second]
    assert distances[same].max() < distances[~same].min()


def test_onnx_model_joins_the_registry_and_the_surrogates(project, mfr2_unmasked):
    assert "mine" in recognizer_names() and "facenet" in recognizer_names()
    images = mfr2_unmasked[0][:3]
    recognized = load_recognizer("mine").embed(images)
    surrogate = load_surrogates(["mine"])["mine"]
    faces = to_unit_range(images)
    assert (surrogate_templates(surrogate, faces) * recognized).sum(axis=1).min() > 0.99
    surrogate.align_to(faces)
    faces.requires_grad_(True)
    surrogate(faces).sum().backward()
    assert faces.grad.abs().sum() > 0


def test_a_crop_model_in_bgr_nhwc_is_fed_as_its_spec_says(exported, tmp_path, monkeypatch, mfr2_unmasked):
    class Mean(torch.nn.Module):  # NHWC in, the per-channel mean out: shows layout, colour order and normalisation
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean(dim=(1, 2))

    path = tmp_path / "mean.onnx"
    torch.onnx.export(Mean(), (torch.zeros(1, 48, 48, 3),), str(path), input_names=["x"], dynamic_axes={"x": {0: "n"}}, dynamo=False)
    entry = _spec(path, input_size=48, alignment="crop", colour="bgr", layout="nhwc", mean=[0.0, 10.0, 20.0], std=[1.0, 2.0, 4.0], l2_normalise=False)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"recognizers": {"mean": entry}}))
    monkeypatch.chdir(tmp_path)
    face = np.zeros((1, 160, 160, 3), np.uint8)
    face[..., 0], face[..., 1], face[..., 2] = 40, 80, 120  # R, G, B
    assert np.allclose(load_recognizer("mean").embed(face), [[120.0, (80 - 10) / 2, (40 - 20) / 4]], atol=1e-3)


def test_a_wrong_checksum_names_the_file_and_the_fix(exported, project):
    (project / "params.yaml").write_text(yaml.safe_dump({"recognizers": {"mine": _spec(exported[1], sha256="a" * 64)}}))
    with pytest.raises(OnnxModelError, match=r"mobilefacenet.onnx: sha256 [0-9a-f]{64} is not recognizers.mine.sha256 a+; .*sha256sum") as error:
        load_recognizer("mine")
    assert "\n" not in str(error.value)


def test_a_file_that_is_not_onnx_is_refused(tmp_path, monkeypatch):
    junk = tmp_path / "photo.onnx"
    junk.write_bytes(b"\xff\xd8 not a model" * 50)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"recognizers": {"junk": _spec(junk)}}))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OnnxModelError, match="photo.onnx is not a valid ONNX model .*torch.onnx.export"):
        load_recognizer("junk")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"recognizers": {"junk": _spec(tmp_path / "absent.onnx")}}))
    with pytest.raises(MissingInputError, match=r"absent.onnx \(recognizers.junk.path\) does not exist"):
        load_recognizer("junk")


def test_an_input_size_the_graph_does_not_take_is_refused(exported, project):
    entry = _spec(exported[1], alignment="crop", input_size=96)
    (project / "params.yaml").write_text(yaml.safe_dump({"recognizers": {"mine": entry}}))
    with pytest.raises(OnnxModelError, match=r"takes input \['N', 3, 112, 112\], not \[3, 96, 96\] .*set them to the graph's input"):
        load_recognizer("mine")


def test_an_output_that_is_not_a_vector_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "features.onnx"
    export_onnx(torch.nn.Conv2d(3, 4, 3, padding=1), 32, path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"recognizers": {"maps": _spec(path, alignment="crop", input_size=32)}}))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OnnxModelError, match=r"features.onnx outputs \(2, 4, 32, 32\) for 2 faces, not one vector per face"):
        load_recognizer("maps")


def test_a_model_that_does_not_separate_people_is_refused(exported, project):
    recognizer = load_recognizer("mine")
    check_separates(recognizer, 0.93, 0.8)
    with pytest.raises(NotAFaceRecognizer, match=r"mobilefacenet.onnx: LFW View 2 accuracy 55.0% is below audit.min_view2_accuracy 80%.*alignment, colour"):
        check_separates(recognizer, 0.55, 0.8)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sha256": "xyz"}, r"'recognizers.mine.sha256' = 'xyz' is not allowed; expected the file's sha256"),
        ({"alignment": "dlib"}, r"'recognizers.mine.alignment' = 'dlib' is not allowed; expected one of crop, arcface_5pt"),
        ({"input_size": 160}, r"'recognizers.mine.input_size' = 160 is not allowed; expected 112 with alignment arcface_5pt"),
        ({"std": [1.0, 1.0]}, r"'recognizers.mine.std' = \[1.0, 1.0\] is not allowed; expected three numbers"),
        ({"std": [0.0, 1.0, 1.0]}, r"'recognizers.mine.std\[\]' = 0.0 is not allowed"),
        ({"l2_normalise": "yes"}, r"'recognizers.mine.l2_normalise' = 'yes' is not allowed; expected true or false"),
    ],
)
def test_bad_specs_are_one_line_params_errors(exported, change, message):
    with pytest.raises(ParamsError, match=message):
        parse_onnx_specs({"mine": _spec(exported[1], **change)})


def test_a_name_the_project_uses_is_refused(exported, tmp_path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"recognizers": {"dlib": _spec(exported[1])}}))
    with pytest.raises(ParamsError, match="'recognizers.dlib' is not allowed; expected a name the project's recognizers do not use"):
        onnx_specs(tmp_path / "params.yaml")
