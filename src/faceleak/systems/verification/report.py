"""The verification results page: the reference's Siamese reproduced, the project's from-scratch verifier,
and every recognizer on LFW View 1 test and View 2."""

from __future__ import annotations

from pathlib import Path

from faceleak.report import HeadlineRow, figure, flat_rate_cell, fmr_label, integer, load, number, page, percent, section, table
from faceleak.systems.verification.steps import VERIFIER_SPLITS

PAGE = "verification.md"
SYSTEM = "verification"
READS = ("verification_siamese.json", *(f"verification_verifier_{split}.json" for split in VERIFIER_SPLITS), "verification_benchmark.json")
# The reference's published figures on the View 1 test pairs (distance < 0.5): fixed facts, not metrics.
REFERENCE_SIAMESE = {"accuracy": 0.645, "precision": 0.677, "recall": 0.554, "f1": 0.609}
REFERENCE_UNTRAINED_ACCURACY = 0.5
# Published LFW accuracies (colour LFW, each paper's own protocol and alignment), beside the benchmark.
PUBLISHED = {
    "facenet": "99.05% (facenet-pytorch, CASIA-WebFace); 99.65% with VGGFace2 weights",
    "dlib": "99.38% (dlib's author)",
    "mobilefacenet": "99.55% (MobileFaceNet paper, MS1M); 98.7% on grey View 1 test as measured outside the project",
    "siamese": "64.5% (the reference, View 1 test at distance < 0.5)",
}
# DeepFace's own benchmark (serengil/deepface, benchmarks/: LFW pairs, RetinaFace alignment, cosine), the closest model to ours.
DEEPFACE = {"facenet": "98.4% (FaceNet512); 96.4% (FaceNet-128)", "dlib": "89.1%", "mobilefacenet": "92.4% (SFace, a MobileFaceNet-class model)"}
_DECISION = ("accuracy", "precision", "recall", "f1")


def _decision_row(label: str, figures: dict) -> list[str]:
    return [label, number(figures["threshold"]), *(flat_rate_cell(figures, key) for key in _DECISION[:-1]), number(figures["f1"])]


def _siamese(metrics: Path) -> str:
    siamese = load(metrics, "verification_siamese.json")
    trained, untrained = siamese["trained"], siamese["untrained"]
    rows = [
        ["reference (published)", "0.5", *(f"{100 * REFERENCE_SIAMESE[k]:.1f}%" for k in _DECISION[:-1]), number(REFERENCE_SIAMESE["f1"])],
        _decision_row("ours, rule distance < 0.5", trained["at_reference_rule"]),
        _decision_row("ours, threshold best on training pairs", trained["at_train_threshold"]),
        _decision_row("untrained ResNet18, rule < 0.5", untrained["at_reference_rule"]),
        _decision_row("untrained ResNet18, training threshold", untrained["at_train_threshold"]),
    ]
    return section(
        "The reference's Siamese, reproduced",
        f"torchvision ResNet18 twin (no pretrained weights), contrastive loss, trained on {integer(siamese['train_pairs'])} "
        f"of View 1's training pairs ({integer(siamese['val_pairs'])} held out for early stopping; {siamese['epochs_run']} epochs, "
        f"best {siamese['best_epoch']}, {number(siamese['train_minutes'], 1)} min), tested on View 1's 1,000 test pairs. "
        f"AUC {number(trained['auc'])}, EER {percent(trained['eer'])} (untrained: AUC {number(untrained['auc'])}; the reference: "
        f"{100 * REFERENCE_UNTRAINED_ACCURACY:.0f}% accuracy).",
        table(("model and rule", "threshold", "accuracy", "precision", "recall", "F1"), rows),
    )


