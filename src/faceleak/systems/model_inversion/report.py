"""The model-inversion results page: a black-box search rebuilds the people a face classifier was trained on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faceleak.report import HeadlineRow, cell, figure, flat_rate_cell, integer, load, number, page, percent, rate_cell, section, table

PAGE = "model_inversion.md"
SYSTEM = "model inversion"
DATASETS = {"lfw": "LFW", "orl": "ORL"}
EVALUATORS = {"facenet": "FaceNet + LR", "mobilefacenet": "MobileFaceNet + LR"}
SEARCHES = {"stronger": "stronger search (the default)", "reference": "the reference's search"}
READS = ("mi_prior.json", *(f"mi_{kind}_{d}.json" for d in DATASETS for kind in ("victim", "evaluator", "attack", "diagnostics")))
# The reference's published LFW figures, fixed facts and not metrics, by the figure they stand beside.
REFERENCE = {
    "victim test accuracy": "90.31%",
    "searches passing the success confidence": "all, at 0.95",
    "mean target confidence": "98.53%",
    "queries per target": "about 5,050 (101 x 50)",
    "SSIM / PSNR": "0.12 / 14.83 dB",
    "SVM on the autoencoder's features": "71.32%",
    "attack accuracy by the evaluation model": "not measured",
}
_ATTACK_HEADER = (
    "defense", "victim test accuracy as served", "success", "mean target confidence", "success as returned",
    "queries to success as returned (mean)", *(f"attack accuracy: {name}" for name in EVALUATORS.values()),
    "FaceNet kNN accuracy", "FaceNet NN distance",
    "SSIM", "PSNR (dB)",
)


def _defense(attack: dict[str, Any]) -> str:
    """A row's name: the defense and its setting, or the white-box baseline and its victim."""
    if attack["defense"] == "white_box_baseline":
        return f"MI-Face (white box, {attack['victim']} victim)"
    return attack["defense"] if attack["defense"] == "none" else f"{attack['defense']} {attack['setting']:g}"


def _models(metrics: Path) -> str:
    prior_all = load(metrics, "mi_prior.json")
    rows = []
    for dataset, label in DATASETS.items():
        victims, judge = load(metrics, f"mi_victim_{dataset}.json"), load(metrics, f"mi_evaluator_{dataset}.json")
        prior = prior_all[dataset]
        rows.append([
            label,
            integer(victims["people"]),
            " / ".join(integer(victims[f"{split}_images"]) for split in ("train", "val", "test")),
            flat_rate_cell(victims["victim"], "test_accuracy"),
            flat_rate_cell(victims["victim_smoothed"], "test_accuracy"),
            *(flat_rate_cell(judge[model], "test_accuracy") for model in EVALUATORS),
            f"{prior['data']} ({prior['source']}): {integer(prior['train_images'])} faces, {prior['epochs_run']} epochs",
            cell(prior, "best_val_mse", lambda v: number(v, 4)),
            flat_rate_cell(prior, "svm_accuracy"),
        ])
    header = (
        "dataset", "people", "train / val / test faces", "victim test accuracy", "victim with negative label smoothing",
        *(f"evaluation model test accuracy: {name}" for name in EVALUATORS.values()), "prior", "prior val MSE", "SVM on prior codes (test)",
    )
    return section(
        "Models",
        "The victim classifier (and a second one trained with negative label smoothing), the two evaluation models "
        "(FaceNet or MobileFaceNet features + logistic regression, neither ever queried by the attack) and the "
        "attacker's autoencoder prior "
        "(`metrics/mi_victim_*.json`, `mi_evaluator_*.json`, `mi_prior.json`).",
        table(header, rows),
    )


def _undefended(attacks: dict[str, Any]) -> dict[str, Any]:
    """The attack with no defense."""
    return next(a for a in attacks["attacks"].values() if a["defense"] == "none")


