"""The cloaking results page: image quality per budget, and per judge the verification, impersonation and
identification scenarios, as crafted and after a tracker's cleaning, with counts and 95% intervals."""

from __future__ import annotations

from pathlib import Path

from faceleak.report import HeadlineRow, figure, fmr_label, integer, load, number, page, rate_cell, section, table
from faceleak.systems.cloak.names import CLEAN, MODE_PREFIX

PAGE = "cloak.md"
SYSTEM = "cloak"
READS = ("cloak_craft.json", "cloak.json", "cloak_detector.json", "cloak_colour.json")
CLEANING_LABELS = {"none": "as crafted", "jpeg": "JPEG", "blur": "Gaussian blur", "resize": "down-and-up resize"}
# Face/Off's goals and the literature's anchors (../shared/docs/CLOAKING.md): fixed facts, not metrics.
ANCHORS = {
    "dodging": "Fawkes: 95%+ protection (trackers trained on cloaked photos)",
    "impersonation": "Face/Off: 35% on two online services (FaceNet surrogate); RobFR: FaceNet surrogate to Microsoft 0.37",
    "identification": "LowKey: Rekognition 0.6%, Azure 0.1% rank-1",
    "detector": "Bose & Aarabi: 0.5% of faces still detected (5.0% after JPEG 75)",
    "speed": "Fawkes: about 60 s per photo on a CPU",
}



def _variant_label(variant: str) -> str:
    if variant.startswith(MODE_PREFIX):
        return f"{variant.removeprefix(MODE_PREFIX)} mode"
    aim, epsilon = variant.rsplit("_", 1)
    return "no cloak" if epsilon == "0" else f"{aim}, epsilon {epsilon}, uniform"


def mode_rows(craft: dict, judged: dict, variants: list[str]) -> list[list[str]]:
    """Per cloak variant and judge: budget, SSIM, photos unmatched, identification, and unmatched after each cleaning."""
    fmr = judged["fmrs"][0]
    rows = []
    for key in variants:
        quality = craft["quality"].get(key, {"epsilon": 0, "ssim_floor": 0, "ssim": 1.0, "ssim_min": 1.0})
        for name, entry in judged["judges"].items():
            cells = entry["cells"][key]
            unmatched = lambda cleaning: rate_cell(cells[cleaning]["verification"][f"fmr_{fmr}"]["photos_unmatched"])
            rows.append([
                _variant_label(key), integer(quality["epsilon"]), f">= {number(quality['ssim_floor'], 2)}" if quality["ssim_floor"] else "none", f"{number(quality['ssim'])} (min {number(quality['ssim_min'])})",
                f"{name} ({entry['role']})", unmatched("none"), rate_cell(cells["none"]["identification"]["nearest_neighbour"]),
                *(unmatched(cleaning) for cleaning in CLEANING_LABELS if cleaning != "none"),
            ])
    return rows


def mode_header(fmr: str, first: str = "mode") -> tuple[str, ...]:
    return (
        first, "epsilon (of 255)", "SSIM floor", "SSIM, mean (min)", "judge", f"photos unmatched, FMR {fmr_label(fmr)}", "identification top-1 (nearest neighbour)",
        *(f"unmatched after {CLEANING_LABELS[cleaning]}" for cleaning in CLEANING_LABELS if cleaning != "none"),
    )


def _modes(craft: dict, judged: dict) -> str:
    """The modes a person chooses: quality, then per independent judge unmatched, identification and cleaning."""
    modes = [key for key in craft["quality"] if key.startswith(MODE_PREFIX)]
    header, rows = mode_header(judged["fmrs"][0]), mode_rows(craft, {**judged, "judges": _independent(judged)}, [CLEAN, *modes])
    below = ", ".join(f"{_variant_label(key)} {integer(craft['quality'][key]['below_floor'])}" for key in modes)
    return section(
        "The modes a person chooses",
        f"Dodging cloaks whose L-infinity budget is scaled per pixel by the face's local contrast (at least {number(craft['flat_share'], 2)} of it "
        "where the face is flat) and whose change is scaled down after every step until the face keeps its mode's SSIM floor "
        f"(faces below the floor after rounding: {below}). "
        "`faceleak-cloak --mode` uses the same settings. The uniform epsilon rows below are the protocol's, for comparison.",
        table(header, rows),
        figure("original photos, the three modes and their amplified changes, and the uniform epsilon-16 change", "cloak_grid.png"),
        figure("protection against SSIM, the modes against the uniform budgets", "cloak_ssim.png"),
    )


def _independent(judged: dict) -> dict:
    return {name: entry for name, entry in judged["judges"].items() if entry["role"] == "independent"}


