"""Face cloaking on LFW: who is protected, crafting the cloaks on the surrogates, and judging them with
recognizers that took no part in crafting, in three scenarios.

- **verification**: a cloaked photo against each of the same person's clean photos; protection = no match
  (pairs, and photos that match none of them);
- **impersonation**: a cloaked photo against each clean photo of its target (the gallery person furthest
  from the user by the surrogates); success = a match;
- **identification** (Fawkes' framing): every user's cloaked photos enrolled in a gallery of other LFW
  people; the users' clean photos are the probes; top-1 accuracy of the nearest neighbour and of a
  linear classifier trained on the gallery.

Each scenario is judged on the cloaked photos as crafted and after a tracker's cleaning (JPEG, blur,
resize); epsilon 0 (no cloak) is the baseline row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from tqdm import tqdm

from faceleak.data.align import central_box
from faceleak.data.degrade import CLEANINGS, clean
from faceleak.data.images import to_uint8, to_unit_range
from faceleak.data.table import FaceTable
from faceleak.defenses.cloak import CloakSettings, Surrogate, box_iou, cloak_from_detector, cloak_in_batches, surrogate_templates
from faceleak.metrics.image import lpips_distance, psnr_db, ssim
from faceleak.metrics.rates import rate
from faceleak.models.detectors import FaceDetector
from faceleak.models.recognizers import Recognizer
from faceleak.models.ssd_mobilenet import network_input
from faceleak.systems.cloak.names import CLEAN, MODE_PREFIX
from faceleak.systems.cloak.params import CastParams, CloakParams



@dataclass(frozen=True)
class Cast:
    """Rows of the LFW face table: the users' cloaked and reference photos, and the gallery's photos,
    with the person of each."""

    cloaked: np.ndarray
    references: np.ndarray
    gallery: np.ndarray

    def people(self, table: FaceTable, part: str) -> np.ndarray:
        return table.people[getattr(self, part)]


def stored_cloaks(table: FaceTable, stored: dict[str, np.ndarray]) -> tuple[Cast, dict[str, np.ndarray], np.ndarray]:
    """cloak_craft's store as its cast, the faces of each variant (:data:`CLEAN`: the photos uncloaked) and the
    impersonation targets."""
    cast = Cast(stored["cloaked"], stored["references"], stored["gallery"])
    variants = {CLEAN: table.faces[cast.cloaked], **{key.removeprefix("faces_"): value for key, value in stored.items() if key.startswith("faces_")}}
    return cast, variants, stored["targets"]


def select_cast(table: FaceTable, params: CastParams, seed: int) -> Cast:
    """Users: people with at least ``cloaked_photos + references`` photos (drawn by ``seed``), each with
    ``cloaked_photos`` of them to cloak and ``references`` kept clean; gallery: other people with at least
    ``gallery_photos`` photos, that many each."""
    rng = np.random.default_rng(seed)
    people, counts = np.unique(table.people, return_counts=True)
    per_user = params.cloaked_photos + params.references
    candidates = people[counts >= per_user]
    if len(candidates) < params.users:
        raise ValueError(f"cloak.cast: {params.users} users asked for, but only {len(candidates)} LFW people have {per_user} photos")
    users = set(rng.choice(candidates, params.users, replace=False).tolist())
    others = people[(counts >= params.gallery_photos) & ~np.isin(people, list(users))]
    if len(others) < params.gallery_people:
        raise ValueError(f"cloak.cast: {params.gallery_people} gallery people asked for, but only {len(others)} others have {params.gallery_photos} photos")
    gallery = set(rng.choice(others, params.gallery_people, replace=False).tolist())
    cloaked, references, enrolled = [], [], []
    for person in sorted(users | gallery):
        rows = np.flatnonzero(table.people == person)
        if person in users:
            rows = rng.permutation(rows)[:per_user]
            cloaked += sorted(rows[: params.cloaked_photos].tolist())
            references += sorted(rows[params.cloaked_photos :].tolist())
        else:
            enrolled += sorted(rng.permutation(rows)[: params.gallery_photos].tolist())
    return Cast(np.array(cloaked), np.array(references), np.array(enrolled))


def person_centroids(templates: np.ndarray, people: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted people and each one's unit mean template."""
    names = np.unique(people)
    means = np.stack([templates[people == name].mean(0) for name in names])
    return names, means / np.linalg.norm(means, axis=1, keepdims=True)


