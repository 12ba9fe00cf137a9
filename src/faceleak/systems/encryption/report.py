"""The encryption results page: the key-holder's quality by k, every reader's reconstruction quality and
its acceptance by independent recognizers, the decoy classifier and code linkability, goals beside the
reference's figures."""

from __future__ import annotations

from pathlib import Path

from faceleak.report import HeadlineRow, cell, figure, fmr_label, integer, load, number, page, rate_cell, section, table
from faceleak.systems.encryption.names import CEILING, KEY_HOLDER, MEAN_FACE

PAGE = "encryption.md"
SYSTEM = "encryption"
READS = ("encryption_train.json", "encryption_attack.json", "encryption.json")
REFERENCE_ROWS = (CEILING, MEAN_FACE)
# The reference (a course project after Ferdowsi et al., ICASSP 2020), on 20,000 colour CelebA faces: fixed facts, not metrics.
REFERENCE = {"psnr_128": "24.3 dB at k = 128 (CelebA, colour)", "psnr_64": "16.8 dB at k = 64 (same model)", "adversary": "lower PSNR/SSIM than the key-holder (no identity test)"}


def _by_k(train: dict) -> str:
    pca = {row["k"]: row for row in train["pca_by_k"]}
    rows = [
        [integer(row["k"]), number(row["psnr_db"], 2), number(row["ssim"]), *((number(pca[row["k"]]["psnr_db"], 2), number(pca[row["k"]]["ssim"])) if row["k"] in pca else ("", ""))]
        for row in train["test_by_k"]
    ]
    phases = "; ".join(f"{phase}: {entry['epochs_run']} epochs (best {entry['best_epoch']})" for phase, entry in train["phases"].items())
    return section(
        "The key-holder's quality by k, beside PCA",
        f"The model trained with k = {train['trained_k']} decodes codes of every sparsity k (top-k of the same dense code) on the "
        f"{integer(train['images']['test'])} test faces of {integer(train['people']['test'])} people it never saw. PCA: the training "
        f"faces' first k principal components, k numbers per face where the code keeps k nonzeros. Trained on "
        f"{integer(train['images']['train'])} faces of {integer(train['people']['train'])} people ({phases}; identity term through "
        f"{train['identity_surrogate'] or 'none'}), {number(train['train_minutes'], 1)} min on this machine ({train['engine']}).",
        table(("k", "PSNR (dB)", "SSIM", "PCA PSNR (dB)", "PCA SSIM"), rows),
        figure("PSNR and SSIM against k, the autoencoder and PCA", "encryption_psnr_by_k.png"),
    )


def _curve(train: dict) -> str:
    judges = " and ".join(train["curve_judges"])
    return section(
        "Quality per minute of training",
        f"After every epoch: PSNR on the {integer(train['images']['val'])} validation faces (people outside training and test) and "
        f"the share of {train['curve_faces']} of them that {judges} accept as the person at FMR {fmr_label(train['curve_fmr'])}. "
        "The budget was set before the curve was read; the judges never steer training or stopping.",
        figure("validation PSNR and acceptance against training minutes", "encryption_curve.png"),
    )


def _readers(attack: dict, judged: dict) -> str:
    fmrs = judged["fmrs"]
    header = ("reader", "PSNR (dB)", "SSIM", *(f"{name}: accepted as the original, FMR {fmr_label(fmr)}" for name in judged["judges"] for fmr in fmrs))
    rows = []
    for reader in next(iter(judged["judges"].values()))["reconstructions"]:
        quality = attack["quality"].get(reader, {})
        verdicts = [rate_cell(entry["reconstructions"][reader][f"sar_at_fmr_{fmr}"]) for entry in judged["judges"].values() for fmr in fmrs]
        rows.append([reader, cell(quality, "psnr_db", lambda value: number(value, 2)), cell(quality, "ssim", number), *verdicts])
    missed = {name: {reader: f["undetected_faces"] for reader, f in entry["reconstructions"].items() if f.get("undetected_faces")} for name, entry in judged["judges"].items()}
    undetected = [f"{name}: {', '.join(f'{reader} {count}' for reader, count in counts.items())}" for name, counts in missed.items() if counts]
    return section(
        "Who can read a shared face",
        f"{integer(attack['judged_faces'])} test faces, each shared as {attack['codes_per_face']} codes. PSNR and SSIM against the original "
        "at the model's 64x64; acceptance: the judge's distance between the reconstruction and the original 160x160 photo below its "
        "threshold from LFW View 2's impostor pairs (count and 95% Wilson interval). No judge took part in training the model or any "
        f"adversary. '{CEILING}' is the photo itself brought down to the model's size: no decoder of that size does better; "
        f"'{MEAN_FACE}' is the average public face, the same for everyone: what a reader who learns nothing gets."
        + (f" Faces where the judge's own landmark detector found none (fixed points used): {'; '.join(undetected)}." if undetected else ""),
        table(header, rows),
    )


