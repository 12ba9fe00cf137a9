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


def test_margin_fitness_is_the_log_ratio_to_the_strongest_other_class():
    from faceleak.attacks.model_inversion import _fitness

    probabilities = np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]])
    assert np.allclose(_fitness(probabilities, 0, "margin"), [np.log(0.5 / 0.3), np.log(0.1 / 0.7)])
    assert np.allclose(_fitness(probabilities, 0, "log_probability"), np.log([0.5, 0.1]))


def test_stronger_search_spends_exactly_its_budget_and_starts_from_the_best_public_faces():
    from faceleak.attacks.model_inversion import PublicStart, reference_search

    settings = GeneticSettings(population=6, generations=4, fitness="margin", latent_clip=2.0, start_pool=12, final_candidates=3, final_views=4)
    codes = np.linspace(-3, 3, 20)[:, None].repeat(4, axis=1)
    start = PublicStart(_decode(torch.from_numpy(codes).float()), codes)
    oracle = QueryOracle(_ToyVictim())
    result = genetic_inversion(oracle, _decode, 1, np.zeros(4), np.ones(4), settings, seed=0, start=start)
    assert result.queries == oracle.queries == settings.queries() == 12 + 24 + 12
    assert np.abs(result.code).max() <= 2.0 + 1e-9  # kept within latent_clip standard deviations
    assert result.confidence > 0.95  # the brightest public faces start the search for the bright class
    again = genetic_inversion(QueryOracle(_ToyVictim()), _decode, 1, np.zeros(4), np.ones(4), settings, seed=0, start=start)
    assert np.array_equal(result.code, again.code)
    plain = reference_search(settings)
    assert plain.queries() == settings.queries() and plain.start_pool == plain.final_views == 0 and plain.fitness == "log_probability"


def test_view_confidence_queries_every_view():
    from faceleak.attacks.model_inversion import view_confidence

    oracle = QueryOracle(_ToyVictim())
    faces = torch.stack([torch.full((1, 8, 8), 0.9), torch.full((1, 8, 8), 0.1)])
    scores = view_confidence(oracle, faces, 1, 5, torch.Generator().manual_seed(0))
    assert oracle.queries == 10 and scores[0] > 0.9 > 0.1 > scores[1]


def test_top_label_only_gives_the_search_nothing_to_climb():
    def top_label(probabilities):
        return np.eye(probabilities.shape[1])[probabilities.argmax(axis=1)]

    settings = GeneticSettings(population=10, generations=10)
    result = genetic_inversion(QueryOracle(_ToyVictim(), top_label), _decode, 1, np.full(4, -6.0), np.ones(4), settings, seed=0)
    assert result.confidence == 0.0 and result.queries_to_success is None


def test_victim_training_is_seeded_and_learns_a_separable_task():
    from faceleak.systems.model_inversion.steps import FaceSet, train_victim
    from faceleak.training import FitSettings

    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 40)
    faces = np.clip(rng.normal(0.3, 0.1, (80, 20, 16)) + labels[:, None, None] * 0.4, 0, 1).astype(np.float32)
    split = np.where(np.arange(80) % 4 == 0, "val", "train")
    settings = FitSettings(epochs=4, batch_size=16, learning_rate=3e-3, patience=7, min_delta=1e-4, weight_decay=1e-4, clip_norm=1.0)
    face_set = FaceSet(faces, labels, ["dark", "bright"], split)
    runs = [train_victim(face_set, settings, label_smoothing=0.05, seed=1) for _ in range(2)]
    assert runs[0][1].val_loss == runs[1][1].val_loss
    with torch.no_grad():
        predicted = runs[0][0](torch.from_numpy(faces[:, None])).argmax(dim=1).numpy()
    assert (predicted == labels).mean() > 0.9


def test_prior_training_reduces_reconstruction_error():
    from faceleak.systems.model_inversion.steps import train_prior
    from faceleak.training import FitSettings

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
    real = rng.integers(0, 256, (3, 50, 37, 1), dtype=np.uint8)
    result = nearest_real_face(real[1], real)
    assert result["nearest_index"] == 1 and result["ssim"] == pytest.approx(1.0) and np.isinf(result["psnr_db"])
    noisy_copy = np.clip(real[2] + rng.normal(0, 12, (50, 37, 1)), 0, 255).astype(np.uint8)
    nearest = nearest_real_face(noisy_copy, real)
    assert nearest["nearest_index"] == 2
    assert nearest["psnr_db"] == pytest.approx(10 * np.log10(255**2 / np.mean((noisy_copy.astype(float) - real[2]) ** 2)))


def test_smoothed_cross_entropy_matches_torch_and_allows_negative_smoothing():
    from faceleak.systems.model_inversion.steps import smoothed_cross_entropy

    logits, targets = torch.randn(5, 7, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 3, 6, 2, 2])
    assert torch.isclose(smoothed_cross_entropy(0.05)(logits, targets), nn.CrossEntropyLoss(label_smoothing=0.05)(logits, targets))
    log_p = torch.log_softmax(logits, dim=1)
    expected = -(1.05 * log_p[torch.arange(5), targets] - 0.05 / 7 * log_p.sum(dim=1)).mean()
    assert torch.isclose(smoothed_cross_entropy(-0.05)(logits, targets), expected)


