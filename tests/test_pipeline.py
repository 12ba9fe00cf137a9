"""End to end: `dvc repro` on a temporary copy of the project, tiny epochs, MFR2 from the mirror."""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from faceleak.report import flat_figures
from tests.conftest import PROJECT

TINY = {
    "download": {"datasets": ["mfr2", "lfw", "lfw_pairs", "lfw_dev_train", "lfw_dev_test", "orl"]},
    "spine": {
        "mask_filter": {"folds": 2, "epochs": 1, "image_size": 32, "synthetic": {"photos": 60, "epochs": 1}, "source": "cross_fit"},  # decisions as before: too few kept faces otherwise
        "train": {"epochs": 2, "patience": 1, "base_channels": 4},
        "sweep": {"leakages": [0.1, 0.5], "strategies": ["random", "low_variance"]},
    },
    "lfw": {"folds": 10, "pairs_per_fold": 1, "attacker_images": 24},  # 10 folds: the verifier's View 2 halves
    "openset": {
        "leakages": [0.3, 1.0],
        "train": {"epochs": 1, "patience": 1, "base_channels": 4},
        "ablation": {"images": 12, "train": {"epochs": 1, "patience": 1, "base_channels": 4}},
        "defenses": {"masking": [0.5], "noise": [0.5], "quantization": [2], "biohash": [64]},
    },
    "model_inversion": {
        "victim": {"epochs": 1},
        "prior": {"epochs": 1, "max_images": 200},
        "attack": {"population": 6, "generations": 3, "curve_generations": [1, 3], "start_pool": 12, "final_candidates": 2, "final_views": 2},
        "lfw": {"seeds": 2},
        "orl": {"seeds": 2},
        "mi_face": {"steps": 3},
    },
    "verification": {
        "view1_pairs": 2,
        "siamese": {"input_size": 32, "epochs": 1, "patience": 1},
        "verifier": {"input_size": 32, "width": 8, "epochs": 1, "patience": 1, "val_fraction": 0.5},
    },
    "cloak": {  # the tiny LFW table: View 2's same-person pairs give the only people with two photos
        "cast": {"users": 2, "cloaked_photos": 1, "references": 1, "gallery_people": 4, "gallery_photos": 1},
        "colour_users": 4,
        "epsilons": [8],
        "attack": {"steps": 2, "draws": 1},
        "detector": {"photos": 2, "steps": 1, "judges": ["mtcnn", "dlib_hog"]},
    },
    "audit": {"min_view2_accuracy": 0.5, "agreement_faces": 8, "inversion": {"train": {"epochs": 1, "patience": 1, "base_channels": 4, "warmup_epochs": 0}}},
    "encryption": {
        "model": {"widths": [2, 2, 2, 4], "code_channels": 1, "k": 8},
        "train": {"epochs": 1},
        "identity": {"train": {"epochs": 1}},
        "ks": [4, 8],
        "codes": 3,
        "adversaries": {"learning_images": 16, "learning": {"epochs": 1}, "classifier_faces": 8},
        "evaluation": {"test_images": 6, "linkability_pairs": 4},
    },
}
MAY_BE_NULL = ("lpips", "fid", "queries_per_success", "linkability_auc", "unaligned", "warmup_best_pixel_loss", "precision", "precision_count", "precision_ci95")
# web-download backbones; no search reached the target; no same-person pair; a judge with no detection step; no warm-up;
# a tiny verifier that calls no pair a match