def _ours(metrics: Path, dataset: str) -> dict[str, str]:
    """The undefended attack's figures on ``dataset``, under ``REFERENCE``'s names."""
    victims, attacks = load(metrics, f"mi_victim_{dataset}.json"), load(metrics, f"mi_attack_{dataset}.json")
    attack, prior = _undefended(attacks), load(metrics, "mi_prior.json")[dataset]
    success = f"{flat_rate_cell(attack, 'success_rate')} at {attack['success_confidence']:g}"
    to_success = cell(attack, "queries_per_success", integer)
    accuracy = flat_rate_cell(attack, "attack_accuracy_facenet")
    return {
        "victim test accuracy": flat_rate_cell(victims["victim"], "test_accuracy"),
        "searches passing the success confidence": success,
        "mean target confidence": cell(attack, "mean_confidence", percent),
        "queries per target": f"{integer(attack['queries_per_target'])}; success after {to_success} (mean)",
        "SSIM / PSNR": f"{cell(attack, 'ssim', number)} / {cell(attack, 'psnr_db', lambda v: number(v, 2))} dB",
        "SVM on the autoencoder's features": flat_rate_cell(prior, "svm_accuracy"),
        "attack accuracy by the evaluation model": f"{accuracy} (FaceNet + LR); chance {percent(1 / victims['people'])}",
    }


def _beside_reference(metrics: Path) -> str:
    ours = {label: _ours(metrics, dataset) for dataset, label in DATASETS.items()}
    header = ("figure", "reference (published, LFW)", *(f"faceleak {label} (measured)" for label in ours))
    rows = [(name, published, *(figures[name] for figures in ours.values())) for name, published in REFERENCE.items()]
    return section(
        "Beside the reference",
        "The reference's published figures (quoted, not measured here) beside our undefended attack. The reference's "
        "prior was trained on the victim's training faces; ours is the prior of the table above. Our SSIM / PSNR is "
        "against the most similar training face of the target.",
        table(header, rows),
    )


def _attack_row(attack: dict[str, Any]) -> list[str]:
    return [
        _defense(attack),
        flat_rate_cell(attack, "victim_test_accuracy"),
        flat_rate_cell(attack, "success_rate"),
        cell(attack, "mean_confidence", percent),
        flat_rate_cell(attack, "returned_success_rate"),
        cell(attack, "queries_per_success", integer),
        *(flat_rate_cell(attack, f"attack_accuracy_{model}") for model in EVALUATORS),
        flat_rate_cell(attack, "knn_accuracy"),
        cell(attack, "facenet_nn_distance", number),
        cell(attack, "ssim", number),
        cell(attack, "psnr_db", lambda v: number(v, 2)),
    ]


def _attacks(metrics: Path, dataset: str) -> str:
    label, attacks = DATASETS[dataset], load(metrics, f"mi_attack_{dataset}.json")
    victims = load(metrics, f"mi_victim_{dataset}.json")
    targets, people = attacks["targets"], victims["people"]
    searches = [a for a in attacks["attacks"].values() if "queries_per_target" in a]
    budget, threshold = searches[0]["queries_per_target"], searches[0]["success_confidence"]
    return section(
        f"Attack and defenses: {label}",
        f"{targets} targets; {integer(budget)} queries per target and defense. Success: the victim's exact "
        f"confidence in the target passes {number(threshold, 2)}; as returned: the confidence the defended API "
        "returned passes it. Attack accuracy: the evaluation model names the target "
        f"(chance {percent(1 / people)}, 1 of {people} people).",
        table(_ATTACK_HEADER, [_attack_row(a) for a in attacks["attacks"].values()]),
        figure(f"model inversion on {label}", f"mi_{dataset}_grid.png"),
        figure(f"success against queries, {label}", f"mi_{dataset}_budget.png"),
    )


def _repeated(metrics: Path) -> str:
    header = ["dataset", "search", "searches (seeds x targets)", "queries per search", "success"]
    header += [f"attack accuracy: {name}" for name in EVALUATORS.values()] + ["chance"]
    rows = []
    for dataset, label in DATASETS.items():
        attacks, people = load(metrics, f"mi_attack_{dataset}.json"), load(metrics, f"mi_victim_{dataset}.json")["people"]
        for kind, search in attacks["repeated_searches"].items():
            rows.append([
                label, SEARCHES.get(kind, kind), f"{integer(search['searches'])} ({search['seeds']} x {attacks['targets']})",
                integer(search["queries_per_search"]), rate_cell(search["success"]),
                *(rate_cell(search[f"attack_accuracy_{model}"]) for model in EVALUATORS), percent(1 / people),
            ])
    return section(
        "Repeated searches against the undefended victim",
        "Every target searched once per seed, by the stronger search (it spends part of the budget on public faces to "
        "start from those the victim finds closest to the target, keeps codes within the prior's range, "
        "climbs the margin of the target's log-probability over the strongest other class, and returns the best of its "
        "last candidates under random views) and by the reference's search, same budget. Rates with their count and "
        "95% Wilson interval; both evaluation models are never queried by the attack.",
        table(header, rows),
    )


