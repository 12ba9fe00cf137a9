"""What to expect on this machine: the CPU's capability, the heavy stages' throughput per engine, and the
main job's projected time.

    .venv/bin/python benchmarks/expect.py                    # measure here and project the main job
    .venv/bin/python benchmarks/expect.py --as-avx2          # the same with torch held to AVX2 kernels
    .venv/bin/python benchmarks/expect.py --save-reference   # record this machine as the reference

Each stage's time is projected from its measured seconds on the reference machine (``benchmarks/
reference.json``: a 2-core AVX-512 BF16 CPU, the stage seconds of the project's runs) scaled by the
throughput of the kernel that dominates it, there with the engine it ran and here with the engine that
``params.yaml`` picks on this machine (``auto`` resolved). ``--as-avx2`` sets ``ATEN_CPU_CAPABILITY=avx2``
and ``ONEDNN_MAX_CPU_ISA=AVX2``: torch's and oneDNN's AVX2 kernels, where bf16 is emulated, as on an AVX2
CPU (at this CPU's clock and memory). Needs the pipeline's inputs (``dvc repro lfw_faces``).
Not a test: figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import engines  # the sibling benchmark's measurements (FaceNet, identity step, search, MTCNN, dlib)

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = Path(__file__).with_name("reference.json")
AVX2_ENVIRONMENT = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
GOAL_HOURS = {"AVX-512 BF16": 2.0, "AVX2": 4.0}  # issue 22: the main job on 2 cores
COUNT = 64  # images or faces per MTCNN, dlib and FaceNet run


def _steps_per_s(step: Callable[[], None], repeats: int = 2) -> float:
    """Training steps per second, best of ``repeats`` after a warm-up step."""
    return engines._rate(step, 1, repeats)


def _training_step(model, loss_of: Callable[[], object], engine: str) -> Callable[[], None]:
    import torch

    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=engine == "bf16"):
            loss = loss_of()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def measure_verifier_step() -> dict[str, float]:
    """``verification_verifier``: FaceResNet + CosFace training steps (params' network and batch) per engine."""
    import torch

    from faceleak.models.verifiers import MarginHead, build_verifier
    from faceleak.systems.verification.params import load_verification_params
    from faceleak.systems.verification.steps import verifier_config

    params = load_verification_params(ROOT / "params.yaml").verifier
    config, batch = verifier_config(params), params.fit.batch_size
    inputs = torch.rand(batch, config.channels, config.input_size, config.input_size) * 2 - 1
    labels = torch.randint(0, 1680, (batch,))  # about LFW's people with two images or more
    figures = {}
    for engine in ("fp32", "bf16"):
        torch.manual_seed(0)
        model, head = build_verifier(config).train(), MarginHead(config.embedding_dim, 1680, params.scale, params.margin)
        both = torch.nn.ModuleList([model, head])
        figures[f"{engine}_steps_per_s"] = _steps_per_s(_training_step(both, lambda: head(model(inputs).float(), labels), engine))
    return figures


def measure_autoencoder_step() -> dict[str, float]:
    """``encryption_train``'s pixel phase: the sparse autoencoder's training steps (params' network and batch) per engine."""
    import torch

    from faceleak.models.sparse_autoencoder import SparseAutoencoder
    from faceleak.systems.encryption.params import load_encryption_params

    params = load_encryption_params(ROOT / "params.yaml")
    size = params.model.image_size
    images = torch.rand(params.train.batch_size, params.model.channels, size, size)
    figures = {}
    for engine in ("fp32", "bf16"):
        torch.manual_seed(0)
        model = SparseAutoencoder(params.model).train()
        loss = lambda: torch.nn.functional.mse_loss(model(images).float(), images)  # noqa: E731
        figures[f"{engine}_steps_per_s"] = _steps_per_s(_training_step(model, loss, engine), repeats=5)
    return figures


KERNELS: dict[str, Callable[[], dict[str, float]]] = {
    "facenet": lambda: engines.measure_facenet(COUNT),
    "identity_step": lambda: engines.measure_identity_step(COUNT),
    "verifier_step": measure_verifier_step,
    "autoencoder_step": measure_autoencoder_step,
    "search": lambda: engines.measure_search(COUNT),
    "mtcnn": lambda: engines.measure_mtcnn(COUNT),
    "dlib": lambda: engines.measure_dlib(COUNT),
}


def rate(figures: dict[str, float], engine: str) -> float:
    """A kernel's throughput with ``engine`` (kernels without engines have one figure)."""
    engine_figures = {name: value for name, value in figures.items() if name.startswith(f"{engine}_")}
    return next(iter(engine_figures.values())) if engine_figures else next(iter(figures.values()))


def engines_here() -> dict[str, str]:
    """The engine each engine key of ``params.yaml`` runs on this machine (``auto`` resolved)."""
    from faceleak.params import load_shared_params
    from faceleak.systems.encryption.params import load_encryption_params
    from faceleak.systems.openset.params import load_openset_params
    from faceleak.systems.verification.params import load_verification_params

    path = ROOT / "params.yaml"
    return {
        "weights.engine": load_shared_params(path).weights.engine,
        "openset.surrogate_engine": load_openset_params(path).openset.surrogate_engine,
        "verification.verifier.engine": load_verification_params(path).verifier.engine,
        "encryption.engine": load_encryption_params(path).engine,
        "fp32": "fp32",
    }


def project(reference: dict, here: dict[str, dict[str, float]], chosen: dict[str, str]) -> list[dict]:
    """Each reference stage's seconds scaled by its kernel's throughput there (its engine) against here."""
    rows = []
    for stage, entry in reference["stages"].items():
        kernel, key = entry["kernel"], entry["engine_key"]
        if kernel is None:
            speedup, engine = 1.0, "-"
        else:
            engine = "bf16" if chosen[key] == "bf16" else "fp32"
            speedup = rate(here[kernel], engine) / rate(reference["rates"][kernel], entry["reference_engine"])
        rows.append({"stage": stage, "kernel": kernel or "-", "engine": engine, "reference_s": entry["seconds"], "projected_s": entry["seconds"] / speedup})
    return rows


def capability() -> dict[str, object]:
    import torch

    from faceleak.device import bf16_native, cpu_capability

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "unknown")
    kind = "AVX-512 BF16" if bf16_native(torch.device("cpu")) else "AVX2"
    return {"cpu": model, "cores": len(os.sched_getaffinity(0)), "torch": torch.__version__, "capability": cpu_capability(), "kind": kind}


