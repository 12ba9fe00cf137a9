"""Face verification on LFW: the reference's Siamese twin, the project's from-scratch verifier, and the
benchmark of every recognizer on View 1 test and View 2.

Identity discipline: the Siamese trains on the images of View 1's training pairs (as the reference did);
the verifier trains on LFW people outside the pairs it is tested on (:data:`VERIFIER_SPLITS`): one model
for View 1 test, and two for View 2, each holding out five folds' people, so every View 2 pair is judged
by a model that never saw its people.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from faceleak.data import lfw
from faceleak.data.table import FaceTable
from faceleak.device import active_device
from faceleak.metrics.rates import flat_rate
from faceleak.metrics.verification import best_threshold, decision_figures, pair_distances, roc_figures, tenfold_accuracy, threshold_at_fmr
from faceleak.models.recognizers import Recognizer
from faceleak.models.verifiers import MarginHead, VerifierConfig, build_verifier, contrastive_loss, preprocess, verifier_templates
from faceleak.systems.verification.params import SiameseParams, VerifierParams
from faceleak.training import FitHistory, fit

# Which pairs each verifier is tested on, so which people it must not train on: View 1 test, or half of View 2's folds.
VERIFIER_SPLITS: dict[str, tuple[int, ...] | None] = {"view1": None, "view2_folds_1_5": (0, 1, 2, 3, 4), "view2_folds_6_10": (5, 6, 7, 8, 9)}
VIEW1_CV_FOLDS = 10  # View 1 test accuracy: threshold chosen on the other nine tenths of the pairs


@dataclass(frozen=True)
class PairSet:
    """Pairs as rows of a face table: first and second rows, same-person flags and folds."""

    first: np.ndarray
    second: np.ndarray
    same: np.ndarray
    folds: np.ndarray

    @classmethod
    def of(cls, table: FaceTable, pairs: list[lfw.Pair]) -> PairSet:
        return cls(
            table.rows([pair.first for pair in pairs]),
            table.rows([pair.second for pair in pairs]),
            np.array([pair.same for pair in pairs]),
            np.array([pair.fold for pair in pairs]),
        )


def view1_pairs(path: Path, per_kind: int | None) -> list[lfw.Pair]:
    """A View 1 pairs file's pairs: all, or its first ``per_kind`` same-person and first ``per_kind`` different ones."""
    pairs = lfw.read_dev_pairs(path)
    if per_kind is None:
        return pairs
    return [pair for pair in pairs if pair.same][:per_kind] + [pair for pair in pairs if not pair.same][:per_kind]


def pair_names(pairs: list[lfw.Pair]) -> list[str]:
    """Every image name of ``pairs``, sorted, once."""
    return sorted({name for pair in pairs for name in (pair.first, pair.second)})


def faces_for(names: list[str], table: FaceTable, align: Callable[[list[str]], np.ndarray]) -> FaceTable:
    """A face table of ``names``: crops from ``table`` where it has them, ``align(missing names)`` for the rest."""
    known = set(table.names)
    missing = [name for name in names if name not in known]
    aligned = dict(zip(missing, align(missing))) if missing else {}
    index = {name: row for row, name in enumerate(table.names)}
    faces = np.stack([aligned[name] if name in aligned else table.faces[index[name]] for name in names])
    return FaceTable(faces, np.array(names), np.array([lfw.person_of(name) for name in names]), {"aligned_here": np.array([name in aligned for name in names])})


# ---- the reference's Siamese twin ----


def siamese_config(params: SiameseParams) -> VerifierConfig:
    """torchvision's ResNet18 (grey replicated to three channels), raw templates compared by Euclidean distance."""
    return VerifierConfig("resnet18", params.embedding_dim, params.input_size, params.crop_fraction, 3, unit_norm=False)


def _inputs(faces: np.ndarray, config: VerifierConfig, chunk: int = 1024) -> torch.Tensor:
    return torch.cat([preprocess(faces[i : i + chunk], config) for i in range(0, len(faces), chunk)]).to(active_device())


