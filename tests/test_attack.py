import numpy as np
import pytest
import torch

from faceleak.attacks.embedding_inversion import EmbeddingInversionAttack, InversionData, TrainParams
from faceleak.data.images import to_uint8
from faceleak.models.decoder import EmbeddingDecoder
from faceleak.systems.spine.mask_filter import filter_metrics
from faceleak.systems.spine.steps import split_images

PARAMS = TrainParams(epochs=3, batch_size=4, learning_rate=1e-3, dropout=0.1, patience=2, identity_weight=0.0, base_channels=4)


def _data(seed: int, count: int = 8) -> InversionData:
    generator = torch.Generator().manual_seed(seed)
    templates = torch.nn.functional.normalize(torch.randn(count, 512, generator=generator), dim=1)
    faces = torch.rand(count, 3, 32, 32, generator=generator) * 2 - 1
    return InversionData(templates * (torch.arange(512) < 153), templates, faces)


@pytest.mark.parametrize("size", [32, 128])
def test_decoder_shape_and_range(size):
    output = EmbeddingDecoder(face_size=size, base_channels=4)(torch.randn(2, 512))
    assert output.shape == (2, 3, size, size) and output.abs().max() <= 1


def test_decoder_refuses_odd_sizes():
    with pytest.raises(ValueError, match="face_size"):
        EmbeddingDecoder(face_size=100)


def test_training_is_seeded_and_keeps_the_best_checkpoint():
    first = EmbeddingInversionAttack(PARAMS, 32, seed=3).fit(_data(0), _data(1))
    again = EmbeddingInversionAttack(PARAMS, 32, seed=3).fit(_data(0), _data(1))
    leaked = _data(2).leaked.numpy()
    assert torch.equal(first.run(leaked), again.run(leaked))
    history = first.history_
    assert history.val_loss[history.best_epoch] == min(history.val_loss)


def test_save_and_load_round_trip(tmp_path):
    attack = EmbeddingInversionAttack(PARAMS, 32, seed=0).fit(_data(0), _data(1))
    attack.save(tmp_path / "decoder.pt")
    loaded = EmbeddingInversionAttack(PARAMS, 32, seed=9).load(tmp_path / "decoder.pt")
    leaked = _data(2).leaked.numpy()
    assert torch.equal(attack.run(leaked), loaded.run(leaked))
    assert to_uint8(attack.run(leaked)).dtype == np.uint8


def test_identity_loss_needs_facenet():
    params = TrainParams(**{**PARAMS.__dict__, "identity_weight": 0.5})
    with pytest.raises(ValueError, match="identity_weight"):
        EmbeddingInversionAttack(params, 32, seed=0)


def test_split_is_seeded_and_complete():
    split = split_images(40, 0.25, 0.15, seed=0)
    assert (split == "test").sum() == 10 and (split == "val").sum() == 6 and (split == "train").sum() == 24
    assert np.array_equal(split, split_images(40, 0.25, 0.15, seed=0))
    with pytest.raises(ValueError, match="cannot be split"):
        split_images(2, 0.5, 0.5, seed=0)


def test_mask_filter_metrics_known_values():
    p_unmasked = np.array([0.9, 0.95, 0.6, 0.1, 0.88])
    masked = np.array([False, False, False, True, True])
    metrics = filter_metrics(p_unmasked, masked, threshold=0.85)
    assert metrics["faces_kept"] == 3 and metrics["masked_faces_kept"] == 1
    assert metrics["precision_unmasked"] == pytest.approx(2 / 3)
    assert metrics["recall_unmasked"] == pytest.approx(2 / 3)
    assert metrics["recall_unmasked_count"] == 2 and metrics["recall_unmasked_total"] == 3 and len(metrics["recall_unmasked_ci95"]) == 2
    assert metrics["accuracy"] == pytest.approx(4 / 5)