def test_orl_crop_keeps_the_centre_at_the_lfw_aspect_ratio():
    from faceleak.data.orl import crop_like_lfw_people

    faces = np.zeros((1, 112, 92), dtype=np.float32)
    faces[:, :, :4] = faces[:, :, 87:] = 1.0  # the 4 + 5 columns outside the central 83
    cropped = crop_like_lfw_people(faces)
    assert cropped.shape == (1, 50, 37) and cropped.max() == 0.0
    faces[:, :, 4] = 1.0
    assert crop_like_lfw_people(faces)[0, :, 0].min() > 0.0


def test_linear_probe_on_separable_features_and_two_classes():
    from faceleak.systems.model_inversion.steps import LinearProbe

    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 20)
    features = np.eye(3)[labels] * 5 + 0.1 * rng.standard_normal((60, 3))
    assert (LinearProbe.fit(features, labels).predict(features) == labels).all()
    binary = labels < 2
    probe = LinearProbe.fit(features[binary], labels[binary])
    assert probe.coef.shape == (2, 3) and (probe.predict(features[binary]) == labels[binary]).all()


class _MeanFeatures(nn.Module):
    """A stand-in for FaceNet: the 4x4 average-pooled grey image as the feature vector."""

    def forward(self, faces):
        return nn.functional.adaptive_avg_pool2d(faces[:, :1], 4).flatten(1)


def _toy_face_set():
    from faceleak.systems.model_inversion.steps import FaceSet

    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1], 6)
    faces = np.clip(rng.random((12, 50, 37)) * 0.5 + labels[:, None, None] * 0.5, 0, 1).astype(np.float32)
    split = np.tile(["train", "train", "train", "train", "val", "test"], 2)
    return FaceSet(faces, labels, ["dark", "bright"], split)


def test_judges_on_known_reconstructions(tmp_path):
    from faceleak.systems.model_inversion.steps import Evaluator, FaceSet, Judges, LinearProbe, facenet_features, search_rates

    face_set = _toy_face_set()
    face_set.save(tmp_path / "faces.npz")
    assert np.array_equal(FaceSet.load(tmp_path / "faces.npz").faces, face_set.faces)
    features_of = lambda faces: facenet_features(_MeanFeatures(), faces)  # noqa: E731
    features = features_of(face_set.faces)
    train = face_set.split == "train"
    evaluator = Evaluator(features_of, LinearProbe.fit(features[train], face_set.labels[train]), features)
    judges = Judges({"first": evaluator, "second": evaluator}, face_set, 0.95)
    copies = face_set.faces[[0, 6]]  # a training face of each person, returned as its "reconstruction"
    summary, rows = judges.judge(_ToyVictim(), copies, np.array([0, 1]))
    assert summary["ssim"] == pytest.approx(1.0) and np.isinf(summary["psnr_db"])
    assert summary["facenet_nn_distance"] == pytest.approx(0.0, abs=1e-6) and summary["knn_accuracy"] == 1.0
    assert summary["attack_accuracy_first"] == summary["attack_accuracy_second"] == summary["reconstructed_accuracy"] == 1.0
    assert summary["real_accuracy"] == 1.0 and summary["mixed_accuracy"] == 1.0
    assert [row["success"] for row in rows] == [row["confidence"] > 0.95 for row in rows]
    assert summary["real_accuracy_total"] == int((face_set.split == "test").sum()) and summary["mixed_accuracy_total"] == summary["real_accuracy_total"] + 2
    wrong, _ = judges.judge(_ToyVictim(), copies, np.array([1, 0]))  # each face credited to the other person
    assert wrong["attack_accuracy_first"] == 0.0 and wrong["mixed_accuracy"] == pytest.approx(2 / 4)
    assert wrong["attack_accuracy_first_count"] == 0 and wrong["attack_accuracy_first_ci95"][1] < 0.9
    rates = search_rates(rows, ("first", "second"))
    assert rates["attack_accuracy_second"]["count"] == 2 and rates["attack_accuracy_second"]["total"] == 2
    assert rates["attack_accuracy_first"]["ci95"][0] > 0.3 and set(rates) == {"success", "attack_accuracy_first", "attack_accuracy_second", "knn_accuracy"}


def test_output_defenses_keep_the_victims_answers_and_noise_is_seeded():
    from faceleak.systems.model_inversion.params import OutputDefenseParams
    from faceleak.systems.model_inversion.steps import defended_accuracy, defenses_of

    defenses = defenses_of(OutputDefenseParams(rounding=(1,), noise=(0.3,), training_label_smoothing=-0.05))
    assert [(d.name, d.victim) for d in defenses] == [
        ("none", "standard"),
        ("rounding", "standard"),
        ("top_label", "standard"),
        ("noise", "standard"),
        ("negative_label_smoothing", "smoothed"),
    ]
    face_set = _toy_face_set()
    exact = defended_accuracy(_ToyVictim(), defenses[0], face_set, seed=0)
    assert defended_accuracy(_ToyVictim(), defenses[2], face_set, seed=0) == exact
    assert exact["victim_test_accuracy_total"] == int((face_set.split == "test").sum())
    probabilities = np.full((4, 3), 1 / 3)
    assert np.array_equal(defenses[3].transform(5)(probabilities), defenses[3].transform(5)(probabilities))