def train_siamese(table: FaceTable, pairs: PairSet, params: SiameseParams, seed: int) -> tuple[torch.nn.Module, VerifierConfig, FitHistory, dict]:
    """The twin trained with the contrastive loss on ``pairs``; a seeded ``val_fraction`` of them early-stops it."""
    torch.manual_seed(seed)
    config = siamese_config(params)
    model = build_verifier(config).to(active_device())
    inputs = _inputs(table.faces, config)
    val = np.zeros(len(pairs.same), bool)
    val[np.random.default_rng(seed).choice(len(val), max(1, round(params.val_fraction * len(val))), replace=False)] = True
    first, second = torch.from_numpy(pairs.first), torch.from_numpy(pairs.second)
    same = torch.from_numpy(pairs.same).float().to(active_device())
    train_rows, val_rows = torch.from_numpy(np.flatnonzero(~val)), torch.from_numpy(np.flatnonzero(val))

    def pair_loss(rows: torch.Tensor) -> torch.Tensor:
        templates = model(torch.cat([inputs[first[rows]], inputs[second[rows]]]))
        return contrastive_loss(templates[: len(rows)], templates[len(rows) :], same[rows], params.margin)

    optimizer = torch.optim.Adam(model.parameters(), lr=params.fit.learning_rate, weight_decay=params.fit.weight_decay)
    history = fit(model, lambda rows, _: pair_loss(train_rows[rows]), len(train_rows), lambda: pair_loss(val_rows).item(), optimizer, params.fit, seed, "siamese")
    return model.eval(), config, history, {"train_pairs": int((~val).sum()), "val_pairs": int(val.sum()), "train_images": len(table.faces)}


# ---- the project's verifier ----


def verifier_config(params: VerifierParams) -> VerifierConfig:
    """FaceResNet on grey crops, unit templates compared by cosine (as Euclidean distance of unit vectors)."""
    return VerifierConfig("face_resnet", params.embedding_dim, params.input_size, params.crop_fraction, 1, unit_norm=True, width=params.width)


def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random flip, scale (0.9-1.1), rotation (+-10 degrees), shift (+-8%), brightness and contrast (+-20%)."""
    n = len(batch)
    draw = lambda low, high: low + (high - low) * torch.rand(n, generator=generator)  # noqa: E731
    scale, angle = draw(0.9, 1.1), draw(-10.0, 10.0) * torch.pi / 180
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos * flip, -sin, draw(-0.08, 0.08)], 1), torch.stack([sin * flip, cos, draw(-0.08, 0.08)], 1)], 1)
    grid = F.affine_grid(theta.to(batch.device), list(batch.shape), align_corners=False)
    moved = F.grid_sample(batch, grid, padding_mode="border", align_corners=False)
    contrast, brightness = draw(0.8, 1.2).to(batch.device), draw(-0.2, 0.2).to(batch.device)
    return (moved * contrast[:, None, None, None] + brightness[:, None, None, None]).clamp(-1, 1)


def training_people(table: FaceTable, excluded: set[str], min_images: int) -> np.ndarray:
    """Rows of the people outside ``excluded`` who have at least ``min_images`` images."""
    people, counts = np.unique(table.people, return_counts=True)
    kept = {person for person, count in zip(people, counts) if count >= min_images and person not in excluded}
    return np.flatnonzero([person in kept for person in table.people])


def validation_pairs(people: np.ndarray, seed: int, limit: int = 2000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Up to ``limit`` same-person pairs among ``people`` (indices into it), and as many different-person pairs."""
    if len(set(people)) < 2:
        raise ValueError(f"validation pairs need two people or more, got {len(set(people))}; raise verification.verifier.val_fraction")
    rng = np.random.default_rng(seed)
    same = [(i, j) for i in range(len(people)) for j in range(i + 1, len(people)) if people[i] == people[j]]
    same = [same[k] for k in rng.permutation(len(same))[:limit]]
    different = []
    while len(different) < len(same):
        i, j = rng.integers(len(people), size=2)
        if people[i] != people[j]:
            different.append((i, j))
    rows = np.array(same + different)
    return rows[:, 0], rows[:, 1], np.array([True] * len(same) + [False] * len(different))


