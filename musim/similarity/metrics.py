"""The five co-listening metrics of one artist's pairs, scored in Python for `musim similar`.

The definitions are sql/similarity/views.sql's macros (the views users query), written here with the same
operations on doubles, so that scores and rank keys are bit-identical: `tests/similarity/test_metrics.py` compares
them on random counts and `tests/similarity/test_query.py` with the materialising reference SQL. Each score is one
correctly rounded division (cosine: then one sqrt) of integers that doubles hold exactly (while the dump has at
most 2^26 users: every product is at most 2 U^2 <= 2^53), so mathematically equal scores are equal doubles. An artist has a few hundred pairs: scoring and sorting
them here takes well under a millisecond, where binding the macro expressions in DuckDB took tens.
"""

from __future__ import annotations

import math

import numpy as np


def seed_raw(co, la, lb):
    """The raw seed score ``r = (co/la + co/lb) / 2`` of doubles (floats or float64 arrays) holding integers:
    ``co (la + lb) / (2 la lb)``, one correctly rounded division of exact products (``sim_seed_raw``)."""
    return co * (la + lb) / (2.0 * la * lb)


def score(metric: str, co: int, la: int, lb: int, users: int, seed_raw_max: float) -> float:
    """One pair's ``metric``: ``co`` co-listeners, ``la``/``lb`` each artist's listeners, ``users`` of the dump
    (``sim_score``: the same double, bit for bit)."""
    c, a, b = float(co), float(la), float(lb)
    if metric == "seed":
        return seed_raw(c, a, b) / seed_raw_max
    if metric == "jaccard":
        return c / (a + b - c)
    if metric == "cosine":
        return math.sqrt(c * c / (a * b))
    if metric == "lift":
        return c * float(users) / (a * b)
    if metric == "pmi":
        return math.log(c * float(users) / (a * b))
    raise ValueError(f"unknown metric {metric!r}")


def rank_key(metric: str, co_listeners: np.ndarray, artist_listeners: int,
             neighbor_listeners: np.ndarray) -> np.ndarray:
    """The key the neighbours of one artist (``artist_listeners`` listeners) rank by for ``metric``, larger first:
    ``sim_rank_key`` of sql/similarity/views.sql, the same division of the same exact integers (so numpy's
    IEEE double gives DuckDB's key, bit for bit). It orders like the metric, and equal values get equal keys; unlike
    the scores, different values keep different keys while ``co * lb`` products stay small (see the macro)."""
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
