"""The chunks of :func:`musim.cooccurrence.pair_count_chunks` as one sorted array each: what the tests compare
against a brute-force count (tests/test_cooccurrence.py, tests/sanitized_cooccurrence.py)."""

from __future__ import annotations

import numpy as np

from musim.cooccurrence import Chunk, pair_count_chunks


def pair_counts(users: np.ndarray, artists: np.ndarray, n_users: int, n_artists: int, min_co_listeners: int,
                threads: int = 1) -> Chunk:
    """``(a, b, co)``: every pair of artists ``a < b`` that at least ``min_co_listeners`` users share, sorted by
    ``(a, b)``: the chunks of :func:`pair_count_chunks` concatenated."""
    chunks = pair_count_chunks(users, artists, n_users, n_artists, min_co_listeners, threads)
    if not chunks:
        return np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.int32)
    a, b, co = zip(*chunks, strict=True)
    return np.concatenate(a), np.concatenate(b), np.concatenate(co)
