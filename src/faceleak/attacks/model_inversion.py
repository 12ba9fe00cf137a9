"""Black-box model inversion: a genetic search in an autoencoder's latent space for a face the victim
classifies as the target, through a query oracle that counts every face it is shown.

The reference's budget is 101 generations x 50 individuals = 5,050 queries per target. Fitness is the
log-probability of the target class as the oracle returns it, so output defenses (rounding, top label
only, noise) act on exactly what the search sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

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


@dataclass(frozen=True)
class GeneticSettings:
    """Population, generations, elitism, tournament size, mutation (in latent standard deviations)."""

    population: int = 50
    generations: int = 101
    elite: int = 2
    tournament: int = 3
    mutation_rate: float = 0.2
    mutation_scale: float = 0.3
    success_confidence: float = 0.95


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


def _fitness(probabilities: np.ndarray, target: int) -> np.ndarray:
    return np.log(np.clip(probabilities[:, target], 1e-12, 1.0))


def genetic_inversion(
    oracle: QueryOracle,
    decode: Callable[[torch.Tensor], torch.Tensor],
    target: int,
    latent_mean: np.ndarray,
    latent_std: np.ndarray,
    settings: GeneticSettings,
    seed: int,
) -> InversionResult:
    """Evolve latent codes (initialised from the prior's latent distribution) towards ``target``."""
    rng = np.random.default_rng(seed)
    population = latent_mean + latent_std * rng.standard_normal((settings.population, len(latent_mean)))
    start_queries = oracle.queries
    best_code, best_fitness, best_confidence, success_at = population[0], -np.inf, 0.0, None
    trace, codes = [], []
    for _ in range(settings.generations):
        with torch.no_grad():
            faces = decode(torch.from_numpy(population).float())
        probabilities = oracle(faces)
        fitness = _fitness(probabilities, target)
        leader = int(np.argmax(fitness))
        if fitness[leader] > best_fitness:
            best_code, best_fitness = population[leader].copy(), fitness[leader]
            best_confidence = float(probabilities[leader, target])
        trace.append(best_confidence)
        codes.append(best_code)
        if success_at is None and best_confidence > settings.success_confidence:
            success_at = oracle.queries - start_queries
        population = _next_generation(population, fitness, latent_std, settings, rng)
    with torch.no_grad():
        face = decode(torch.from_numpy(best_code[None]).float())[0].cpu().numpy()
    return InversionResult(best_code, face, best_confidence, oracle.queries - start_queries, success_at, trace, codes)


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
