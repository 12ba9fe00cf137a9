"""Benchmark of the engines the pipeline leans on, today's code against a baseline revision, in one run.

Each engine is measured in a fresh subprocess twice: once with the baseline revision's ``src/`` (a
temporary git worktree of ``--baseline``) and once with this checkout's, on the same inputs. It prints
each figure, the ratio new / baseline, and FaceNet's achieved GFLOP/s against this CPU's fp32 peak.

    .venv/bin/python benchmarks/engines.py --baseline acab1b7            # every engine
    .venv/bin/python benchmarks/engines.py --baseline acab1b7 --only dlib,search
    .venv/bin/python benchmarks/engines.py --timings timings/            # the pipeline's stage seconds
    .venv/bin/python benchmarks/engines.py --effect bf16                 # a FaceNet engine against fp32 on View 2

Needs the pipeline's inputs: ``data/raw/lfw`` (stage download@lfw), ``models/facenet.pt`` (stage
weights) and, for dlib and the identity step, ``data/lfw/faces.npz`` (stage lfw_faces).
Results as JSON with ``--json PATH``. Not a test: figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FACENET_GFLOP_PER_FACE = 2.84  # InceptionResnetV1 at 160x160, multiply-adds counted as 2 FLOP
FLOP_PER_CYCLE = 64  # fp32, AVX-512: two 16-lane FMA units per core (Zen 4/5, Ice Lake and later)
FACENET_ENGINE_NAMES = ("fp32", "channels_last", "bf16")  # as params.FACENET_ENGINES, for today's code that lacks it
ENGINES = ("facenet", "facenet_pipeline", "mtcnn", "dlib", "identity_step", "search")


def _rate(work: Callable[[], object], items: int, repeats: int) -> float:
    """Items per second of ``work``, best of ``repeats`` after one warm-up."""
    work()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return items / best


def _lfw_paths(count: int) -> list[Path]:
    from faceleak.data import lfw

    images = lfw.list_images(lfw.find_root(ROOT / "data/raw/lfw"))
    return [images[name] for name in sorted(images)[:count]]


def _lfw_crops(count: int):
    from faceleak.data.table import FaceTable

    return FaceTable.load(ROOT / "data/lfw/faces.npz").faces[:count]


def _facenets() -> dict:
    """FaceNet as the pipeline loads it, once per engine the code under test offers (fp32 only before engines)."""
    import inspect

    from faceleak.models.facenet import load_facenet

    path = ROOT / "models/facenet.pt"
    if "engine" not in inspect.signature(load_facenet).parameters:
        return {"fp32": load_facenet(path)}
    from faceleak.params import FACENET_ENGINES

    return {engine: load_facenet(path, engine) for engine in FACENET_ENGINES}


def measure_facenet(count: int) -> dict[str, float]:
    """Bare engine: a 32-face float batch through InceptionResnetV1, fp32, channels-last and bf16 autocast."""
    import torch

    model, batch = _facenets()["fp32"], torch.rand(32, 3, 160, 160) * 2 - 1
    figures = {}
    with torch.no_grad():
        figures["fp32_faces_per_s"] = _rate(lambda: model(batch), 32, 3)
        last = model.to(memory_format=torch.channels_last)
        last_batch = batch.contiguous(memory_format=torch.channels_last)
        figures["channels_last_faces_per_s"] = _rate(lambda: last(last_batch), 32, 3)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            figures["bf16_faces_per_s"] = _rate(lambda: last(last_batch), 32, 3)
    return figures


def measure_facenet_pipeline(count: int) -> dict[str, float]:
    """The pipeline's ``embed`` on uint8 LFW crops (conversion, standardisation and batching included)."""
    from faceleak.models.facenet import embed

    crops = _lfw_crops(count)
    return {f"{engine}_faces_per_s": _rate(lambda: embed(model, crops, 32), len(crops), 1) for engine, model in _facenets().items()}


def measure_mtcnn(count: int) -> dict[str, float]:
    """MTCNN detection and cropping of LFW images (decoding included)."""
    from faceleak.data.align import FaceAligner

    paths, aligner = _lfw_paths(count), FaceAligner(160, 56, 1, 32)
    return {"images_per_s": _rate(lambda: aligner.align(paths), len(paths), 1)}


def measure_dlib(count: int) -> dict[str, float]:
    """dlib's ResNet descriptors of LFW crops (every core the recognizer uses by default)."""
    from faceleak.models.dlib_face import DlibRecognizer

    recognizer, crops = DlibRecognizer(), _lfw_crops(count)
    return {"faces_per_s": _rate(lambda: recognizer.embed(crops), len(crops), 1)}


