"""The stronger template inverter and its diagnostics: random views, the warm-up, augmented identity loss,
ablation variants, rates with intervals, the retrieval baseline and the ceiling."""

import numpy as np
import pytest
import torch

from faceleak.attacks.embedding_inversion import EmbeddingInversionAttack, InversionData, TrainParams
from faceleak.data.augment import random_views
from faceleak.data.table import FaceTable
from faceleak.params import ParamsError, parse
from faceleak.systems.openset.params import AblationParams
from faceleak.systems.openset.steps import ceiling_figures, degraded_victims, retrieval_inverter, success_figures

PARAMS = TrainParams(epochs=2, batch_size=4, learning_rate=1e-3, dropout=0.0, patience=2, identity_weight=1.0, base_channels=4)


class TinySurrogate(torch.nn.Module):
    """A differentiable stand-in for FaceNet: a fixed random projection of the 160x160 input to 512-D."""

    def __init__(self) -> None:
        super().__init__()
        self.project = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(8), torch.nn.Flatten(), torch.nn.Linear(192, 512))
        self.requires_grad_(False)

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.normalize(self.project(faces), dim=1)


def _data(seed: int, count: int = 8) -> InversionData:
    generator = torch.Generator().manual_seed(seed)
    templates = torch.nn.functional.normalize(torch.randn(count, 512, generator=generator), dim=1)
    return InversionData(templates, templates, torch.rand(count, 3, 32, 32, generator=generator) * 2 - 1)


def test_random_views_are_seeded_bounded_and_differentiable():
    faces = (torch.rand(6, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1).requires_grad_()
    views = random_views(faces, torch.Generator().manual_seed(1))
    again = random_views(faces, torch.Generator().manual_seed(1))
    assert views.shape == faces.shape and views.abs().max() <= 1 and torch.equal(views, again)
    assert not torch.allclose(views, faces)
    views.sum().backward()
    assert faces.grad is not None and faces.grad.abs().sum() > 0


def test_blur_of_a_flat_face_keeps_it_flat():
    flat = torch.full((3, 1, 32, 32), 0.25)
    views = random_views(flat, torch.Generator().manual_seed(0))
    # shift, scale and flip of a constant image with border padding stay constant; only the noise moves it
    assert (views - 0.25).abs().mean() < 0.05


def test_warmup_then_augmented_identity_loss():
    params = TrainParams(**{**vars(PARAMS), "warmup_epochs": 1, "augment_draws": 2})
    surrogate = TinySurrogate()
    attack = EmbeddingInversionAttack(params, 32, seed=0, facenet=surrogate).fit(_data(0), _data(1))
    assert len(attack.warmup_history_.val_loss) == 1 and len(attack.history_.val_loss) == 2
    # the warm-up's loss is the pixel loss alone; the full loss adds 1 - cosine, so it is larger
    assert attack.warmup_history_.val_loss[0] < attack.history_.val_loss[0]
    again = EmbeddingInversionAttack(params, 32, seed=0, facenet=surrogate).fit(_data(0), _data(1))
    leaked = _data(2).leaked.numpy()
    assert torch.equal(attack.run(leaked), again.run(leaked))


def test_no_warmup_without_identity_loss():
    params = TrainParams(**{**vars(PARAMS), "identity_weight": 0.0, "warmup_epochs": 3})
    attack = EmbeddingInversionAttack(params, 32, seed=0).fit(_data(0), _data(1))
    assert attack.warmup_history_ is None and len(attack.history_.val_loss) == 2


def _ablation_variants(variants: dict) -> dict[str, TrainParams]:
    """``openset.ablation``'s variants, checked as params.yaml's are."""
    return parse(AblationParams, {"images": 2, "leakage": 1.0, "train": vars(PARAMS), "variants": variants}, "openset.ablation").variants


def test_ablation_variants_change_the_base():
    variants = _ablation_variants({"pixel": {"identity_weight": 0.0}, "wide": {"base_channels": 32}, "base": {}})
    assert list(variants) == ["pixel", "wide", "base"]
    assert variants["pixel"].identity_weight == 0.0 and variants["wide"].base_channels == 32 and variants["base"] == PARAMS


@pytest.mark.parametrize(
    ("variants", "message"),
    [({}, "at least one variant"), ({"odd": {"width": 3}}, "changes width"), ({"bad": {"epochs": 0}}, "variants.bad.epochs")],
)
def test_ablation_variants_refuse_bad_input(variants, message):
    with pytest.raises(ParamsError, match=message):
        _ablation_variants(variants)


def test_success_figures_carry_counts_and_intervals():
    genuine = np.eye(4, 8, dtype=np.float32)
    recon = genuine.copy()
    recon[3] = np.eye(8, dtype=np.float32)[7]  # query 3 is far from its template
    figures = success_figures(recon, genuine, np.array(["a", "a", "b", "c"]), np.arange(4), {"0.01": {"distance": 0.5}})
    assert figures["sar_type1_fmr0.01"] == 0.75 and figures["sar_type1_fmr0.01_count"] == 3
    assert figures["sar_type1_fmr0.01_total"] == 4
    low, high = figures["sar_type1_fmr0.01_ci95"]
    assert 0.2 < low < 0.75 < high < 1.0
    assert figures["map_at_1_other_images_total"] == 2  # only person a has another image


def test_retrieval_returns_the_nearest_public_face_over_leaked_dimensions():
    public_templates = np.array([[1, 0, 0, 0], [0.1, 1, -0.1, 0], [0.6, 0, 0.8, 0]], dtype=np.float32)
    public_faces = np.arange(3, dtype=np.uint8)[:, None, None, None] * np.ones((3, 4, 4, 1), np.uint8)
    invert = retrieval_inverter(public_faces, public_templates)
    leaked = np.array([[0.6, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32)
    leaked[1, 2] = 1.0
    faces = invert(leaked, np.array([1, 0, 1, 0]))
    assert faces.shape == (2, 4, 4, 3) and faces[0, 0, 0, 0] == 0 and faces[1, 0, 0, 0] == 2


def test_ceiling_is_the_victims_degraded_and_scores_every_victim():
    class Exact:
        def embed(self, faces: np.ndarray) -> np.ndarray:
            return faces.reshape(len(faces), -1)[:, :8].astype(np.float32)

    faces = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 1), dtype=np.uint8)
    degraded = degraded_victims(faces, 16)
    victims = FaceTable(faces, np.array(["x", "y", "z"]), np.array(["a", "b", "c"]), {"exact": Exact().embed(degraded)})
    figures = ceiling_figures(victims, 16, {"exact": Exact()}, {"exact": {"0.01": {"distance": 1e-6}}})
    assert degraded.shape == (3, 16, 16, 3) and figures["face_size"] == 16
    assert figures["exact"]["sar_type1_fmr0.01"] == 1.0 and figures["exact"]["unaligned"] is None
    assert "ssim" not in figures and "psnr_db" not in figures
