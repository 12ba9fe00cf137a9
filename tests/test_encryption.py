"""Sparse-code encryption: top-k exactness, the key round trip, decoys' statistics, the adversaries,
seeded determinism, bad input, params."""

import numpy as np
import pytest
import torch
import yaml

from faceleak.attacks.sparse_code import (
    DecoyClassifier, InvariantReader, LearningAdversary, average_decoding, code_features, guess, invariant_features, partial_code,
)
from faceleak.defenses.sparse_sharing import SharedCodes, WrongKeyError, share, unlock
from faceleak.models.sparse_autoencoder import (
    CodeError, SparseAutoencoder, SparseAutoencoderConfig, init_from_pca, load_sparse_autoencoder, save_sparse_autoencoder, top_k,
)
from faceleak.params import ParamsError
from faceleak.systems.encryption.params import parse_encryption_params
from faceleak.systems.encryption.steps import (
    attack_scheme, code_similarity_auc, codec_at_bytes, linkability_pairs, pca_quality_by_k, pixels, share_bytes, split_rows, train_autoencoder,
)
from faceleak.training import FitSettings
from tests.conftest import PROJECT

TINY = SparseAutoencoderConfig(image_size=16, widths=(2, 2, 4), code_channels=2, k=6)  # code 2 x 4 x 4 = 32


def _codes(count: int = 12, size: int = 32, k: int = 6, seed: int = 0) -> np.ndarray:
    return top_k(torch.randn(count, size, generator=torch.Generator().manual_seed(seed)), k).numpy()


def test_top_k_keeps_exactly_the_k_largest_magnitudes():
    dense = torch.tensor([[0.5, -3.0, 0.1, 2.0, -0.2, 1.0], [1.0, 2.0, 3.0, -4.0, 5.0, -6.0]])
    sparse = top_k(dense, 3)
    assert torch.equal(sparse, torch.tensor([[0.0, -3.0, 0.0, 2.0, 0.0, 1.0], [0.0, 0.0, 0.0, -4.0, 5.0, -6.0]]))
    many = torch.randn(50, 1024, generator=torch.Generator().manual_seed(1))
    kept = top_k(many, 128)
    assert ((kept != 0).sum(1) == 128).all()
    smallest_kept = kept.abs().where(kept != 0, torch.inf).min(1).values
    largest_dropped = many.abs().where(kept == 0, 0.0).max(1).values
    assert (smallest_kept >= largest_dropped).all() and torch.equal(kept[kept != 0], many[kept != 0])


@pytest.mark.parametrize("k", [0, 33, -1, 2.5, True])
def test_k_out_of_range_is_a_clear_error(k):
    with pytest.raises(CodeError, match=r"k = .* is out of range: expected an integer in 1\.\.32"):
        top_k(torch.randn(2, 32), k)
    with pytest.raises(CodeError, match="out of range"):
        SparseAutoencoder(TINY).encode(torch.rand(1, 1, 16, 16), k)


@pytest.mark.parametrize("shape", [(4, 31), (4, 32, 1), (32,)])
def test_a_code_of_the_wrong_shape_is_a_clear_error(shape):
    with pytest.raises(CodeError, match=r"a code batch must have shape \(N, 32\); got"):
        SparseAutoencoder(TINY).decode(torch.zeros(shape))


@pytest.mark.parametrize("pca_path", [False, True])
def test_the_model_round_trips_shapes_and_saves_without_pickles(tmp_path, pca_path):
    torch.manual_seed(0)
    config = SparseAutoencoderConfig(**{**TINY.__dict__, "pca_path": pca_path})
    model = SparseAutoencoder(config).eval()
    faces = torch.rand(3, 1, 16, 16)
    codes = model.encode(faces)
    assert codes.shape == (3, 32) and ((codes != 0).sum(1) == 6).all()
    decoded = model.decode(codes)
    assert decoded.shape == (3, 1, 16, 16) and 0 <= decoded.min() and decoded.max() <= 1
    save_sparse_autoencoder(model, tmp_path / "model.pt")
    loaded = load_sparse_autoencoder(tmp_path / "model.pt")
    assert loaded.config == config and torch.equal(loaded(faces), model(faces))
    with pytest.raises(FileNotFoundError, match="run the encryption_train stage"):
        load_sparse_autoencoder(tmp_path / "absent.pt")


