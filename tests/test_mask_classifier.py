import numpy as np
import pytest
import torch

from faceleak.models import mask_classifier


def test_convnext_has_two_classes():
    model = mask_classifier.build_convnext(64).eval()
    with torch.no_grad():
        logits = model(pixel_values=torch.zeros(2, 3, 64, 64)).logits
    assert logits.shape == (2, 2)


@pytest.mark.parametrize(
    "labels, expected",
    [({0: "WithMask", 1: "WithoutMask"}, 1), ({0: "no_mask", 1: "mask"}, 0), ({0: "unmasked", 1: "masked"}, 0)],
)
def test_unmasked_label_is_found(labels, expected):
    assert mask_classifier._unmasked_label_index(labels) == expected


def test_offline_hub_model_fails_fast_with_advice(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(mask_classifier.MaskModelUnavailable, match="mask_filter.model: null"):
        mask_classifier.pretrained_unmasked_probability("AkshatSurolia/ConvNeXt-FaceMask-Finetuned", np.zeros((1, 8, 8, 3), np.uint8))


def test_cross_fit_scores_every_face_out_of_fold():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, 32, 32, 3), dtype=np.uint8)
    masked = np.array([True, False] * 6)
    identities = np.repeat(np.arange(6), 2)
    probabilities = mask_classifier.cross_fit_unmasked_probability(images, masked, identities, 3, 1, 4, 1e-3, 0)
    assert probabilities.shape == (12,) and np.all((probabilities >= 0) & (probabilities <= 1))