def _schemes(attack: dict) -> str:
    rows = [
        [scheme, rate_cell(entry["decoy_classifier"]["true_code_picked"]), f"{100 * entry['decoy_classifier']['chance']:.1f}%", number(entry["linkability_auc"]), number(entry["invariant_linkability_auc"])]
        for scheme, entry in attack["schemes"].items()
    ]
    pairs = attack["linkability_pairs"]
    return section(
        "Can the true code be told from the decoys, and do codes link a person's photos?",
        "A gradient-boosted classifier trained on shares of public faces (training people) scores every published code; per "
        f"shared face it picks the highest ({integer(attack['test_faces'])} test faces). Linkability: the AUC of telling "
        f"{integer(pairs['same'])} same-person pairs of test photos from {integer(pairs['different'])} different-person pairs by the "
        "cosine of the codes the classifier picked, and by the cosine of what no permutation hides (each share's magnitudes sorted, "
        "the same for the true code and its decoys, and its sign counts) (0.5: no link). The true codes themselves, were they "
        f"published in the clear, give AUC {number(attack['codes_in_clear_linkability_auc'])}.",
        table(("scheme", "true code picked", "chance", "linkability AUC", "linkability AUC, invariant features"), rows),
    )


def _adversaries(attack: dict, scheme: str) -> list[str]:
    """The readers without the key of one scheme."""
    return [reader for reader in attack["quality"] if reader.endswith(f"({scheme})") and not reader.startswith(KEY_HOLDER)]


def _goals(train: dict, attack: dict, judged: dict) -> str:
    strict = judged["fmrs"][0]
    by_k, pca = ({row["k"]: row for row in train[key]} for key in ("test_by_k", "pca_by_k"))
    k = train["trained_k"]
    key_holder = f"{KEY_HOLDER} (keyed)"
    rows = [[f"key-holder PSNR, k = {k} (PCA with {k} components: {number(pca[k]['psnr_db'], 2) if k in pca else 'n/a'})", ">= 26 dB, above PCA", number(by_k[k]["psnr_db"], 2), REFERENCE["psnr_128"]]]
    for name, entry in judged["judges"].items():
        rows.append([f"key-holder accepted by {name}, FMR {fmr_label(strict)} (the ceiling, {CEILING}: {rate_cell(entry['reconstructions'][CEILING][f'sar_at_fmr_{strict}'])})",
                     ">= 90%", rate_cell(entry["reconstructions"][key_holder][f"sar_at_fmr_{strict}"]), "not measured"])
    mean_face = attack["quality"][MEAN_FACE]["psnr_db"]
    adversaries = _adversaries(attack, "keyed")
    highest = max(adversaries, key=lambda reader: attack["quality"][reader]["psnr_db"])
    rows.append([f"keyed scheme: readers without the key, PSNR (highest: {highest}; the mean face {number(mean_face, 2)})", f"<= {number(mean_face + 0.5, 2)} dB", number(attack["quality"][highest]["psnr_db"], 2), REFERENCE["adversary"]])
    for name, verdicts in judged["judges"].items():
        worst = max(adversaries, key=lambda reader: verdicts["reconstructions"][reader][f"sar_at_fmr_{strict}"]["rate"])
        rows.append([f"keyed scheme: readers without the key accepted by {name}, FMR {fmr_label(strict)} (highest: {worst})", "interval holds the FMR", rate_cell(verdicts["reconstructions"][worst][f"sar_at_fmr_{strict}"]), "not measured"])
    keyed = attack["schemes"]["keyed"]
    rows.append(["keyed scheme: linkability AUC (picked codes; invariant features)", "<= 0.55", f"{number(keyed['linkability_auc'])}; {number(keyed['invariant_linkability_auc'])}", "not measured"])
    rows.append(["keyed scheme: true code picked by the decoy classifier", f"chance ({100 * keyed['decoy_classifier']['chance']:.1f}%)", rate_cell(keyed["decoy_classifier"]["true_code_picked"]), "not measured"])
    rows.append(["training minutes (2 CPU cores)", "<= 45", number(train["train_minutes"], 1), "10 epochs (GPU, not stated)"])
    return section("Goals beside the reference", table(("goal", "target", "measured", "reference"), rows))