def test_pca_initialisation_starts_from_the_cells_principal_components():
    generator = torch.Generator().manual_seed(0)
    config = SparseAutoencoderConfig(image_size=16, widths=(2, 2, 4), code_channels=4, k=64, pca_path=True)  # 4x4 cells, 4 of 16 components
    cells = torch.randn(800, 4, generator=generator) @ torch.randn(4, 16, generator=generator)  # every cell's pixels in a 4-dim subspace
    faces = torch.nn.functional.fold(cells.view(50, 16, 16).transpose(1, 2) * 0.02, 16, 4, stride=4) + 0.5
    torch.manual_seed(0)
    model = init_from_pca(SparseAutoencoder(config), faces).eval()
    atoms = model.synthesis.weight.flatten(1)
    assert torch.allclose(atoms @ atoms.T, torch.eye(4), atol=1e-5) and torch.equal(model.analysis.weight, model.synthesis.weight)
    assert torch.allclose(model.mean_face, (faces * 2 - 1).mean(0, keepdim=True))
    with torch.no_grad():
        start_error = (model(faces) - faces).square().mean()
        model.encoder[-1].weight.zero_(), model.decoder[-1].weight.zero_()
        assert (model(faces) - faces).abs().max() < 1e-5  # the linear path alone: the exact patch PCA
    assert start_error < 0.01 * faces.var()


@pytest.mark.parametrize("scheme", ["index", "keyed"])
def test_the_key_opens_the_true_code_and_nothing_else_does(scheme):
    codes = _codes()
    shared = share(codes, 5, scheme, seed=3)
    assert shared.codes.shape == (12, 5, 32)
    assert np.array_equal(unlock(shared), codes)
    wrong_index = (shared.index + 1) % 5
    assert not np.isclose(unlock(shared, index=wrong_index), codes).all(axis=1).any()
    if scheme == "keyed":
        assert not np.isclose(unlock(shared, seed=shared.seed + 1), codes).all(axis=1).any()
        published_true = shared.codes[np.arange(12), shared.index]
        assert not np.isclose(published_true, codes).all(axis=1).any()  # the published true code is scrambled
    with pytest.raises(WrongKeyError, match="out of range"):
        unlock(shared, index=np.full(12, 5))
    with pytest.raises(WrongKeyError, match="do not fit"):
        unlock(shared, index=shared.index[:3])


def test_decoys_have_the_true_codes_support_size_and_magnitudes():
    codes = _codes()
    shared = share(codes, 4, "keyed", seed=0)
    for row, code in enumerate(codes):
        for published in shared.codes[row]:
            assert (published != 0).sum() == (code != 0).sum()
            assert np.array_equal(np.sort(np.abs(published[published != 0])), np.sort(np.abs(code[code != 0])))


def test_the_keyed_scheme_hides_the_sign_count():
    codes = np.abs(_codes(count=200, size=256, k=64))  # every value positive: the count of signs would tell
    shared = share(codes, 2, "keyed", seed=1)
    positive = (shared.codes[np.arange(200), shared.index] > 0).sum(1)
    assert abs(positive.mean() - 32) < 1.5 and positive.std() > 2  # a coin per entry: 32 +- 4 of 64
    assert np.array_equal(unlock(shared), codes)
    assert not np.array_equal(unlock(SharedCodes(shared.codes, shared.index, shared.seed, "keyed", flipped=False)), codes)


def test_sharing_and_the_adversaries_are_seeded():
    codes = _codes()
    first, second = share(codes, 4, "keyed", 7), share(codes, 4, "keyed", 7)
    assert np.array_equal(first.codes, second.codes) and np.array_equal(first.seed, second.seed)
    assert not np.array_equal(first.codes, share(codes, 4, "keyed", 8).codes)
    assert np.array_equal(guess(first, 1), guess(second, 1))
    pool = codes[codes != 0]
    assert np.array_equal(partial_code(codes, 0.5, pool, 2), partial_code(codes, 0.5, pool, 2))


def test_partial_code_keeps_the_known_share_and_fills_like_a_code():
    codes = _codes(count=200, size=256, k=32)
    partial = partial_code(codes, 0.5, codes[codes != 0], seed=0)
    kept = np.isclose(partial, codes)
    assert 0.45 < kept[codes != 0].mean() < 0.6  # about half of the true entries survive (a few refilled by chance)
    assert abs((partial != 0).mean() - (codes != 0).mean()) < 0.02
    assert np.array_equal(partial_code(codes, 1.0, codes[codes != 0], 0), codes)


