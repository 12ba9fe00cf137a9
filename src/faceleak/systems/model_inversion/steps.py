"""The model-inversion experiment (issue 4): the victims' face sets, the victim classifier, the
attacker's autoencoder prior, the independent evaluation model, and the attacks under each defense.

Models train with :func:`faceleak.training.fit`. The attack reaches the victim only through
:class:`~faceleak.attacks.model_inversion.QueryOracle`; the evaluation models (FaceNet or MobileFaceNet
features, each with a linear classifier trained on the victim's training faces) are never queried by it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from faceleak.attacks.model_inversion import GeneticSettings, InversionResult, ProbabilityTransform, PublicStart, QueryOracle, genetic_inversion, public_lookup
from faceleak.data.lfw import find_root, list_images, person_of
from faceleak.data.lfw_people import crop_like_sklearn, images_per_person, load_people, stratified_split
from faceleak.data.orl import crop_like_lfw_people, load_orl
from faceleak.defenses.outputs import noisy, rounded, top_label_only
from faceleak.device import active_device, device_of
from faceleak.errors import MissingInputError
from faceleak.io import read_npz, write_npz
from faceleak.metrics.rates import flat_rate_of, rate
from faceleak.metrics.reconstruction import nearest_real_face
from faceleak.models.autoencoder import ConvAutoencoder
from faceleak.models.facenet import embed
from faceleak.models.small_cnn import SmallCNN
from faceleak.parallel import map_forked
from faceleak.systems.model_inversion.params import OutputDefenseParams
from faceleak.training import BatchLoss, FitHistory, FitSettings, fit

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
ModelType = TypeVar("ModelType", bound=nn.Module)
SPLITS = ("train", "val", "test")


@dataclass
class FaceSet:
    """Grey faces (N, H, W) in [0, 1], integer labels, the people's names and each face's split."""

    faces: np.ndarray
    labels: np.ndarray
    people: list[str]
    split: np.ndarray

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Faces and labels of one split."""
        rows = self.split == name
        return self.faces[rows], self.labels[rows]

    def save(self, path: str | Path) -> None:
        write_npz(path, faces=self.faces, labels=self.labels, people=np.array(self.people), split=self.split)

    @classmethod
    def load(cls, path: str | Path) -> FaceSet:
        data = read_npz(path)
        return cls(data["faces"], data["labels"], data["people"].tolist(), data["split"])


def lfw_face_set(lfw_folder: Path, min_images: int, sizes: tuple[int, int, int], seed: int) -> FaceSet:
    """LFW people with at least ``min_images`` images, cropped as scikit-learn does, split stratified."""
    faces, labels, people = load_people(list_images(find_root(lfw_folder)), min_images)
    return FaceSet(faces, labels, people, stratified_split(labels, sizes, seed))


def orl_face_set(orl_folder: Path, sizes: tuple[int, int, int], seed: int) -> FaceSet:
    """ORL's 40 people, brought to the LFW people's 50x37 (see :func:`crop_like_lfw_people`), split stratified."""
    faces, labels = load_orl(orl_folder)
    people = [f"s{label + 1}" for label in range(int(labels.max()) + 1)]
    return FaceSet(crop_like_lfw_people(faces), labels, people, stratified_split(labels, sizes, seed))


def public_faces(lfw_folder: Path, min_images: int) -> np.ndarray:
    """The attacker's public prior data: every LFW face of people with fewer than ``min_images`` images
    (so none of the LFW victims), cropped as scikit-learn does."""
    images = list_images(find_root(lfw_folder))
    counts = images_per_person(images)
    names = [name for name in images if counts[person_of(name)] < min_images]
    return np.stack([crop_like_sklearn(images[name]) for name in tqdm(names, desc="crop public faces")])


def as_input(faces: np.ndarray) -> torch.Tensor:
    """Grey faces (N, H, W) in [0, 1] as a (N, 1, H, W) float tensor."""
    return torch.from_numpy(np.ascontiguousarray(faces, dtype=np.float32))[:, None]


def as_pixels(faces: np.ndarray) -> np.ndarray:
    """Grey faces (N, H, W) in [0, 1] as uint8 (N, H, W, 1), the form the image metrics take."""
    return np.round(np.clip(faces, 0.0, 1.0) * 255.0).astype(np.uint8)[..., None]