def _limits(metrics: Path) -> str:
    header = ["dataset", "faces", "judged", "victim's success"] + [f"attack accuracy: {name}" for name in EVALUATORS.values()] + ["chance"]
    rows, pictures = [], []
    for dataset, label in DATASETS.items():
        diagnostics, attacks = load(metrics, f"mi_diagnostics_{dataset}.json"), load(metrics, f"mi_attack_{dataset}.json")
        people, ceiling, lookup = load(metrics, f"mi_victim_{dataset}.json")["people"], diagnostics["prior_ceiling"], diagnostics["lookup"]
        searches = f"{integer(lookup['searches'])} ({lookup['seeds']} x {diagnostics['targets']})"
        sources = [
            ("the targets' real test faces", f"{integer(ceiling['faces'])} faces", ceiling["real"]),
            ("the prior's reconstructions of them (its ceiling)", f"{integer(ceiling['faces'])} faces", ceiling["prior"]),
            (f"lookup: the best-scored of {integer(lookup['queries_per_search'])} public faces", searches, lookup),
            *((SEARCHES[kind], searches, attacks["repeated_searches"][kind]) for kind in SEARCHES),
        ]
        rows += [
            [label, faces, judged, rate_cell(rates["success"]), *(rate_cell(rates[f"attack_accuracy_{model}"]) for model in EVALUATORS), percent(1 / people)]
            for faces, judged, rates in sources
        ]
        pictures.append(figure(f"real test face, the prior's reconstruction and the lookup, {label}", f"mi_{dataset}_limits.png"))
    return section(
        "What limits the attack",
        "The same judges on the best the prior can draw (its encode-decode reconstructions of the targets' real test "
        "faces: a search in its latent space cannot show a target better) and on a lookup without a search (for each "
        "target, the attacker's own face the victim scores best among a search's budget of them, drawn at random per "
        "seed; a search below it adds nothing to the public data), beside the searches "
        "(`metrics/mi_diagnostics_*.json`). Victim's success: its exact confidence in the target above the success "
        "confidence.",
        table(header, rows),
        "Per target: the victim's recall on the person's real test faces beside the prior's ceiling (the judges on its "
        "reconstructions of those faces); a target the prior cannot draw is out of any search's reach.",
        _per_target(metrics),
        *pictures,
    )


def _per_target(metrics: Path) -> str:
    header = ["dataset", "target", "victim's test recall"] + [f"prior's ceiling: {name}" for name in EVALUATORS.values()]
    rows = []
    for dataset, label in DATASETS.items():
        recall = load(metrics, f"mi_victim_{dataset}.json")["victim"]["per_class"]
        for person, judged in load(metrics, f"mi_diagnostics_{dataset}.json")["prior_ceiling"]["prior_per_target"].items():
            rows.append([label, person.replace("_", " "), flat_rate_cell(recall[person], "recall"), *(rate_cell(judged[model]) for model in EVALUATORS)])
    return table(header, rows)


def render(metrics: Path) -> str:
    """The model-inversion page from the metrics folder ``metrics``."""
    return page(
        "Model inversion: rebuilding a classifier's training faces",
        "What an attacker who can only query a face classifier learns about the people it was trained on: a genetic "
        "search in an autoencoder's latent space drives the victim's confidence in each target up, and an evaluation "
        "model the attack never queries judges whether the result shows the right person, under API and "
        "training-time defenses.",
        _models(metrics),
        _beside_reference(metrics),
        _repeated(metrics),
        _limits(metrics),
        *(_attacks(metrics, dataset) for dataset in DATASETS),
    )


def headline_rows(metrics: Path) -> list[HeadlineRow]:
    """The stronger search's attack accuracy over the repeated searches, by the first evaluation model, per dataset."""
    rows = []
    for dataset, label in DATASETS.items():
        attacks, people = load(metrics, f"mi_attack_{dataset}.json"), load(metrics, f"mi_victim_{dataset}.json")["people"]
        search = attacks["repeated_searches"]["stronger"]
        what = f"attack accuracy, no defense, {label}, {search['searches']} searches, FaceNet + LR (chance {percent(1 / people)})"
        rows.append(HeadlineRow(SYSTEM, PAGE, what, rate_cell(search["attack_accuracy_facenet"])))
    return rows
