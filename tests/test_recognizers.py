"""Every recognizer of the registry loads by name and tells two MFR2 people apart; the verification
system's pieces (View 1 pairs, decision and ROC figures, the trained verifiers) on small real data."""

import numpy as np
import pytest

from faceleak.data import lfw
from faceleak.data.images import read_rgb
from faceleak.data.mfr2 import load_faces
from faceleak.data.table import FaceTable
from faceleak.io import save_weights
from faceleak.metrics.verification import decision_figures, roc_figures
from faceleak.models.facenet import convert_opencv_graph
from faceleak.models.mobilefacenet import convert_tflite
from faceleak.models.recognizers import UnknownRecognizer, load_recognizer, recognizer_names, verification_model
from faceleak.models.verifiers import save_verifier
from faceleak.systems.verification.params import SiameseParams, VerifierParams
from faceleak.systems.verification.steps import PairSet, excluded_people, train_siamese, train_verifier
from faceleak.vendor import vendored_file

NET = {"input_size": 32, "crop_fraction": 0.7, "embedding_dim": 16}


@pytest.fixture(scope="module")
def mfr2_people(mfr2_root) -> tuple[FaceTable, list[str]]:
    """Every image (160x160 RGB) of ten MFR2 people with two unmasked images or more, and two of those people."""
    faces = load_faces(mfr2_root)
    unmasked = [face.identity for face in faces if not face.masked]
    people = [person for person in dict.fromkeys(unmasked) if unmasked.count(person) >= 2][:10]
    chosen = [face for face in faces if face.identity in people]
    table = FaceTable(np.stack([read_rgb(f.path) for f in chosen]), np.array([f.name for f in chosen]), np.array([f.identity for f in chosen]), {})
    return table, people[:2]


@pytest.fixture(scope="module")
def two_people(mfr2_root, mfr2_people) -> np.ndarray:
    """Two unmasked images each of two MFR2 people, ordered A, A, B, B."""
    unmasked = [face for face in load_faces(mfr2_root) if not face.masked]
    return np.stack([read_rgb(face.path) for person in mfr2_people[1] for face in [f for f in unmasked if f.identity == person][:2]])


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory, mfr2_people):
    """FaceNet and MobileFaceNet converted, and a Siamese and a verifier trained for seconds on ten MFR2 people,
    the two tested people among them (plumbing, not quality: the pipeline's metrics judge quality)."""
    table, tested = mfr2_people
    folder = tmp_path_factory.mktemp("models")
    save_weights(folder / "facenet.pt", convert_opencv_graph())
    if vendored_file("MobileFaceNet.tflite").is_file():
        save_weights(folder / "mobilefacenet.pt", convert_tflite(vendored_file("MobileFaceNet.tflite")))
    first, second = np.triu_indices(len(table.people), 1)
    same = table.people[first] == table.people[second]
    chosen = np.concatenate([np.flatnonzero(same), np.random.default_rng(0).choice(np.flatnonzero(~same), same.sum(), replace=False)])
    pairs = PairSet(first[chosen], second[chosen], same[chosen], np.zeros(len(chosen), int))
    fit = {"epochs": 6, "batch_size": 32, "learning_rate": 0.001, "patience": 6}
    model, config, _, _ = train_siamese(table, pairs, SiameseParams(**NET, margin=2.0, threshold=0.5, val_fraction=0.1, **fit), seed=0)
    save_verifier(model, config, verification_model(folder, "siamese"))
    params = VerifierParams(**NET, width=8, scale=16.0, margin=0.2, min_images=2, val_fraction=0.2, engine="fp32", epochs=12, batch_size=16, learning_rate=0.05, patience=12)
    val = np.isin(table.people, sorted(set(table.people) - set(tested))[:2])
    model, config, _, counts = train_verifier(table, np.arange(len(table.people)), val, params, seed=0)
    assert (counts["train_people"], counts["val_people"]) == (8, 2)
    save_verifier(model, config, verification_model(folder, "verifier_view1"))
    return folder


def _distances(name, models_dir, two_people):
    recognizer = load_recognizer(name, models_dir)
    templates = recognizer.embed(two_people)
    assert templates.shape == (4, recognizer.embedding_dim) and templates.dtype == np.float32
    assert set(recognizer.describe()) == {"name", "embedding_dim", "input_size", "alignment", "training_data"}
    same = recognizer.distance(templates[[0, 2]], templates[[1, 3]])
    return same, recognizer.distance(templates[[0, 0, 1, 1]], templates[[2, 3, 2, 3]])


