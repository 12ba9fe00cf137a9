"""Sharing a face as ``n`` sparse codes of which only the key-holder can decode the true one.

The owner encodes the face to a top-k sparse code and publishes ``n`` codes: the true one at a secret
index and ``n - 1`` decoys. A decoy has the true code's own nonzero values, shuffled, at uniformly drawn
positions: the same support size and the same value distribution, so no statistic of a single code
tells it from the true one except where its nonzeros sit.

Two schemes:

- ``index`` (the reference's): the key is the true code's index. The decoys' positions are uniform,
  the true code's are the encoder's habits, so the support gives the true code away (measured by
  :class:`faceleak.attacks.sparse_code.DecoyClassifier`).
- ``keyed``: the key is the index and a secret 64-bit seed, fresh for every shared image; the seed
  draws a permutation of the code's entries and a sign for each entry, applied to all ``n`` published
  codes. The true code's support then is as uniform as a decoy's, no code decodes without the seed, and
  the count of positive and negative values (which tells a face's overall tone) is a coin's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceleak.errors import FaceleakError

SCHEMES = ("index", "keyed")


class WrongKeyError(FaceleakError, ValueError):
    """A key that does not fit the shared codes."""


@dataclass(frozen=True)
class SharedCodes:
    """What is published for N faces: ``codes`` (N, n, D); and what only the key-holders get: each
    face's true ``index`` (N,) and scrambling ``seed`` (N,) (all zero in the index scheme). ``flipped``:
    whether the keyed scheme's seed also flipped signs (False only for shares made before it did)."""

    codes: np.ndarray
    index: np.ndarray
    seed: np.ndarray
    scheme: str
    flipped: bool = True


def scrambling(seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The permutation of ``size`` code entries and the sign (+1 or -1) of each entry that the secret ``seed`` draws."""
    rng = np.random.default_rng(int(seed))
    return rng.permutation(size), rng.choice(np.array([-1.0, 1.0], np.float32), size)


def decoys(code: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` decoys of one code (D,): its nonzero values shuffled onto uniformly drawn positions."""
    values = code[code != 0]
    fakes = np.zeros((count, code.size), dtype=code.dtype)
    for fake in fakes:
        fake[rng.choice(code.size, values.size, replace=False)] = rng.permutation(values)
    return fakes


def share(codes: np.ndarray, count: int, scheme: str, seed: int) -> SharedCodes:
    """Share each sparse code (N, D) as ``count`` codes, the true one at a random index (seeded by ``seed``)."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown sharing scheme {scheme!r}; known: {', '.join(SCHEMES)}")
    if count < 2:
        raise ValueError(f"sharing needs at least 2 codes per face (the true one and a decoy), got {count}")
    rng = np.random.default_rng(seed)
    size = codes.shape[1]
    index = rng.integers(0, count, len(codes))
    seeds = rng.integers(0, 2**63, len(codes), dtype=np.int64) if scheme == "keyed" else np.zeros(len(codes), np.int64)
    published = np.empty((len(codes), count, size), dtype=codes.dtype)
    for row, code in enumerate(codes):
        published[row] = decoys(code, count, rng)
        published[row, index[row]] = code
        if scheme == "keyed":
            order, signs = scrambling(seeds[row], size)
            published[row] = (published[row] * signs)[:, order]
    return SharedCodes(published, index, seeds, scheme)


def unlock(shared: SharedCodes, index: np.ndarray | None = None, seed: np.ndarray | None = None) -> np.ndarray:
    """The codes (N, D) that the keys (``index``, ``seed``; the true ones by default) open: the code at
    ``index``, its entries put back in place by the inverse of ``seed``'s permutation and their signs restored."""
    index = shared.index if index is None else np.asarray(index)
    seed = shared.seed if seed is None else np.asarray(seed)
    count, size = shared.codes.shape[1:]
    if index.shape != shared.index.shape or seed.shape != shared.seed.shape:
        raise WrongKeyError(f"keys for {len(index)} and {len(seed)} faces do not fit {len(shared.index)} shared faces")
    if ((index < 0) | (index >= count)).any():
        raise WrongKeyError(f"a key index is out of range: the shared faces have {count} codes each (0..{count - 1})")
    codes = shared.codes[np.arange(len(index)), index]
    if shared.scheme == "index":
        return codes.copy()
    opened = np.empty_like(codes)
    for row, code in enumerate(codes):
        order, signs = scrambling(seed[row], size)
        opened[row, order] = code
        if shared.flipped:
            opened[row] *= signs
    return opened