def render(metrics: Path) -> str:
    """The encryption page from the metrics folder."""
    train, attack, judged = (load(metrics, name) for name in READS)
    return page(
        "Sparse-code image encryption",
        "A sparse autoencoder encodes a grey 64x64 LFW face to a code of 16 maps of 8x8 entries of which it keeps k nonzero (the "
        "code keeps where in the face each entry acts); a linear path per 8x8 cell starts it from the training faces' PCA; it is trained on pixels, then with an identity term through the frozen "
        "FaceNet, which is therefore white-box here and never one of the judges. The owner publishes "
        f"{attack['codes_per_face']} codes, the true one at a secret index among decoys (the true code's values shuffled onto random "
        "positions). Scheme 'index' (the reference's): the index is the key. Scheme 'keyed': the key also holds a secret seed, fresh "
        "per face, whose permutation of the code's entries and sign flips are applied to every published code. The adversaries know the scheme and "
        "the decoder, never the key: the guesser decodes a random code of the set; the partial-code adversary (the reference's) holds "
        "half of the true published code and fills the rest at random; the learning adversary trains its own decoder on public faces "
        "it shares itself and decodes the true published code (as if it had guessed the index); the averaging adversary decodes all "
        "codes and averages them; the invariant reader regresses the face from what the scrambling leaves (the codes' magnitudes "
        "sorted, their sign counts), fitted on public faces it shares itself. JPEG and WebP rows: the original at the byte size of "
        f"one share ({integer(attack['share_bytes']['one share'])} B, {attack['codes_per_face']} codes) and of the key-holder's one "
        f"code ({integer(attack['share_bytes']['one code'])} B), each code stored as positions and float16 values. Data: LFW funneled grey (CelebA, the reference's data, is not available offline), identity-disjoint "
        "train/val/test people.",
        section(
            "What the key-holder sees, and what a reader without the key sees",
            "Test people's faces (never seen in training): the original at the model's size, the key-holder's decoding, and every "
            "reader without the key, under both schemes.",
            figure("original, the key-holder's decoding and each reader's reconstruction without the key", "encryption_grid.png"),
        ),
        _goals(train, attack, judged),
        _by_k(train),
        _curve(train),
        _readers(attack, judged),
        _schemes(attack),
    )


def headline_rows(metrics: Path) -> list[HeadlineRow]:
    """The key-holder's PSNR at the trained k and its acceptance by each judge; how often the true code is told from the decoys."""
    train, attack, judged = (load(metrics, name) for name in READS)
    strict = judged["fmrs"][0]
    by_k = {row["k"]: row for row in train["test_by_k"]}
    key_holder = next(reader for reader in attack["quality"] if reader.startswith(KEY_HOLDER))
    accepted = " / ".join(f"{100 * entry['reconstructions'][key_holder][f'sar_at_fmr_{strict}']['rate']:.1f}%" for entry in judged["judges"].values())
    psnr = number(by_k[train["trained_k"]]["psnr_db"], 2) if train["trained_k"] in by_k else "n/a"
    picked = " / ".join(f"{scheme} {rate_cell(entry['decoy_classifier']['true_code_picked'])}" for scheme, entry in attack["schemes"].items())
    chance = next(iter(attack["schemes"].values()))["decoy_classifier"]["chance"]
    return [
        HeadlineRow(SYSTEM, PAGE, f"key-holder at k = {train['trained_k']}: PSNR; accepted as the original by {' / '.join(judged['judges'])}, FMR {fmr_label(strict)}",
                    f"{psnr} dB; {accepted} (of {integer(judged['judged_faces'])})"),
        HeadlineRow(SYSTEM, PAGE, f"true code told from the decoys by a classifier (chance {100 * chance:.1f}%)", picked),
    ]