def measure_identity_step(count: int) -> dict[str, float]:
    """Training steps of the open-set decoder with the identity loss through FaceNet (``openset.train``'s
    width, batch and random views, as ``openset_train`` runs them), per engine; faces are decoded faces."""
    return {f"{engine}_faces_per_s": identity_step_rate(facenet=facenet) for engine, facenet in _facenets().items()}


def identity_step_rate(**recognizer) -> float:
    """Faces per second of the open-set decoder's training step (``openset.train``'s width, batch and random views)
    with its identity loss through ``recognizer`` (``facenet=`` a FaceNet, or ``identity=`` any recognizer)."""
    import torch

    from faceleak.attacks.embedding_inversion import EmbeddingInversionAttack, InversionData
    from faceleak.systems.openset.params import load_openset_params

    openset = load_openset_params(ROOT / "params.yaml").openset
    batch, generator = openset.train.batch_size, torch.Generator().manual_seed(0)
    templates = torch.nn.functional.normalize(torch.randn(batch, 512, generator=generator), dim=1).numpy()
    data = InversionData.from_arrays(templates, templates, torch.rand(batch, 3, openset.face_size, openset.face_size, generator=generator) * 2 - 1)
    attack = EmbeddingInversionAttack(openset.train, openset.face_size, 0, lowest_leakage=openset.min_leakage, **recognizer)
    optimizer = torch.optim.Adam(attack.decoder.parameters(), lr=1e-3)

    def step() -> None:
        loss = attack._loss(data.randomly_leaked(openset.min_leakage, generator), True, generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    attack.decoder.train()
    return _rate(step, batch, 2)


def measure_search(count: int) -> dict[str, float]:
    """Genetic searches (50 x 101 = 5,050 queries each) of four targets under one defense, as the attack
    stage runs them, with an LFW-shaped victim and prior."""
    import numpy as np
    import torch

    from faceleak.attacks.model_inversion import GeneticSettings
    from faceleak.models.autoencoder import ConvAutoencoder
    from faceleak.models.small_cnn import SmallCNN
    from faceleak.systems.model_inversion.steps import Defense, invert_classes

    torch.manual_seed(0)
    victim, prior = SmallCNN(7).eval(), ConvAutoencoder((50, 37), 64).eval()
    defense, targets = Defense("none", 0.0, "standard", lambda seed: None), np.arange(4)
    results = []

    def searches() -> None:
        results[:] = invert_classes(victim, targets, defense, prior, (np.zeros(64), np.ones(64)), GeneticSettings(), 1)

    rate = _rate(searches, len(targets), 1)
    return {"searches_per_s": rate, "seconds_per_search": 1 / rate, "confidence_sum": float(sum(r.confidence for r in results))}


def engine_effect(engine: str) -> dict[str, object]:
    """What ``engine`` changes against fp32 on LFW View 2's faces: the cosine of each face's two
    embeddings, and View 2's 10-fold accuracy and thresholds with either."""
    import numpy as np

    from faceleak.data import lfw
    from faceleak.data.table import FaceTable, rows_of
    from faceleak.metrics.verification import pair_distances
    from faceleak.models.facenet import embed, load_facenet
    from faceleak.systems.openset.steps import verification_figures, view2_arrays

    pairs = lfw.read_pairs(ROOT / "data/raw/lfw_pairs" / lfw.PAIRS_FILE, 10, 300)
    first, second, same, folds, _ = view2_arrays(pairs)
    table = FaceTable.load(ROOT / "data/lfw/faces.npz")
    names = np.unique(np.concatenate([first, second]))
    rows = rows_of(table.names, names)
    started = time.perf_counter()
    templates = {"fp32": table.arrays["facenet"][rows], engine: embed(load_facenet(ROOT / "models/facenet.pt", engine), table.faces[rows], 32, progress=True)}
    seconds = time.perf_counter() - started
    cosines = (templates["fp32"] * templates[engine]).sum(axis=1)
    figures: dict[str, object] = {"faces": len(names), "faces_per_s": len(names) / seconds}
    figures["cosine"] = {"min": float(cosines.min()), "p01": float(np.quantile(cosines, 0.01)), "mean": float(cosines.mean())}
    for name, array in templates.items():
        distances = pair_distances(array[rows_of(names, first)], array[rows_of(names, second)])
        figures[name] = verification_figures(distances, same, folds, (0.01, 0.001))
    return figures


def peak_gflops() -> float:
    """fp32 peak of the cores this process may use, from the nominal clock in /proc/cpuinfo."""
    megahertz = max(float(line.split(":")[1]) for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("cpu MHz"))
    return len(os.sched_getaffinity(0)) * megahertz / 1000 * FLOP_PER_CYCLE


def _run_engine(engine: str, src: Path, count: int) -> dict[str, float]:
    environment = {**os.environ, "PYTHONPATH": str(src), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, __file__, "--measure", engine, "--count", str(count)]
    output = subprocess.run(command, env=environment, cwd=ROOT, capture_output=True, text=True)
    if output.returncode != 0:
        raise SystemExit(f"benchmark {engine} with {src} failed:\n{output.stderr[-2000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def _baseline_src(revision: str, folder: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), revision], check=True, capture_output=True)
    return folder / "src"


def stage_seconds(folder: Path) -> dict[str, float]:
    """Wall seconds of each stage from the pipeline's timings/ files."""
    return {path.stem: json.loads(path.read_text())["seconds"] for path in sorted(folder.glob("*.json"))}


def compare(engines: list[str], baseline: str | None, count: int) -> dict[str, dict]:
    """Each engine's figures with this checkout's code and (with ``baseline``) the baseline's."""
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as scratch:
        base_src = _baseline_src(baseline, Path(scratch) / "baseline") if baseline else None
        try:
            for engine in engines:
                new = _run_engine(engine, ROOT / "src", count)
                old = _run_engine(engine, base_src, count) if base_src else None
                results[engine] = {"new": new, "baseline": old}
        finally:
            if base_src:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_src.parent)], check=False)
    return results