def smoothed_cross_entropy(smoothing: float) -> Loss:
    """Cross-entropy against (1 - s) one-hot + s / classes. ``s`` may be negative: negative label
    smoothing (Struppek et al., ICLR 2024) is the training-time defense against model inversion."""

    def loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        classes = logits.shape[1]
        wanted = (1.0 - smoothing) * nn.functional.one_hot(targets, classes).float() + smoothing / classes
        return -(wanted * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()

    return loss


def _pair_loss(model: nn.Module, loss: Loss, data: tuple[torch.Tensor, torch.Tensor]) -> BatchLoss:
    return lambda rows, _generator: loss(model(data[0][rows]), data[1][rows])


def _full_loss(model: nn.Module, loss: Loss, data: tuple[torch.Tensor, torch.Tensor]) -> Callable[[], float]:
    return lambda: loss(model(data[0]), data[1]).item()


def train_victim(face_set: FaceSet, settings: FitSettings, label_smoothing: float, seed: int) -> tuple[SmallCNN, FitHistory]:
    """SmallCNN trained with AdamW and (possibly negative) label smoothing on 'train', early-stopped on 'val'."""
    torch.manual_seed(seed)
    model = SmallCNN(classes=len(face_set.people)).to(active_device())
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    criterion = smoothed_cross_entropy(label_smoothing)
    device = active_device()
    train, val = ((as_input(faces).to(device), torch.from_numpy(labels).long().to(device)) for faces, labels in map(face_set.part, ("train", "val")))
    history = fit(model, _pair_loss(model, criterion, train), len(train[0]), _full_loss(model, criterion, val), optimizer, settings, seed, "victim")
    return model, history


def train_prior(faces: np.ndarray, val: np.ndarray, settings: FitSettings, latent_dim: int, seed: int) -> tuple[ConvAutoencoder, FitHistory]:
    """The autoencoder prior trained with Adam and MSE; ``val`` marks the faces for early stopping."""
    torch.manual_seed(seed)
    model = ConvAutoencoder(faces.shape[1:], latent_dim).to(active_device())
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    inputs = as_input(faces).to(active_device())
    rows = torch.from_numpy(val).to(active_device())
    train, held_out = (inputs[~rows], inputs[~rows]), (inputs[rows], inputs[rows])
    loss = nn.functional.mse_loss
    history = fit(model, _pair_loss(model, loss, train), len(train[0]), _full_loss(model, loss, held_out), optimizer, settings, seed, "prior")
    return model, history


@torch.no_grad()
def batched(function: Callable[[torch.Tensor], torch.Tensor], faces: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """``function`` (of a model on the active device) applied to grey faces (N, H, W) in batches, as one array."""
    device = active_device()
    return np.concatenate([function(as_input(faces[start : start + batch_size]).to(device)).cpu().numpy() for start in range(0, len(faces), batch_size)])


def probabilities_of(model: nn.Module, faces: np.ndarray) -> np.ndarray:
    """A classifier's softmax outputs on grey faces (evaluation only: these calls are not attack queries)."""
    model.eval()
    return batched(lambda batch: torch.softmax(model(batch), dim=1), faces)


def victim_report(model: SmallCNN, face_set: FaceSet) -> dict:
    """Validation and test accuracy, and each person's test precision and recall, with counts and 95% intervals."""
    figures: dict = {}
    for name in ("val", "test"):
        faces, labels = face_set.part(name)
        predicted = probabilities_of(model, faces).argmax(axis=1)
        figures |= flat_rate_of(f"{name}_accuracy", predicted == labels)
    return figures | {"test_images": len(labels), "per_class": per_class_rates(labels, predicted, face_set.people)}


def per_class_rates(labels: np.ndarray, predicted: np.ndarray, people: Sequence[str]) -> dict[str, dict]:
    """Per person: precision (over the faces called that person; null when none is) and recall (over that
    person's faces), with counts and 95% intervals."""
    return {
        person: {"support": int((labels == index).sum())}
        | flat_rate_of("precision", labels[predicted == index] == index)
        | flat_rate_of("recall", predicted[labels == index] == index)
        for index, person in enumerate(people)
    }


def latent_statistics(prior: ConvAutoencoder, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the prior's latent codes of ``faces`` (where the search starts)."""
    prior.eval()
    codes = batched(prior.encode, faces)
    return codes.mean(axis=0), codes.std(axis=0)


def svm_feature_accuracy(prior: ConvAutoencoder, face_set: FaceSet) -> dict[str, object]:
    """Test accuracy (``svm_accuracy``, with count and 95% interval) of an RBF SVM on the prior's latent codes
    of the victim's train split (the reference's probe)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    prior.eval()
    (train, train_labels), (test, test_labels) = face_set.part("train"), face_set.part("test")
    svm = make_pipeline(StandardScaler(), SVC()).fit(batched(prior.encode, train), train_labels)
    return flat_rate_of("svm_accuracy", svm.predict(batched(prior.encode, test)) == test_labels)


def facenet_features(facenet: nn.Module, faces: np.ndarray) -> np.ndarray:
    """FaceNet embeddings of grey faces (N, H, W) in [0, 1], stretched to FaceNet's 160x160 input."""
    unit = torch.from_numpy(np.ascontiguousarray(faces, dtype=np.float32))[:, None].expand(-1, 3, -1, -1) * 2.0 - 1.0
    return embed(facenet, unit, batch_size=64)


def mobilefacenet_features(network: nn.Module, faces: np.ndarray) -> np.ndarray:
    """MobileFaceNet embeddings of grey faces (N, H, W) in [0, 1], stretched to its 112x112 input (the
    faces are tight crops already, so no landmark alignment)."""
    from faceleak.models.mobilefacenet import embed as embed_mobilefacenet

    unit = torch.from_numpy(np.ascontiguousarray(faces, dtype=np.float32))[:, None]
    stretched = nn.functional.interpolate(unit, size=(112, 112), mode="bilinear", align_corners=False)
    pixels = (stretched.clamp(0, 1) * 255).round().to(torch.uint8).expand(-1, 3, -1, -1).permute(0, 2, 3, 1).numpy()
    return embed_mobilefacenet(network, pixels, batch_size=64)


EVALUATORS = ("facenet", "mobilefacenet")  # the evaluation models' feature extractors, each with its own linear probe


def evaluator_features(name: str, models_dir: Path, engine: str) -> Callable[[np.ndarray], np.ndarray]:
    """The feature extractor of evaluation model ``name`` (one of :data:`EVALUATORS`) for grey faces in [0, 1]."""
    if name == "facenet":
        from faceleak.models.facenet import load_facenet

        network = load_facenet(Path(models_dir) / "facenet.pt", engine)
        return lambda faces: facenet_features(network, faces)
    from faceleak.models.mobilefacenet import load_mobilefacenet

    network = load_mobilefacenet(Path(models_dir) / "mobilefacenet.pt")
    return lambda faces: mobilefacenet_features(network, faces)


@dataclass
class LinearProbe:
    """The evaluation model's head: a linear classifier on FaceNet features (argmax of features @ coef.T + intercept)."""

    coef: np.ndarray
    intercept: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray) -> LinearProbe:
        """Multinomial logistic regression (scikit-learn, L2, C = 1)."""
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(max_iter=5000).fit(features, labels)
        if len(model.classes_) != int(labels.max()) + 1:
            raise ValueError("every class needs training faces for the evaluation model")
        if len(model.coef_) == 1:  # two classes: scikit-learn keeps one row
            return cls(np.concatenate([-model.coef_, model.coef_]) / 2, np.concatenate([-model.intercept_, model.intercept_]) / 2)
        return cls(model.coef_, model.intercept_)

    def predict(self, features: np.ndarray) -> np.ndarray:
        return (features @ self.coef.T + self.intercept).argmax(axis=1)

    def correct(self, features: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Whether each face is assigned its label."""
        return self.predict(features) == labels


@dataclass
class Evaluator:
    """One evaluation model: a feature extractor, the linear probe trained on its features of the victim's
    training faces, and its features of every face of the set."""

    features_of: Callable[[np.ndarray], np.ndarray]
    probe: LinearProbe
    features: np.ndarray


@dataclass
class Judges:
    """What scores reconstructions, none of it reachable by the attack: the evaluation models (the first
    one, FaceNet + probe, also gives the nearest-neighbour figures) and the real faces themselves."""

    evaluators: dict[str, Evaluator]
    face_set: FaceSet
    success_confidence: float

    def identity_scores(self, victim: nn.Module, faces: np.ndarray, targets: np.ndarray) -> dict[str, np.ndarray]:
        """Per face: the victim's exact target confidence, success, and whether each evaluation model names
        the target (``correct_<name>``); ``features``: the first evaluator's features."""
        confidence = probabilities_of(victim, faces)[np.arange(len(targets)), targets]
        scores = {"confidence": confidence, "success": confidence > self.success_confidence}
        for index, (name, evaluator) in enumerate(self.evaluators.items()):
            features = evaluator.features_of(faces)
            scores[f"correct_{name}"] = evaluator.probe.correct(features, targets)
            if index == 0:
                scores["features"] = features
        return scores

    @property
    def first(self) -> str:
        return next(iter(self.evaluators))

    def judge(self, victim: nn.Module, faces: np.ndarray, targets: np.ndarray) -> tuple[dict[str, float], list[dict]]:
        """Summary figures and one row per target: confidence, success, each evaluation model's attack
        accuracy, SSIM/PSNR against the nearest real training face of the target, and the first evaluation
        model's nearest-neighbour figures."""
        scores = self.identity_scores(victim, faces, targets)
        train = self.face_set.split == "train"
        train_features, train_labels = self.evaluators[self.first].features[train], self.face_set.labels[train]
        rows = []
        for i, target in enumerate(targets):
            distances = np.linalg.norm(train_features - scores["features"][i], axis=1)
            own = train_labels == target
            nearest = nearest_real_face(as_pixels(faces[i : i + 1])[0], as_pixels(self.face_set.faces[train][own]))
            rows.append(
                {
                    "target": self.face_set.people[target],
                    "confidence": float(scores["confidence"][i]),
                    "success": bool(scores["success"][i]),
                    **{f"evaluation_correct_{name}": bool(scores[f"correct_{name}"][i]) for name in self.evaluators},
                    "knn_correct": bool(train_labels[np.argmin(distances)] == target),
                    "facenet_nn_distance": float(distances[own].min()),
                    "ssim": nearest["ssim"],
                    "psnr_db": nearest["psnr_db"],
                }
            )
        summary = flat_rate_of("success_rate", scores["success"]) | {"mean_confidence": float(scores["confidence"].mean())}
        for name in self.evaluators:
            summary |= flat_rate_of(f"attack_accuracy_{name}", scores[f"correct_{name}"])
        summary |= {
            **flat_rate_of("knn_accuracy", np.array([row["knn_correct"] for row in rows])),
            "facenet_nn_distance": float(np.mean([row["facenet_nn_distance"] for row in rows])),
            "ssim": float(np.mean([row["ssim"] for row in rows])),
            "psnr_db": float(np.mean([row["psnr_db"] for row in rows])),
        }
        return summary | self._real_reconstructed_mixed(scores[f"correct_{self.first}"]), rows

    def _real_reconstructed_mixed(self, reconstructed_correct: np.ndarray) -> dict[str, object]:
        """The first evaluation model's accuracy on the real test faces, on the reconstructions, and on both
        pooled, with counts and 95% intervals."""
        test = self.face_set.split == "test"
        evaluator = self.evaluators[self.first]
        real_correct = evaluator.probe.correct(evaluator.features[test], self.face_set.labels[test])
        pooled = np.concatenate([real_correct, reconstructed_correct])
        return flat_rate_of("real_accuracy", real_correct) | flat_rate_of("reconstructed_accuracy", reconstructed_correct) | flat_rate_of("mixed_accuracy", pooled)


def evaluation_judges(face_set: FaceSet, evaluator: dict[str, np.ndarray], models_dir: Path, engine: str, success_confidence: float) -> Judges:
    """The judges of :data:`EVALUATORS` from the evaluator stage's arrays (probes and features)."""
    evaluators = {
        model: Evaluator(evaluator_features(model, models_dir, engine), LinearProbe(evaluator[f"{model}_coef"], evaluator[f"{model}_intercept"]), evaluator[f"{model}_features"])
        for model in EVALUATORS
    }
    return Judges(evaluators, face_set, success_confidence)


def owned_faces(prior_data: str, face_set: FaceSet) -> np.ndarray:
    """The faces the attacker owns (its prior's training data): the public LFW faces ("disjoint"), or the
    victim's training faces ("same")."""
    return read_npz("data/mi/public_faces.npz")["faces"] if prior_data == "disjoint" else face_set.part("train")[0]


@dataclass(frozen=True)
class Defense:
    """One protection of the victim: an output transform (made from a seed) on the standard victim, or a
    victim trained differently ('smoothed', negative label smoothing) answering exactly."""

    name: str
    setting: float
    victim: str
    transform: Callable[[int], ProbabilityTransform | None]


def defenses_of(params: OutputDefenseParams) -> list[Defense]:
    """The undefended victim first, then rounding, top label only, noise, and the training-time defense."""
    return [
        Defense("none", 0.0, "standard", lambda seed: None),
        *(Defense("rounding", float(d), "standard", lambda seed, d=d: rounded(d)) for d in params.rounding),
        Defense("top_label", 1.0, "standard", lambda seed: top_label_only),
        *(Defense("noise", scale, "standard", lambda seed, scale=scale: noisy(scale, seed)) for scale in params.noise),
        Defense("negative_label_smoothing", params.training_label_smoothing, "smoothed", lambda seed: None),
    ]


def defended_accuracy(victim: nn.Module, defense: Defense, face_set: FaceSet, seed: int) -> dict[str, object]:
    """The victim's test accuracy as a user of the defended API sees it (argmax of the returned output), as
    ``victim_test_accuracy`` with count and 95% interval."""
    faces, labels = face_set.part("test")
    probabilities = probabilities_of(victim, faces)
    transform = defense.transform(seed)
    returned = probabilities if transform is None else transform(probabilities)
    return flat_rate_of("victim_test_accuracy", returned.argmax(axis=1) == labels)


def invert_classes(
    victim: nn.Module,
    targets: np.ndarray,
    defense: Defense,
    prior: ConvAutoencoder,
    latent: tuple[np.ndarray, np.ndarray],
    settings: GeneticSettings,
    seed: int,
    start: PublicStart | None = None,
) -> list[InversionResult]:
    """The genetic search for each target class, each through its own counting oracle (seeded per
    target, so every defense starts from the same populations; ``start``: the attacker's public faces to
    pick the first population from); targets run side by side on the cores."""
    prior.eval()
    device = device_of(prior)

    def invert(target: int) -> InversionResult:
        oracle = QueryOracle(victim, defense.transform(seed + target))
        decode = lambda codes: prior.decode(codes.to(device))  # noqa: E731
        return genetic_inversion(oracle, decode, target, latent[0], latent[1], settings, seed + target, start)

    return map_forked(invert, [int(target) for target in targets], desc=f"invert ({defense.name} {defense.setting:g})")


def public_start(prior: ConvAutoencoder, faces: np.ndarray) -> PublicStart:
    """The attacker's own faces (grey (N, H, W) in [0, 1]) with the prior's codes of them."""
    prior.eval()
    return PublicStart(as_input(faces), batched(prior.encode, faces))


def search_seed(seed: int, search: int) -> int:
    """The seed of the ``search``-th repeated search (0: ``seed`` itself, as a single search uses)."""
    return seed + 1000 * search


@torch.no_grad()
def decode_codes(prior: ConvAutoencoder, codes: np.ndarray) -> np.ndarray:
    """Grey faces (N, H, W) from latent codes."""
    prior.eval()
    return prior.decode(torch.from_numpy(np.asarray(codes, dtype=np.float32)).to(device_of(prior)))[:, 0].cpu().numpy()


def budget_curve(
    results: list[InversionResult],
    targets: np.ndarray,
    prior: ConvAutoencoder,
    victim: nn.Module,
    judges: Judges,
    generations: tuple[int, ...],
    settings: GeneticSettings,
) -> list[dict]:
    """Success rate and the first evaluation model's attack accuracy of the best face found within each
    query budget (the public faces a search starts from count as queries)."""
    rows = []
    for generation in generations:
        faces = decode_codes(prior, np.stack([result.codes_per_generation[generation - 1] for result in results]))
        scores = judges.identity_scores(victim, faces, targets)
        rows.append({"queries": settings.start_pool + generation * settings.population, "success_rate": float(scores["success"].mean()), "attack_accuracy": float(scores[f"correct_{judges.first}"].mean())})
    return rows


def query_figures(results: list[InversionResult], success_confidence: float) -> dict[str, object]:
    """Queries spent, the share of searches whose returned confidence passed ``success_confidence`` (with
    count and 95% interval) and the queries that took."""
    needed = [result.queries_to_success for result in results if result.queries_to_success is not None]
    return {
        "queries_per_target": float(np.mean([result.queries for result in results])),
        "returned_confidence": float(np.mean([result.confidence for result in results])),
        **flat_rate_of("returned_success_rate", np.array([result.queries_to_success is not None for result in results])),
        "queries_per_success": float(np.mean(needed)) if needed else None,
        "success_confidence": success_confidence,
    }


def search_rates(rows: list[dict], evaluators: tuple[str, ...]) -> dict[str, dict]:
    """Over per-target rows of :meth:`Judges.judge` (one per search): the success rate, each evaluation
    model's attack accuracy and the kNN accuracy, each with its count and 95% Wilson interval."""
    outcomes = {"success": "success", **{f"attack_accuracy_{name}": f"evaluation_correct_{name}" for name in evaluators}, "knn_accuracy": "knn_correct"}
    return {key: rate(np.array([row[column] for row in rows], dtype=bool)) for key, column in outcomes.items()}


def repeated_search_figures(
    victim: nn.Module,
    defense: Defense,
    targets: np.ndarray,
    prior: ConvAutoencoder,
    latent: tuple[np.ndarray, np.ndarray],
    settings: GeneticSettings,
    start: PublicStart | None,
    judges: Judges,
    seeds: int,
    seed: int,
) -> dict[str, object]:
    """The search repeated ``seeds`` times per target (seeds from :func:`search_seed`), judged: rates over
    all searches with their intervals, and each evaluation model's attack accuracy per seed."""
    rows = []
    for search in range(seeds):
        searched = search_seed(seed, search)
        inversions = invert_classes(victim, targets, defense, prior, latent, settings, searched, start if settings.start_pool else None)
        rows += [{"seed": searched, **row} for row in judges.judge(victim, np.stack([inversion.face[0] for inversion in inversions]), targets)[1]]
    per_seed = {
        name: [float(np.mean([row[f"evaluation_correct_{name}"] for row in rows if row["seed"] == search_seed(seed, search)])) for search in range(seeds)]
        for name in judges.evaluators
    }
    figures = {"seeds": seeds, "searches": len(rows), "queries_per_search": settings.queries(), **search_rates(rows, tuple(judges.evaluators))}
    return figures | {"per_seed_attack_accuracy": per_seed}


def prior_ceiling(victim: nn.Module, prior: ConvAutoencoder, targets: np.ndarray, judges: Judges) -> tuple[dict[str, object], np.ndarray]:
    """The judges on the targets' real test faces and on the prior's reconstructions of them (encode,
    decode): a search in the prior's latent space shows a target no better than the prior draws its real
    faces. Rates with counts and intervals (the prior's also per target); also the reconstructions."""
    faces, labels = judges.face_set.part("test")
    rows = np.isin(labels, targets)
    reconstructed = decode_codes(prior, batched(prior.encode, faces[rows]))
    figures: dict[str, object] = {"faces": int(rows.sum())}
    for kind, shown in (("real", faces[rows]), ("prior", reconstructed)):
        scores = judges.identity_scores(victim, shown, labels[rows])
        figures[kind] = {"success": rate(scores["success"]), **{f"attack_accuracy_{name}": rate(scores[f"correct_{name}"]) for name in judges.evaluators}}
    figures["prior_per_target"] = {
        judges.face_set.people[target]: {name: rate(scores[f"correct_{name}"][labels[rows] == target]) for name in judges.evaluators} for target in targets
    }
    return figures, reconstructed


def lookup_figures(
    victim: nn.Module, owned: np.ndarray, targets: np.ndarray, judges: Judges, settings: GeneticSettings, seeds: int, seed: int
) -> tuple[dict[str, object], np.ndarray]:
    """The attack without a search, repeated as the searches are: per seed (:func:`search_seed`), the
    search's query budget of the attacker's own faces drawn at random, and for each target the one the
    victim scores best (``settings.fitness``). Rates over all lookups as :func:`search_rates`; also the
    first seed's faces."""
    rows, first = [], None
    for search in range(seeds):
        searched = search_seed(seed, search)
        drawn = np.random.default_rng(searched).choice(len(owned), min(settings.queries(), len(owned)), replace=False)
        chosen = owned[drawn][public_lookup(QueryOracle(victim), as_input(owned[drawn]), targets, settings.fitness)]
        first = chosen if first is None else first
        rows += judges.judge(victim, chosen, targets)[1]
    figures = {"seeds": seeds, "searches": len(rows), "queries_per_search": min(settings.queries(), len(owned)), **search_rates(rows, tuple(judges.evaluators))}
    return figures, first


def load_weights(model: ModelType, path: str | Path) -> ModelType:
    """``model`` with the weights saved at ``path``, in eval mode."""
    if not Path(path).is_file():
        raise MissingInputError(f"weights {path} do not exist; run the stage that trains them first")
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.to(active_device()).eval()
