"""The audit system and the open set against any recognizer: their params' refusals, the black-box attacker's identity
loss through its own recognizer towards that recognizer's templates, judge roles, and the page."""

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from faceleak.attacks.embedding_inversion import EmbeddingInversionAttack, InversionData, TrainParams
from faceleak.data.table import FaceTable
from faceleak.params import ParamsError
from faceleak.systems.audit.params import parse_audit_params
from faceleak.systems.audit.steps import with_templates
from faceleak.systems.openset.params import judge_roles, parse_openset_params
from faceleak.systems.openset import steps
from faceleak.systems.openset.steps import train_conditioned_attack
from tests.conftest import PROJECT


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load((PROJECT / "params.yaml").read_text())


def test_project_audit_params_are_valid(raw):
    params = parse_audit_params(raw)
    assert params.recognizer == "faceres_onnx" and not params.inversion.white_box and params.inversion.surrogate == "facenet"
    assert params.inversion.leakages == (1.0, 0.3) and params.openset.openset.judges == ("facenet", "dlib", "mobilefacenet")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"recognizer": "arcface"}, r"'audit.recognizer' = 'arcface' is not allowed; expected one of facenet, dlib, .*faceres_onnx"),
        ({"min_view2_accuracy": 0.3}, r"'audit.min_view2_accuracy' = 0.3 is not allowed; expected a number in \[0.5, 1.0\]"),
        ({"recognizer": "dlib", "inversion": {"white_box": True}}, r"'audit.inversion.white_box' = true is not allowed for dlib; expected false"),
        ({"recognizer": "facenet"}, r"'audit.inversion.surrogate' = 'facenet' is the audited recognizer; expected white_box: true"),
        ({"inversion": {"white_box": "no"}}, r"'audit.inversion.white_box' = 'no' is not allowed; expected true or false"),
    ],
)
def test_bad_audit_params_are_one_line_errors(raw, change, message):
    changed = copy.deepcopy(raw)
    for key, value in change.items():
        if isinstance(value, dict):
            changed["audit"][key] |= value
        else:
            changed["audit"][key] = value
    with pytest.raises(ParamsError, match=message):
        parse_audit_params(changed)


def test_white_box_audits_of_facenet_and_crop_onnx_models_are_allowed(raw):
    raw["audit"]["inversion"]["white_box"] = True
    assert parse_audit_params(raw).inversion.white_box
    raw["audit"]["recognizer"] = "facenet"
    assert parse_audit_params(raw).recognizer == "facenet"


def test_black_box_identity_loss_pulls_towards_the_surrogates_templates():
    """The decoder reads the attacked recognizer's 64-D templates; its identity loss compares the surrogate's view of
    each reconstruction with the surrogate's template of the face (the targets), not with the attacked template."""
    rng = np.random.default_rng(0)
    attacked = rng.standard_normal((12, 64)).astype(np.float32)
    own = rng.standard_normal((12, 8)).astype(np.float32)
    own /= np.linalg.norm(own, axis=1, keepdims=True)
    faces = rng.integers(0, 255, (12, 32, 32, 1), dtype=np.uint8)
    seen = []

    def surrogate(reconstructions: torch.Tensor) -> torch.Tensor:
        seen.append(reconstructions.shape)
        return torch.nn.functional.normalize(reconstructions.flatten(1)[:, :8], dim=1)

    people = np.repeat(np.arange(6), 2)
    params = TrainParams(epochs=1, batch_size=4, learning_rate=1e-3, dropout=0.0, patience=1, identity_weight=1.0, base_channels=4)
    attack, summary = train_conditioned_attack(attacked, faces, people, people == 5, params, 16, 0.1, seed=3, identity=surrogate, targets=own)
    assert seen and seen[0][1:] == (3, 16, 16) and summary["epochs_run"] == 1
    assert attack.run(attacked[:2], np.ones(64, np.float32)).shape == (2, 3, 16, 16)
    data = InversionData.from_arrays(attacked, attacked, torch.zeros(12, 3, 16, 16), own)
    assert torch.equal(data[:3].identity_targets(), torch.from_numpy(own[:3]))
    assert data.randomly_leaked(0.5, torch.Generator().manual_seed(0)).targets is data.targets
    with pytest.raises(ValueError, match="identity recognizer"):
        EmbeddingInversionAttack(params, 16, seed=0)