def test_model_inversion_params_are_checked(tmp_path):
    import copy

    import yaml

    from faceleak.params import ParamsError
    from faceleak.systems.model_inversion.params import load_model_inversion_params, parse_model_inversion_params
    from tests.conftest import PROJECT

    params = load_model_inversion_params(PROJECT / "params.yaml")
    assert params.splits["lfw"] == (901, 129, 258) and params.genetic.queries() == 5050
    raw = yaml.safe_load((PROJECT / "params.yaml").read_text())
    for change, message in [
        (("prior", "data", "public"), "model_inversion.prior.data"),
        (("lfw", "split", [901, 387]), "model_inversion.lfw.split"),
        (("attack", "curve_generations", [1, 500]), "curve_generations"),
        (("defenses", "training_label_smoothing", 0.1), "model_inversion.defenses.training_label_smoothing"),
        (("lfw", "split", [1, 1, 1]), r"model_inversion.lfw.split' = \[1, 1, 1\].*1288 images"),
        (("lfw", "split", [1280, 1, 7]), r"each at least 7"),
        (("orl", "split", [240, 40, 121]), r"model_inversion.orl.split.*400 images"),
        (("orl", "targets", 99), r"model_inversion.orl.targets' = 99.*40 people"),
        (("lfw", "targets", 8), r"model_inversion.lfw.targets' = 8.*7 people"),
        (("lfw", "min_images", 5), r"model_inversion.lfw.min_images"),
        (("attack", "fitness", "loss"), r"model_inversion.attack.fitness"),
        (("attack", "start_pool", 10), r"start_pool"),
        (("attack", "final_candidates", 99), r"final_candidates"),
        (("attack", "latent_clip", -1), r"model_inversion.attack.latent_clip"),
    ]:
        bad = copy.deepcopy(raw)
        bad["model_inversion"][change[0]][change[1]] = change[2]
        with pytest.raises(ParamsError, match=message):
            parse_model_inversion_params(bad)


def test_public_lookup_queries_each_face_once_and_takes_the_best_for_each_target():
    from faceleak.attacks.model_inversion import public_lookup

    oracle = QueryOracle(_ToyVictim())
    faces = torch.linspace(0, 1, 7)[:, None, None, None].expand(-1, 1, 4, 4)
    chosen = public_lookup(oracle, faces, np.array([1, 0]), "margin", batch_size=3)
    assert oracle.queries == 7 and chosen.tolist() == [6, 0]  # the brightest for class 1, the darkest for class 0


def test_diagnostics_judge_the_prior_ceiling_and_the_lookup(tmp_path):
    from faceleak.systems.model_inversion.steps import Evaluator, Judges, LinearProbe, facenet_features, lookup_figures, prior_ceiling

    face_set = _toy_face_set()
    features_of = lambda faces: facenet_features(_MeanFeatures(), faces)  # noqa: E731
    features = features_of(face_set.faces)
    train = face_set.split == "train"
    judges = Judges({"first": Evaluator(features_of, LinearProbe.fit(features[train], face_set.labels[train]), features)}, face_set, 0.95)
    torch.manual_seed(0)
    ceiling, reconstructed = prior_ceiling(_ToyVictim(), ConvAutoencoder((50, 37), 4), np.array([0, 1]), judges)
    assert ceiling["faces"] == 2 and reconstructed.shape == (2, 50, 37)
    assert ceiling["real"]["attack_accuracy_first"]["rate"] == 1.0 and ceiling["prior"]["success"]["total"] == 2
    assert ceiling["prior_per_target"]["bright"]["first"]["total"] == 1
    settings = GeneticSettings(population=2, generations=2, fitness="margin")
    lookup, faces = lookup_figures(_ToyVictim(), face_set.faces, np.array([0, 1]), judges, settings, seeds=3, seed=0)
    assert lookup["searches"] == 6 and lookup["queries_per_search"] == 4 and faces.shape == (2, 50, 37)
    assert lookup["attack_accuracy_first"]["total"] == 6


def test_per_class_rates_count_each_persons_faces_and_calls():
    from faceleak.systems.model_inversion.steps import per_class_rates

    labels, predicted = np.array([0, 0, 0, 1, 1, 2]), np.array([0, 0, 1, 1, 1, 0])
    rates = per_class_rates(labels, predicted, ["a", "b", "c"])
    assert rates["a"]["support"] == 3 and rates["a"]["recall_count"] == 2 and rates["a"]["recall_total"] == 3
    assert rates["a"]["precision"] == pytest.approx(2 / 3) and rates["a"]["precision_total"] == 3
    assert rates["b"]["precision_count"] == 2 and rates["b"]["precision_total"] == 3 and rates["b"]["recall"] == 1.0
    assert rates["c"]["precision"] is None and rates["c"]["recall"] == 0.0 and rates["c"]["recall_ci95"][1] < 0.9