def unit_faces(faces: np.ndarray) -> torch.Tensor:
    """uint8 faces (N, H, W, C) as (N, C, H, W) in [-1, 1], grey faces kept grey."""
    return to_unit_range(faces)[:, : faces.shape[-1]]


def identity_anchors(
    surrogates: dict[str, Surrogate], user_faces: torch.Tensor, user_people: np.ndarray, gallery_faces: torch.Tensor, gallery_people: np.ndarray
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], np.ndarray]:
    """Per surrogate, each user photo's source template (its user's centroid over the photos being cloaked)
    and target template (the centroid of the gallery person furthest from the user, by cosine summed over
    the surrogates); and the target person of each user photo."""
    user_names, gallery_names = np.unique(user_people), np.unique(gallery_people)
    user_means = {name: person_centroids(surrogate_templates(surrogate, user_faces), user_people)[1] for name, surrogate in surrogates.items()}
    gallery_means = {name: person_centroids(surrogate_templates(surrogate, gallery_faces), gallery_people)[1] for name, surrogate in surrogates.items()}
    similarity = sum(user_means[name] @ gallery_means[name].T for name in surrogates)
    row_user = np.searchsorted(user_names, user_people)
    targets = gallery_names[similarity.argmin(axis=1)][row_user]
    row_target = np.searchsorted(gallery_names, targets)
    sources = {name: torch.from_numpy(user_means[name][row_user]).float() for name in surrogates}
    target_templates = {name: torch.from_numpy(gallery_means[name][row_target]).float() for name in surrogates}
    return sources, target_templates, targets


def _crafted(faces: torch.Tensor, surrogates: dict[str, Surrogate], sources: dict, targets: dict | None, settings: CloakSettings, params: CloakParams, key: str) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    result = cloak_in_batches(faces, surrogates, sources, targets, settings, params.seed, params.batch_size, f"cloak {key}")
    return to_uint8(result)[..., : faces.shape[1]], (time.perf_counter() - started) / max(1, len(faces))


def craft_cloaks(faces: torch.Tensor, surrogates: dict[str, Surrogate], sources: dict, targets: dict, params: CloakParams) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Uint8 cloaked faces for every mode (keys ``mode_{name}``) and every aim and epsilon (keys
    ``{aim}_{epsilon:g}``), and the seconds per photo of each."""
    cloaked, seconds = {}, {}
    for name in params.modes:
        key = f"{MODE_PREFIX}{name}"
        cloaked[key], seconds[key] = _crafted(faces, surrogates, sources, None, params.mode_settings(name), params, key)
    for aim in params.aims:
        for epsilon in params.epsilons:
            key = f"{aim}_{epsilon:g}"
            cloaked[key], seconds[key] = _crafted(faces, surrogates, sources, targets if aim == "impersonation" else None, params.settings(epsilon), params, key)
    return cloaked, seconds


def variant_budget(variant: str, params: CloakParams) -> tuple[float, float]:
    """A cloak variant's epsilon and its SSIM floor (0: none)."""
    if variant.startswith(MODE_PREFIX):
        mode = params.modes[variant.removeprefix(MODE_PREFIX)]
        return mode.epsilon, mode.ssim_floor
    return float(variant.rsplit("_", 1)[1]), 0.0


def quality_table(originals: np.ndarray, cloaked: dict[str, np.ndarray], seconds: dict[str, float], params: CloakParams) -> dict[str, dict]:
    """Each variant's epsilon, image quality against ``originals`` (with its SSIM floor) and seconds per photo."""
    table = {}
    for key, faces in cloaked.items():
        epsilon, floor = variant_budget(key, params)
        table[key] = {"epsilon": epsilon, **quality_figures(originals, faces, floor), "seconds_per_photo": seconds[key]}
    return table


def amplified(originals: np.ndarray, cloaked: np.ndarray, gain: float) -> np.ndarray:
    """The perturbation made visible: mid-grey plus ``gain`` times the change, uint8."""
    return np.clip(128 + gain * (cloaked.astype(np.float64) - originals), 0, 255).astype(np.uint8)