def test_judge_roles_and_victim_templates():
    params = parse_audit_params(yaml.safe_load((PROJECT / "params.yaml").read_text()))
    assert judge_roles(("facenet", "dlib"), params.recognizer, params.inversion.white_box, params.inversion.surrogate) == {"facenet": "surrogate, white-box", "dlib": "independent"}
    victims = FaceTable(np.zeros((2, 4, 4, 1), np.uint8), np.array(["a", "b"]), np.array(["p", "q"]), {"facenet": np.zeros((2, 3))})
    assert set(with_templates(victims, "mine", np.ones((2, 5))).arrays) == {"facenet", "mine"}


def test_template_protections_take_templates_of_any_size():
    from faceleak.defenses.templates import protections

    rng = np.random.default_rng(0)
    reference = rng.standard_normal((50, 1024)).astype(np.float32)
    users = np.array([f"user{i % 5}" for i in range(20)])
    for protection in protections((0.5,), (0.5,), (2,), (64,), reference, seed=0):
        stored = protection.protect(reference[:20], users)
        leaked, mask = protection.attacker_input(stored, users)
        assert leaked.shape == (20, 1024) and mask.shape == (1024,), protection.name
        assert protection.distances(stored[:10], stored[10:]).shape == (10,)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"attacked": "arcface"}, r"'openset.attacked' = 'arcface' is not allowed; expected one of facenet, dlib, .*faceres_onnx"),
        ({"attacked": "dlib"}, r"'openset.white_box' = true is not allowed for dlib; expected false"),
        ({"white_box": False}, r"'openset.surrogate' = 'facenet' is the attacked recognizer; expected white_box: true"),
        ({"white_box": 1}, r"'openset.white_box' = 1 is not allowed; expected true or false"),
    ],
)
def test_bad_open_set_attacker_params_are_one_line_errors(raw, change, message):
    raw["openset"] |= change
    with pytest.raises(ParamsError, match=message):
        parse_openset_params(raw)


def test_the_open_set_attacks_any_recognizer_and_always_judges_it(raw):
    raw["openset"] |= {"attacked": "faceres_onnx", "white_box": False}
    attacker = parse_openset_params(raw).openset
    assert attacker.judges == ("faceres_onnx", "facenet", "dlib", "mobilefacenet")
    roles = judge_roles(attacker.judges, attacker.attacked, attacker.white_box, attacker.surrogate)
    assert roles == {"faceres_onnx": "attacked", "facenet": "surrogate, white-box", "dlib": "independent", "mobilefacenet": "independent"}
    raw["openset"] |= {"attacked": "dlib", "judges": ["dlib", "mobilefacenet"]}
    assert parse_openset_params(raw).openset.judges == ("dlib", "mobilefacenet")


def test_the_attackers_identity_loss_white_box_or_through_its_own_surrogate(monkeypatch):
    """White-box: FaceNet pulled towards the leaked templates (no targets); black-box: its own FaceNet towards the face
    table's FaceNet templates of the training faces."""
    loaded = []
    monkeypatch.setattr(steps, "load_facenet", lambda path, engine: loaded.append((path.name, engine)) or torch.nn.Flatten())
    templates = np.arange(12, dtype=np.float32).reshape(3, 4)
    table = FaceTable(np.zeros((3, 8, 8, 3), np.uint8), np.array(["a_1", "b_1", "c_1"]), np.array(["a", "b", "c"]), {"facenet": templates})
    rows = np.array([0, 2])
    identity, targets = steps.attacker_identity("facenet", True, "facenet", table, rows, Path("models"), "bf16")
    assert targets is None and torch.allclose(identity(torch.rand(2, 3, 4, 4)).norm(dim=1), torch.ones(2)) and loaded == [("facenet.pt", "bf16")]
    _, targets = steps.attacker_identity("faceres_onnx", False, "facenet", table, rows, Path("models"), "fp32")
    assert np.array_equal(targets, templates[rows])
