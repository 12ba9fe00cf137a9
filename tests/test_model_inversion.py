"""Model-inversion building blocks: the victim and prior shapes, LFW people cropped as scikit-learn
does, ORL, the stratified split, and the genetic search through a counting oracle."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from faceleak.attacks.model_inversion import GeneticSettings, QueryOracle, genetic_inversion
from faceleak.data.fetch import safe_extract
from faceleak.data.lfw_people import crop_like_sklearn, stratified_split
from faceleak.data.orl import ORLError, load_orl
from faceleak.models.autoencoder import ConvAutoencoder
from faceleak.models.small_cnn import SmallCNN


def test_small_cnn_matches_the_specification():
    model = SmallCNN(classes=7)
    assert model(torch.rand(3, 1, 50, 37)).shape == (3, 7)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(2048, 256), (256, 7)]
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [(1, 32, (3, 3)), (32, 64, (3, 3)), (64, 128, (3, 3))]


@pytest.mark.parametrize("size", [(50, 37), (112, 92)])
def test_autoencoder_round_trip_shapes(size):
    model = ConvAutoencoder(size, latent_dim=64)
    faces = torch.rand(2, 1, *size)
    assert model.encode(faces).shape == (2, 64)
    output = model(faces)
    assert output.shape == (2, 1, *size) and 0 < output.min() and output.max() < 1


def test_lfw_people_crop_equals_scikit_learn(lfw_sample, tmp_path):
    from sklearn.datasets._lfw import _load_imgs

    colour = tmp_path / "face.jpg"
    Image.open(next(lfw_sample.glob("*/*.jpg"))).convert("RGB").save(colour)
    ours = crop_like_sklearn(colour)
    theirs = _load_imgs([str(colour)], (slice(70, 195), slice(78, 172)), False, 0.4)[0]
    assert ours.shape == (50, 37) and np.allclose(ours, theirs, atol=1e-6)


def test_stratified_split_sizes_and_balance():
    labels = np.repeat(np.arange(7), [77, 236, 121, 530, 109, 71, 144])  # the 1,288 LFW faces
    split = stratified_split(labels, (901, 129, 258), seed=0)
    assert [(split == s).sum() for s in ("train", "val", "test")] == [901, 129, 258]
    share = np.bincount(labels[split == "test"], minlength=7) / 258
    assert np.abs(share - np.bincount(labels) / len(labels)).max() < 0.01
    assert np.array_equal(split, stratified_split(labels, (901, 129, 258), seed=0))
    with pytest.raises(ValueError, match="do not add up"):
        stratified_split(labels, (900, 129, 258), seed=0)


def test_orl_from_the_mirror(mirror, tmp_path):
    safe_extract(mirror / "orl_faces.zip", tmp_path / "orl")
    faces, labels = load_orl(tmp_path / "orl")
    assert faces.shape == (400, 112, 92) and np.bincount(labels).tolist() == [10] * 40
    with pytest.raises(ORLError, match="orl_faces"):
        load_orl(tmp_path)


class _ToyVictim(nn.Module):
    """Class 1 wins where the face is bright."""

    def forward(self, faces):
        brightness = faces.mean(dim=(1, 2, 3))
        return torch.stack([-8 * (brightness - 0.5), 8 * (brightness - 0.5)], dim=1)


def _decode(codes):
    return torch.sigmoid(codes[:, :1, None, None].expand(-1, 1, 4, 4) + 0 * codes.sum())


def test_genetic_search_improves_and_every_query_is_counted():
    victim = _ToyVictim()
    seen = []
    victim.register_forward_hook(lambda module, inputs, output: seen.append(len(inputs[0])))
    oracle = QueryOracle(victim)
    settings = GeneticSettings(population=10, generations=30)
    result = genetic_inversion(oracle, _decode, 1, np.full(4, -2.0), np.ones(4), settings, seed=0)
    assert result.queries == oracle.queries == sum(seen) == 300
    assert result.best_per_generation[-1] > result.best_per_generation[0]
    assert result.confidence > 0.95 and result.queries_to_success is not None
    assert not any(isinstance(value, nn.Module) for value in vars(oracle).values())
    again = genetic_inversion(QueryOracle(victim), _decode, 1, np.full(4, -2.0), np.ones(4), settings, seed=0)
    assert np.array_equal(result.code, again.code)


def test_top_label_only_gives_the_search_nothing_to_climb():
    def top_label(probabilities):
        return np.eye(probabilities.shape[1])[probabilities.argmax(axis=1)]

    settings = GeneticSettings(population=10, generations=10)
    result = genetic_inversion(QueryOracle(_ToyVictim(), top_label), _decode, 1, np.full(4, -6.0), np.ones(4), settings, seed=0)
    assert result.confidence == 0.0 and result.queries_to_success is None


def test_victim_training_is_seeded_and_learns_a_separable_task():
    from faceleak.model_inversion import FitSettings, train_victim

    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 40)
    faces = np.clip(rng.normal(0.3, 0.1, (80, 20, 16)) + labels[:, None, None] * 0.4, 0, 1).astype(np.float32)
    split = np.where(np.arange(80) % 4 == 0, "val", "train")
    settings = FitSettings(epochs=4, batch_size=16, learning_rate=3e-3, patience=7, min_delta=1e-4, weight_decay=1e-4, clip_norm=1.0)
    runs = [train_victim(faces, labels, split, settings, label_smoothing=0.05, seed=1) for _ in range(2)]
    assert runs[0][1].val_loss == runs[1][1].val_loss
    with torch.no_grad():
        predicted = runs[0][0](torch.from_numpy(faces[:, None])).argmax(dim=1).numpy()
    assert (predicted == labels).mean() > 0.9


def test_prior_training_reduces_reconstruction_error():
    from faceleak.model_inversion import FitSettings, train_prior

    faces = np.random.default_rng(0).random((48, 50, 37)).astype(np.float32)
    val = np.arange(48) % 6 == 0
    model, history = train_prior(faces, val, FitSettings(epochs=3, batch_size=16, learning_rate=1e-3, patience=5), 64, seed=0)
    assert len(history.val_loss) == 3 and history.train_loss[-1] < history.train_loss[0]
    assert model.encode(torch.from_numpy(faces[:2, None])).shape == (2, 64)


def test_output_defenses():
    from faceleak.defenses.outputs import noisy, rounded, top_label_only

    probabilities = np.array([[0.7, 0.2999, 0.0001]])
    assert np.array_equal(rounded(2)(probabilities), [[0.7, 0.3, 0.0]])
    assert np.array_equal(top_label_only(probabilities), [[1.0, 0.0, 0.0]])
    first, second = noisy(0.05, seed=3), noisy(0.05, seed=3)
    assert np.allclose(first(probabilities), second(probabilities)) and np.isclose(first(probabilities).sum(), 1.0)


def test_mi_face_raises_the_target_confidence_of_a_white_box_victim():
    from faceleak.attacks.model_inversion import mi_face

    face, confidence = mi_face(_ToyVictim(), target=1, shape=(4, 4), steps=60, learning_rate=0.1, seed=0)
    assert face.shape == (4, 4) and confidence > 0.95


def test_nearest_real_face_on_known_images():
    from faceleak.metrics.reconstruction import nearest_real_face

    rng = np.random.default_rng(0)
    real = rng.random((3, 50, 37))
    result = nearest_real_face(real[1], real)
    assert result["nearest_index"] == 1 and result["ssim"] == pytest.approx(1.0) and np.isinf(result["psnr_db"])
    noisy_copy = np.clip(real[2] + 0.05 * rng.standard_normal((50, 37)), 0, 1)
    assert nearest_real_face(noisy_copy, real)["nearest_index"] == 2
