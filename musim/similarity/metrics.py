"""The five co-listening metrics of one artist's pairs, scored in Python for `musim similar`.

The definitions are sql/similarity/views.sql's macros (the views users query), written here with the same
operations in the same order on doubles, so that scores and rank keys are bit-identical: `tests/similarity/test_query.py`
compares both with the materialising reference SQL. An artist has a few hundred pairs: scoring and sorting
them here takes well under a millisecond, where binding the macro expressions in DuckDB took tens.
"""

from __future__ import annotations

import math

import numpy as np


def score(metric: str, co: int, la: int, lb: int, users: int, seed_raw_max: float) -> float:
    """One pair's ``metric``: ``co`` co-listeners, ``la``/``lb`` each artist's listeners, ``users`` of the dump."""
    if metric == "seed":
        return (co / la + co / lb) / 2.0 / seed_raw_max
    if metric == "jaccard":
        return co / (float(la) + float(lb) - co)
    if metric == "cosine":
        return co / math.sqrt(float(la) * float(lb))
    if metric == "lift":
        return float(co) * users / (float(la) * float(lb))
    if metric == "pmi":
        return math.log(float(co) * users / (float(la) * float(lb)))
    raise ValueError(f"unknown metric {metric!r}")


def rank_key(metric: str, co_listeners: np.ndarray, artist_listeners: int,
             neighbor_listeners: np.ndarray) -> np.ndarray:
    """The key the neighbours of one artist (``artist_listeners`` listeners) rank by for ``metric``, larger first:
    ``sim_rank_key`` of sql/similarity/views.sql, the same division of the same exact integers (so numpy's
    IEEE double gives DuckDB's key, bit for bit). It orders like the metric, and equal values get equal keys
    (cosine's scores 1/sqrt(3) of 1 of 1 and 3 of 9 co-listeners differ in their last bit; their keys do not)."""
    co = co_listeners.astype(np.float64)
    la, lb = float(artist_listeners), neighbor_listeners.astype(np.float64)
    if metric == "seed":
        return co * (la + lb) / lb
    if metric == "jaccard":
        return co / (la + lb - co)
    if metric == "cosine":
        return co * co / lb
    if metric in ("lift", "pmi"):
        return co / lb
    raise ValueError(f"unknown metric {metric!r}")


def top_k(metric: str, neighbor_ids: np.ndarray, co_listeners: np.ndarray, neighbor_listeners: np.ndarray,
          artist_listeners: int, users: int, seed_raw_max: float, k: int) -> list[tuple[int, float, int, int]]:
    """``(neighbor_id, score, co_listeners, neighbor_listeners)`` of the ``k`` best pairs, ranked like the
    ``artist_neighbors`` view: by :func:`rank_key` (the metric's exact order), then co-listeners, then the
    lower id. The kept scores by :func:`score` (libm's log, as DuckDB's ln)."""
    key = rank_key(metric, co_listeners, artist_listeners, neighbor_listeners)
    order = np.lexsort((neighbor_ids, -co_listeners, -key))[:k]
    return [(int(neighbor_ids[i]), score(metric, int(co_listeners[i]), artist_listeners, int(neighbor_listeners[i]),
                                        users, seed_raw_max), int(co_listeners[i]), int(neighbor_listeners[i]))
            for i in order]
