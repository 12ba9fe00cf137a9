"""Template protections: what a system stores instead of the plain template, how it compares two
stored templates (a distance), and what an attacker who stole a stored template feeds its decoder.

- ``Unprotected``: the plain unit template (the baseline).
- ``LowVarianceMasking``: the reference's targeted masking: the lowest-variance dimensions are hidden.
- ``GaussianNoise``: each template plus Gaussian noise of a given norm, renormalised.
- ``Quantization``: each dimension uniformly quantised to a few bits on [-4/sqrt(D), 4/sqrt(D)].
- ``BioHash``: a keyed random projection, binarised (a cancellable template). Each user has a key
  (a random projection drawn from a secret seed and the user's name); the system projects a
  probe with the claimed user's key and compares bits by Hamming distance. The attacker inverts the
  projection with the stolen key, or, without it, with a key of its own.
"""

from __future__ import annotations

import hashlib

import numpy as np

from faceleak.defenses.masking import DimensionMask
from faceleak.metrics.verification import pair_distances


def _digest(data: bytes) -> int:
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "little")


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


class Unprotected:
    """The plain template: stored as is, compared by Euclidean distance."""

    name = "none"
    setting: float = 0.0

    def protect(self, templates: np.ndarray, users: np.ndarray) -> np.ndarray:
        """What the system stores for ``templates`` of ``users`` (the claimed identity of each row)."""
        return templates.astype(np.float32)

    def distances(self, stored_a: np.ndarray, stored_b: np.ndarray) -> np.ndarray:
        """Row-wise distances between stored templates."""
        return pair_distances(stored_a, stored_b)

    def attacker_input(self, stored: np.ndarray, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The leaked template and leak mask the attacker's decoder gets from stolen stored templates."""
        return stored.astype(np.float32), np.ones(stored.shape[1], dtype=np.float32)


class LowVarianceMasking(Unprotected):
    """Hide the ``hidden`` fraction of dimensions with the lowest variance over ``reference`` templates."""

    name = "low_variance_masking"

    def __init__(self, hidden: float, reference: np.ndarray):
        self.setting = hidden
        self.mask = DimensionMask(max(1.0 - hidden, 1e-6), "low_variance").fit(reference)

    def protect(self, templates: np.ndarray, users: np.ndarray) -> np.ndarray:
        return self.mask.transform(templates.astype(np.float32))

    def attacker_input(self, stored: np.ndarray, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return stored.astype(np.float32), self.mask.mask()


class GaussianNoise(Unprotected):
    """Add Gaussian noise of expected norm ``scale`` to each unit template and renormalise (seeded)."""

    name = "gaussian_noise"

    def __init__(self, scale: float, seed: int):
        self.setting, self.seed = scale, seed

    def protect(self, templates: np.ndarray, users: np.ndarray) -> np.ndarray:
        """Each template's noise is seeded by the seed and the template itself: independent across templates."""
        noise = np.stack([np.random.default_rng([self.seed, _digest(row.tobytes())]).standard_normal(len(row)) for row in templates])
        return _unit(templates + self.setting * noise / np.sqrt(templates.shape[1])).astype(np.float32)


class Quantization(Unprotected):
    """Uniform ``bits``-bit quantisation of each dimension on [-4/sqrt(D), 4/sqrt(D)], stored dequantised."""

    name = "quantization"

    def __init__(self, bits: int):
        self.setting = bits

    def protect(self, templates: np.ndarray, users: np.ndarray) -> np.ndarray:
        limit = 4.0 / np.sqrt(templates.shape[1])
        levels = 2**self.setting
        step = 2 * limit / levels
        index = np.clip(np.floor((templates + limit) / step), 0, levels - 1)
        return (-limit + (index + 0.5) * step).astype(np.float32)


def projection(secret: int, user: str, bits: int, dimensions: int) -> np.ndarray:
    """A user's key: ``bits`` Gaussian rows of norm about one (nearly orthogonal in high dimensions), drawn from
    the secret and the user's name."""
    generator = np.random.default_rng([secret, _digest(user.encode())])
    return generator.standard_normal((bits, dimensions)) / np.sqrt(dimensions)


class BioHash(Unprotected):
    """Keyed random projection to ``bits`` signs; ``stolen_key`` says whether the attacker has the key."""

    def __init__(self, bits: int, secret: int, stolen_key: bool, dimensions: int = 512):
        if bits > dimensions:
            raise ValueError(f"a BioHash of {bits} bits needs bits <= the {dimensions} template dimensions")
        self.setting, self.secret, self.stolen_key, self.dimensions = bits, secret, stolen_key, dimensions
        self.name = "biohash_stolen_key" if stolen_key else "biohash"

    def _per_user(self, rows: np.ndarray, users: np.ndarray, secret: int, apply) -> np.ndarray:
        result = None
        for user in np.unique(users):
            where = users == user
            part = apply(rows[where], projection(secret, str(user), self.setting, self.dimensions))
            if result is None:
                result = np.empty((len(rows), part.shape[1]), dtype=np.float32)
            result[where] = part
        return result

    def protect(self, templates: np.ndarray, users: np.ndarray) -> np.ndarray:
        return self._per_user(templates, users, self.secret, lambda t, key: np.where(t @ key.T >= 0, 1.0, -1.0))

    def distances(self, stored_a: np.ndarray, stored_b: np.ndarray) -> np.ndarray:
        """Normalised Hamming distance between the bit strings."""
        return (stored_a != stored_b).mean(axis=1)

    def attacker_input(self, stored: np.ndarray, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Back-projection of the bits with the stolen key, or with a random key of the attacker's own."""
        secret = self.secret if self.stolen_key else self.secret + 1
        estimate = _unit(self._per_user(stored, users, secret, lambda bits, key: bits @ key))
        return estimate.astype(np.float32), np.ones(self.dimensions, dtype=np.float32)


def protections(
    masking: tuple[float, ...],
    noise: tuple[float, ...],
    quantization: tuple[int, ...],
    biohash: tuple[int, ...],
    reference: np.ndarray,
    seed: int,
) -> list[Unprotected]:
    """The unprotected baseline, then every protection at every setting (BioHash with and without a stolen key)."""
    chosen: list[Unprotected] = [Unprotected()]
    chosen += [LowVarianceMasking(hidden, reference) for hidden in masking]
    chosen += [GaussianNoise(scale, seed) for scale in noise]
    chosen += [Quantization(bits) for bits in quantization]
    chosen += [BioHash(bits, seed, stolen, reference.shape[1]) for bits in biohash for stolen in (False, True)]
    return chosen