def _colour(colour: dict) -> str:
    """The modes on MFR2's colour photos."""
    modes = [key for key in colour["quality"] if key.startswith(MODE_PREFIX)]
    return section(
        "The modes on colour photos (MFR2)",
        f"{colour['cast']}: {integer(colour['cloaked_photos'])} photos cloaked, {integer(colour['references'])} references, "
        f"{integer(colour['gallery_photos'])} distractors. Thresholds are LFW View 2's (grey): the no-cloak rows show how they sit on colour photos.",
        table(mode_header(colour["fmrs"][0], "mode (colour MFR2 photo)"), mode_rows(colour, colour, [CLEAN, *modes])),
        figure("colour MFR2 photos, the three modes and their amplified changes", "cloak_colour_grid.png"),
    )


def _quality(craft: dict) -> str:
    rows = [
        [_variant_label(key), number(q["ssim"]), number(q["ssim_min"]), number(q["psnr_db"], 1), integer(q["linf_levels"]), number(q["lpips"]), number(q["seconds_per_photo"], 2)]
        for key, q in craft["quality"].items()
    ]
    reasons = {q["lpips_reason"] for q in craft["quality"].values() if "lpips_reason" in q}
    return section(
        "Image quality and speed",
        f"{integer(craft['cloaked_photos'])} photos of {integer(craft['users'])} LFW users, cloaked on {', '.join(craft['surrogates'])} "
        "(MI-FGSM with input diversity, L-infinity). SSIM and PSNR against the original crop; seconds per 160x160 face crop on this machine."
        + (f" LPIPS: n/a ({'; '.join(sorted(reasons))})." if reasons else ""),
        table(("cloak", "SSIM", "smallest SSIM", "PSNR (dB)", "largest change (of 255)", "LPIPS", "seconds per photo"), rows),
    )


def _judge(name: str, entry: dict, fmrs: list[str]) -> str:
    rows = []
    for variant, by_cleaning in entry["cells"].items():
        for cleaning, figures in by_cleaning.items():
            if cleaning != "none" and variant.startswith("clean"):
                continue
            rows.append([
                name, _variant_label(variant), CLEANING_LABELS[cleaning],
                *(rate_cell(figures["verification"][f"fmr_{fmr}"]["photos_unmatched"]) for fmr in fmrs),
                *(rate_cell(figures["impersonation"][f"fmr_{fmr}"]) for fmr in fmrs),
                rate_cell(figures["identification"]["nearest_neighbour"]),
                rate_cell(figures["identification"]["linear"]),
            ])
    header = (
        "judge", "cloak", "tracker's cleaning",
        *(f"photos unmatched to their person, FMR {fmr_label(fmr)}" for fmr in fmrs),
        *(f"impersonation success (pairs), FMR {fmr_label(fmr)}" for fmr in fmrs),
        "identification top-1 (nearest neighbour)", "identification top-1 (linear)",
    )
    thresholds = ", ".join(f"{number(distance)} at FMR {fmr_label(fmr)}" for fmr, distance in entry["thresholds"].items())
    return section(f"Judge: {name} ({entry['role']})", f"Distance thresholds from LFW View 2's impostor pairs: {thresholds}.", table(header, rows))


def _detector(attack: dict) -> str:
    rows = []
    for name, entry in attack["detectors"].items():
        for variant, by_cleaning in entry["cells"].items():
            for cleaning, figures in by_cleaning.items():
                rows.append([name, entry["role"], "no cloak" if variant.endswith("_0") else f"epsilon {variant.rsplit('_', 1)[1]}", CLEANING_LABELS[cleaning],
                             rate_cell(figures["recall"]), number(figures["fake_boxes_per_photo"], 2)])
    quality = table(
        ("cloak", "SSIM", "PSNR (dB)", "largest change (of 255)", "seconds per photo"),
        ([f"epsilon {key.rsplit('_', 1)[1]}", number(q["ssim"]), number(q["psnr_db"], 1), integer(q["linf_levels"]), number(q["seconds_per_photo"], 2)] for key, q in attack["quality"].items()),
    )
    operating = "; ".join(f"{name}: {entry['operating_point']}" for name, entry in attack["detectors"].items())
    return section(
        "Against face detectors",
        f"{integer(attack['photos'])} full LFW photos (250x250; the first {integer(attack['photos'])} of {integer(attack['candidates'])} drawn "
        f"in which {attack['true_face_reference']} finds a face, its central box being the true face), cloaked on face-api.js's SSD "
        "MobileNet V1 with Face/Off's loss. Recall: photos where the detector still returns a box with IoU >= 0.5 with the true face; "
        f"fake boxes: its other boxes per photo. Operating points: {operating}.",
        table(("detector", "role", "cloak", "tracker's cleaning", "recall of the true face", "fake boxes per photo"), rows),
        quality,
        figure("photos cloaked against the SSD detector and the amplified perturbation", "cloak_detector_grid.png"),
    )