def _verifier(metrics: Path) -> str:
    rows = []
    for split in VERIFIER_SPLITS:
        run = load(metrics, f"verification_verifier_{split}.json")
        rows.append([
            split.replace("_", " "), integer(run["excluded_people"]), integer(run["train_people"]), integer(run["train_images"]),
            f"{run['epochs_run']} (best {run['best_epoch']})", number(run["best_val_auc"]), number(run["train_minutes"], 1),
        ])
    return section(
        "The project's verifier, from scratch",
        "FaceResNet (three residual stages on 64x64 grey crops, 128-D) trained with CosFace on LFW people with two or more "
        "images, augmented (flip, scale, rotation, shift, brightness, contrast), SGD with cosine decay; 5% of the training people "
        "held out, and 1 - AUC on their pairs early-stops it. One model per test split, each never trained on that split's people: "
        "View 1 test, and View 2's folds 1-5 and 6-10 (every View 2 pair is judged by the model that held its fold out).",
        table(("tested on", "people left out", "training people", "training images", "epochs", "held-out AUC", "training (min)"), rows),
    )


def _benchmark(metrics: Path) -> str:
    bench = load(metrics, "verification_benchmark.json")
    recognizers = bench["recognizers"]
    view2_keys = next(iter(recognizers.values()))["view2"]
    fars = [key.removeprefix("tar_at_far_") for key in view2_keys if key.startswith("tar_at_far_") and f"{key}_count" in view2_keys]
    rows = []
    for name, result in recognizers.items():
        view1, view2 = result["view1_test"], result["view2"]
        rows.append([
            name,
            f"{flat_rate_cell(view1, 'accuracy')} ± {100 * view1['accuracy_std']:.1f}",
            number(view1["auc"], 4),
            f"{flat_rate_cell(view2, 'accuracy')} ± {100 * view2['accuracy_std']:.1f}",
            number(view2["auc"], 4),
            percent(view2["eer"]),
            *(flat_rate_cell(view2, f"tar_at_far_{far}") for far in fars),
            number(result["faces_per_second"], 1),
            PUBLISHED.get(name, ""),
            DEEPFACE.get(name, ""),
        ])
    header = ("recognizer", "View 1 test accuracy", "View 1 AUC", "View 2 accuracy", "View 2 AUC", "View 2 EER",
              *(f"View 2 TAR at FAR {fmr_label(far)}" for far in fars), "faces/s (2 cores)", "published (its paper)", "DeepFace's benchmark")
    details = table(
        ("recognizer", "templates", "input and alignment", "trained on"),
        ([name, f"{r['embedding_dim']}-D", r["alignment"], r["training_data"]] for name, r in recognizers.items()),
    )
    undetected = [
        f"{name}: {integer(r['view1_test']['undetected_faces'])} of View 1 test's and {integer(r['view2']['undetected_faces'])} of View 2's faces"
        for name, r in recognizers.items() if "undetected_faces" in r["view1_test"]
    ]
    return section(
        "Every recognizer on LFW (grey)",
        f"View 1 test: {integer(bench['view1_test_pairs'])} pairs, accuracy by 10-fold cross-validation of the threshold over "
        f"them. View 2: {integer(bench['view2_pairs'])} pairs, its 10 folds (threshold from the other nine). Accuracy ± standard "
        "deviation over folds. Faces per second include each recognizer's own crop preparation (landmarks, alignment)."
        + (f" Faces a recognizer could not align itself (fixed landmarks used): {'; '.join(undetected)}." if undetected else ""),
        table(header, rows),
        details,
        figure("ROC curves of every recognizer", "verification_roc.png"),
    )


def render(metrics: Path) -> str:
    """The verification page from the metrics folder."""
    return page(
        "Face verification on LFW",
        "A face verifier trained from scratch on LFW, the reference's Siamese beside it, and every recognizer the project "
        "can load on LFW View 1 test and View 2. The mirror's LFW is grey, so every figure is on grey faces.",
        _siamese(metrics),
        _verifier(metrics),
        _benchmark(metrics),
    )


def headline_rows(metrics: Path) -> list[HeadlineRow]:
    """The from-scratch verifier's and the Siamese's View 1 test accuracy."""
    recognizers = load(metrics, "verification_benchmark.json")["recognizers"]
    rows = []
    for name, label in (("verifier", "from-scratch verifier, View 1 test accuracy"), ("siamese", "reference Siamese reproduced, View 1 test accuracy")):
        if name in recognizers:
            view1 = recognizers[name]["view1_test"]
            rows.append(HeadlineRow(SYSTEM, PAGE, label, flat_rate_cell(view1, "accuracy")))
    return rows
