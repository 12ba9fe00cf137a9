"""The model-inversion system's params: the ``seed`` and the ``model_inversion`` section of ``params.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from faceleak.attacks.model_inversion import FITNESSES, GeneticSettings
from faceleak.data.lfw_people import FEWEST_KNOWN_IMAGES, people_with_at_least
from faceleak.data.orl import IMAGES_PER_SUBJECT, SUBJECTS
from faceleak.device import DEVICE_CHOICES
from faceleak.params import ParamsError, Section, WeightsParams, read_params_file, weights_params
from faceleak.training import FitSettings

MI_DATASETS = ("lfw", "orl")  # the victim datasets; dvc.yaml runs one stage of each per dataset
PRIOR_DATA = ("disjoint", "same")


@dataclass(frozen=True)
class VictimParams:
    fit: FitSettings
    label_smoothing: float


@dataclass(frozen=True)
class PriorParams:
    data: str
    latent_dim: int
    val_fraction: float
    max_images: int | None
    fit: FitSettings


@dataclass(frozen=True)
class MIFaceParams:
    steps: int
    learning_rate: float


@dataclass(frozen=True)
class OutputDefenseParams:
    rounding: tuple[int, ...]
    noise: tuple[float, ...]
    training_label_smoothing: float


@dataclass(frozen=True)
class ModelInversionParams:
    seed: int
    device: str
    weights: WeightsParams
    lfw_min_images: int
    splits: dict[str, tuple[int, int, int]]
    targets: dict[str, int | None]
    victim: VictimParams
    prior: PriorParams
    genetic: GeneticSettings
    seeds: dict[str, int]  # per dataset: searches per target (each with its own seed) against the undefended victim
    curve_generations: tuple[int, ...]
    mi_face: MIFaceParams
    defenses: OutputDefenseParams


def _fit_settings(section: Section, with_regularisation: bool) -> FitSettings:
    return FitSettings(
        epochs=section.integer("epochs", 1),
        batch_size=section.integer("batch_size", 1),
        learning_rate=section.number("learning_rate", 0.0, 1.0, low_open=True),
        patience=section.integer("patience", 1),
        min_delta=section.number("min_delta", 0.0, 1.0),
        weight_decay=section.number("weight_decay", 0.0, 1.0) if with_regularisation else 0.0,
        clip_norm=section.number("clip_norm", 0.0, 1e6, low_open=True) if with_regularisation else None,
    )


def _split(section: Section, people: int, images: int) -> tuple[int, int, int]:
    """[train, val, test] sizes that add up to the dataset's images, each holding every person once at least."""
    sizes = section.integers("split", 1)
    if len(sizes) != 3 or sum(sizes) != images or min(sizes) < people:
        raise ParamsError(
            f"params: '{section.name}.split' = {list(sizes)} is not allowed; expected [train, val, test] sizes "
            f"adding up to the {images} images, each at least {people} (one face of each of the {people} people)"
        )
    return sizes


def _targets(section: Section, people: int) -> int | None:
    targets = section.optional_integer("targets", 1)
    if targets is not None and targets > people:
        raise ParamsError(f"params: '{section.name}.targets' = {targets} is not allowed; expected null or at most the {people} people")
    return targets


def _dataset_sizes(section: Section) -> dict[str, tuple[int, int]]:
    """(people, images) of each victim dataset, as the params choose it."""
    min_images = section.section("lfw").integer("min_images", FEWEST_KNOWN_IMAGES)
    return {"lfw": people_with_at_least(min_images), "orl": (SUBJECTS, SUBJECTS * IMAGES_PER_SUBJECT)}


def _genetic(attack: Section) -> GeneticSettings:
    settings = GeneticSettings(
        population=attack.integer("population", 4),
        generations=attack.integer("generations", 1),
        elite=attack.integer("elite", 0),
        tournament=attack.integer("tournament", 1),
        mutation_rate=attack.number("mutation_rate", 0.0, 1.0),
        mutation_scale=attack.number("mutation_scale", 0.0, 10.0),
        success_confidence=attack.number("success_confidence", 0.0, 1.0, low_open=True, high_open=True),
        fitness=attack.choice("fitness", FITNESSES),
        latent_clip=attack.number("latent_clip", 0.0, 100.0),
        start_pool=attack.integer("start_pool", 0),
        final_candidates=attack.integer("final_candidates", 1),
        final_views=attack.integer("final_views", 0),
    )
    if settings.elite >= settings.population or settings.tournament > settings.population:
        raise ParamsError("params: 'model_inversion.attack' needs elite < population and tournament <= population")
    if settings.final_candidates > settings.population:
        raise ParamsError("params: 'model_inversion.attack.final_candidates' must be at most the population")
    if 0 < settings.start_pool < settings.population:
        raise ParamsError("params: 'model_inversion.attack.start_pool' must be 0 (random codes) or at least the population")
    return settings


def parse_model_inversion_params(raw: dict) -> ModelInversionParams:
    """Validate the ``seed`` and ``model_inversion`` keys of a params mapping."""
    top = Section(raw, "")
    section = top.section("model_inversion")
    victim, prior, attack = section.section("victim"), section.section("prior"), section.section("attack")
    mi_face, defenses = section.section("mi_face"), section.section("defenses")
    sizes = _dataset_sizes(section)
    genetic = _genetic(attack)
    curve = attack.integers("curve_generations", 1)
    if max(curve) > genetic.generations:
        raise ParamsError(f"params: 'model_inversion.attack.curve_generations' = {list(curve)} goes past generations = {genetic.generations}")
    return ModelInversionParams(
        seed=top.integer("seed"),
        device=top.choice("device", DEVICE_CHOICES),
        weights=weights_params(top),
        lfw_min_images=section.section("lfw").integer("min_images", FEWEST_KNOWN_IMAGES),
        splits={name: _split(section.section(name), *sizes[name]) for name in MI_DATASETS},
        targets={name: _targets(section.section(name), sizes[name][0]) for name in MI_DATASETS},
        victim=VictimParams(_fit_settings(victim, True), victim.number("label_smoothing", 0.0, 1.0, high_open=True)),
        prior=PriorParams(
            data=prior.choice("data", PRIOR_DATA),
            latent_dim=prior.integer("latent_dim", 2),
            val_fraction=prior.number("val_fraction", 0.0, 1.0, low_open=True, high_open=True),
            max_images=prior.optional_integer("max_images", 2),
            fit=_fit_settings(prior, False),
        ),
        genetic=genetic,
        seeds={name: section.section(name).integer("seeds", 1) for name in MI_DATASETS},
        curve_generations=tuple(sorted(set(curve))),
        mi_face=MIFaceParams(mi_face.integer("steps", 1), mi_face.number("learning_rate", 0.0, 10.0, low_open=True)),
        defenses=OutputDefenseParams(
            rounding=defenses.integers("rounding", 0),
            noise=defenses.numbers("noise", 0.0, 1.0, low_open=True),
            training_label_smoothing=defenses.number("training_label_smoothing", -1.0, 0.0, low_open=True, high_open=True),
        ),
    )


def load_model_inversion_params(path: str | Path = "params.yaml") -> ModelInversionParams:
    """Read and validate the model-inversion params of ``params.yaml``."""
    return parse_model_inversion_params(read_params_file(path))
