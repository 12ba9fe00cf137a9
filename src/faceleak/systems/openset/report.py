"""The open-set protocol's results page: unseen victims, an attacker trained on LFW, two recognizers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from faceleak.report import (
    HeadlineRow,
    cell,
    figure,
    flat_rate_cell,
    fmr_label,
    integer,
    load,
    number,
    page,
    section,
    table,
)
from faceleak.systems.openset.params import AttackerParams, judge_roles, load_openset_params

PAGE = "openset.md"
SYSTEM = "open set"
READS = (
    "lfw_faces.json", "victims.json", "recognizers.json", "openset_train.json", "openset.json",
    "spine_curve.json", "ablation.json", "defenses.json", "openset_diagnostics.json",
)
PARAMS = Path("params.yaml")  # the judges' roles follow its openset section (attacked, white_box, surrogate)
NAMES = {"facenet": "FaceNet", "dlib": "dlib", "mobilefacenet": "MobileFaceNet"}
# Published figures, fixed facts and not metrics. Accuracy on colour LFW, by recognizer:
PUBLISHED_LFW_ACCURACY = {"facenet": "99.05% (CASIA-WebFace)", "dlib": "99.38%", "mobilefacenet": "99.55% (MS1M)"}
# Anchor rows of the key-figures table, by column: NbNet's SAR at FAR 0.1% and the reference's mAP@1.
NBNET_FAR = 0.001
NBNET = {
    "protocol": "NbNet (Mai et al. 2018), published: LFW, FaceNet templates, FAR 0.1%", "leakage": "1",
    "recognizer": "FaceNet", f"type I @ FMR {fmr_label(NBNET_FAR)}": "95.20%",
    f"type II @ FMR {fmr_label(NBNET_FAR)}": "58.05%",
}
REFERENCE = {
    "protocol": "reference (spine), published claim: MFR2", "leakage": "0.3", "recognizer": "FaceNet",
    "mAP@1": "1.0 (100%)",
}
ANCHORS = (NBNET, REFERENCE)
_SAR_KEY = re.compile(r"^sar_type1_fmr(?P<fmr>[0-9.e-]+)$")


def _attacker() -> AttackerParams:
    return load_openset_params(PARAMS).openset


def _labels(judges: tuple[str, ...], attacked: str, white_box: bool, surrogate: str) -> dict[str, str]:
    """Each judge's name with its role: ``FaceNet (attacked)``, ``dlib (independent)``."""
    return {name: f"{NAMES.get(name, name)} ({role})" for name, role in judge_roles(judges, attacked, white_box, surrogate).items()}


def _open_set_labels(attacker: AttackerParams) -> dict[str, str]:
    return _labels(attacker.judges, attacker.attacked, attacker.white_box, attacker.surrogate)


def _spine_labels(attacker: AttackerParams) -> dict[str, str]:
    """The spine leaks FaceNet's templates and trains through FaceNet, whatever the open set attacks."""
    return _labels(attacker.judges, "facenet", True, "facenet")


def _recognizers(figures: dict[str, Any]) -> list[str]:
    """The recognizers of one row of figures: its nested dicts of scores or thresholds, in their order."""
    return [key for key, value in figures.items() if isinstance(value, dict) and ("map_at_1" in value or "thresholds" in value)]


def _fmrs(scores: dict[str, Any]) -> list[str]:
    """The false-match rates one recognizer's scores are given at, as their keys spell them."""
    return [match["fmr"] for match in map(_SAR_KEY.match, scores) if match]


