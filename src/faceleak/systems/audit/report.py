"""The audit page of one recognizer (``docs/results/audit_<name>.md``): how well it tells people apart, whether its
ONNX file runs the same in onnxruntime and PyTorch, and how the cloak system's photos fare against it."""

from __future__ import annotations

import re

from faceleak.report import figure, flat_rate_cell, fmr_label, number, page, percent, rate_cell, section, table
from faceleak.systems.cloak.names import CLEAN, MODE_PREFIX
from faceleak.systems.cloak.report import mode_header, mode_rows

SAR_KEY = re.compile(r"^sar_type1_fmr(?P<fmr>[0-9.e-]+)$")  # a judge's SAR-I at one FMR, as the open set's figures name it



def _recognizer(view2: dict) -> str:
    """What was audited, and how it separates LFW View 2's people."""
    described, name = view2["recognizer"], view2["recognizer"]["name"]
    figures = view2["recognizers"][name]["view2"]
    agreement = view2["onnx_torch_max_difference"]
    rows = [
        ["file", f"`{described['file']}` (sha256 `{described['sha256'][:16]}...`)" if "file" in described else "the project's own weights"],
        ["template", f"{described['embedding_dim']}-D, input {described['input_size']}x{described['input_size']}: {described['alignment']}"],
        ["training data (as declared)", described["training_data"]],
        ["View 2 accuracy (10 folds)", f"{rate_cell({'rate': figures['accuracy'], 'count': figures['accuracy_count'], 'total': figures['accuracy_total'], 'ci95': figures['accuracy_ci95']})} +- {100 * figures['accuracy_std']:.1f}"],
        ["AUC, EER", f"{number(figures['auc'])}, {percent(figures['eer'])}"],
        *([f"distance threshold at FMR {fmr_label(fmr)}", f"{number(entry['distance'])} (achieved FMR {entry['achieved_fmr']:.2g})"] for fmr, entry in figures["thresholds"].items()),
        ["onnxruntime against PyTorch (onnx2torch)", "not an ONNX model" if agreement is None else f"largest template difference {agreement:.1e} over {view2['agreement_faces']} LFW faces (limit 1e-4)"],
        ["speed", f"{view2['faces_per_second']:.0f} faces/s on this machine's CPU, alignment included"],
    ]
    return section("The recognizer", table(("", name), rows), figure(f"{name}: ROC on LFW View 2", "audit_roc.png"))


def _cloak(craft: dict, judged: dict) -> str:
    """The cloak modes and uniform budgets judged by the audited recognizer."""
    name, entry = next(iter(judged["judges"].items()))
    variants = [CLEAN, *(key for key in craft["quality"] if key.startswith(MODE_PREFIX)), *(key for key in craft["quality"] if not key.startswith(MODE_PREFIX))]
    reading = (
        "The cloak is crafted on this recognizer (one of `cloak.surrogates`), so these rows are white-box: an upper bound, not evidence that the cloak protects against it."
        if entry["role"] != "independent"
        else "The cloak was crafted without this recognizer (black-box): a photo counts as protected when this recognizer no longer matches it to any clean photo of the same person."
    )
    return section(
        "Do the cloaks protect against it?",
        f"The cloak system's {len(variants) - 1} cloaked versions of the same LFW photos, judged with this recognizer's View 2 thresholds. {reading}",
        table(mode_header(judged["fmrs"][0], "cloak"), mode_rows(craft, judged, [key for key in variants if key in entry["cells"]])),
    )


def _judge_label(name: str, roles: dict[str, str]) -> str:
    return f"{name} ({roles[name]})"


def _inversion(inverted: dict) -> str:
    """SAR of the inverted templates per judge, at each leak."""
    roles = inverted["roles"]
    first = next(iter(inverted["leakage"].values()))[next(iter(roles))]
    fmrs = [match["fmr"] for match in map(SAR_KEY.match, first) if match]
    header = ["leak", "judge", *(f"SAR-I {fmr_label(fmr)}" for fmr in fmrs), *(f"SAR-II {fmr_label(fmr)}" for fmr in fmrs), "mAP@1", "cosine"]
    rows = [
        [f"{100 * row['leakage']:g}%", _judge_label(judge, roles), *(flat_rate_cell(row[judge], f"sar_type{kind}_fmr{fmr}") for kind in (1, 2) for fmr in fmrs),
         flat_rate_cell(row[judge], "map_at_1"), number(row[judge]["cosine_mean"])]
        for row in inverted["leakage"].values() for judge in roles
    ]
    attacker = "white-box: its identity loss runs through this recognizer" if inverted["white_box"] else f"black-box: it only queries this recognizer for templates; its identity loss runs through its own {inverted['surrogate']}, so that judge is white-box"
    training = inverted["training"]
    return section(
        "Can its templates be turned back into faces?",
        f"The open set's attacker: a decoder trained on {training['train_images']:,} LFW faces of {training['train_people']:,} people outside MFR2 and this recognizer's "
        f"templates of them ({attacker}; {training['warmup_epochs_run'] + training['epochs_run']} epochs, {training['training_seconds'] / 60:.1f} min). "
        f"The {inverted['victims']} MFR2 victims' templates are inverted from the whole template and from a random part of it; a reconstruction succeeds "
        "when a judge accepts it as the victim's template (SAR-I) or as another photo of the victim (SAR-II) at its LFW View 2 threshold.",
        table(header, rows),
        figure("victims and their reconstructions at each leak", "audit_inversion_grid.png"),
    )


def _protections(inverted: dict) -> str:
    """Template protections on its templates: utility against the inversion's success."""
    defenses, roles = inverted["defenses"], inverted["roles"]
    fmr = f"{defenses['fmr']:g}"
    header = ["protection", "setting", "View 2 accuracy", *(f"{_judge_label(judge, roles)} SAR-I {fmr_label(fmr)}" for judge in roles)]
    rows = [[row["defense"], f"{row['setting']:g}", flat_rate_cell(row, "view2_accuracy"), *(flat_rate_cell(row, f"{judge}_sar_type1_fmr{fmr}") for judge in roles)] for row in defenses["rows"].values()]
    return section(
        "Do template protections help?",
        "Each protection of the open set applied to this recognizer's templates: what it leaves of verification (LFW View 2 accuracy on protected "
        "templates) against what the attacker still gets back (SAR-I on the protected victim templates, full template).",
        table(header, rows),
        figure("privacy against utility", "audit_privacy_utility.png"),
    )


def audit_page(view2: dict, craft: dict, judged: dict, inverted: dict) -> str:
    """The whole audit page of the recognizer in ``view2``."""
    name = view2["recognizer"]["name"]
    figures = view2["recognizers"][name]["view2"]
    summary = (
        f"An audit of `{name}` by `dvc exp run -S audit.recognizer={name}`: how well it tells people apart (LFW View 2: "
        f"{100 * figures['accuracy']:.1f}%), how much of a face its templates give back, and whether the project's protections hold against it. "
        "Every rate comes with its count and 95% interval."
    )
    return page(f"Audit: {name}", summary, _recognizer(view2), _inversion(inverted), _protections(inverted), _cloak(craft, judged))
