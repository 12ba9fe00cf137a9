"""Work spread over forked processes: results in order, and the same as in one process."""

import os

import numpy as np
import torch

from faceleak.attacks.model_inversion import GeneticSettings
from faceleak.data.align import FaceAligner
from faceleak.defenses.outputs import noisy
from faceleak.models.autoencoder import ConvAutoencoder
from faceleak.models.small_cnn import SmallCNN
from faceleak.parallel import map_forked
from faceleak.systems.model_inversion.steps import Defense, invert_classes


def test_results_come_back_in_order_from_other_processes():
    offset = 10  # a closure: the workers inherit it when they fork
    results = map_forked(lambda item: (item + offset, os.getpid()), list(range(8)), workers=2)
    assert [value for value, _ in results] == list(range(10, 18))
    assert os.getpid() not in {pid for _, pid in results}
    assert map_forked(lambda item: item, [], workers=2) == []


def test_one_worker_runs_here():
    assert map_forked(lambda item: os.getpid(), [1, 2], workers=1) == [os.getpid()] * 2


def test_searches_side_by_side_equal_one_by_one(monkeypatch):
    torch.manual_seed(0)
    victim, prior = SmallCNN(5).eval(), ConvAutoencoder((20, 16), 8).eval()
    defense = Defense("noise", 0.2, "standard", lambda seed: noisy(0.2, seed))
    settings = GeneticSettings(population=8, generations=5)
    latent = (np.zeros(8), np.ones(8))
    side_by_side = invert_classes(victim, np.arange(3), defense, prior, latent, settings, seed=1)
    monkeypatch.setattr("faceleak.parallel.available_workers", lambda: 1)
    one_by_one = invert_classes(victim, np.arange(3), defense, prior, latent, settings, seed=1)
    for a, b in zip(side_by_side, one_by_one):
        assert np.array_equal(a.code, b.code) and a.confidence == b.confidence and a.queries == b.queries == 40


def test_alignment_side_by_side_equals_one_process(lfw_sample, monkeypatch):
    paths = sorted(lfw_sample.glob("*/*.jpg"))
    aligner = FaceAligner(size=64, margin=8, channels=1, batch_size=2)
    faces, detected = aligner.align(paths)
    monkeypatch.setattr("faceleak.parallel.available_workers", lambda: 1)
    alone, alone_detected = aligner.align(paths)
    assert np.array_equal(faces, alone) and np.array_equal(detected, alone_detected)
