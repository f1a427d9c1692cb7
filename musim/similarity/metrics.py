"""The five co-listening metrics of one artist's pairs, scored in Python for `musim similar`.

The definitions are sql/similarity/views.sql's macros (the views users query), written here with the same
operations in the same order on doubles, so that scores are bit-identical: `tests/similarity/test_query.py`
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


def top_k(metric: str, neighbor_ids: np.ndarray, co_listeners: np.ndarray, neighbor_listeners: np.ndarray,
          artist_listeners: int, users: int, seed_raw_max: float, k: int) -> list[tuple[int, float, int, int]]:
    """``(neighbor_id, score, co_listeners, neighbor_listeners)`` of the ``k`` best pairs, ranked like the
    ``artist_neighbors`` view: by score (pmi by lift: ln is monotone, but two lifts one ulp apart can share a
    logarithm), then co-listeners, then the lower id. Vectorised for the ranking (IEEE division and square
    root are exact in numpy as in DuckDB); the kept scores by :func:`score` (libm's log, as DuckDB's ln)."""
    co = co_listeners.astype(np.float64)
    la, lb = float(artist_listeners), neighbor_listeners.astype(np.float64)
    if metric == "seed":
        key = (co / la + co / lb) / 2.0 / seed_raw_max
    elif metric == "jaccard":
        key = co / (la + lb - co)
    elif metric == "cosine":
        key = co / np.sqrt(la * lb)
    elif metric in ("lift", "pmi"):
        key = co * users / (la * lb)
    else:
        raise ValueError(f"unknown metric {metric!r}")
    order = np.lexsort((neighbor_ids, -co_listeners, -key))[:k]
    return [(int(neighbor_ids[i]), score(metric, int(co_listeners[i]), artist_listeners, int(neighbor_listeners[i]),
                                        users, seed_raw_max), int(co_listeners[i]), int(neighbor_listeners[i]))
            for i in order]
