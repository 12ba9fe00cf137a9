"""Cheaper recognizers for the open-set attacker's identity loss (issue 22's lever): what each costs and how well it
still recognises the 64x64 faces the decoder draws, against FaceNet at its 160x160 input.

    .venv/bin/python benchmarks/identity_surrogates.py                          # FaceNet at 160, 128 and 112
    .venv/bin/python benchmarks/identity_surrogates.py --student 4 --save /tmp/student.pt
    .venv/bin/python benchmarks/identity_surrogates.py --sizes --load /tmp/student.pt   # a student distilled before

Each surrogate is measured on the open set's validation people (``openset.val_fraction`` of the attacker's LFW
people, the faces brought down to ``openset.face_size`` as the decoder's targets): the mean cosine of its templates
to FaceNet's at 160 (what the identity loss pulls towards), genuine/impostor AUC and the true-match rate at a false
match rate of 1e-3 over every pair of those faces, and the identity loss's training step (decoder, random views,
surrogate forward and backward; ``openset.train``'s batch) in faces per second.

``--student EPOCHS`` also distils FaceNet into a small CNN that reads the 64x64 faces directly (about 0.4 GFLOP
against FaceNet's 2.84), trained on the other attacker faces (random views with probability 0.7, loss 1 - cosine to
FaceNet's template of the same view, one-cycle AdamW, bf16 autocast); ``--save`` keeps its weights, ``--load``
measures weights kept before. Needs
``dvc repro lfw_faces weights``. Not a test: minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from torch import nn
from tqdm import tqdm

from faceleak.data.augment import random_views
from faceleak.data.images import resized_faces
from faceleak.data.splits import identity_split
from faceleak.data.table import FaceTable
from faceleak.device import active_device, resolve_engine
from faceleak.io import save_weights
from faceleak.models.facenet import load_facenet
from faceleak.systems.openset.params import load_openset_params

import engines  # the sibling benchmark: the identity loss's training step

ROOT = Path(__file__).resolve().parent.parent
Surrogate = Callable[[torch.Tensor], torch.Tensor]  # faces in [-1, 1] (N, 3, 64, 64) -> unit templates


def _block(channels_in: int, channels_out: int) -> nn.Sequential:
    """Two 3x3 convolutions, the first halving the side."""
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, 3, 2, 1, bias=False), nn.BatchNorm2d(channels_out), nn.ReLU(inplace=True),
        nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False), nn.BatchNorm2d(channels_out), nn.ReLU(inplace=True),
    )


class Student(nn.Module):
    """A small CNN from 64x64 faces to FaceNet's 512-D unit templates."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            _block(32, 64), _block(64, 128), _block(128, 256), _block(256, 256), nn.Flatten(), nn.Dropout(0.1), nn.Linear(4096, 512),
        )

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.body(faces).float(), dim=1)


def facenet_at(size: int, engine: str) -> Surrogate:
    """FaceNet reading the faces brought up to ``size`` (its own input is 160), fixed-standardised."""
    network = load_facenet(ROOT / "models/facenet.pt", engine)
    return lambda faces: F.normalize(network(F.interpolate(faces, size=size, mode="bilinear", align_corners=False) * (127.5 / 128.0)), dim=1)


def in_bf16(surrogate: Surrogate, engine: str) -> Surrogate:
    """``surrogate`` under bf16 autocast when ``engine`` is bf16."""
    def run(faces: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=engine == "bf16"):
            return surrogate(faces)
    return run


@torch.no_grad()
def templates_of(surrogate: Surrogate, faces: torch.Tensor) -> torch.Tensor:
    return torch.cat([surrogate(batch) for batch in faces.split(64)])