def _layout(figures: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The recognizers of one row of figures and the false-match rates of the first one."""
    names = _recognizers(figures)
    return names, _fmrs(figures[names[0]])


def _sar(scores: dict[str, Any], kind: int, fmr: str) -> str:
    """SAR type ``kind`` at ``fmr``: type I out of the queries, type II out of its comparisons."""
    return flat_rate_cell(scores, f"sar_type{kind}_fmr{fmr}")


def _sar_header(recognizers: list[str], fmrs: list[str]) -> list[str]:
    return [f"{NAMES.get(r, r)} SAR-{'I' * kind} {fmr_label(f)}" for r in recognizers for kind in (1, 2) for f in fmrs]


def _sar_cells(figures: dict[str, Any], recognizers: list[str], fmrs: list[str]) -> list[str]:
    return [_sar(figures[r], kind, f) for r in recognizers for kind in (1, 2) for f in fmrs]


def _at(curve: dict[str, Any], leakage: float) -> dict[str, Any]:
    """The figures of a leakage curve at ``leakage``."""
    for row in curve["leakage"].values():
        if abs(row["leakage"] - leakage) < 1e-9:
            return row
    raise KeyError(f"no figures at leakage {leakage:g}; the curve has {', '.join(curve['leakage'])}")


def _pair(figures: dict[str, Any], first: str, second: str) -> str:
    """Two whole numbers as ``first (second)``: ``13,206 (5,743)``."""
    return f"{integer(figures[first])} ({integer(figures[second])})"


def _data(metrics: Path) -> str:
    lfw, victims = load(metrics, "lfw_faces.json"), load(metrics, "victims.json")
    train = load(metrics, "openset_train.json")
    rows = [
        ("LFW images aligned (people)", _pair(lfw, "images", "people")),
        ("LFW images with no face found (median box used)", integer(lfw["no_face_found"])),
        ("attacker images (people), MFR2 identities removed", _pair(lfw, "attacker_images", "attacker_people")),
        ("decoder training images (people)", _pair(train, "train_images", "train_people")),
        ("early-stopping images (other people)", _pair(train, "val_images", "val_people")),
        ("attacker people shared with the victims", integer(train["people_shared_with_victims"])),
        ("epochs run (best epoch)", _pair(train, "epochs_run", "best_epoch")),
        ("best validation loss", number(train["best_val_loss"])),
        ("victims: MFR2 faces (people)", _pair(victims, "victims", "identities")),
        ("victim people with two or more images", integer(victims["identities_with_two_or_more_images"])),
        ("LFW View 2 pairs", integer(lfw["view2_pairs"])),
    ]
    return section("Data", table(("figure", "value"), rows))


def _recognizer_table(metrics: Path, attacker: AttackerParams) -> str:
    judges, labels = load(metrics, "recognizers.json"), _open_set_labels(attacker)
    names = _recognizers(judges)
    fmrs = list(judges[names[0]]["thresholds"])
    header = ["recognizer", f"View 2 accuracy ({judges['folds']}-fold)", "sd (points)", "published (colour LFW)"]
    header += [f"threshold @ FMR {fmr_label(f)}" for f in fmrs]
    rows = [
        [
            labels.get(name, name),
            flat_rate_cell(judges[name], "accuracy"),
            cell(judges[name], "accuracy_std", lambda v: number(100 * v, 2)),
            PUBLISHED_LFW_ACCURACY.get(name, ""),
            *(cell(judges[name]["thresholds"][f], "distance", number) for f in fmrs),
        ]
        for name in names
    ]
    return section(
        "Recognizers",
        "Accuracy on LFW View 2, and each recognizer's distance threshold at each false-match rate, set on View 2's "
        "different-person pairs (`metrics/recognizers.json`); beside them, each recognizer's published accuracy on "
        "colour LFW.",
        table(header, rows),
    )


def _summary(metrics: Path, attacker: AttackerParams) -> str:
    openset, spine = load(metrics, "openset.json"), load(metrics, "spine_curve.json")
    protocols = (("open set", openset, (1.0, 0.3), _open_set_labels(attacker)), ("spine", spine, (1.0,), _spine_labels(attacker)))
    fmrs = sorted(_layout(_at(openset, 1.0))[1], key=float)
    header = ["protocol", "leakage", "recognizer"]
    header += [f"type {'I' * kind} @ FMR {fmr_label(f)}" for f in fmrs for kind in (1, 2)] + ["mAP@1"]
    rows = [[anchor.get(column, "") for column in header] for anchor in ANCHORS]
    rows += [
        [
            protocol, f"{figures['leakage']:g}", labels.get(name, name),
            *(_sar(figures[name], kind, f) for f in fmrs for kind in (1, 2)),
            flat_rate_cell(figures[name], "map_at_1"),
        ]
        for protocol, curve, leakages, labels in protocols
        for figures in (_at(curve, leakage) for leakage in leakages)
        for name in _recognizers(figures)
    ]
    return section(
        "Key figures, beside NbNet and the reference",
        "The first rows are published figures, quoted and not measured here: NbNet attacked colour LFW templates, "
        "so they stand beside ours, not on the same test set. SAR type I compares each reconstruction with the "
        "template it came from, type II with every other image of the same person; mAP@1: the nearest genuine "
        "victim template is the same person.",
        table(header, rows),
    )


def _curves(metrics: Path) -> str:
    openset, spine = load(metrics, "openset.json"), load(metrics, "spine_curve.json")
    names, fmrs = _layout(next(iter(openset["leakage"].values())))
    header = ["protocol", "leakage", *_sar_header(names, fmrs), *(f"mAP@1 {NAMES.get(n, n)}" for n in names), "SSIM"]
    rows = [
        [
            protocol, f"{figures['leakage']:g}", *_sar_cells(figures, names, fmrs),
            *(flat_rate_cell(figures[n], "map_at_1") for n in names),
            cell(figures, "ssim", number),
        ]
        for protocol, curve in (("open set", openset), ("spine", spine))
        for figures in curve["leakage"].values()
    ]
    return section(
        "Leakage curves",
        f"Open set: the LFW attacker against the {openset['victims']} MFR2 victims. Spine: the same conditioned decoder "
        f"trained on the spine's MFR2 train split, scored on its {spine['queries']} test faces "
        "(`metrics/openset.json`, `metrics/spine_curve.json`).",
        table(header, rows),
        figure("leakage curves", "leakage_curves.png"),
        figure("open-set reconstructions", "openset_grid.png"),
    )


# The training settings the ablation's variants differ in, as its table names them.
RECIPE = {"identity_weight": "identity weight", "base_channels": "width", "warmup_epochs": "warm-up epochs", "augment_draws": "views per step"}


def _ablation(metrics: Path) -> str:
    ablation = load(metrics, "ablation.json")
    variants = ablation["variants"]
    first = next(iter(variants.values()))
    names, fmrs = _layout(first)
    header = ["variant", *RECIPE.values(), "epochs", *_sar_header(names, fmrs)]
    header += [*(f"mAP@1 {NAMES.get(n, n)}" for n in names), f"cosine {NAMES.get(names[0], names[0])}", "SSIM"]
    rows = [
        [
            variant, *(f"{run['train'][key]:g}" for key in RECIPE), cell(run, "epochs_run", integer),
            *_sar_cells(run, names, fmrs),
            *(flat_rate_cell(run[n], "map_at_1") for n in names),
            cell(run[names[0]], "cosine_mean", number), cell(run, "ssim", number),
        ]
        for variant, run in variants.items()
    ]
    return section(
        "Attacker ablation",
        f"Each training recipe on the same {integer(ablation['train_images'])} attacker faces "
        f"({integer(ablation['val_images'])} more for early stopping), leakage {ablation['leakage']:g}, same seed, judged on "
        "the same victims (`metrics/ablation.json`). Views per step: random views of each reconstruction the identity "
        "loss averages (0: the reconstruction itself).",
        table(header, rows),
    )


def _diagnostics(metrics: Path) -> str:
    diagnostics, openset = load(metrics, "openset_diagnostics.json"), load(metrics, "openset.json")
    ceiling = diagnostics["ceiling"]
    names, fmrs = _layout(ceiling)
    header = ["faces", "leakage", *(f"{NAMES.get(n, n)} SAR-I {fmr_label(f)}" for n in names for f in fmrs)]
    aligning = [n for n in names if ceiling[n].get("unaligned") is not None]
    header += [f"{NAMES.get(n, n)} could not align" for n in aligning]
    sources = [(f"ceiling: the victims' photos at {ceiling['face_size']}x{ceiling['face_size']}", "", ceiling)]
    for leakage in (1.0, 0.3):
        sources += [
            ("attack: the decoder's reconstructions", f"{leakage:g}", _at(openset, leakage)),
            ("retrieval: the nearest public LFW face", f"{leakage:g}", _at({"leakage": diagnostics["retrieval"]}, leakage)),
        ]
    rows = [
        [
            faces, leakage, *(_sar(figures[n], 1, f) for n in names for f in fmrs),
            *(cell(figures[n], "unaligned", integer) for n in aligning),
        ]
        for faces, leakage, figures in sources
    ]
    return section(
        "What limits the attack",
        "The same judges on the best a decoder of this output size could give (the victims' own photos brought down to "
        "it), and on a lookup: for each leaked template, the public LFW face whose template is nearest over the leaked "
        "dimensions. An attacker below the lookup draws patterns its surrogate reads, not faces. A judge that finds its "
        "own landmarks counts the faces it could not align (it then uses fixed points; FaceNet and dlib have no detection "
        "step). `metrics/openset_diagnostics.json`.",
        table(header, rows),
        figure("retrieval baseline", "openset_retrieval_grid.png"),
    )


def _defenses(metrics: Path) -> str:
    defenses = load(metrics, "defenses.json")
    fmr = f"{defenses['fmr']:g}"
    first = next(iter(defenses["rows"].values()))
    names = [key.removesuffix(f"_sar_type1_fmr{fmr}") for key in first if key.endswith(f"_sar_type1_fmr{fmr}")]  # the attacked first
    header = ["defense", "setting", "View 2 accuracy"]
    header += [f"{NAMES.get(n, n)} SAR-{'I' * kind} {fmr_label(fmr)}" for n in names for kind in (1, 2)] + [f"mAP@1 {NAMES.get(names[0], names[0])}"]
    rows = []
    for row in defenses["rows"].values():
        scores = {n: {k.removeprefix(f"{n}_"): v for k, v in row.items() if k.startswith(f"{n}_")} for n in names}
        rows.append([
            row["defense"], f"{row['setting']:g}", flat_rate_cell(row, "view2_accuracy"),
            *(_sar(scores[n], kind, fmr) for n in names for kind in (1, 2)),
            flat_rate_cell(scores[names[0]], "map_at_1"),
        ])
    return section(
        "Template protections",
        f"Utility (LFW View 2 accuracy on protected templates) against privacy (the attack's SAR on the protected "
        f"victim templates, at FMR {fmr_label(fmr)} of the unprotected system, full template; `metrics/defenses.json`).",
        table(header, rows),
        figure("privacy-utility", "privacy_utility.png"),
    )


def _introduction(attacker: AttackerParams) -> str:
    attacked = NAMES.get(attacker.attacked, attacker.attacked)
    access = (
        f"its identity loss runs through {attacked}'s own gradients (white-box)" if attacker.white_box else
        f"it only queries {attacked} for the templates of its training faces (black-box), and its identity loss runs through its own "
        f"{NAMES.get(attacker.surrogate, attacker.surrogate)}"
    )
    return (
        f"An attacker trained on public LFW faces inverts leaked {attacked} templates of MFR2 victims it has never seen; {access}. "
        f"The judges ({', '.join(_open_set_labels(attacker).values())}) decide whether they accept each reconstruction, at "
        "false-match rates set on LFW View 2 (the success-attack rate, SAR)."
    )


def render(metrics: Path) -> str:
    """The open-set protocol's page from the metrics folder ``metrics`` (the judges' roles from ``PARAMS``, read once)."""
    attacker = _attacker()
    return page(
        "Open set: inverting templates of unseen people",
        _introduction(attacker),
        _data(metrics),
        _recognizer_table(metrics, attacker),
        _summary(metrics, attacker),
        _curves(metrics),
        _diagnostics(metrics),
        _ablation(metrics),
        _defenses(metrics),
    )


def headline_rows(metrics: Path) -> list[HeadlineRow]:
    """SAR type I at the strictest FMR for every judge, full template and 30% leakage."""
    openset, labels = load(metrics, "openset.json"), _open_set_labels(_attacker())
    rows = []
    for name in _recognizers(_at(openset, 1.0)):
        for leakage, amount in ((1.0, "full template"), (0.3, "30% leakage")):
            scores = _at(openset, leakage)[name]
            fmr = min(_fmrs(scores), key=float)
            what = f"SAR type I @ FMR {fmr_label(fmr)}, {labels.get(name, name)}, {amount}"
            rows.append(HeadlineRow(SYSTEM, PAGE, what, _sar(scores, 1, fmr)))
    return rows