def train_verifier(table: FaceTable, rows: np.ndarray, val: np.ndarray, params: VerifierParams, seed: int) -> tuple[torch.nn.Module, VerifierConfig, FitHistory, dict]:
    """FaceResNet trained with CosFace on the table's ``rows`` outside ``val`` (augmented, SGD with a cosine
    decay per batch); 1 - AUC on pairs of the ``val`` rows (other people) early-stops it."""
    torch.manual_seed(seed)
    config, device = verifier_config(params), active_device()
    people = table.people[rows]
    train_people = np.unique(people[~val])
    labels = torch.from_numpy(np.searchsorted(train_people, people[~val])).to(device)
    inputs, val_inputs = _inputs(table.faces[rows[~val]], config), _inputs(table.faces[rows[val]], config)
    val_first, val_second, val_same = validation_pairs(people[val], seed)
    model = build_verifier(config).to(device)
    head = MarginHead(config.embedding_dim, len(train_people), params.scale, params.margin).to(device)
    optimizer = torch.optim.SGD([*model.parameters(), *head.parameters()], lr=params.fit.learning_rate, momentum=0.9, nesterov=True, weight_decay=params.fit.weight_decay)
    steps, total_steps = count(), params.fit.epochs * -(-len(labels) // params.fit.batch_size)
    # torch's CosineAnnealingLR draws the same curve recursively, a last bit off at most steps: this closed form keeps the trained verifiers
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + np.cos(np.pi * min(step, total_steps) / total_steps)))

    def batch_loss(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if next(steps):
            schedule.step()  # after the previous batch's optimiser step
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=params.engine == "bf16"):
            templates = model(augment(inputs[batch], generator))
        return head(templates.float(), labels[batch])

    def val_loss() -> float:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=params.engine == "bf16"):
            templates = F.normalize(torch.cat([model(val_inputs[i : i + 256]).float() for i in range(0, len(val_inputs), 256)])).cpu().numpy()
        distances = np.linalg.norm(templates[val_first] - templates[val_second], axis=1)
        return 1.0 - roc_figures(distances, val_same, ())[0]["auc"]

    history = fit(model, batch_loss, len(labels), val_loss, optimizer, params.fit, seed, "verifier")
    counts = {"train_images": int((~val).sum()), "train_people": len(train_people), "val_images": int(val.sum()), "val_people": len(set(people[val])), "val_pairs": len(val_same)}
    return model.eval(), config, history, counts


def excluded_people(split: str, view1_test_people: set[str], view2_table: FaceTable, view2: PairSet) -> set[str]:
    """The people a verifier of ``split`` must not train on: those of the pairs it is tested on."""
    if split not in VERIFIER_SPLITS:
        raise ValueError(f"unknown verifier split {split!r}; known: {', '.join(VERIFIER_SPLITS)}")
    folds = VERIFIER_SPLITS[split]
    if folds is None:
        return view1_test_people
    chosen = np.isin(view2.folds, folds)
    return set(view2_table.people[view2.first[chosen]]) | set(view2_table.people[view2.second[chosen]])


# ---- judging pairs ----


def _with_intervals(figures: dict, totals: dict[str, int]) -> dict:
    """``figures`` with each rate named in ``totals`` given its count, that total and its 95% Wilson interval."""
    for key, total in totals.items():
        figures |= flat_rate(key, figures[key], total)
    return figures


def pair_figures(distances: np.ndarray, same: np.ndarray, folds: np.ndarray, fars: tuple[float, ...]) -> tuple[dict, list[dict]]:
    """10-fold accuracy +- std (threshold from the other folds), AUC, EER, TAR at each FAR, and the ROC points.
    Accuracy (pooled over the folds' pairs) and TAR (over the same-person pairs) carry counts and intervals."""
    accuracy, spread = tenfold_accuracy(distances, same, folds)
    figures, points = roc_figures(distances, same, fars)
    totals = {"accuracy": len(distances), **{f"tar_at_far_{far:g}": int(same.sum()) for far in fars}}
    return _with_intervals({"pairs": len(distances), "accuracy": accuracy, "accuracy_std": spread, **figures}, totals), points


def _decision(distances: np.ndarray, same: np.ndarray, threshold: float) -> dict:
    """:func:`decision_figures` with intervals: accuracy over the pairs, precision over the pairs called a
    match (null when none is), recall over the same-person pairs."""
    totals = {"accuracy": len(distances), "precision": int((distances < threshold).sum()), "recall": int(same.sum())}
    return _with_intervals(decision_figures(distances, same, threshold), totals)


def fmr_thresholds(impostor_distances: np.ndarray, fmrs: tuple[float, ...]) -> dict[str, dict[str, float]]:
    """The distance threshold at each false-match rate on impostor pairs, with the rate it achieves."""
    return {f"{fmr:g}": dict(zip(("distance", "achieved_fmr"), threshold_at_fmr(impostor_distances, fmr))) for fmr in fmrs}


def view1_cv_folds(pairs: int) -> np.ndarray:
    """Fold of each View 1 test pair for cross-validated accuracy (interleaved, so every fold has both kinds)."""
    return np.arange(pairs) % VIEW1_CV_FOLDS


