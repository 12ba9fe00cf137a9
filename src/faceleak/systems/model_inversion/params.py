"""The model-inversion system's params: the shared keys and the ``model_inversion`` section of ``params.yaml``."""

from __future__ import annotations

from dataclasses import fields
from functools import partial
from typing import Annotated

from pydantic import AfterValidator, model_validator

from faceleak.attacks.model_inversion import FITNESSES, GeneticSettings
from faceleak.data.lfw_people import FEWEST_KNOWN_IMAGES, people_with_at_least
from faceleak.data.orl import IMAGES_PER_SUBJECT, SUBJECTS
from faceleak.params import FitSection, Int, Ints, Maybe, Number, Numbers, OneOf, Section, SystemParams, load, parse, refuse

MI_DATASETS = ("lfw", "orl")  # the victim datasets; dvc.yaml runs one stage of each per dataset
PRIOR_DATA = ("disjoint", "same")


class DatasetParams(Section):
    """A victim dataset: its [train, val, test] ``split``, the people attacked (``targets``; null: all) and
    ``seeds`` searches per target against the undefended victim."""

    split: Ints(1)
    targets: Maybe(Int(1), "an integer >= 1")
    seeds: Int(1)

    def check_against(self, name: str, people: int, images: int) -> None:
        """Refuse a split that does not add up to the dataset's images, or holds a person nowhere; or more targets than people."""
        if len(self.split) != 3 or sum(self.split) != images or min(self.split) < people:
            raise refuse(
                f"{name}.split",
                f"[train, val, test] sizes adding up to the {images} images, each at least {people} (one face of each of the {people} people)",
                list(self.split),
            )
        if self.targets is not None and self.targets > people:
            raise refuse(f"{name}.targets", f"null or at most the {people} people", self.targets)


class LFWDatasetParams(DatasetParams):
    min_images: Int(FEWEST_KNOWN_IMAGES)


class VictimParams(FitSection):
    label_smoothing: Number("[0, 1)")


class PriorParams(FitSection):
    data: OneOf(PRIOR_DATA)
    latent_dim: Int(2)
    val_fraction: Number("(0, 1)")
    max_images: Maybe(Int(2), "an integer >= 2")


class AttackParams(Section):
    """The genetic search (:class:`~faceleak.attacks.model_inversion.GeneticSettings`) and the query budgets of its success curve."""

    population: Int(4)
    generations: Int(1)
    elite: Int(0)
    tournament: Int(1)
    mutation_rate: Number("[0, 1]")
    mutation_scale: Number("[0, 10]")
    success_confidence: Number("(0, 1)")
    fitness: OneOf(FITNESSES)
    latent_clip: Number("[0, 100]")
    start_pool: Int(0)
    final_candidates: Int(1)
    final_views: Int(0)
    curve_generations: Annotated[Ints(1), AfterValidator(lambda budgets: tuple(sorted(set(budgets))))]

    @model_validator(mode="after")
    def _search(self) -> AttackParams:
        if self.elite >= self.population or self.tournament > self.population:
            raise refuse("", "needs elite < population and tournament <= population")
        if self.final_candidates > self.population:
            raise refuse("final_candidates", "must be at most the population")
        if 0 < self.start_pool < self.population:
            raise refuse("start_pool", "must be 0 (random codes) or at least the population")
        if max(self.curve_generations) > self.generations:
            raise refuse("curve_generations", f"= {list(self.curve_generations)} goes past generations = {self.generations}")
        return self


class MIFaceParams(Section):
    steps: Int(1)
    learning_rate: Number("(0, 10]")


class OutputDefenseParams(Section):
    rounding: Ints(0)
    noise: Numbers("(0, 1]")
    training_label_smoothing: Number("(-1, 0)")


class ModelInversionParams(SystemParams):
    section = "model_inversion"
    lfw: LFWDatasetParams
    orl: DatasetParams
    victim: VictimParams
    prior: PriorParams
    attack: AttackParams
    mi_face: MIFaceParams
    defenses: OutputDefenseParams

    @model_validator(mode="after")
    def _datasets(self) -> ModelInversionParams:
        for name in MI_DATASETS:
            self.dataset(name).check_against(name, *self.sizes[name])
        return self

    @property
    def sizes(self) -> dict[str, tuple[int, int]]:
        """(people, images) of each victim dataset, as the params choose it."""
        return {"lfw": people_with_at_least(self.lfw.min_images), "orl": (SUBJECTS, SUBJECTS * IMAGES_PER_SUBJECT)}

    def dataset(self, name: str) -> DatasetParams:
        """The section of victim dataset ``name`` (lfw or orl)."""
        return getattr(self, name)

    @property
    def splits(self) -> dict[str, tuple[int, int, int]]:
        return {name: self.dataset(name).split for name in MI_DATASETS}

    @property
    def genetic(self) -> GeneticSettings:
        return GeneticSettings(**{field.name: getattr(self.attack, field.name) for field in fields(GeneticSettings)})


parse_model_inversion_params = partial(parse, ModelInversionParams)
load_model_inversion_params = partial(load, ModelInversionParams)