def _goals(craft: dict, judged: dict, attack: dict) -> str:
    fmr = judged["fmrs"][0]
    strongest_impersonation = max((key for key in craft["quality"] if key.startswith("impersonation_")), key=lambda key: float(key.rsplit("_", 1)[1]), default=None)
    unmatched = lambda figures: figures["verification"][f"fmr_{fmr}"]["photos_unmatched"]
    rows = []
    for name, entry in judged["judges"].items():
        if entry["role"] != "independent":
            continue
        mid, high = entry["cells"][f"{MODE_PREFIX}mid"], entry["cells"][f"{MODE_PREFIX}high"]
        worst = min((cleaning for cleaning in CLEANING_LABELS if cleaning != "none"), key=lambda cleaning: unmatched(mid[cleaning])["rate"])
        rows += [
            [f"mid mode: photos unmatched, {name}, FMR {fmr_label(fmr)}", ">= 90%", rate_cell(unmatched(mid["none"])), ANCHORS["dodging"]],
            [f"mid mode: identification top-1, {name} (nearest neighbour)", "<= 10%", rate_cell(mid["none"]["identification"]["nearest_neighbour"]), ANCHORS["identification"]],
            [f"mid mode after the tracker's cleaning (worst: {CLEANING_LABELS[worst]}), {name}", ">= 80%", rate_cell(unmatched(mid[worst])), ""],
            [f"high mode: photos unmatched, {name}", ">= 98%", rate_cell(unmatched(high["none"])), ""],
        ]
        if strongest_impersonation:
            rows.append([f"{_variant_label(strongest_impersonation)}: success (pairs), {name}, FMR {fmr_label(fmr)}", ">= 35% (aim 60%)",
                         rate_cell(entry["cells"][strongest_impersonation]["none"]["impersonation"][f"fmr_{fmr}"]), ANCHORS["impersonation"]])
    for key in (key for key in craft["quality"] if key.startswith(MODE_PREFIX)):
        quality = craft["quality"][key]
        rows.append([f"{_variant_label(key)}: SSIM of every face (smallest)", f">= {number(quality['ssim_floor'], 2)}", number(quality["ssim_min"]), "Fawkes: DSSIM 0.004 / 0.012 / 0.017 (SSIM about 0.99 / 0.976 / 0.966)"])
    rows.append(["mid mode: seconds per face crop (2 CPU cores)", "<= 5 s", number(craft["quality"][f"{MODE_PREFIX}mid"]["seconds_per_photo"], 2), ANCHORS["speed"]])
    white_box = next(iter(attack["detectors"].values()))
    weakest = min((key for key in white_box["cells"] if not key.endswith("_0")), key=lambda key: float(key.rsplit("_", 1)[1]))
    rows.append([f"white-box SSD recall, epsilon {weakest.rsplit('_', 1)[1]} (as cloaked / after JPEG)", "<= 1%",
                 f"{rate_cell(white_box['cells'][weakest]['none']['recall'])} / {rate_cell(white_box['cells'][weakest]['jpeg']['recall'])}", ANCHORS["detector"]])
    return section("Goals beside their anchors", table(("goal", "target", "measured", "anchor (published)"), rows))


def render(metrics: Path) -> str:
    """The cloaking page from the metrics folder."""
    craft, judged, attack, colour = (load(metrics, name) for name in READS)
    return page(
        "Face cloaking against recognition (Face/Off)",
        f"Each user's photos are cloaked on the surrogates ({', '.join(craft['surrogates'])}: their identity losses added up) and judged by "
        "recognizers that took no part in crafting (a surrogate's own row is white-box and never counts as independent). Verification: a cloaked photo against each of the user's clean "
        "photos; a photo is protected when it matches none. Impersonation: a cloaked photo against each clean photo of its target, "
        "the gallery person furthest from the user. Identification (Fawkes' framing): the cloaked photos enrolled beside "
        f"{integer(craft['gallery_photos'])} photos of other LFW people, the users' clean photos as probes. Every rate: count and "
        "95% Wilson interval.",
        _modes(craft, judged),
        _colour(colour),
        _goals(craft, judged, attack),
        _quality(craft),
        *(_judge(name, entry, judged["fmrs"]) for name, entry in judged["judges"].items()),
        _detector(attack),
        section(
            "Curves",
            figure("dodging and identification against epsilon", "cloak_dodging.png"),
            figure("impersonation against epsilon", "cloak_impersonation.png"),
        ),
    )


def headline_rows(metrics: Path) -> list[HeadlineRow]:
    """The mid mode (what faceleak-cloak does by default), judged by each independent judge at the strictest FMR."""
    judged, floor = load(metrics, "cloak.json"), load(metrics, "cloak_craft.json")["quality"][f"{MODE_PREFIX}mid"]["ssim_floor"]
    fmr = judged["fmrs"][0]
    rows = []
    for name, entry in judged["judges"].items():
        if entry["role"] == "independent":
            figures = entry["cells"][f"{MODE_PREFIX}mid"]["none"]["verification"][f"fmr_{fmr}"]["photos_unmatched"]
            rows.append(HeadlineRow(SYSTEM, PAGE, f"cloaked photos unmatched by {name} (independent), mid mode (SSIM >= {floor:g}), FMR {fmr_label(fmr)}", rate_cell(figures)))
    return rows