def recognition(templates: torch.Tensor, reference: torch.Tensor, people: np.ndarray) -> dict[str, float]:
    """Cosine to FaceNet's templates, AUC and the true-match rate at FMR 1e-3 over every pair of faces."""
    pairs = np.triu_indices(len(people), 1)
    same = (people[:, None] == people[None, :])[pairs]
    cosines = (templates @ templates.T).numpy()[pairs]
    threshold = np.quantile(cosines[~same], 0.999)
    return {
        "cosine_to_facenet_160": float((templates * reference).sum(1).mean()),
        "auc": float(roc_auc_score(same, cosines)),
        "tmr_at_fmr_1e-3": float((cosines[same] > threshold).mean()),
        "genuine_pairs": int(same.sum()),
        "impostor_pairs": int((~same).sum()),
    }


def distil(teacher: Surrogate, faces: torch.Tensor, epochs: int, engine: str, seed: int = 0) -> Student:
    """A :class:`Student` trained to give ``teacher``'s templates of random views of ``faces``."""
    torch.manual_seed(seed)
    student, generator, batch = Student(), torch.Generator().manual_seed(seed), 64
    optimizer = torch.optim.AdamW(student.parameters(), lr=2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=max(epochs * (len(faces) // batch), 1))
    for epoch in range(epochs):
        order = torch.randperm(len(faces), generator=generator)
        progress = tqdm(range(0, len(order) - batch + 1, batch), desc=f"distil epoch {epoch + 1}")
        for start in progress:
            views = faces[order[start : start + batch]]
            views = torch.where(torch.rand(batch, 1, 1, 1, generator=generator) < 0.7, random_views(views, generator), views)
            with torch.no_grad():
                target = teacher(views)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=engine == "bf16"):
                loss = 1 - (student(views) * target).sum(1).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            progress.set_postfix(loss=f"{loss.item():.3f}")
    return student.eval().requires_grad_(False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[160, 128, 112], help="FaceNet input sizes to measure")
    parser.add_argument("--student", type=int, default=0, metavar="EPOCHS", help="distil a student for EPOCHS epochs (0: none)")
    parser.add_argument("--save", type=Path, help="where to keep the student's weights")
    parser.add_argument("--load", type=Path, help="measure a student distilled before (its weights)")
    args = parser.parse_args()
    params = load_openset_params(ROOT / "params.yaml")
    engine, face_size = resolve_engine(params.openset.surrogate_engine, active_device(), "openset.surrogate_engine"), params.openset.face_size
    table = FaceTable.load(ROOT / "data/lfw/faces.npz")
    attacker = table.arrays["attacker"]
    people = table.people[attacker]
    val = identity_split(people, params.openset.val_fraction, params.seed)
    faces = resized_faces(table.faces[attacker], face_size)
    val_faces = faces[torch.from_numpy(np.flatnonzero(val))]
    teacher = facenet_at(160, engine)
    reference = templates_of(teacher, val_faces)
    surrogates = {f"facenet_{size}": facenet_at(size, engine) for size in args.sizes}
    seconds = {}
    if args.student:
        started = time.perf_counter()
        student = distil(teacher, faces[torch.from_numpy(np.flatnonzero(~val))], args.student, engine, params.seed)
        seconds[f"student_{args.student}_epochs"] = time.perf_counter() - started
        if args.save:
            save_weights(args.save, student.state_dict())
        surrogates[f"student_{args.student}_epochs"] = in_bf16(student, engine)
    if args.load:
        student = Student()
        student.load_state_dict(torch.load(args.load, map_location="cpu", weights_only=True))
        surrogates[f"student ({args.load.name})"] = in_bf16(student.eval().requires_grad_(False), engine)
    rows = {}
    for name, surrogate in surrogates.items():
        rows[name] = recognition(templates_of(surrogate, val_faces), reference, people[val])
        rows[name]["identity_step_faces_per_s"] = engines.identity_step_rate(identity=surrogate)
        rows[name] |= {"distil_seconds": seconds[name]} if name in seconds else {}
        print(name, json.dumps(rows[name]), flush=True)
    print(json.dumps({"engine": engine, "val_faces": int(val.sum()), "surrogates": rows}, indent=1))


if __name__ == "__main__":
    main()
