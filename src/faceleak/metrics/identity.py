"""Identity metrics on L2-normalised embeddings: cosine similarity and mAP@1 (top-1 retrieval)."""

from __future__ import annotations

import numpy as np


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two (N, D) arrays."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def map_at_1(
    queries: np.ndarray,
    query_identities: np.ndarray,
    gallery: np.ndarray,
    gallery_identities: np.ndarray,
    excluded: np.ndarray | None = None,
) -> tuple[float, int]:
    """Mean precision at rank 1: share of queries whose most similar gallery entry has their identity.

    ``excluded`` (queries x gallery, bool) removes entries per query, e.g. the image a reconstruction
    came from. Queries with no entry of their identity left are not counted. Returns (mAP@1, count).
    """
    similarity = queries @ gallery.T
    if excluded is not None:
        similarity = np.where(excluded, -np.inf, similarity)
    same = query_identities[:, None] == gallery_identities[None, :]
    answerable = (same & np.isfinite(similarity)).any(axis=1)
    if not answerable.any():
        return float("nan"), 0
    top = similarity.argmax(axis=1)
    correct = gallery_identities[top] == query_identities
    return float(correct[answerable].mean()), int(answerable.sum())