def judge_siamese(
    network: torch.nn.Module, config: VerifierConfig, train: tuple[FaceTable, PairSet], test: tuple[FaceTable, PairSet], rule: float, fars: tuple[float, ...]
) -> tuple[dict, list[dict]]:
    """The reference's four figures on the test pairs at its rule (distance < ``rule``) and at the threshold best on
    the training pairs, with AUC, EER and TAR on the test pairs, and the test ROC points."""
    distances = {}
    for part, (table, pairs) in (("train", train), ("test", test)):
        templates = verifier_templates(network, config, table.faces)
        distances[part] = pair_distances(templates[pairs.first], templates[pairs.second])
    test_same = test[1].same
    figures, points = roc_figures(distances["test"], test_same, fars)
    return {
        "at_reference_rule": _decision(distances["test"], test_same, rule),
        "at_train_threshold": _decision(distances["test"], test_same, best_threshold(distances["train"], train[1].same)),
        **_with_intervals(figures, {f"tar_at_far_{far:g}": int(test_same.sum()) for far in fars}),
    }, points


def timed_templates(recognizer: Recognizer, faces: np.ndarray) -> tuple[np.ndarray, float]:
    """Templates of ``faces`` and the faces per second it took (crop preparation included)."""
    started = time.perf_counter()
    templates = recognizer.embed(faces, progress=True)
    return templates, len(faces) / (time.perf_counter() - started)


def undetected_faces(recognizers: list[Recognizer]) -> dict:
    """``{"undetected_faces": n}``: faces of the recognizers' last ``embed`` calls that they could not align
    themselves (MobileFaceNet's MTCNN landmarks; fixed points were used), or ``{}`` when they do no alignment."""
    counts = [recognizer.undetected_ for recognizer in recognizers if hasattr(recognizer, "undetected_")]
    return {"undetected_faces": sum(counts)} if counts else {}


def benchmark(
    recognizer: Recognizer,
    view1: FaceTable,
    view1_pairs: PairSet,
    view2_table: FaceTable,
    view2_pairs: PairSet,
    fars: tuple[float, ...],
    view2_by_folds: dict[tuple[int, ...], Recognizer] | None = None,
    stored: np.ndarray | None = None,
) -> tuple[dict, list[dict]]:
    """One recognizer on View 1 test (10-fold CV accuracy) and View 2 (its 10 folds), with FMR thresholds on
    View 2's impostor pairs, speed, and ROC points of both. ``view2_by_folds`` gives other models for
    groups of View 2 folds (a verifier that holds out each fold's people); ``recognizer`` judges the rest.
    ``stored``: ``recognizer``'s templates of ``view2_table``'s faces already made by the pipeline (one store
    per recognizer), used instead of embedding those faces again."""
    view1_templates, speed = timed_templates(recognizer, view1.faces)
    view1_distances = recognizer.distance(view1_templates[view1_pairs.first], view1_templates[view1_pairs.second])
    view1_figures, view1_points = pair_figures(view1_distances, view1_pairs.same, view1_cv_folds(len(view1_pairs.same)), fars)
    view1_figures.update(undetected_faces([recognizer]))
    groups = dict(view2_by_folds or {})
    remaining = tuple(sorted(set(view2_pairs.folds.tolist()) - {fold for folds in groups for fold in folds}))
    if remaining:
        groups[remaining] = recognizer
    distances = np.zeros(len(view2_pairs.same))
    for folds, model in groups.items():
        chosen = np.isin(view2_pairs.folds, folds)
        used = np.unique(np.concatenate([view2_pairs.first[chosen], view2_pairs.second[chosen]]))
        if model is recognizer and stored is not None:
            templates = stored
        else:
            templates = np.zeros((len(view2_table.faces), recognizer.embedding_dim), np.float32)
            templates[used] = model.embed(view2_table.faces[used], progress=True)
        distances[chosen] = model.distance(templates[view2_pairs.first[chosen]], templates[view2_pairs.second[chosen]])
    view2_figures, view2_points = pair_figures(distances, view2_pairs.same, view2_pairs.folds, fars)
    view2_figures.update(undetected_faces([model for model in groups.values() if model is not recognizer or stored is None]))
    view2_figures["thresholds"] = fmr_thresholds(distances[~view2_pairs.same], fars)
    points = [{"recognizer": recognizer.name, "protocol": "view1_test", **p} for p in view1_points]
    points += [{"recognizer": recognizer.name, "protocol": "view2", **p} for p in view2_points]
    return {**recognizer.describe(), "faces_per_second": speed, "view1_test": view1_figures, "view2": view2_figures}, points


