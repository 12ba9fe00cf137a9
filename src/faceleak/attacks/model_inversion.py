"""Black-box model inversion: a genetic search in an autoencoder's latent space for a face the victim
classifies as the target, through a query oracle that counts every face it is shown.

The reference's budget is 101 generations x 50 individuals = 5,050 queries per target. Fitness is the
log-probability of the target class as the oracle returns it, or the margin of its log-probability over
the strongest other class, so output defenses (rounding, top label only, noise) act on exactly what the
search sees. A stronger attacker spends part of the same budget elsewhere: on public faces, to start
from those the victim already finds closest to the target, and on random views of its best candidates,
to return the face whose confidence holds under small changes of the image rather than one lucky
pixel pattern. Every one of those queries goes through the counting oracle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from faceleak.data.augment import random_views
from faceleak.device import device_of

ProbabilityTransform = Callable[[np.ndarray], np.ndarray]


class QueryOracle:
    """Black-box access to a classifier: ``oracle(faces)`` gives class probabilities and counts the faces.

    The model is captured in a closure, not stored as an attribute: attack code holds only this
    callable, so every victim evaluation goes through the counter. ``transform`` post-processes the
    probabilities (an output defense).
    """

    def __init__(self, model: nn.Module, transform: ProbabilityTransform | None = None):
        model.eval()
        device = device_of(model)

        @torch.no_grad()
        def probabilities(faces: torch.Tensor) -> np.ndarray:
            output = torch.softmax(model(faces.to(device)), dim=1).cpu().numpy()
            return output if transform is None else transform(output)

        self._probabilities = probabilities
        self.queries = 0

    def __call__(self, faces: torch.Tensor) -> np.ndarray:
        self.queries += len(faces)
        return self._probabilities(faces)


FITNESSES = ("log_probability", "margin")


@dataclass(frozen=True)
class GeneticSettings:
    """Population, generations, elitism, tournament size, mutation (in latent standard deviations);
    the fitness; codes kept within ``latent_clip`` standard deviations of the prior's mean (0: free);
    ``start_pool`` public faces queried to pick the first population (0: random codes); the final face
    chosen among the last population's ``final_candidates`` best by their mean confidence over
    ``final_views`` random views (0: the best face as found)."""

    population: int = 50
    generations: int = 101
    elite: int = 2
    tournament: int = 3
    mutation_rate: float = 0.2
    mutation_scale: float = 0.3
    success_confidence: float = 0.95
    fitness: str = "log_probability"
    latent_clip: float = 0.0
    start_pool: int = 0
    final_candidates: int = 1
    final_views: int = 0

    def queries(self) -> int:
        """The queries one search spends."""
        return self.start_pool + self.generations * self.population + self.final_candidates * self.final_views


def reference_search(settings: GeneticSettings) -> GeneticSettings:
    """The reference's plain search with the same population and query budget: random first codes,
    log-probability fitness, free codes, the best face as found."""
    generations = settings.queries() // settings.population
    return replace(settings, generations=generations, fitness="log_probability", latent_clip=0.0, start_pool=0, final_candidates=1, final_views=0)


@dataclass(frozen=True)
class PublicStart:
    """Public faces (N, 1, H, W) in [0, 1] the attacker owns, with the prior's latent codes of them."""

    faces: torch.Tensor
    codes: np.ndarray


@dataclass
class InversionResult:
    """The best face found, its target confidence as the oracle returned it, and the search's trace:
    the best-so-far confidence and latent code after each generation."""

    code: np.ndarray
    face: np.ndarray
    confidence: float
    queries: int
    queries_to_success: int | None
    best_per_generation: list[float] = field(default_factory=list)
    codes_per_generation: list[np.ndarray] = field(default_factory=list)


def _fitness(probabilities: np.ndarray, target: int, kind: str) -> np.ndarray:
    """The target's log-probability, or its margin over the strongest other class ("margin")."""
    logs = np.log(np.clip(probabilities, 1e-12, 1.0))
    if kind == "log_probability":
        return logs[:, target]
    return logs[:, target] - np.delete(logs, target, axis=1).max(axis=1)


def public_lookup(oracle: QueryOracle, faces: torch.Tensor, targets: np.ndarray, fitness: str, batch_size: int = 256) -> np.ndarray:
    """For each target, the index of the face (N, 1, H, W) in [0, 1] the oracle scores best by ``fitness``:
    the attack without a search, one query per face."""
    probabilities = np.concatenate([oracle(faces[start : start + batch_size]) for start in range(0, len(faces), batch_size)])
    return np.array([int(np.argmax(_fitness(probabilities, int(target), fitness))) for target in targets])


def _start_population(
    oracle: QueryOracle, start: PublicStart | None, target: int, latent: tuple[np.ndarray, np.ndarray], settings: GeneticSettings, rng: np.random.Generator
) -> np.ndarray:
    """Random codes from the prior's latent distribution, or the codes of the ``population`` public faces
    (of ``start_pool`` drawn) the victim scores best for ``target``."""
    if settings.start_pool == 0 or start is None:
        return latent[0] + latent[1] * rng.standard_normal((settings.population, len(latent[0])))
    pool = rng.choice(len(start.codes), min(settings.start_pool, len(start.codes)), replace=False)
    fitness = _fitness(oracle(start.faces[pool]), target, settings.fitness)
    return start.codes[pool[np.argsort(fitness)[::-1][: settings.population]]].copy()