def test_share_rejects_bad_settings():
    with pytest.raises(ValueError, match="unknown sharing scheme"):
        share(_codes(), 4, "rot13", 0)
    with pytest.raises(ValueError, match="at least 2 codes"):
        share(_codes(), 1, "index", 0)


def test_decoy_classifier_sees_the_index_schemes_support_but_not_the_keyed_one():
    rng = np.random.default_rng(0)
    habits = np.zeros((400, 64))  # an encoder with habits: the true codes always use the first 16 entries
    habits[:, :16] = rng.normal(size=(400, 16)) * (rng.random((400, 16)) < 0.5)
    habits[habits.sum(1) == 0, 0] = 1.0
    for scheme, lowest, highest in (("index", 0.9, 1.0), ("keyed", 0.0, 0.45)):
        classifier = DecoyClassifier(0).fit(share(habits[:300], 4, scheme, 1))
        target = share(habits[300:], 4, scheme, 2)
        accuracy = (classifier.pick(target) == target.index).mean()
        assert lowest <= accuracy <= highest, (scheme, accuracy)
    assert code_features(habits[:2]).shape[1] > 64


def test_averaging_and_learning_adversaries_run_on_shares():
    torch.manual_seed(0)
    model = SparseAutoencoder(TINY).eval()
    faces = torch.rand(10, 1, 16, 16)
    with torch.no_grad():
        shared = share(model.encode(faces).numpy(), 3, "keyed", 0)
    assert average_decoding(model, shared).shape == (10, 1, 16, 16)
    settings = FitSettings(epochs=1, batch_size=4, learning_rate=1e-3, patience=1)
    learner = LearningAdversary(settings, seed=0).fit(model, faces, faces[:4], "keyed", 3)
    again = LearningAdversary(settings, seed=0).fit(model, faces, faces[:4], "keyed", 3)
    published = shared.codes[:, 0]
    assert torch.equal(learner.run(published), again.run(published))


def test_training_is_seeded_in_both_phases_and_records_the_curve(tmp_path):
    fit = {"epochs": 1, "batch_size": 8, "learning_rate": 0.002, "patience": 1}
    params = parse_encryption_params(_raw_params({"train": fit, "identity": {"recognizer": "facenet", "weight": 0.1, "train": fit}}))
    faces = torch.rand(24, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        surrogate = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 9, stride=8), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).requires_grad_(False)
        model = SparseAutoencoder(SparseAutoencoderConfig(widths=(2, 2, 2, 2), code_channels=1, k=8))
        training = train_autoencoder(model, {"train": faces[:16], "val": faces[16:]}, params, surrogate, lambda m: {"psnr_db": 1.0})
        results.append((training.histories, model(faces[:2])))
        assert list(training.histories) == ["pixel", "identity"] and [row["phase"] for row in training.curve] == ["pixel", "identity"]
    assert [h.val_loss for h in results[0][0].values()] == [h.val_loss for h in results[1][0].values()]
    assert torch.equal(results[0][1], results[1][1])


def test_splits_are_identity_disjoint():
    people = np.repeat(np.array([f"p{i}" for i in range(50)]), 3)
    rows = split_rows(people, (0.1, 0.1), seed=0)
    assert sorted(np.concatenate(list(rows.values())).tolist()) == list(range(150))
    assert all(not set(people[rows[a]]) & set(people[rows[b]]) for a, b in (("train", "val"), ("train", "test"), ("val", "test")))
    assert len(set(people[rows["test"]])) == 5


def test_linkability_pairs_and_auc():
    people = np.repeat(np.array(["a", "b", "c", "d"]), 3)
    pairs, same = linkability_pairs(people, 5, seed=0)
    assert same.sum() == 5 and (~same).sum() == 5
    assert (people[pairs[same, 0]] == people[pairs[same, 1]]).all() and (people[pairs[~same, 0]] != people[pairs[~same, 1]]).all()
    identical = np.repeat(np.eye(4), 3, axis=0)  # each person's codes point one way
    assert code_similarity_auc(identical, pairs, same) == 1.0
    assert code_similarity_auc(identical, pairs[:0], same[:0]) is None
    strangers, alone = linkability_pairs(np.array(["a", "b", "c"]), 5, seed=0)  # nobody with two photos
    assert strangers.shape == (0, 2) and code_similarity_auc(np.eye(3), strangers, alone) is None


