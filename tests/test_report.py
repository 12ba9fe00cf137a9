"""The results pages: rendered from the committed metrics alone, their numbers equal to the metrics', byte-stable."""

import json
import re
import shutil
from pathlib import Path

import pytest

from faceleak.io import read_json
from faceleak.report import HEADLINE_PAGE, NA, HeadlineRow, flat_rate_cell, fmr_label, headline, number, percent, rate_cell, table
from faceleak.systems.cloak import report as cloak
from faceleak.systems.encryption import report as encryption
from faceleak.systems.model_inversion import report as model_inversion
from faceleak.systems.openset import report as openset
from faceleak.systems.spine import report as spine
from faceleak.systems.verification import report as verification
from tests.conftest import PROJECT

METRICS = PROJECT / "metrics"
PAGES = PROJECT / "docs" / "results"
SYSTEMS = (spine, openset, model_inversion, verification, cloak, encryption)


def tables(page: str) -> list[list[dict[str, str]]]:
    """Every Markdown table of a page, as rows keyed by the header's cells."""
    found, lines = [], page.splitlines()
    for index, line in enumerate(lines[:-1]):
        if line.startswith("| ") and lines[index + 1].startswith("|---"):
            header, rows = cells(line), []
            for row in lines[index + 2:]:
                if not row.startswith("|"):
                    break
                rows.append(dict(zip(header, cells(row), strict=True)))
            found.append(rows)
    return found


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().removeprefix("|").removesuffix("|").split(" | ")]


def row(page: str, column: str, **match: str) -> dict[str, str]:
    """The one table row of ``page`` that has ``column`` and whose cells equal ``match``."""
    hits = [
        r for rows in tables(page) for r in rows
        if column in r and all(r.get(key) == value for key, value in match.items())
    ]
    assert len(hits) == 1, f"{len(hits)} rows with {column!r} match {match}"
    return hits[0]


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return {system.PAGE: system.render(METRICS) for system in SYSTEMS}


@pytest.fixture
def metrics_copy(tmp_path: Path) -> Path:
    """A copy of the metrics files the systems declare they read (``READS``: the report stage's deps), no more."""
    copy = tmp_path / "metrics"
    for name in (name for system in SYSTEMS for name in system.READS):
        if name.endswith("/"):
            shutil.copytree(METRICS / name, copy / name)
        else:
            copy.mkdir(exist_ok=True)
            shutil.copy(METRICS / name, copy / name)
    return copy


def test_formatting():
    assert percent(83 / 97, 97) == "85.6% (83/97)"
    assert percent(0.9700000000000001, 6000) == "97.0% (5,820/6,000)"
    assert percent(0.8877551020408163, 97) == "88.8%"  # 86.1 of 97 is no count: shown without one
    assert percent(None, 97) == number(None) == NA
    assert fmr_label("0.001") == "1e-3" and fmr_label(0.01) == "1e-2"
    assert table(("a", "b"), [(1, "x|y")]) == "| a | b |\n|---|---|\n| 1 | x\\|y |"
    with pytest.raises(ValueError, match="header of 2"):
        table(("a", "b"), [(1,)])


def test_every_page_renders_with_working_figure_links(pages):
    for name, text in pages.items():
        assert text.startswith("# ") and text.endswith("\n") and not text.endswith("\n\n"), name
        assert tables(text) and not re.search(r"\b(nan|None|inf)\b", text), name
        links = re.findall(r"!\[[^]]*\]\(([^)]+)\)", text)
        assert links, name
        for link in links:
            assert (PAGES / link).resolve().is_file(), f"{name}: {link}"


