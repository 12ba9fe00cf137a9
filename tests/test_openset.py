"""Open-set building blocks on real faces: MTCNN alignment, dlib's recognizer, the conditioned decoder."""

import numpy as np
import pytest
import torch
from PIL import Image

from faceleak.attacks.embedding_inversion import EmbeddingInversionAttack, TrainParams
from faceleak.data.align import FaceAligner, NoFaceError
from faceleak.data.images import to_channels
from faceleak.defenses.masking import random_masks
from faceleak.metrics.verification import pair_distances
from faceleak.models.decoder import EmbeddingDecoder
from faceleak.models.dlib_face import DlibRecognizer
from faceleak.systems.openset.steps import train_conditioned_attack


@pytest.fixture(scope="module")
def aligned(lfw_sample):
    paths = sorted(lfw_sample.glob("*/*.jpg"))
    faces, detected = FaceAligner(size=160, margin=60, channels=1).align(paths)
    return faces, detected, [path.stem for path in paths]


def test_mtcnn_aligns_grey_lfw_faces(aligned):
    faces, detected, _ = aligned
    assert faces.shape == (4, 160, 160, 1) and faces.dtype == np.uint8 and detected.all()


def test_no_face_is_an_error_or_a_counted_fallback(lfw_sample, tmp_path):
    blank = tmp_path / "blank.jpg"
    Image.new("RGB", (250, 250), "gray").save(blank)
    paths = [*sorted(lfw_sample.glob("*/*.jpg"))[:2], blank]
    aligner = FaceAligner(size=64, margin=8, channels=3)
    with pytest.raises(NoFaceError, match="blank.jpg"):
        aligner.align(paths, on_no_face="error")
    faces, detected = aligner.align(paths, on_no_face="median_box")
    assert faces.shape == (3, 64, 64, 3) and detected.tolist() == [True, True, False]


def test_dlib_tells_the_same_person_from_another(aligned):
    faces, _, names = aligned  # Aaron_Peirsol x2, Abel_Pacheco x2
    descriptors = DlibRecognizer().embed(faces)
    assert descriptors.shape == (4, 128)
    same = pair_distances(descriptors[[0, 2]], descriptors[[1, 3]])
    different = pair_distances(descriptors[[0, 1]], descriptors[[2, 3]])
    assert same.max() < 0.6 < different.min(), (names, same, different)
    assert np.array_equal(descriptors, DlibRecognizer().embed(to_channels(np.repeat(faces, 3, axis=-1), 1)))
    assert np.array_equal(descriptors, DlibRecognizer(workers=2).embed(faces, batch_size=1))


def test_random_masks_leak_a_fraction_in_range():
    masks = random_masks(500, 512, 0.2, torch.Generator().manual_seed(0))
    leaked = masks.sum(dim=1) / 512
    assert masks.shape == (500, 512) and set(masks.unique().tolist()) == {0.0, 1.0}
    assert leaked.min() >= 0.19 and leaked.max() <= 1.0 and leaked.std() > 0.1


def test_conditioned_decoder_needs_the_mask():
    decoder = EmbeddingDecoder(face_size=16, base_channels=4, conditioned=True)
    with pytest.raises(ValueError, match="mask"):
        decoder(torch.zeros(2, 512))
    assert decoder(torch.zeros(2, 512), torch.ones(2, 512)).shape == (2, 3, 16, 16)


def test_conditioned_attack_is_seeded():
    rng = np.random.default_rng(0)
    templates = rng.standard_normal((12, 512)).astype(np.float32)
    faces = rng.integers(0, 255, (12, 32, 32, 1), dtype=np.uint8)
    people = np.repeat(np.arange(6), 2)
    params = TrainParams(epochs=2, batch_size=4, learning_rate=1e-3, dropout=0.0, patience=2, identity_weight=0.0, base_channels=4)
    runs = [train_conditioned_attack(templates, faces, people, people == 5, params, 16, 0.1, seed=3) for _ in range(2)]
    assert runs[0][1] == runs[1][1] and runs[0][1]["val_images"] == 2
    outputs = [attack.run(templates[:3], np.ones(512, np.float32)) for attack, _ in runs]
    assert torch.equal(outputs[0], outputs[1])
    assert isinstance(runs[0][0], EmbeddingInversionAttack)