def _clipped(codes: np.ndarray, latent: tuple[np.ndarray, np.ndarray], settings: GeneticSettings) -> np.ndarray:
    if settings.latent_clip == 0:
        return codes
    spread = settings.latent_clip * latent[1]
    return np.clip(codes, latent[0] - spread, latent[0] + spread)


def view_confidence(oracle: QueryOracle, faces: torch.Tensor, target: int, views: int, generator: torch.Generator) -> np.ndarray:
    """Each face's mean target confidence over ``views`` random views (shift, scale, mirror, blur, noise),
    as the oracle returns it; faces (N, 1, H, W) in [0, 1]."""
    scores = []
    for face in faces:
        copies = face[None].expand(views, -1, -1, -1) * 2.0 - 1.0
        scores.append(oracle((random_views(copies, generator) + 1.0) / 2.0)[:, target].mean())
    return np.array(scores)


def genetic_inversion(
    oracle: QueryOracle,
    decode: Callable[[torch.Tensor], torch.Tensor],
    target: int,
    latent_mean: np.ndarray,
    latent_std: np.ndarray,
    settings: GeneticSettings,
    seed: int,
    start: PublicStart | None = None,
) -> InversionResult:
    """Evolve latent codes (the first population drawn from the prior's latent distribution, or picked
    among ``start``'s public faces) towards ``target``."""
    rng, latent = np.random.default_rng(seed), (latent_mean, latent_std)
    start_queries = oracle.queries
    population = _clipped(_start_population(oracle, start, target, latent, settings, rng), latent, settings)
    best_code, best_fitness, best_confidence, success_at = population[0], -np.inf, 0.0, None
    trace, codes = [], []
    for _ in range(settings.generations):
        with torch.no_grad():
            faces = decode(torch.from_numpy(population).float())
        probabilities = oracle(faces)
        fitness = _fitness(probabilities, target, settings.fitness)
        leader = int(np.argmax(fitness))
        if fitness[leader] > best_fitness:
            best_code, best_fitness = population[leader].copy(), fitness[leader]
            best_confidence = float(probabilities[leader, target])
        trace.append(best_confidence)
        codes.append(best_code)
        if success_at is None and best_confidence > settings.success_confidence:
            success_at = oracle.queries - start_queries
        last_population, last_fitness, last_confidence = population, fitness, probabilities[:, target]
        population = _clipped(_next_generation(population, fitness, latent_std, settings, rng), latent, settings)
    code, confidence = best_code, best_confidence
    if settings.final_views > 0:
        candidates = np.argsort(last_fitness)[::-1][: settings.final_candidates]
        with torch.no_grad():
            faces = decode(torch.from_numpy(last_population[candidates]).float())
        chosen = candidates[int(np.argmax(view_confidence(oracle, faces, target, settings.final_views, torch.Generator().manual_seed(seed))))]
        code, confidence = last_population[chosen].copy(), float(last_confidence[chosen])
    with torch.no_grad():
        face = decode(torch.from_numpy(code[None]).float())[0].cpu().numpy()
    return InversionResult(code, face, confidence, oracle.queries - start_queries, success_at, trace, codes)


def _next_generation(
    population: np.ndarray, fitness: np.ndarray, latent_std: np.ndarray, settings: GeneticSettings, rng: np.random.Generator
) -> np.ndarray:
    """Elites survive; the rest are uniform crossovers of tournament winners, then Gaussian mutation."""
    order = np.argsort(fitness)[::-1]
    children = [population[i] for i in order[: settings.elite]]

    def pick() -> np.ndarray:
        contenders = rng.choice(len(population), settings.tournament, replace=False)
        return population[contenders[np.argmax(fitness[contenders])]]

    while len(children) < len(population):
        mother, father = pick(), pick()
        child = np.where(rng.random(len(mother)) < 0.5, mother, father)
        mutate = rng.random(len(child)) < settings.mutation_rate
        child = child + mutate * settings.mutation_scale * latent_std * rng.standard_normal(len(child))
        children.append(child)
    return np.stack(children)


def mi_face(
    model: nn.Module, target: int, shape: tuple[int, int], steps: int, learning_rate: float, seed: int
) -> tuple[np.ndarray, float]:
    """White-box MI-Face (Fredrikson et al. 2015): gradient descent on the image to minimise
    1 - p(target), the image kept in (0, 1) through a sigmoid. Returns the face and its confidence."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    logits = (0.1 * torch.randn(1, 1, *shape, generator=generator)).to(device_of(model)).requires_grad_(True)
    optimizer = torch.optim.Adam([logits], lr=learning_rate)
    for _ in range(steps):
        confidence = torch.softmax(model(torch.sigmoid(logits)), dim=1)[0, target]
        optimizer.zero_grad()
        (1.0 - confidence).backward()
        optimizer.step()
    with torch.no_grad():
        face = torch.sigmoid(logits)
        confidence = torch.softmax(model(face), dim=1)[0, target].item()
    return face[0, 0].cpu().numpy(), confidence