def _dvc(project: Path, *args: str, env: dict) -> str:
    dvc = Path(sys.executable).with_name("dvc")
    result = subprocess.run([str(dvc), *args], cwd=project, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"dvc {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def _merge(params: dict, changes: dict) -> None:
    for key, value in changes.items():
        if isinstance(value, dict):
            _merge(params[key], value)
        else:
            params[key] = value


def _copy_project(destination: Path) -> None:
    """The project's pipeline with tiny params, and a link to its .venv (as setup.sh leaves a clone)."""
    for name in ("bin", "src", "stages", "dvc.yaml", "params.yaml", ".dvc", ".dvcignore", ".gitignore"):
        source = PROJECT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__", "tmp", "cache"))
        elif source.exists():
            shutil.copy2(source, destination / name)
    (destination / ".venv").symlink_to(Path(sys.executable).parents[1])
    params = yaml.safe_load((destination / "params.yaml").read_text())
    _merge(params, TINY)
    (destination / "params.yaml").write_text(yaml.safe_dump(params))


def _assert_finite(path: Path) -> dict:
    metrics = json.loads(path.read_text())
    for key, value in flat_figures(metrics).items():
        if value is None:
            assert key.endswith(MAY_BE_NULL), f"{path.name}: {key} is null"
        elif isinstance(value, (int, float)):
            assert math.isfinite(value), f"{path.name}: {key} = {value}"
    return metrics


@pytest.mark.slow
def test_dvc_repro_end_to_end(tmp_path, mirror):
    project = tmp_path / "project"
    project.mkdir()
    _copy_project(project)
    # Nothing activated: the environment's bin folder is not on PATH; stage commands find .venv themselves.
    path = [folder for folder in os.environ["PATH"].split(os.pathsep) if Path(folder) != Path(sys.executable).parent]
    env = os.environ | {"FACELEAK_MIRROR": str(mirror), "DVC_NO_ANALYTICS": "1", "HF_HUB_OFFLINE": "1", "PATH": os.pathsep.join(path)}
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    _dvc(project, "repro", env=env)

    evaluate = _assert_finite(project / "metrics/evaluate.json")
    for key in ("mse", "psnr_db", "ssim", "fid_facenet", "cosine_mean", "map_at_1"):
        assert evaluate[key] is not None
    assert evaluate["n_test"] > 0 and evaluate["gallery_size"] >= evaluate["n_test"]
    table = _assert_finite(project / "metrics/sweep_table.json")
    assert {"random_leak10_map_at_1", "low_variance_leak50_cosine_mean"} <= set(table)
    for name in ("mask_filter", "embed", "train"):
        _assert_finite(project / "metrics" / f"{name}.json")
    timing = json.loads((project / "timings/spine_train.json").read_text())
    assert timing["seconds"] > 0 and timing["peak_memory_mb"] > 0
    for figure in ("grid.png", "metrics_vs_leakage.png", "strategies.png"):
        assert (project / "plots" / figure).stat().st_size > 1000

    recognizers = _assert_finite(project / "metrics/recognizers.json")
    assert set(recognizers["facenet"]["thresholds"]) == {"0.01", "0.001"} and recognizers["pairs"] == 20
    openset = _assert_finite(project / "metrics/openset.json")
    assert set(openset["leakage"]) == {"0.3", "1"}
    assert {"sar_type1_fmr0.001", "sar_type2_fmr0.01", "map_at_1"} <= set(openset["leakage"]["1"]["dlib"])
    assert _assert_finite(project / "metrics/openset_train.json")["people_shared_with_victims"] == 0
    for name in ("spine_curve", "ablation", "defenses", "lfw_faces", "victims", "openset_diagnostics"):
        _assert_finite(project / "metrics" / f"{name}.json")
    defenses = json.loads((project / "metrics/defenses.json").read_text())["rows"]
    assert {"none_0", "biohash_64", "biohash_stolen_key_64", "quantization_2"} <= set(defenses)
    for figure in ("openset_grid.png", "openset_retrieval_grid.png", "leakage_curves.png", "privacy_utility.png"):
        assert (project / "plots" / figure).stat().st_size > 1000

    _assert_finite(project / "metrics/mi_prior.json")
    for name, people in (("lfw", 7), ("orl", 40)):
        assert _assert_finite(project / f"metrics/mi_victim_{name}.json")["people"] == people
        _assert_finite(project / f"metrics/mi_evaluator_{name}.json")
        attacks = _assert_finite(project / f"metrics/mi_attack_{name}.json")["attacks"]
        assert {"none_0", "rounding_1", "top_label_1", "noise_0.2", "negative_label_smoothing_-0.05", "mi_face_standard"} <= set(attacks)
        assert attacks["none_0"]["queries_per_target"] == 12 + 18 + 4
        searched = _assert_finite(project / f"metrics/mi_attack_{name}.json")
        repeated = searched["repeated_searches"]
        assert repeated["stronger"]["searches"] == repeated["reference"]["searches"] == 2 * searched["targets"]
        assert repeated["reference"]["queries_per_search"] == (12 + 18 + 4) // 6 * 6  # whole generations of the same budget
        diagnostics = _assert_finite(project / f"metrics/mi_diagnostics_{name}.json")
        assert diagnostics["lookup"]["searches"] == 2 * searched["targets"] and diagnostics["lookup"]["queries_per_search"] == 12 + 18 + 4
        assert diagnostics["prior_ceiling"]["prior"]["attack_accuracy_facenet"]["total"] == diagnostics["prior_ceiling"]["faces"] > 0
        for figure in (f"mi_{name}_grid.png", f"mi_{name}_budget.png", f"mi_{name}_limits.png"):
            assert (project / "plots" / figure).stat().st_size > 1000

    siamese = _assert_finite(project / "metrics/verification_siamese.json")
    assert {"accuracy", "precision", "recall", "f1"} <= set(siamese["trained"]["at_reference_rule"])
    assert siamese["trained"]["tar_at_far_0.001_total"] == 2  # the same-person pairs of View 1's test
    for split in ("view1", "view2_folds_1_5", "view2_folds_6_10"):
        _assert_finite(project / f"metrics/verification_verifier_{split}.json")
    benchmark = _assert_finite(project / "metrics/verification_benchmark.json")
    assert set(benchmark["recognizers"]) == {"facenet", "dlib", "mobilefacenet", "faceres", "siamese", "verifier"}
    assert benchmark["view1_test_pairs"] == 4 and benchmark["view2_pairs"] == 20
    assert benchmark["recognizers"]["facenet"]["view2"]["accuracy_total"] == 20 and "tar_at_far_0.001_ci95" in benchmark["recognizers"]["facenet"]["view2"]
    assert (project / "plots/verification_roc.png").stat().st_size > 1000

    craft = _assert_finite(project / "metrics/cloak_craft.json")
    assert set(craft["quality"]) == {"mode_low", "mode_mid", "mode_high", "dodging_8", "impersonation_8"} and craft["quality"]["dodging_8"]["linf_levels"] <= 8
    assert all(craft["quality"][f"mode_{name}"]["below_floor"] == 0 for name in ("low", "mid", "high"))
    judged = _assert_finite(project / "metrics/cloak.json")
    assert {role["role"] for role in judged["judges"].values()} == {"independent", "surrogate, white-box"}
    detector = _assert_finite(project / "metrics/cloak_detector.json")
    assert set(detector["detectors"]) == {"ssd_mobilenet", "mtcnn", "dlib_hog"} and detector["photos"] == 2
    colour = _assert_finite(project / "metrics/cloak_colour.json")
    assert colour["cloaked_photos"] == 4 and set(colour["quality"]) == {"mode_low", "mode_mid", "mode_high"}
    for figure in ("cloak_grid.png", "cloak_dodging.png", "cloak_detector_grid.png", "cloak_colour_grid.png"):
        assert (project / "plots" / figure).stat().st_size > 1000

    audited = _assert_finite(project / "metrics/audit_view2.json")  # faceres exported to ONNX, audited as a user's model
    assert audited["recognizer"]["runtime"] == "onnxruntime" and audited["onnx_torch_max_difference"] < 1e-4
    assert abs(audited["recognizers"]["faceres_onnx"]["view2"]["accuracy_count"] - benchmark["recognizers"]["faceres"]["view2"]["accuracy_count"]) <= 1
    assert _assert_finite(project / "metrics/audit_cloak.json")["judges"]["faceres_onnx"]["role"] == "independent"
    inverted = _assert_finite(project / "metrics/audit_inversion.json")
    assert inverted["roles"] == {"facenet": "surrogate, white-box", "dlib": "independent", "mobilefacenet": "independent"}
    assert set(inverted["leakage"]) == {"1", "0.3"} and {"none_0", "biohash_64"} <= set(inverted["defenses"]["rows"])
    assert "| " in (project / "docs/results/audit_faceres_onnx.md").read_text()

    trained = _assert_finite(project / "metrics/encryption_train.json")
    assert [row["k"] for row in trained["test_by_k"]] == [4, 8]
    attacked = _assert_finite(project / "metrics/encryption_attack.json")
    assert set(attacked["schemes"]) == {"index", "keyed"} and "key-holder (keyed)" in attacked["quality"]
    encrypted = _assert_finite(project / "metrics/encryption.json")
    assert set(encrypted["judges"]) == {"dlib", "mobilefacenet"}
    assert list(trained["phases"]) == ["pixel", "identity"] and [row["phase"] for row in trained["curve"]] == ["pixel", "identity"]
    for figure in ("encryption_grid.png", "encryption_psnr_by_k.png", "encryption_curve.png"):
        assert (project / "plots" / figure).stat().st_size > 1000

    for page in ("spine.md", "openset.md", "model_inversion.md", "verification.md", "cloak.md", "encryption.md", "headline.md"):
        assert "| " in (project / "docs/results" / page).read_text()

    status = _dvc(project, "status", env=env)
    assert "up to date" in status
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.org"]
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "first run"], cwd=project, check=True)
    again = _dvc(project, "repro", env=env)
    assert "Running stage" not in again, again
    changed = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True).stdout
    assert changed == "", f"a rerun changed tracked files:\n{changed}"
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["leakage"] = 0.5
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    rerun = _dvc(project, "repro", env=env)
    ran = {line.split("'")[1] for line in rerun.splitlines() if line.startswith("Running stage")}
    assert ran == {"spine_leak", "spine_train", "spine_attack", "spine_evaluate", "report"}, rerun
    assert json.loads((project / "metrics/evaluate.json").read_text())["leakage"] == 0.5

    params["openset"] |= {"attacked": "faceres_onnx", "white_box": False}  # the open set against a user's ONNX model, black-box
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    rerun = _dvc(project, "repro", env=env)
    ran = {line.split("'")[1] for line in rerun.splitlines() if line.startswith("Running stage")}
    assert {"openset_templates", "openset_victims", "openset_recognizers", "openset_train", "openset_attack", "openset_defenses"} <= ran, rerun
    openset = _assert_finite(project / "metrics/openset.json")["leakage"]["1"]
    assert {"faceres_onnx", "facenet", "dlib", "mobilefacenet"} <= set(openset)
    assert "faceres_onnx" in _assert_finite(project / "metrics/recognizers.json")
    page = (project / "docs/results/openset.md").read_text()
    assert "faceres_onnx (attacked)" in page and "FaceNet (surrogate, white-box)" in page