def _raw_params(encryption_changes: dict) -> dict:
    raw = yaml.safe_load((PROJECT / "params.yaml").read_text())
    raw["encryption"].update(encryption_changes)
    return raw


def test_params_check_the_model_and_k():
    assert parse_encryption_params(_raw_params({})).model.k == 128
    with pytest.raises(ParamsError, match=r"'encryption.ks' .* 1\.\.1024"):
        parse_encryption_params(_raw_params({"ks": [64, 2048]}))
    with pytest.raises(ParamsError, match="'encryption.model' does not make a network: image_size 60"):
        parse_encryption_params(_raw_params({"model": {**_raw_params({})["encryption"]["model"], "image_size": 60}}))
    with pytest.raises(ParamsError, match="'encryption.model' does not make a network: k = 2000"):
        parse_encryption_params(_raw_params({"model": {**_raw_params({})["encryption"]["model"], "k": 2000}}))
    with pytest.raises(ParamsError, match=r"'encryption.judges' = \['facenet', 'dlib'\] is not allowed; .* white-box"):
        parse_encryption_params(_raw_params({"judges": ["facenet", "dlib"]}))
    with pytest.raises(ParamsError, match="'encryption.schemes'"):
        parse_encryption_params(_raw_params({"schemes": ["rot13"]}))


def test_attack_scheme_keeps_the_owners_keys_from_the_adversaries():
    raw = _raw_params({
        "model": {"image_size": 16, "widths": [2, 2, 4], "code_channels": 2, "k": 6, "pca_path": True},
        "ks": [6], "codes": 8,
        "adversaries": {"known_fraction": 0.5, "learning_images": 8, "learning": {"epochs": 1, "batch_size": 4, "learning_rate": 0.001, "patience": 1}, "classifier_faces": 8},
    })
    params = parse_encryption_params(raw)
    torch.manual_seed(0)
    model = SparseAutoencoder(params.model).eval()
    faces = torch.rand(60, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        codes = model.encode(faces).numpy()
    public = {"learning": faces[:8], "val": faces[8:12], "classifier": faces[:8]}
    people = np.repeat(np.arange(12), 5)
    for scheme in ("index", "keyed"):
        outcome = attack_scheme(model, codes, np.arange(40), public, linkability_pairs(people, 10, 0), scheme, params)
        readers = outcome.reconstructions
        assert np.array_equal(readers["key-holder"], pixels(model.decode(torch.from_numpy(codes[:40]))))
        lucky = (readers["guesser"] == readers["key-holder"]).all(axis=(1, 2, 3)).sum()
        assert lucky < 20, f"{scheme}: the guesser hit the true code {lucky} times of 40 (chance 5)"
        assert outcome.decoy_classifier["true_code_picked"]["total"] == 60


def test_invariant_features_are_the_same_for_a_code_its_decoys_and_any_permutation():
    code = np.zeros(64, np.float32)
    code[[3, 9, 40]] = [0.5, -2.0, 1.0]
    shared = share(code[None], 4, "keyed", seed=3)
    features = invariant_features(shared.codes[0])
    assert (features[:, :-2] == invariant_features(code)[:-2]).all() and (features[:, -2:].sum(1) == 3).all()  # the signs: the seed's
    faces = torch.rand(20, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    codes = np.random.default_rng(0).normal(size=(20, 64)).astype(np.float32)
    assert InvariantReader().fit(codes, faces).run(codes[:3]).shape == (3, 1, 4, 4)


def test_pca_baseline_and_codecs():
    generator = torch.Generator().manual_seed(0)
    faces = torch.rand(80, 1, 8, 8, generator=generator)
    rows = pca_quality_by_k(faces[:60], faces[60:], (4, 16, 48, 256))  # 256 > 60 training faces: left out
    assert [row["k"] for row in rows] == [4, 16, 48] and rows[0]["psnr_db"] < rows[1]["psnr_db"] < rows[2]["psnr_db"]
    assert share_bytes(8, 128, 1024) == 8 * 128 * 4 and share_bytes(1, 10, 256) == 30
    originals = pixels(faces[:4])
    for codec in ("JPEG", "WEBP"):
        decoded, size = codec_at_bytes(originals, 600, codec)
        assert decoded.shape == originals.shape and size <= 600