def print_table(results: dict[str, dict], peak: float) -> None:
    print("| engine | figure | baseline | new | new / baseline |\n|---|---|---|---|---|")
    for engine, sides in results.items():
        baseline = sides["baseline"] or {}
        for figure, value in sides["new"].items():
            # an engine today's code lacks is compared with today's fp32 figure
            engine_of = next((name for name in FACENET_ENGINE_NAMES if figure.startswith(name + "_")), None)
            compared = figure if figure in baseline or engine_of is None else "fp32" + figure[len(engine_of) :]
            old = baseline.get(compared)
            ratio = f"{value / old:.2f}x" + ("" if compared == figure else " (vs fp32)") if old else ""
            print(f"| {engine} | {figure} | {'' if old is None else f'{old:.3g}'} | {value:.3g} | {ratio} |")
    if "facenet" in results:
        print(f"\nFaceNet against this CPU's peak ({peak:.0f} GFLOP/s fp32, twice that in bf16):")
        for figure, value in results["facenet"]["new"].items():
            limit = 2 * peak if figure.startswith("bf16") else peak
            print(f"- {figure.removesuffix('_faces_per_s')}: {value * FACENET_GFLOP_PER_FACE:.0f} GFLOP/s, {value * FACENET_GFLOP_PER_FACE / limit:.0%} of peak")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="git revision to compare with (today's code)")
    parser.add_argument("--only", default=",".join(ENGINES), help=f"comma-separated engines of {', '.join(ENGINES)}")
    parser.add_argument("--count", type=int, default=256, help="images or faces per engine run")
    parser.add_argument("--timings", type=Path, help="print the stage seconds in this timings/ folder")
    parser.add_argument("--effect", metavar="ENGINE", help="measure a FaceNet engine's effect on LFW View 2 against fp32")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--measure", choices=ENGINES, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure:
        print(json.dumps(globals()[f"measure_{arguments.measure}"](arguments.count)))
        return
    if arguments.effect:
        effect = engine_effect(arguments.effect)
        print(json.dumps(effect, indent=2))
        if arguments.json:
            arguments.json.write_text(json.dumps(effect, indent=2) + "\n")
        return
    engines = [engine for engine in arguments.only.split(",") if engine]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown:
        parser.error(f"unknown engine(s) {', '.join(unknown)}; expected {', '.join(ENGINES)}")
    results = compare(engines, arguments.baseline, arguments.count)
    print_table(results, peak_gflops())
    if arguments.timings:
        seconds = stage_seconds(arguments.timings)
        results["stages"] = seconds
        print("\n| stage | seconds |\n|---|---|\n" + "\n".join(f"| {name} | {value:.0f} |" for name, value in seconds.items()))
        print(f"| total | {sum(seconds.values()):.0f} |")
    if arguments.json:
        arguments.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
