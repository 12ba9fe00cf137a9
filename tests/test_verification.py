"""Thresholds at a false-match rate, 10-fold accuracy and success-attack rates on constructed scores."""

import numpy as np
import pytest

from faceleak.data.table import FaceTable
from faceleak.metrics.verification import best_threshold, success_attack_rate, tenfold_accuracy, threshold_at_fmr
from faceleak.models.recognizers import Recognizer
from faceleak.systems.openset.steps import success_figures, verification_figures
from faceleak.systems.verification.steps import PairSet, benchmark


def test_threshold_at_fmr_accepts_at_most_the_allowed_impostors():
    impostors = np.arange(1000, dtype=float)  # distances 0..999
    threshold, achieved = threshold_at_fmr(impostors, 0.01)
    assert threshold == 10.0 and achieved == 0.01  # accepts 0..9: ten of a thousand
    threshold, achieved = threshold_at_fmr(impostors, 0.001)
    assert threshold == 1.0 and achieved == 0.001
    threshold, achieved = threshold_at_fmr(impostors[:500], 0.001)  # 0.5 allowed -> none accepted
    assert threshold == 0.0 and achieved == 0.0


def test_threshold_at_fmr_rejects_rates_outside_zero_one():
    with pytest.raises(ValueError, match="false-match rate"):
        threshold_at_fmr(np.ones(10), 0.0)


def test_success_attack_rate_counts_strictly_below_threshold():
    assert success_attack_rate(np.array([0.1, 0.5, 0.9, 1.0]), 0.9) == 0.5
    assert success_attack_rate(np.array([]), 0.9) is None


def test_tenfold_accuracy_on_separable_and_random_scores():
    rng = np.random.default_rng(0)
    same = np.tile([True, False], 300)
    folds = np.repeat(np.arange(10), 60)
    separable = np.where(same, rng.uniform(0, 1, 600), rng.uniform(2, 3, 600))
    assert tenfold_accuracy(separable, same, folds) == (1.0, 0.0)
    assert 1.0 < best_threshold(separable, same) < 2.0
    mean, _ = tenfold_accuracy(rng.uniform(0, 1, 600), same, folds)
    assert 0.35 < mean < 0.65


def test_verification_figures_name_each_fmr():
    same = np.tile([True, False], 500)
    distances = np.where(same, 0.5, np.linspace(1, 2, 1000))
    figures = verification_figures(distances, same, np.repeat(np.arange(10), 100), (0.01, 0.001))
    assert figures["accuracy"] == 1.0 and figures["impostor_pairs"] == 500
    assert set(figures["thresholds"]) == {"0.01", "0.001"}
    assert figures["thresholds"]["0.01"]["achieved_fmr"] <= 0.01


def test_sar_type_one_and_two_on_known_embeddings():
    # Victims: person a has rows 0, 1; person b has row 2. Genuine templates on axes.
    genuine = np.eye(3, 4)
    people = np.array(["a", "a", "b"])
    victims = FaceTable(np.zeros((3, 8, 8, 1), np.uint8), np.array(["a1", "a2", "b1"]), people, {})
    queries = np.array([0, 2])
    # Reconstruction 0 lands on its source (distance 0); reconstruction of row 2 lands on row 1.
    reconstructions = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]])
    figures = success_figures(reconstructions, genuine, victims.people, queries, {"0.01": {"distance": 0.5}})
    assert figures["sar_type1_fmr0.01"] == 0.5  # query 0 matches its source; query 2 does not
    # Type II: query 0 vs row 1 (same person, other image) -> distance sqrt(2), rejected; row 2 has no other image.
    assert figures["type2_comparisons"] == 1 and figures["sar_type2_fmr0.01"] == 0.0
    assert figures["map_at_1"] == 0.5


class _MeanRecognizer(Recognizer):
    """A toy recognizer: a face's mean grey level per image row; counts the faces it embeds."""

    name, embedding_dim, input_size, alignment, training_data = "toy", 8, 8, "none", "none"
    embedded = 0

    def embed(self, faces: np.ndarray, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        self.embedded += len(faces)
        return faces.mean(axis=(2, 3)).astype(np.float32)


def _pair_set(rows: int, pairs: int, rng: np.random.Generator) -> PairSet:
    first, second = rng.integers(0, rows, pairs), rng.integers(0, rows, pairs)
    return PairSet(first, second, np.arange(pairs) % 2 == 0, np.arange(pairs) % 10)


def test_benchmark_reads_stored_view2_templates_instead_of_embedding_again():
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8)
    table = FaceTable(names=np.array([f"face_{row}" for row in range(40)]), people=np.arange(40) // 2, faces=faces, arrays={})
    view1_pairs, view2_pairs = _pair_set(40, 20, rng), _pair_set(40, 40, rng)
    fresh = _MeanRecognizer()
    embedded, _ = benchmark(fresh, table, view1_pairs, table, view2_pairs, (0.1,))
    stored = _MeanRecognizer()
    reused, _ = benchmark(stored, table, view1_pairs, table, view2_pairs, (0.1,), stored=fresh.embed(faces))
    assert stored.embedded == len(faces)  # View 1 only: View 2's templates came from the store
    assert {key: value for key, value in reused.items() if key != "faces_per_second"} == {
        key: value for key, value in embedded.items() if key != "faces_per_second"
    }
