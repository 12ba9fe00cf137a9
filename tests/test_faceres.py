"""HSE faceres: the PyTorch port against the tfjs graph run node by node, the recognizer, the surrogate, conversion errors."""

import json

import numpy as np
import pytest
import torch

from faceleak import vendor
from faceleak.data.images import to_unit_range
from faceleak.defenses.cloak import load_surrogates
from faceleak.errors import MissingInputError
from faceleak.io import save_weights
from faceleak.metrics.verification import pair_distances
from faceleak.models import faceres
from faceleak.models.recognizers import load_recognizer
from faceleak.models.ssd_mobilenet import WeightsManifestError, read_tfjs_weights
from tests.conftest import same_padding

GRAPH, WEIGHTS = vendor.vendored_file("faceres.json"), vendor.vendored_file("faceres.bin")
needs_faceres = pytest.mark.skipif(not WEIGHTS.is_file(), reason=f"{WEIGHTS} is absent: run `.venv/bin/python -m faceleak.vendor`")


def _convolve(x: np.ndarray, weight: np.ndarray, stride: int, depthwise: bool) -> np.ndarray:
    kernel = weight.shape[0]
    windows = np.lib.stride_tricks.sliding_window_view(same_padding(x, kernel, stride), (kernel, kernel), axis=(1, 2))[:, ::stride, ::stride]
    if depthwise:
        return np.einsum("nhwcij,ijc->nhwc", windows, weight[..., 0], optimize=True)
    return np.einsum("nhwcij,ijco->nhwo", windows, weight, optimize=True)


def run_graph_reference(images: np.ndarray) -> np.ndarray:
    """The graph model's nodes executed in order in NumPy (NHWC), up to the descriptor: (N, 1024)."""
    nodes = json.loads(GRAPH.read_text())["modelTopology"]["node"]
    values = {name: value.astype(np.float32) for name, value in read_tfjs_weights(GRAPH, [WEIGHTS]).items()}
    values["input_1"] = images.astype(np.float32)
    operations = {
        "Add": lambda a, b, node: a + b,
        "Mul": lambda a, b, node: a * b,
        "Minimum": lambda a, b, node: np.minimum(a, b),
        "Maximum": lambda a, b, node: np.maximum(a, b),
        "Conv2D": lambda a, b, node: _convolve(a, b, int(node["attr"]["strides"]["list"]["i"][1]), False),
        "DepthwiseConv2dNative": lambda a, b, node: _convolve(a, b, int(node["attr"]["strides"]["list"]["i"][1]), True),
    }
    for node in nodes:
        if node["op"] in ("Const", "Placeholder"):
            continue
        args = [values[name] for name in node["input"]]
        if node["op"] == "Relu":
            values[node["name"]] = np.maximum(args[0], 0)
        elif node["op"] == "Mean":
            return args[0].mean(axis=(1, 2))
        else:
            values[node["name"]] = operations[node["op"]](*args[:2], node).astype(np.float32)
    raise AssertionError("the graph has no Mean node")


@pytest.fixture(scope="module")
def network():
    model = faceres.Faceres()
    model.load_state_dict(faceres.convert_tfjs(GRAPH, WEIGHTS))
    return model.eval().requires_grad_(False)


@needs_faceres
def test_port_equals_the_graph_on_mfr2_faces(network, mfr2_unmasked):
    resized = torch.nn.functional.interpolate((to_unit_range(mfr2_unmasked[0][:2]) + 1) * 127.5, size=(224, 224), mode="bilinear", align_corners=False)
    reference = run_graph_reference(resized.permute(0, 2, 3, 1).numpy())
    ours = network(resized).numpy()
    assert ours.shape == (2, 1024)
    assert np.abs(ours - reference).max() < 1e-4 * np.abs(reference).max()


@needs_faceres
def test_recognizer_tells_mfr2_people_apart(mfr2_unmasked, tmp_path):
    save_weights(tmp_path / "faceres.pt", faceres.convert_tfjs(GRAPH, WEIGHTS))
    recognizer = load_recognizer("faceres", tmp_path)
    images, identities = mfr2_unmasked
    templates = recognizer.embed(images, batch_size=4)
    assert templates.shape == (6, 1024) and np.allclose(np.linalg.norm(templates, axis=1), 1.0, atol=1e-5)
    same = identities[:, None] == identities[None, :]
    distances = pair_distances(np.repeat(templates, 6, axis=0), np.tile(templates, (6, 1))).reshape(6, 6)
    assert distances[same & ~np.eye(6, dtype=bool)].max() < distances[~same].min()
    grey = recognizer.embed(images[:2, ..., :1])  # grey crops are replicated to RGB
    assert grey.shape == (2, 1024)
    surrogate = load_surrogates(["faceres"], tmp_path)["faceres"]
    faces = to_unit_range(images[:2]).requires_grad_(True)
    surrogate_templates = surrogate(faces)
    assert np.abs(surrogate_templates.detach().numpy() - templates[:2]).max() < 1e-5
    surrogate_templates.sum().backward()
    assert faces.grad.abs().sum() > 0


@needs_faceres
def test_conversion_errors_are_one_line(tmp_path):
    with pytest.raises(MissingInputError, match="does not exist"):
        faceres.convert_tfjs(tmp_path / "absent.json", WEIGHTS)
    with pytest.raises(MissingInputError, match="run the weights stage"):
        faceres.load_faceres(tmp_path / "absent.pt")
    truncated = tmp_path / "faceres.bin"
    truncated.write_bytes(WEIGHTS.read_bytes()[:1000])
    with pytest.raises(WeightsManifestError, match="bytes of weights"):
        faceres.convert_tfjs(GRAPH, truncated)
    graph = json.loads(GRAPH.read_text())
    graph["weightsManifest"][0]["weights"] = [w for w in graph["weightsManifest"][0]["weights"] if w["name"] != "conv_pw_13_bn/batchnorm_1/sub"]
    kept = read_tfjs_weights(GRAPH, [WEIGHTS])
    (tmp_path / "faceres.json").write_text(json.dumps(graph))
    (tmp_path / "short.bin").write_bytes(b"".join(np.float16(value).tobytes() for name, value in kept.items() if name != "conv_pw_13_bn/batchnorm_1/sub" and value.dtype != np.int32) + kept["global_pooling/Mean/reduction_indices"].astype("<i4").tobytes())
    with pytest.raises(WeightsManifestError, match="no tensor 'conv_pw_13_bn/batchnorm_1/sub'"):
        faceres.convert_tfjs(tmp_path / "faceres.json", tmp_path / "short.bin")
