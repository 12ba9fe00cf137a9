"""The cloaking results page: image quality per budget, and per judge the verification, impersonation and
identification scenarios, as crafted and after a tracker's cleaning, with counts and 95% intervals."""

from __future__ import annotations

from pathlib import Path

from faceleak.report import HeadlineRow, figure, fmr_label, integer, load, number, page, rate_cell, section, table

PAGE = "cloak.md"
SYSTEM = "cloak"
READS = ("cloak_craft.json", "cloak.json", "cloak_detector.json")
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
    mode, epsilon = variant.rsplit("_", 1)
    return "no cloak" if epsilon == "0" else f"{mode}, epsilon {epsilon}"


def _quality(craft: dict) -> str:
    rows = [
        [_variant_label(key), number(q["ssim"]), number(q["psnr_db"], 1), integer(q["linf_levels"]), number(q["lpips"]), number(q["seconds_per_photo"], 2)]
        for key, q in craft["quality"].items()
    ]
    reasons = {q["lpips_reason"] for q in craft["quality"].values() if "lpips_reason" in q}
    return section(
        "Image quality and speed",
        f"{integer(craft['cloaked_photos'])} photos of {integer(craft['users'])} LFW users, cloaked on {', '.join(craft['surrogates'])} "
        "(MI-FGSM with input diversity, L-infinity). SSIM and PSNR against the original crop; seconds per 160x160 face crop on this machine."
        + (f" LPIPS: n/a ({'; '.join(sorted(reasons))})." if reasons else ""),
        table(("cloak", "SSIM", "PSNR (dB)", "largest change (of 255)", "LPIPS", "seconds per photo"), rows),
        figure("original photos, their cloaks and the amplified perturbation", "cloak_grid.png"),
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
    smallest = min(craft["quality"], key=lambda key: (key.split("_")[0] != "dodging", float(key.rsplit("_", 1)[1])))
    largest_impersonation = max((key for key in craft["quality"] if key.startswith("impersonation_")), key=lambda key: float(key.rsplit("_", 1)[1]), default=None)
    rows = []
    for name, entry in judged["judges"].items():
        if entry["role"] != "independent":
            continue
        cells = entry["cells"]
        rows.append([f"{_variant_label(smallest)}: photos unmatched, {name}, FMR {fmr_label(fmr)}", ">= 90%",
                     rate_cell(cells[smallest]["none"]["verification"][f"fmr_{fmr}"]["photos_unmatched"]), ANCHORS["dodging"]])
        rows.append([f"{_variant_label(smallest)}: identification top-1, {name} (nearest neighbour / linear)", "<= 10%",
                     f"{rate_cell(cells[smallest]['none']['identification']['nearest_neighbour'])} / {rate_cell(cells[smallest]['none']['identification']['linear'])}", ANCHORS["identification"]])
        if largest_impersonation:
            rows.append([f"{_variant_label(largest_impersonation)}: success (pairs), {name}, FMR {fmr_label(fmr)}", ">= 35% (aim 60%)",
                         rate_cell(cells[largest_impersonation]["none"]["impersonation"][f"fmr_{fmr}"]), ANCHORS["impersonation"]])
    rows.append([f"{_variant_label(smallest)}: SSIM", ">= 0.90", number(craft["quality"][smallest]["ssim"]), "convention: SSIM about 0.95 at epsilon 8"])
    rows.append([f"{_variant_label(smallest)}: seconds per face crop (2 CPU cores)", "<= 5 s", number(craft["quality"][smallest]["seconds_per_photo"], 2), ANCHORS["speed"]])
    white_box = next(iter(attack["detectors"].values()))
    weakest = min((key for key in white_box["cells"] if not key.endswith("_0")), key=lambda key: float(key.rsplit("_", 1)[1]))
    rows.append([f"white-box SSD recall, epsilon {weakest.rsplit('_', 1)[1]} (as cloaked / after JPEG)", "<= 1%",
                 f"{rate_cell(white_box['cells'][weakest]['none']['recall'])} / {rate_cell(white_box['cells'][weakest]['jpeg']['recall'])}", ANCHORS["detector"]])
    return section("Goals beside their anchors", table(("goal", "target", "measured", "anchor (published)"), rows))


def render(metrics: Path) -> str:
    """The cloaking page from the metrics folder."""
    craft, judged, attack = load(metrics, "cloak_craft.json"), load(metrics, "cloak.json"), load(metrics, "cloak_detector.json")
    return page(
        "Face cloaking against recognition (Face/Off)",
        "Each user's photos are cloaked on the surrogate and judged by recognizers that took no part in crafting (a surrogate's "
        "own row is white-box and never counts as independent). Verification: a cloaked photo against each of the user's clean "
        "photos; a photo is protected when it matches none. Impersonation: a cloaked photo against each clean photo of its target, "
        "the gallery person furthest from the user. Identification (Fawkes' framing): the cloaked photos enrolled beside "
        f"{integer(craft['gallery_photos'])} photos of other LFW people, the users' clean photos as probes. Every rate: count and "
        "95% Wilson interval.",
        _goals(craft, judged, attack),
        _quality(craft),
        *(_judge(name, entry, judged["fmrs"]) for name, entry in judged["judges"].items()),
        _detector(attack),
        section(
            "Curves",
            figure("dodging and identification against epsilon", "cloak_dodging.png"),
            figure("impersonation against epsilon", "cloak_impersonation.png"),
            figure("protection against SSIM", "cloak_ssim.png"),
        ),
    )


def headline_rows(metrics: Path) -> list[HeadlineRow]:
    """Dodging at the smallest budget, judged by each independent judge at the strictest FMR."""
    judged = load(metrics, "cloak.json")
    fmr = judged["fmrs"][0]
    rows = []
    for name, entry in judged["judges"].items():
        dodging = sorted((key for key in entry["cells"] if key.startswith("dodging_")), key=lambda key: float(key.rsplit("_", 1)[1]))
        if entry["role"] == "independent" and dodging:
            figures = entry["cells"][dodging[0]]["none"]["verification"][f"fmr_{fmr}"]["photos_unmatched"]
            label = f"cloaked photos unmatched by {name} (independent), {_variant_label(dodging[0])}, FMR {fmr_label(fmr)}"
            rows.append(HeadlineRow(SYSTEM, PAGE, label, rate_cell(figures)))
    return rows
