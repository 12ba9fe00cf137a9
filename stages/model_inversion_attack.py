"""Stage model_inversion_attack: the black-box genetic inversion of every class of one dataset's victim under each
defense, repeated over ``<dataset>.seeds`` searches per target against the undefended victim, and the white-box
MI-Face baseline; judged by the victim's exact confidence, two evaluation models (FaceNet and MobileFaceNet,
each with a linear probe; neither queried by the attack), the real faces and FaceNet's nearest neighbours;
figures: a real face beside each reconstruction, the query-budget curve."""

import sys
import time
from pathlib import Path

import numpy as np

from faceleak.attacks.model_inversion import mi_face, reference_search
from faceleak.io import read_npz, write_json
from faceleak.models.autoencoder import ConvAutoencoder
from faceleak.models.small_cnn import SmallCNN
from faceleak.plots import metric_curves, reconstruction_grid, write_csv
from faceleak.stage import note_timing, start
from faceleak.systems.model_inversion.params import load_model_inversion_params
from faceleak.systems.model_inversion.steps import (
    FaceSet,
    as_pixels,
    budget_curve,
    defended_accuracy,
    defenses_of,
    evaluation_judges,
    invert_classes,
    load_weights,
    owned_faces,
    public_start,
    query_figures,
    repeated_search_figures,
)

GRID_PEOPLE = 10

name = sys.argv[1]
params = start(load_model_inversion_params)
face_set = FaceSet.load(f"data/mi/{name}/faces.npz")
targets = np.arange(len(face_set.people))[: params.dataset(name).targets]
victims = {kind: load_weights(SmallCNN(len(face_set.people)), f"models/mi/{name}/{file}.pt") for kind, file in (("standard", "victim"), ("smoothed", "victim_smoothed"))}
prior = load_weights(ConvAutoencoder(face_set.faces.shape[1:], params.prior.latent_dim), f"models/mi/priors/{name}.pt")
latent = read_npz(f"models/mi/priors/{name}_latent.npz")
judges = evaluation_judges(face_set, read_npz(f"data/mi/{name}/evaluator.npz"), Path("models"), params.weights.engine, params.genetic.success_confidence)
# the faces the attacker owns (its prior's training data) to start its searches from
start = public_start(prior, owned_faces(params.prior.data, face_set)) if params.genetic.start_pool > 0 else None

attacks, curve, per_target, reconstructions, search_seconds = {}, [], [], {}, []
started = time.perf_counter()
for defense in defenses_of(params.defenses):
    key = f"{defense.name}_{defense.setting:g}"
    victim = victims[defense.victim]
    search_started = time.perf_counter()
    inversions = invert_classes(victim, targets, defense, prior, (latent["mean"], latent["std"]), params.genetic, params.seed, start)
    search_seconds.append(time.perf_counter() - search_started)
    reconstructions[key] = np.stack([inversion.face[0] for inversion in inversions])
    summary, rows = judges.judge(victim, reconstructions[key], targets)
    attacks[key] = {
        "defense": defense.name,
        "setting": defense.setting,
        **defended_accuracy(victim, defense, face_set, params.seed),
        **summary,
        **query_figures(inversions, params.genetic.success_confidence),
    }
    curve += [{"defense": key, **row} for row in budget_curve(inversions, targets, prior, victim, judges, params.attack.curve_generations, params.genetic)]
    per_target += [{"defense": key, **row} for row in rows]
for kind, victim in victims.items():
    key = f"mi_face_{kind}"
    reconstructions[key] = np.stack([mi_face(victim, int(t), face_set.faces.shape[1:], params.mi_face.steps, params.mi_face.learning_rate, params.seed + int(t))[0] for t in targets])
    summary, rows = judges.judge(victim, reconstructions[key], targets)
    attacks[key] = {"defense": "white_box_baseline", "victim": kind, "gradient_steps": params.mi_face.steps, **summary}
    per_target += [{"defense": key, **row} for row in rows]
seconds = time.perf_counter() - started

undefended, latent_range = defenses_of(params.defenses)[0], (latent["mean"], latent["std"])
repeated_searches = {
    kind: repeated_search_figures(victims[undefended.victim], undefended, targets, prior, latent_range, settings, start, judges, params.dataset(name).seeds, params.seed)
    for kind, settings in (("stronger", params.genetic), ("reference", reference_search(params.genetic)))
}
write_json(f"metrics/mi_attack_{name}.json", {"targets": len(targets), "repeated_searches": repeated_searches, "attacks": attacks})
write_csv(f"plots/mi_{name}_budget.csv", curve)
write_csv(f"plots/mi_{name}_targets.csv", per_target)
metric_curves(f"plots/mi_{name}_budget.png", curve, ["success_rate", "attack_accuracy"], group="defense", x="queries")
train_faces, train_labels = face_set.part("train")
shown = targets[:GRID_PEOPLE]
real = as_pixels(np.stack([train_faces[train_labels == t][0] for t in shown]))
reconstruction_grid(f"plots/mi_{name}_grid.png", real, {key.replace("negative_label_smoothing", "neg. LS").replace("_", " "): as_pixels(faces[: len(shown)]) for key, faces in reconstructions.items()}, [face_set.people[t] for t in shown])
note_timing(
    compute_seconds=seconds,
    targets=len(targets),
    defenses=len(attacks),
    search_seconds=sum(search_seconds),
    seconds_per_search=sum(search_seconds) / (len(search_seconds) * len(targets)),
)
