"""The open-set protocol: an attacker trained on public LFW faces inverts templates of people it has
never seen (the kept MFR2 faces), judged by the recognizers of ``openset.judges`` at thresholds set on LFW View 2.

Identity-disjointness: no LFW person whose name matches an MFR2 identity is in the attacker's data.
The attacker's own validation split (for early stopping) is by identity too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from faceleak.attacks.embedding_inversion import EmbeddingInversionAttack, Identity, InversionData, TrainParams, facenet_identity
from faceleak.data import lfw
from faceleak.data.images import resized_faces, resized_uint8, to_channels, to_uint8
from faceleak.data.table import FaceTable
from faceleak.defenses.masking import DimensionMask
from faceleak.defenses.templates import protections
from faceleak.metrics import identity, image
from faceleak.metrics.rates import flat_rate
from faceleak.metrics.verification import pair_distances, success_attack_rate, tenfold_accuracy, threshold_at_fmr
from faceleak.models.facenet import load_facenet
from faceleak.models.recognizers import Recognizer, load_recognizer
from faceleak.report import flat_figures
from faceleak.systems.openset.params import DefenseParams, OpenSetParams

STORE = Path("data/openset/templates.npz")  # the attacked recognizer's templates of every LFW face (stage openset_templates)
DECODER = Path("models/openset_decoder.pt")


def inversion_data(templates: np.ndarray, faces: np.ndarray, size: int, targets: np.ndarray | None = None) -> InversionData:
    """Full templates (the attack draws its own leaks) with their faces at ``size`` (and the identity loss's targets)."""
    return InversionData.from_arrays(templates, templates, resized_faces(faces, size), targets)


def train_conditioned_attack(
    templates: np.ndarray,
    faces: np.ndarray,
    people: np.ndarray,
    val: np.ndarray,
    params: TrainParams,
    face_size: int,
    lowest_leakage: float,
    seed: int,
    identity: Identity | None = None,
    targets: np.ndarray | None = None,
) -> tuple[EmbeddingInversionAttack, dict[str, float]]:
    """A mask-conditioned decoder fit on the (template, face) pairs outside ``val``, early-stopped on ``val``
    (after its pixel-loss warm-up, if any).

    The identity loss (``params.identity_weight`` > 0) runs through ``identity`` (frozen), towards its templates ``targets``
    of the same faces (None: the leaked templates themselves, when ``identity`` is the attacked recognizer).
    """
    attack = EmbeddingInversionAttack(params, face_size, seed, lowest_leakage=lowest_leakage, identity=identity, embedding_dim=templates.shape[1])
    part = lambda rows: inversion_data(templates[rows], faces[rows], face_size, None if targets is None else targets[rows])
    attack.fit(part(~val), part(val))
    history, warmup = attack.history_, attack.warmup_history_
    return attack, {
        "warmup_epochs_run": 0 if warmup is None else len(warmup.val_loss),
        "warmup_best_pixel_loss": None if warmup is None else min(warmup.val_loss),
        "train_images": int((~val).sum()),
        "train_people": len(set(people[~val])),
        "val_images": int(val.sum()),
        "val_people": len(set(people[val])),
        "epochs_run": len(history.val_loss),
        "best_epoch": history.best_epoch + 1,
        "best_val_loss": min(history.val_loss),
    }


def attacker_identity(
    attacked: str, white_box: bool, surrogate: str, table: FaceTable, rows: np.ndarray, models_dir: Path, engine: str
) -> tuple[Identity, np.ndarray | None]:
    """The recognizer the attacker's identity loss runs through, and the templates it pulls the training faces ``rows``
    towards: white-box, the ``attacked`` recognizer itself (FaceNet, or an ONNX model's PyTorch conversion; None: the
    leaked templates); black-box, the attacker's own ``surrogate`` (FaceNet, run as ``engine``), towards its templates
    of those faces in the face table."""
    if white_box and attacked != "facenet":
        return load_recognizer(attacked, models_dir).templates, None
    identity = facenet_identity(load_facenet(models_dir / "facenet.pt", engine))
    return identity, None if white_box else table.arrays[surrogate][rows]


def trained_attack(params: OpenSetParams, embedding_dim: int, path: Path = DECODER) -> EmbeddingInversionAttack:
    """The open set's trained decoder for the attacked recognizer's ``embedding_dim``-D templates, to run (not to train:
    no identity loss)."""
    train = replace(params.openset.train, identity_weight=0.0)
    return EmbeddingInversionAttack(train, params.openset.face_size, params.seed, lowest_leakage=params.openset.min_leakage, embedding_dim=embedding_dim).load(path)


Judges = dict[str, Recognizer]  # the recognizers that judge reconstructions, by name (``openset.judges``)


def load_judges(names: tuple[str, ...], models_dir: Path = Path("models"), engine: str = "fp32") -> Judges:
    """The recognizers of ``names`` from the registry (FaceNet run as ``engine``)."""
    return {name: load_recognizer(name, models_dir, engine) for name in names}


def judge_templates(judges: Judges, faces: np.ndarray) -> dict[str, np.ndarray]:
    """Every judge's templates of uint8 faces."""
    return {name: judge.embed(faces) for name, judge in judges.items()}


def verification_figures(
    distances: np.ndarray, same: np.ndarray, folds: np.ndarray, fmrs: tuple[float, ...]
) -> dict[str, object]:
    """10-fold accuracy (with its count over the pooled pairs and 95% interval) and, per false-match rate,
    the threshold set on the different-person pairs."""
    accuracy, spread = tenfold_accuracy(distances, same, folds)
    thresholds = {}
    for fmr in fmrs:
        threshold, achieved = threshold_at_fmr(distances[~same], fmr)
        thresholds[f"{fmr:g}"] = {"distance": threshold, "achieved_fmr": achieved}
    return {**flat_rate("accuracy", accuracy, len(distances)), "accuracy_std": spread, "impostor_pairs": int((~same).sum()), "thresholds": thresholds}


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def success_figures(
    recon: np.ndarray, genuine: np.ndarray, identities: np.ndarray, queries: np.ndarray, thresholds: dict
) -> dict[str, float | int | None]:
    """One recognizer's figures: success rates of type I (against the source template) and type II
    (against the person's other images) at each threshold, mAP@1 with and without the source image in
    the gallery (each rate with its count and 95% Wilson interval), and the mean cosine to the source
    template."""
    type1 = pair_distances(recon, genuine[queries])
    rows, columns = np.nonzero((identities[queries][:, None] == identities[None, :]) & (queries[:, None] != np.arange(len(identities))[None, :]))
    type2 = pair_distances(recon[rows], genuine[columns])
    figures: dict[str, object] = {"type2_comparisons": len(type2)}
    for fmr, threshold in thresholds.items():
        for kind, distances in (("1", type1), ("2", type2)):
            figures |= flat_rate(f"sar_type{kind}_fmr{fmr}", success_attack_rate(distances, threshold["distance"]), len(distances))
    recon_unit, genuine_unit = _unit_rows(recon), _unit_rows(genuine)
    source = queries[:, None] == np.arange(len(identities))[None, :]
    figures |= flat_rate("map_at_1", *identity.map_at_1(recon_unit, identities[queries], genuine_unit, identities))
    figures |= flat_rate("map_at_1_other_images", *identity.map_at_1(recon_unit, identities[queries], genuine_unit, identities, source))
    figures["cosine_mean"] = float(identity.cosine_similarity(recon, genuine[queries]).mean())
    return figures


def attack_figures(
    reconstructions: np.ndarray,
    victims: FaceTable,
    queries: np.ndarray,
    judges: Judges,
    thresholds: dict[str, dict],
) -> dict[str, object]:
    """SAR (both types, every threshold), mAP@1 and cosine per judge, and SSIM/PSNR of the pixels.

    ``queries`` are the victim rows the reconstructions came from; every victim row is in the gallery.
    A judge with its own landmark detection also reports how many reconstructions it could not align
    (``unaligned``; null for judges without a detection step).
    """
    originals = degraded_victims(victims.faces[queries], reconstructions.shape[1])
    figures: dict[str, object] = {
        "ssim": float(image.ssim(originals, reconstructions).mean()),
        "psnr_db": float(image.psnr_db(originals, reconstructions).mean()),
    }
    for name, judge in judges.items():
        figures[name] = success_figures(judge.embed(reconstructions), victims.arrays[name], victims.people, queries, thresholds[name])
        figures[name]["unaligned"] = getattr(judge, "undetected_", None)
    return figures


def degraded_victims(faces: np.ndarray, size: int) -> np.ndarray:
    """Faces as a decoder of output ``size`` could at best give them: resized, their channels kept, RGB uint8."""
    return to_channels(resized_uint8(faces, size), 3)


def reconstruct(attack: EmbeddingInversionAttack, leaked: np.ndarray, mask: np.ndarray | None, channels: int) -> np.ndarray:
    """uint8 reconstructions (N, S, S, 3) of leaked templates (``mask``: the leak, for a conditioned
    decoder); grey protocols get grey faces."""
    return to_channels(to_channels(to_uint8(attack.run(leaked, mask)), channels), 3)


Inverter = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (leaked templates, 0/1 leak mask) -> uint8 RGB faces


def decoder_inverter(attack: EmbeddingInversionAttack, channels: int) -> Inverter:
    """The decoder's reconstructions, as :func:`reconstruct` gives them."""
    return lambda leaked, mask: reconstruct(attack, leaked, mask, channels)


def retrieval_inverter(public_faces: np.ndarray, public_templates: np.ndarray) -> Inverter:
    """The retrieval baseline: for each leaked template, the public face whose template is nearest
    (cosine over the leaked dimensions), as RGB uint8. A decoder that loses to this lookup draws
    patterns for its surrogate rather than faces."""

    def invert(leaked: np.ndarray, mask: np.ndarray) -> np.ndarray:
        kept = np.asarray(mask, bool)
        nearest = (_unit_rows(leaked[:, kept]) @ _unit_rows(public_templates[:, kept]).T).argmax(axis=1)
        return to_channels(public_faces[nearest], 3)

    return invert


def leakage_curve(
    invert: Inverter,
    victims: FaceTable,
    queries: np.ndarray,
    reference_templates: np.ndarray,
    leakages: tuple[float, ...],
    judges: Judges,
    thresholds: dict[str, dict],
    seed: int,
    attacked: str = "facenet",
) -> tuple[list[dict], dict[float, np.ndarray]]:
    """Attack figures of ``invert`` at each leakage (random leaked dimensions of the ``attacked`` recognizer's
    victim templates, seeded) and its faces."""
    rows, faces = [], {}
    for leakage in leakages:
        mask = DimensionMask(leakage, "random", seed).fit(reference_templates)
        faces[leakage] = invert(mask.transform(victims.arrays[attacked][queries]), mask.mask())
        rows.append({"leakage": leakage, **attack_figures(faces[leakage], victims, queries, judges, thresholds)})
    return rows, faces


def ceiling_figures(victims: FaceTable, face_size: int, judges: Judges, thresholds: dict[str, dict]) -> dict[str, object]:
    """The judges on the victims' own photos brought down to the decoder's output (``face_size``, the
    protocol's channels): no decoder of that size can do better. No pixel figures: the photos are their
    own reference."""
    figures = attack_figures(degraded_victims(victims.faces, face_size), victims, np.arange(len(victims.names)), judges, thresholds)
    return {"face_size": face_size, **{name: figures[name] for name in judges}}


def view2_arrays(pairs: list[lfw.Pair]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Names of first and second images, same-person flags, folds, and the claimed user of each pair."""
    first = np.array([pair.first for pair in pairs])
    second = np.array([pair.second for pair in pairs])
    same = np.array([pair.same for pair in pairs])
    folds = np.array([pair.fold for pair in pairs])
    return first, second, same, folds, np.array([lfw.person_of(name) for name in first])


def thresholds_from(recognizers_metrics: dict, judges: tuple[str, ...], fmrs: tuple[float, ...] | None = None) -> dict[str, dict]:
    """Per judge, its threshold entries (all, or those of ``fmrs``) from the recognizers stage's metrics."""
    thresholds = {}
    for name in judges:
        entries = recognizers_metrics[name]["thresholds"]
        keys = list(entries) if fmrs is None else [f"{fmr:g}" for fmr in fmrs]
        missing = [key for key in keys if key not in entries]
        if missing:
            raise KeyError(f"no {name} threshold at FMR {', '.join(missing)}; add it to openset.fmrs")
        thresholds[name] = {key: entries[key] for key in keys}
    return thresholds


def defense_rows(
    settings: DefenseParams,
    reference: np.ndarray,
    view2: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    victims: FaceTable,
    attack: EmbeddingInversionAttack,
    judges: Judges,
    thresholds: dict[str, dict],
    seed: int,
    attacked: str = "facenet",
) -> list[dict]:
    """Each template protection of ``settings`` (fit on the ``reference`` templates) as one row: its utility, LFW View 2
    10-fold accuracy on the protected templates (``view2``: first and second templates, same-person flags, folds and
    users of each pair), against the attack's figures on the protected victim templates of ``attacked``."""
    first, second, same, folds, users = view2
    queries, rows = np.arange(len(victims.names)), []
    for protection in protections(settings.masking, settings.noise, settings.quantization, settings.biohash, reference, seed):
        stored = protection.protect(np.concatenate([first, second]), np.concatenate([users, users]))
        accuracy, spread = tenfold_accuracy(protection.distances(stored[: len(same)], stored[len(same) :]), same, folds)
        leaked, mask = protection.attacker_input(protection.protect(victims.arrays[attacked], victims.people), victims.people)
        figures = attack_figures(reconstruct(attack, leaked, mask, victims.faces.shape[-1]), victims, queries, judges, thresholds)
        rows.append(
            {"defense": protection.name, "setting": float(protection.setting)}
            | flat_rate("view2_accuracy", accuracy, len(same))
            | {"view2_accuracy_std": spread}
            | flat_figures(figures)
        )
    return rows
