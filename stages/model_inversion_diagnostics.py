"""Stage model_inversion_diagnostics: what limits the model-inversion attack on one dataset, judged exactly
as the attack is (the victim's exact confidence, both evaluation models, rates with counts and intervals).

- the prior's ceiling: the targets' real test faces and the prior's reconstructions of them (encode,
  decode); a search in the prior's latent space cannot show a target better than the prior draws it;
- the lookup: for each target, the best-scored of the search's query budget of the attacker's own faces,
  repeated over the same seeds as the searches; a search below it adds nothing to the public data.
Figure: each target's real test face, the prior's reconstruction of it and the first seed's lookup."""

import sys
import time
from pathlib import Path

import numpy as np

from faceleak.io import read_npz, write_json
from faceleak.models.autoencoder import ConvAutoencoder
from faceleak.models.small_cnn import SmallCNN
from faceleak.plots import reconstruction_grid
from faceleak.stage import note_timing, start
from faceleak.systems.model_inversion.params import load_model_inversion_params
from faceleak.systems.model_inversion.steps import FaceSet, as_pixels, evaluation_judges, load_weights, lookup_figures, owned_faces, prior_ceiling

GRID_PEOPLE = 10

name = sys.argv[1]
params = start(load_model_inversion_params)
face_set = FaceSet.load(f"data/mi/{name}/faces.npz")
targets = np.arange(len(face_set.people))[: params.dataset(name).targets]
victim = load_weights(SmallCNN(len(face_set.people)), f"models/mi/{name}/victim.pt")
prior = load_weights(ConvAutoencoder(face_set.faces.shape[1:], params.prior.latent_dim), f"models/mi/priors/{name}.pt")
judges = evaluation_judges(face_set, read_npz(f"data/mi/{name}/evaluator.npz"), Path("models"), params.weights.engine, params.genetic.success_confidence)
started = time.perf_counter()
ceiling, reconstructed = prior_ceiling(victim, prior, targets, judges)
lookup, looked_up = lookup_figures(victim, owned_faces(params.prior.data, face_set), targets, judges, params.genetic, params.dataset(name).seeds, params.seed)
seconds = time.perf_counter() - started
write_json(f"metrics/mi_diagnostics_{name}.json", {"targets": len(targets), "prior_ceiling": ceiling, "lookup": lookup})

test_faces, test_labels = face_set.part("test")
of_targets = np.isin(test_labels, targets)  # the rows prior_ceiling reconstructed, in order
shown = targets[:GRID_PEOPLE]
first = [int(np.argmax(test_labels[of_targets] == target)) for target in shown]
reconstruction_grid(
    f"plots/mi_{name}_limits.png",
    as_pixels(test_faces[of_targets][first]),
    {"prior's reconstruction": as_pixels(reconstructed[first]), "lookup (first seed)": as_pixels(looked_up[: len(shown)])},
    [face_set.people[target] for target in shown],
)
note_timing(compute_seconds=seconds, targets=len(targets))