def test_openset_numbers_are_the_metrics(pages):
    page, curve = pages[openset.PAGE], read_json(METRICS / "openset.json")
    full = curve["leakage"]["1"]["facenet"]
    expected = flat_rate_cell(full, "sar_type1_fmr0.001")
    assert full["sar_type1_fmr0.001_total"] == curve["victims"] and expected.endswith("%)")
    key = row(page, "type I @ FMR 1e-3", protocol="open set", leakage="1", recognizer="FaceNet (attacked)")
    assert key["type I @ FMR 1e-3"] == expected
    assert key["type II @ FMR 1e-3"] == flat_rate_cell(full, "sar_type2_fmr0.001")
    assert full["sar_type2_fmr0.001_total"] == full["type2_comparisons"]
    assert row(page, "FaceNet SAR-I 1e-3", protocol="open set", leakage="1")["FaceNet SAR-I 1e-3"] == expected
    dlib = curve["leakage"]["0.3"]["dlib"]
    curves = row(page, "dlib SAR-I 1e-2", protocol="open set", leakage="0.3")
    assert curves["dlib SAR-I 1e-2"] == flat_rate_cell(dlib, "sar_type1_fmr0.01")
    stolen = read_json(METRICS / "defenses.json")["rows"]["biohash_stolen_key_512"]
    defended = row(page, "View 2 accuracy", defense="biohash_stolen_key", setting="512")
    assert defended["FaceNet SAR-I 1e-3"] == flat_rate_cell({k.removeprefix("facenet_"): v for k, v in stolen.items()}, "sar_type1_fmr0.001")
    assert defended["View 2 accuracy"] == flat_rate_cell(stolen, "view2_accuracy")
    assert stolen["view2_accuracy_total"] == 6000
    judges = read_json(METRICS / "recognizers.json")["facenet"]
    threshold = row(page, "threshold @ FMR 1e-3", recognizer="FaceNet (attacked)")["threshold @ FMR 1e-3"]
    assert threshold == number(judges["thresholds"]["0.001"]["distance"])
    diagnostics = read_json(METRICS / "openset_diagnostics.json")
    ceiling = row(page, "dlib SAR-I 1e-3", faces=f"ceiling: the victims' photos at {diagnostics['ceiling']['face_size']}x{diagnostics['ceiling']['face_size']}")
    assert ceiling["dlib SAR-I 1e-3"] == flat_rate_cell(diagnostics["ceiling"]["dlib"], "sar_type1_fmr0.001")
    lookup = row(page, "MobileFaceNet could not align", faces="retrieval: the nearest public LFW face", leakage="0.3")
    assert lookup["MobileFaceNet could not align"] == str(diagnostics["retrieval"]["0.3"]["mobilefacenet"]["unaligned"])


def test_spine_and_model_inversion_numbers_are_the_metrics(pages):
    sweep = read_json(METRICS / "sweep_table.json")
    cell = row(pages[spine.PAGE], "MSE", leakage="0.5", **{"hidden dims chosen by": "low_variance"})
    assert cell["MSE"] == number(sweep["low_variance_leak50_mse"], 4)
    assert cell["cosine"] == number(sweep["low_variance_leak50_cosine_mean"])
    assert cell["mAP@1"] == flat_rate_cell(sweep, "low_variance_leak50_map_at_1") and "(0/22; 0.0-14.9%)" in cell["mAP@1"]
    assert cell["LPIPS"] == NA  # null in the committed metrics: LPIPS needs a web download
    attack = read_json(METRICS / "mi_attack_orl.json")
    rounding = [r for rows in tables(pages[model_inversion.PAGE]) for r in rows if r.get("defense") == "rounding 1"]
    assert [r["success"] for r in rounding][-1] == flat_rate_cell(attack["attacks"]["rounding_1"], "success_rate")
    assert attack["attacks"]["rounding_1"]["success_rate_total"] == attack["targets"]
    stronger = row(pages[model_inversion.PAGE], "attack accuracy: MobileFaceNet + LR", dataset="ORL", search="stronger search (the default)")
    assert stronger["attack accuracy: MobileFaceNet + LR"] == rate_cell(attack["repeated_searches"]["stronger"]["attack_accuracy_mobilefacenet"])
    victims, diagnostics = read_json(METRICS / "mi_victim_lfw.json"), read_json(METRICS / "mi_diagnostics_lfw.json")
    target = row(pages[model_inversion.PAGE], "victim's test recall", dataset="LFW", target="Ariel Sharon")
    assert target["victim's test recall"] == flat_rate_cell(victims["victim"]["per_class"]["Ariel_Sharon"], "recall")
    assert target["prior's ceiling: FaceNet + LR"] == rate_cell(diagnostics["prior_ceiling"]["prior_per_target"]["Ariel_Sharon"]["facenet"])


def test_cloak_numbers_are_the_metrics(pages):
    page, judged = pages[cloak.PAGE], read_json(METRICS / "cloak.json")
    figures = judged["judges"]["dlib"]["cells"]["dodging_8"]["jpeg"]
    shown = row(page, "identification top-1 (linear)", judge="dlib", cloak="dodging, epsilon 8, uniform", **{"tracker's cleaning": "JPEG"})
    assert shown["photos unmatched to their person, FMR 1e-3"] == rate_cell(figures["verification"]["fmr_0.001"]["photos_unmatched"])
    assert shown["identification top-1 (linear)"] == rate_cell(figures["identification"]["linear"])
    assert rate_cell({"rate": 0.125, "count": 8, "total": 64, "ci95": [0.0647, 0.2277]}) == "12.5% (8/64; 6.5-22.8%)"
    mid = judged["judges"]["faceres"]["cells"]["mode_mid"]
    shown = row(page, "identification top-1 (nearest neighbour)", mode="mid mode", judge="faceres (independent)")
    assert shown["photos unmatched, FMR 1e-3"] == rate_cell(mid["none"]["verification"]["fmr_0.001"]["photos_unmatched"])
    assert shown["unmatched after JPEG"] == rate_cell(mid["jpeg"]["verification"]["fmr_0.001"]["photos_unmatched"])