def quality_figures(originals: np.ndarray, cloaked: np.ndarray, ssim_floor: float = 0.0) -> dict[str, float | int | None | str]:
    """Mean and smallest SSIM, the faces below ``ssim_floor``, mean PSNR, the largest pixel change (levels),
    and LPIPS where its weights are present."""
    colour = lambda faces: np.repeat(faces, 3, -1) if faces.shape[-1] == 1 else faces
    distances, reason = lpips_distance(colour(originals), colour(cloaked))
    similarity = ssim(colour(originals), colour(cloaked))
    return {
        "ssim": float(similarity.mean()),
        "ssim_min": float(similarity.min()),
        "ssim_floor": ssim_floor,
        "below_floor": int((similarity < ssim_floor).sum()),
        "psnr_db": float(psnr_db(originals, cloaked).mean()),
        "linf_levels": int(np.abs(originals.astype(int) - cloaked.astype(int)).max()),
        "lpips": None if distances is None else float(distances.mean()),
        **({} if distances is not None else {"lpips_reason": reason}),
    }


# ---- judging ----


def cross_distances(judge: Recognizer, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The judge's distance of every row of ``first`` to every row of ``second`` (len(first), len(second))."""
    return judge.distance(np.repeat(first, len(second), axis=0), np.tile(second, (len(first), 1))).reshape(len(first), len(second))


def verification_figures(distances: np.ndarray, same: np.ndarray, threshold: float) -> dict:
    """Over (cloaked photo, clean photo of the same person) pairs: pairs unmatched, and photos matching none."""
    matched = (distances < threshold) & same
    return {"pairs_unmatched": rate(~matched[same]), "photos_unmatched": rate(~matched.any(axis=1))}


def identification_figures(judge: Recognizer, probes: np.ndarray, probe_people: np.ndarray, gallery: np.ndarray, gallery_people: np.ndarray, seed: int) -> dict:
    """Top-1 accuracy on the probes of the nearest gallery template and of a logistic regression on the gallery."""
    nearest = gallery_people[np.argmin(cross_distances(judge, probes, gallery), axis=1)]
    classifier = LogisticRegression(max_iter=2000, random_state=seed).fit(gallery, gallery_people)
    return {"nearest_neighbour": rate(nearest == probe_people), "linear": rate(classifier.predict(probes) == probe_people)}


def judge_scenarios(
    judge: Recognizer,
    thresholds: dict[str, float],
    cloaked: np.ndarray,
    references: np.ndarray,
    gallery: np.ndarray,
    people: dict[str, np.ndarray],
    targets: np.ndarray,
    seed: int,
) -> dict:
    """One judge's three scenarios for one set of cloaked photos; ``references`` and ``gallery`` are the
    judge's templates of the clean photos, ``people`` the person of each cloaked, reference and gallery row."""
    distances_to_references = cross_distances(judge, cloaked, references)
    distances_to_gallery = cross_distances(judge, cloaked, gallery)
    same = people["cloaked"][:, None] == people["references"][None, :]
    target = targets[:, None] == people["gallery"][None, :]
    figures = {"verification": {}, "impersonation": {}}
    for fmr, threshold in thresholds.items():
        figures["verification"][f"fmr_{fmr}"] = verification_figures(distances_to_references, same, threshold)
        figures["impersonation"][f"fmr_{fmr}"] = rate((distances_to_gallery < threshold)[target])
    enrolled = np.concatenate([gallery, cloaked])
    enrolled_people = np.concatenate([people["gallery"], people["cloaked"]])
    figures["identification"] = identification_figures(judge, references, people["references"], enrolled, enrolled_people, seed)
    return figures


def judge_cloaks(
    judge: Recognizer, thresholds: dict[str, float], table: FaceTable, cast: Cast, variants: dict[str, np.ndarray], targets: np.ndarray, params: CloakParams
) -> dict[str, dict]:
    """One judge's scenarios for every cloak variant (``{mode}_{epsilon}``; :data:`CLEAN` is no cloak) under every
    tracker cleaning: ``figures[variant][cleaning]``."""
    people = {part: cast.people(table, part) for part in ("cloaked", "references", "gallery")}
    references, gallery = judge.embed(table.faces[cast.references]), judge.embed(table.faces[cast.gallery])
    figures = {}
    for variant, faces in variants.items():
        figures[variant] = {}
        for cleaning in CLEANINGS:
            templates = judge.embed(clean(faces, cleaning, params.cleaning))
            figures[variant][cleaning] = judge_scenarios(judge, thresholds, templates, references, gallery, people, targets, params.seed)
    return figures


def success_rows(results: dict[str, dict], fmr: str, quality: dict[str, dict]) -> list[dict]:
    """Flat rows (judge and role, variant, aim or mode, budget, epsilon, SSIM, cleaning, and each scenario's
    rate at ``fmr``) for curves and tables; ``quality`` is cloak_craft's figures of each variant."""
    rows = []
    for judge, entry in results.items():
        for variant, by_cleaning in entry["cells"].items():
            mode = variant.removeprefix(MODE_PREFIX) if variant.startswith(MODE_PREFIX) else variant.rsplit("_", 1)[0]
            budget = "contrast-placed, SSIM floor" if variant.startswith(MODE_PREFIX) else "uniform"
            figures_of = quality.get(variant, {"epsilon": 0.0, "ssim": 1.0})
            for cleaning, figures in by_cleaning.items():
                rows.append({
                    "judge": f"{judge} ({entry['role']})", "variant": variant, "mode": mode, "budget": budget, "curve": f"{judge}, {budget}",
                    "epsilon": figures_of["epsilon"], "ssim": figures_of["ssim"], "cleaning": cleaning,
                    "unmatched photos": figures["verification"][f"fmr_{fmr}"]["photos_unmatched"]["rate"],
                    "unmatched pairs": figures["verification"][f"fmr_{fmr}"]["pairs_unmatched"]["rate"],
                    "impersonation": figures["impersonation"][f"fmr_{fmr}"]["rate"],
                    "identification top-1 (NN)": figures["identification"]["nearest_neighbour"]["rate"],
                    "identification top-1 (linear)": figures["identification"]["linear"]["rate"],
                })
    return rows


# ---- the detector attack ----


def true_faces(photos: np.ndarray, detector: FaceDetector) -> tuple[np.ndarray, np.ndarray]:
    """The true face of each photo: the reference detector's central box (x1, y1, x2, y2), and whether it found one."""
    boxes = np.zeros((len(photos), 4))
    found = np.zeros(len(photos), bool)
    for index, (photo, detected) in enumerate(zip(photos, detector.detect(photos))):
        if len(detected):
            boxes[index], found[index] = central_box(detected[:, :4], photo.shape[1], photo.shape[0]), True
    return boxes, found


def cloak_photos_from_ssd(photos: np.ndarray, faces: np.ndarray, network: torch.nn.Module, params: CloakParams, epsilon: float) -> np.ndarray:
    """uint8 photos cloaked against the SSD detector at ``epsilon`` (batches seeded ``seed + b``)."""
    side = max(photos.shape[1:3])
    detector = lambda images: network(network_input(images))
    attack = params.detector
    cloaked = []
    for number, start in enumerate(tqdm(range(0, len(photos), attack.batch_size), desc=f"cloak from the SSD, epsilon {epsilon:g}")):
        rows = slice(start, start + attack.batch_size)
        true = torch.from_numpy(faces[rows][:, [1, 0, 3, 2]] / side).float()  # the SSD's (y1, x1, y2, x2) in [0, 1] of the padded square
        adversarial = cloak_from_detector(unit_faces(photos[rows]), detector, true, attack.near_iou, epsilon, attack.steps, attack.step_fraction, attack.momentum, params.seed + number)
        cloaked.append(to_uint8(adversarial))
    return np.concatenate(cloaked)[..., : photos.shape[-1]]


def detection_figures(found: list[np.ndarray], faces: np.ndarray, match_iou: float = 0.5) -> dict:
    """Recall of the true faces (a box with IoU >= ``match_iou``) and fake boxes (the others) per photo."""
    overlaps = [box_iou(torch.from_numpy(boxes[None, :, :4]), torch.from_numpy(face[None])).numpy()[0] for boxes, face in zip(found, faces)]
    hits = np.array([bool((overlap >= match_iou).any()) for overlap in overlaps])
    fakes = np.array([int((overlap < match_iou).sum()) for overlap in overlaps])
    return {"recall": rate(hits), "fake_boxes_per_photo": float(fakes.mean()) if len(fakes) else None}