def print_report(machine: dict, here: dict, rows: list[dict], chosen: dict[str, str], overhead: float) -> None:
    print(f"CPU: {machine['cpu']}, {machine['cores']} cores; torch {machine['torch']}: {machine['capability']} ({machine['kind']} class)")
    print("engines params.yaml picks here: " + ", ".join(f"{key} = {engine}" for key, engine in chosen.items() if key != "fp32"))
    print("\n| kernel | figure | value |\n|---|---|---|")
    for kernel, figures in here.items():
        for figure, value in figures.items():
            print(f"| {kernel} | {figure} | {value:.3g} |")
    print("\n| stage | dominated by | engine | reference s | projected s |\n|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['stage']} | {row['kernel']} | {row['engine']} | {row['reference_s']:.0f} | {row['projected_s']:.0f} |")
    total = sum(row["projected_s"] for row in rows) * (1 + overhead)
    goal = GOAL_HOURS[machine["kind"]]
    print(f"\nprojected main job: {total / 3600:.2f} h (stage seconds + {overhead:.0%} for DVC between stages); goal for this CPU class: {goal:g} h")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-avx2", action="store_true", help="hold torch and oneDNN to AVX2 kernels (an AVX2 CPU's arithmetic)")
    parser.add_argument("--save-reference", action="store_true", help="record this machine's throughputs as the reference's")
    parser.add_argument("--json", type=Path, help="write the figures here")
    arguments = parser.parse_args()
    if arguments.as_avx2 and os.environ.get("ATEN_CPU_CAPABILITY") != "avx2":
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **AVX2_ENVIRONMENT})
    import faceleak.compat  # noqa: F401  (torchvision's op, before facenet-pytorch imports it)

    reference = json.loads(REFERENCE.read_text())
    here = {}
    for kernel, measure in KERNELS.items():
        started = time.perf_counter()
        here[kernel] = {name: value for name, value in measure().items() if name != "confidence_sum"}
        print(f"measured {kernel} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if arguments.save_reference:
        reference["rates"] = here
        REFERENCE.write_text(json.dumps(reference, indent=2) + "\n")
    chosen, machine = engines_here(), capability()
    rows = project(reference, here, chosen)
    print_report(machine, here, rows, chosen, reference["dvc_overhead"])
    if arguments.json:
        arguments.json.write_text(json.dumps({"machine": machine, "engines": chosen, "throughput": here, "stages": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