def test_encryption_numbers_are_the_metrics(pages):
    page, judged, attack = pages[encryption.PAGE], read_json(METRICS / "encryption.json"), read_json(METRICS / "encryption_attack.json")
    shown = row(page, "SSIM", reader="guesser (keyed)")
    assert shown["SSIM"] == number(attack["quality"]["guesser (keyed)"]["ssim"])
    assert shown["dlib: accepted as the original, FMR 1e-3"] == rate_cell(judged["judges"]["dlib"]["reconstructions"]["guesser (keyed)"]["sar_at_fmr_0.001"])
    scheme = row(page, "linkability AUC", scheme="keyed")
    assert scheme["true code picked"] == rate_cell(attack["schemes"]["keyed"]["decoy_classifier"]["true_code_picked"])


def test_published_figures_stand_beside_ours(pages):
    nbnet = row(pages[openset.PAGE], "type I @ FMR 1e-3", protocol=openset.NBNET["protocol"])
    assert nbnet["type I @ FMR 1e-3"] == "95.20%" and nbnet["type II @ FMR 1e-3"] == "58.05%"
    dlib = row(pages[openset.PAGE], "published (colour LFW)", recognizer="dlib (independent)")
    assert dlib["published (colour LFW)"] == "99.38%"
    assert row(pages[spine.PAGE], "cosine", **{"faces scored": "71 MFR2 images"})["mAP@1"] == "1.0 (100%)"
    accuracy = row(pages[model_inversion.PAGE], "reference (published, LFW)", figure="victim test accuracy")
    victims = read_json(METRICS / "mi_victim_lfw.json")
    assert accuracy["reference (published, LFW)"] == "90.31%"
    assert accuracy["faceleak LFW (measured)"] == flat_rate_cell(victims["victim"], "test_accuracy")
    assert victims["victim"]["test_accuracy_total"] == victims["test_images"]


def test_pages_are_deterministic_and_read_only_their_declared_metrics(pages, metrics_copy):
    for system in SYSTEMS:
        assert system.render(metrics_copy) == system.render(METRICS) == pages[system.PAGE]
        assert (PAGES / system.PAGE).read_text() == pages[system.PAGE], f"rerun stages/report.py: {system.PAGE}"
    rows = [r for system in SYSTEMS for r in system.headline_rows(METRICS)]
    assert (PAGES / HEADLINE_PAGE).read_text() == headline(rows)


def test_headline_is_short_and_links_every_page():
    rows = [r for system in SYSTEMS for r in system.headline_rows(METRICS)]
    assert 5 <= len(rows) <= 16 and all(isinstance(r, HeadlineRow) for r in rows)
    assert {r.page for r in rows} == {system.PAGE for system in SYSTEMS}
    curve = read_json(METRICS / "openset.json")
    expected = flat_rate_cell(curve["leakage"]["1"]["facenet"], "sar_type1_fmr0.001")
    facenet = row(headline(rows), "value", figure="SAR type I @ FMR 1e-3, FaceNet (attacked), full template")
    assert facenet["system"] == "[open set](docs/results/openset.md)" and facenet["value"] == expected


def test_a_null_metric_is_na(metrics_copy):
    path = metrics_copy / "openset.json"
    curve = json.loads(path.read_text())
    curve["leakage"]["1"]["facenet"]["sar_type1_fmr0.001"] = None
    path.write_text(json.dumps(curve))
    page = openset.render(metrics_copy)
    key = row(page, "type I @ FMR 1e-3", protocol="open set", leakage="1", recognizer="FaceNet (attacked)")
    assert key["type I @ FMR 1e-3"] == NA and key["type I @ FMR 1e-2"] != NA
    assert row(page, "FaceNet SAR-I 1e-3", protocol="open set", leakage="1")["FaceNet SAR-I 1e-3"] == NA
    headline_row = next(r for r in openset.headline_rows(metrics_copy) if "FaceNet" in r.figure and "full" in r.figure)
    assert headline_row.value == NA


def test_audit_page_is_the_committed_one_and_its_figures_exist():
    from faceleak.systems.audit.report import audit_page

    read = lambda name: read_json(METRICS / name)
    text = audit_page(read("audit_view2.json"), read("cloak_craft.json"), read("audit_cloak.json"), read("audit_inversion.json"))
    name = read("audit_view2.json")["recognizer"]["name"]
    assert text == (PAGES / f"audit_{name}.md").read_text()
    assert tables(text) and not re.search(r"\b(nan|None|inf)\b", text)
    for link in re.findall(r"!\[[^]]*\]\(([^)]+)\)", text):
        assert (PAGES / link).resolve().is_file(), link
    accuracy = read("audit_view2.json")["recognizers"][name]["view2"]
    assert row(text, name, **{"": "View 2 accuracy (10 folds)"})[name].startswith(f"{100 * accuracy['accuracy']:.1f}% ({accuracy['accuracy_count']:,}/")