@pytest.mark.parametrize("name", ["facenet", "dlib", "mobilefacenet"])
def test_pretrained_recognizer_loads_by_name_and_separates_two_mfr2_people(name, models_dir, two_people):
    if not (models_dir / f"{name}.pt").is_file() and name == "mobilefacenet":
        pytest.skip("MobileFaceNet's TFLite file is not vendored here; run .venv/bin/python -m faceleak.vendor")
    same, different = _distances(name, models_dir, two_people)
    assert same.max() < different.min(), (name, same, different)


@pytest.mark.parametrize("name", ["siamese", "verifier"])
def test_trained_verifier_loads_by_name_and_tells_its_training_people_apart(name, models_dir, two_people):
    same, different = _distances(name, models_dir, two_people)
    assert same.mean() < different.mean(), (name, same, different)


def test_every_registered_recognizer_is_tested():
    # faceres: tests/test_faceres.py; params.yaml's ONNX ones (faceres_onnx): tests/test_onnx_recognizer.py and the end-to-end audit
    assert set(recognizer_names()) == {"facenet", "dlib", "mobilefacenet", "faceres", "siamese", "verifier", "faceres_onnx"}


def test_unknown_recognizer_is_named():
    with pytest.raises(UnknownRecognizer, match="unknown recognizer 'deepface'; known: facenet, dlib"):
        load_recognizer("deepface")


def test_trained_verifier_without_weights_is_a_clear_error(tmp_path):
    with pytest.raises(Exception, match="run the verification stages first"):
        load_recognizer("siamese", tmp_path)


def test_view1_pairs_read_as_one_fold(mirror):
    train, test = lfw.read_dev_pairs(mirror / lfw.DEV_TRAIN_FILE), lfw.read_dev_pairs(mirror / lfw.DEV_TEST_FILE)
    assert (len(train), sum(p.same for p in train)) == (2200, 1100) and (len(test), sum(p.same for p in test)) == (1000, 500)
    assert {p.fold for p in train + test} == {0}
    people = lambda pairs: {lfw.person_of(n) for p in pairs for n in (p.first, p.second)}  # noqa: E731
    assert not people(train) & people(test)  # View 1's training and test people are disjoint
    with pytest.raises(lfw.LFWError, match="starts with '<pairs>'"):
        lfw.read_dev_pairs(mirror / lfw.PAIRS_FILE)


def test_decision_and_roc_figures_on_constructed_distances():
    same = np.array([True, True, True, False, False, False])
    distances = np.array([0.1, 0.2, 0.9, 0.3, 0.8, 1.0])
    figures = decision_figures(distances, same, 0.5)
    assert figures["accuracy"] == pytest.approx(4 / 6) and figures["precision"] == pytest.approx(2 / 3)
    assert figures["recall"] == pytest.approx(2 / 3) and figures["f1"] == pytest.approx(2 / 3)
    roc, points = roc_figures(distances, same, (0.34,))
    assert roc["auc"] == pytest.approx(7 / 9) and roc["tar_at_far_0.34"] == pytest.approx(2 / 3)
    assert points[0]["false_accept_rate"] == 0.0 and points[-1]["true_accept_rate"] == 1.0


def test_verifier_splits_leave_out_the_tested_people():
    table = FaceTable(np.zeros((4, 8, 8, 1), np.uint8), np.array(["a_0001", "b_0001", "c_0001", "d_0001"]), np.array(["a", "b", "c", "d"]), {})
    view2 = PairSet(np.array([0, 2]), np.array([1, 3]), np.array([False, False]), np.array([0, 7]))
    assert excluded_people("view2_folds_1_5", set(), table, view2) == {"a", "b"}
    assert excluded_people("view2_folds_6_10", set(), table, view2) == {"c", "d"}
    assert excluded_people("view1", {"x"}, table, view2) == {"x"}
    with pytest.raises(ValueError, match="unknown verifier split"):
        excluded_people("view3", set(), table, view2)


def test_pair_and_decision_figures_carry_counts_and_intervals():
    from faceleak.systems.verification.steps import _decision, pair_figures

    same = np.array([True, True, True, False, False, False])
    distances = np.array([0.1, 0.2, 0.9, 0.3, 0.8, 1.0])
    figures, _ = pair_figures(distances, same, np.arange(6) % 2, (0.34,))
    assert figures["accuracy_total"] == 6 and figures["tar_at_far_0.34_count"] == 2 and figures["tar_at_far_0.34_total"] == 3
    low, high = figures["tar_at_far_0.34_ci95"]
    assert low < 2 / 3 < high
    decided = _decision(distances, same, 0.5)
    assert (decided["precision_count"], decided["precision_total"]) == (2, 3) and decided["recall_total"] == 3
    nothing = _decision(distances, same, 0.0)  # no pair called a match: precision has no pairs to stand on
    assert nothing["precision"] is None and nothing["precision_total"] == 0 and nothing["recall"] == 0.0
