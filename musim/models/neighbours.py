"""Audio neighbours of embeddings: exact brute force (the reference) and the same tables through an ANN index.

:func:`track_neighbors` (the ``k`` most similar tracks of *other* artists per track) and
:func:`artist_neighbors` (the ``k`` most similar other artists) score with a family's pair similarity (the
siamese head: always exact) or, by default, cosine. Cosine tables are computed exactly below
``MUSIM_ANN_MIN_TRACKS`` vectors and through a Voyager index (:mod:`musim.models.ann`) from there on (or as
``search=`` / ``MUSIM_AUDIO_SEARCH`` say); both give the same table shape, and the ANN candidates are
rescored with the same arithmetic as brute force (:func:`_pair_scores` / :func:`_row_scores`: float64 dot
products of the same unit rows, rounded once to float32, so a pair's score is the same bits whichever path
computed it) and ranked with the same tie rule (score desc, then position). Below ``MUSIM_ANN_MIN_TRACKS``
a forced ANN search visits every vector (``ef`` and the candidates at least the catalogue), so on small
catalogues the two paths give bit-identical tables.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from musim.config import get_settings
from musim.errors import ParameterError
from musim.models import ann
from musim.models.ann import AnnIndex, AnnParams, search_mode, unit_rows

__all__ = [
    "ANN_BATCH",
    "MAX_CANDIDATES",
    "PairSimilarity",
    "artist_neighbors",
    "artist_neighbors_ann",
    "artist_scores",
    "calibrate_table_ef",
    "top_k",
    "top_k_sorted",
    "track_neighbors",
    "track_neighbors_ann",
]

PairSimilarity = Callable[[np.ndarray, np.ndarray], np.ndarray]

log = logging.getLogger(__name__)

#: Track rows per block when scoring (bounds memory: block x tracks x dim floats inside the pair head).
_BLOCK = 256
#: Queries per index call when building tables through the index.
ANN_BATCH = 8192
#: Deepest ANN search per track (k + the artist's tracks); tracks of bigger artists are searched exactly.
MAX_CANDIDATES = 1024


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    return (a / np.where(na > 0, na, 1.0)) @ (b / np.where(nb > 0, nb, 1.0)).T


def _row_scores(a_unit: np.ndarray, b_unit: np.ndarray) -> np.ndarray:
    """Every row of ``a_unit`` against every row of ``b_unit`` (unit rows): float64 dot products rounded to
    float32, returned as float64. The rounding makes the score of a pair independent of how BLAS blocks the
    product (the float64 sums differ by ~1e-16 at most), so :func:`_pair_scores` gives the same bits."""
    a = np.asarray(a_unit, dtype=np.float64)
    b = np.asarray(b_unit, dtype=np.float64)
    return (a @ b.T).astype(np.float32).astype(np.float64)


def _pair_scores(q_unit: np.ndarray, c_unit: np.ndarray) -> np.ndarray:
    """Each query row ``(q, d)`` against its own candidate rows ``(q, k, d)``, as :func:`_row_scores` does."""
    q = np.asarray(q_unit, dtype=np.float64)
    c = np.asarray(c_unit, dtype=np.float64)
    return np.einsum("qd,qkd->qk", q, c).astype(np.float32).astype(np.float64)


def _unit64(x: np.ndarray) -> np.ndarray:
    """Float64 rows scaled to unit L2 norm (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def _below_ann_minimum(n: int) -> bool:
    """Whether a catalogue of ``n`` vectors is under the ANN minimum (``MUSIM_ANN_MIN_TRACKS``): a forced ANN
    search there visits every vector, so its tables are the exact ones."""
    return n < get_settings().models.ann_min_tracks


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: positions of the ``k`` highest finite scores (ties: lower position first) and the scores.

    Each row's ``k``-th score is found by a partition (linear), only the entries at or above it (ties
    included) are sorted; :func:`top_k_sorted` (a stable sort of whole rows) is the reference, and is
    used where the candidates would be most of the row."""
    n = scores.shape[1]
    k = min(k, n)
    s = np.where(np.isfinite(scores), scores, -np.inf)
    if k == 0 or 4 * k >= n:
        return top_k_sorted(s, k)
    kth = -np.partition(-s, k - 1, axis=1)[:, k - 1]
    rows, pos = np.nonzero(s >= kth[:, None])  # row-major: positions ascending within a row
    if rows.size > 4 * k * s.shape[0]:  # heavy ties (e.g. rows with fewer than k finite scores)
        return top_k_sorted(s, k)
    vals = s[rows, pos]
    order = np.lexsort((pos, -vals, rows))  # by row, then score desc, then position asc
    counts = np.bincount(rows, minlength=s.shape[0])
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    take = order[(starts[:, None] + np.arange(k)[None, :]).ravel()].reshape(s.shape[0], k)
    return pos[take], vals[take]


def top_k_sorted(s: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`top_k` by a stable sort of whole rows (lexicographic: score desc, position asc)."""
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(s, order, axis=1)


def _group(owner: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows sorted by owner: ``(order, owners (A,), starts (A,), counts (A,))``."""
    order = np.argsort(owner, kind="stable")
    owners, starts, counts = np.unique(owner[order], return_index=True, return_counts=True)
    return order, owners, starts, counts


def track_neighbors(embeddings: np.ndarray, owner: np.ndarray, *, k: int = 10,
                    pair_similarity: PairSimilarity | None = None, search: str | None = None,
                    index: AnnIndex | None = None, params: AnnParams | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most similar tracks of other artists for every track.

    Parameters
    ----------
    embeddings : np.ndarray [shape=(N, d)]
    owner : np.ndarray [shape=(N,)] the artist of each track
    pair_similarity : ``f(a (n, d), b (m, d)) -> (n, m)``, higher = more similar (default: cosine)
    search : ``auto`` (default: ``MUSIM_AUDIO_SEARCH``, else ANN from ``MUSIM_ANN_MIN_TRACKS`` tracks),
        ``exact`` or ``ann`` (:func:`musim.models.ann.search_mode`); a pair head is always searched exactly
    index : an index of ``embeddings`` to search (built with ``params`` when ANN is chosen and none is given)

    Returns
    -------
    (neighbors, scores) : np.ndarray [shape=(N, k')] int64 row positions (-1 where fewer exist), float64
    """
    e = np.asarray(embeddings, dtype=np.float32)
    own = np.asarray(owner, dtype=np.int64)
    n = e.shape[0]
    if pair_similarity is None and search_mode(n, search) == "ann":
        return track_neighbors_ann(e, own, k=k, index=index or AnnIndex.build(e, params=params),
                                   ef=n if _below_ann_minimum(n) else None)
    return _track_neighbors_exact(e, own, k=k, pair_similarity=pair_similarity)


def _track_neighbors_exact(e: np.ndarray, own: np.ndarray, *, k: int, pair_similarity: PairSimilarity | None,
                           rows: np.ndarray | None = None, block: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Brute force (the reference): every row of ``rows`` (default all) scored against every track, ``block``
    (default :data:`_BLOCK`) rows at a time."""
    n = e.shape[0]
    if pair_similarity is None:
        u64 = unit_rows(e).astype(np.float64)  # the unit rows the index path rescores with

        def sim(a_rows: np.ndarray, _: np.ndarray) -> np.ndarray:
            return _row_scores(u64[a_rows], u64)
    else:
        def sim(a_rows: np.ndarray, b: np.ndarray) -> np.ndarray:
            return pair_similarity(e[a_rows], b)
    want = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    kk = max(0, min(k, n - 1))
    nb = np.full((want.size, kk), -1, dtype=np.int64)
    sc = np.full((want.size, kk), np.nan, dtype=np.float64)
    rows_at_once = block or _BLOCK
    for s in range(0, want.size, rows_at_once):
        r = want[s:s + rows_at_once]
        scores = np.asarray(sim(r, e), dtype=np.float64)
        scores[own[r, None] == own[None, :]] = -np.inf  # itself and its artist's other tracks
        pos, val = top_k(scores, kk)
        ok = np.isfinite(val)
        nb[s:s + rows_at_once] = np.where(ok, pos, -1)
        sc[s:s + rows_at_once] = np.where(ok, val, np.nan)
    return nb, sc


def _best(pos: np.ndarray, sims: np.ndarray, invalid: np.ndarray, kk: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``kk`` best valid candidates per row, ordered like :func:`top_k` (score desc, position asc)."""
    sims = np.where(invalid, -np.inf, sims)
    order = np.lexsort((pos, -sims), axis=-1)[:, :kk]
    top_pos = np.take_along_axis(pos, order, axis=1)
    top_val = np.take_along_axis(sims, order, axis=1)
    ok = np.isfinite(top_val)
    return np.where(ok, top_pos, -1), np.where(ok, top_val, np.nan)


def track_neighbors_ann(embeddings: np.ndarray, owner: np.ndarray, *, k: int, index: AnnIndex,
                        ef: int | None = None, batch: int = ANN_BATCH) -> tuple[np.ndarray, np.ndarray]:
    """:func:`track_neighbors` (cosine) through an index of ``embeddings``, in batches of queries.

    Each track asks for ``k`` + its artist's track count candidates (its own artist's tracks, itself
    included, are dropped afterwards, so ``k`` others always remain), rounded up to a power of two so
    that queries of similar depth go together; the candidates are rescored with brute force's arithmetic
    (:func:`_pair_scores`) and ranked like brute force (score desc, then position). Tracks of artists with
    more than :data:`MAX_CANDIDATES` tracks are searched exactly. ``ef`` at least the catalogue: every track
    asks for every vector (an exhaustive search, so the table is brute force's, bit for bit).

    The search depth is ``max(ef, candidates)``; ``ef`` None: the depth :func:`calibrate_table_ef` finds
    for the index's recall target on a sample of these rows. A table row asks a deeper question than a
    top-``k`` query (its answers rank below its own artist's tracks), so the depth calibrated for
    ``similar-audio`` (the index's ``params.ef``) is where the search for the table starts, not where it ends.
    """
    e = np.asarray(embeddings, dtype=np.float32)
    own = np.asarray(owner, dtype=np.int64)
    n = e.shape[0]
    kk = max(0, min(k, n - 1))
    nb = np.full((n, kk), -1, dtype=np.int64)
    sc = np.full((n, kk), np.nan, dtype=np.float64)
    if kk == 0:
        return nb, sc
    if index.n != n:
        raise ParameterError(f"the index holds {index.n} vectors, the catalogue {n}")
    u = unit_rows(e)
    depth, exact = _table_depths(own, kk)
    if ef is None:
        ef = calibrate_table_ef(index, e, own, k=kk, batch=batch, unit=u)
    if ef >= n:  # exhaustive: near ties at the edge of a shallower candidate list could fall either way
        depth = np.full(n, n, dtype=np.int64)
    rows = np.flatnonzero(~exact)
    nb[rows], sc[rows] = _ann_rows(index, e, u, own, rows, depth[rows], kk, ef, batch)
    if exact.any():
        rows_x = np.flatnonzero(exact)
        nb[rows_x], sc[rows_x] = _track_neighbors_exact(e, own, k=kk, pair_similarity=None, rows=rows_x)
    return nb, sc


def _table_depths(own: np.ndarray, kk: int) -> tuple[np.ndarray, np.ndarray]:
    """Per track: the candidates its table row asks the index for (``kk`` + its artist's tracks, rounded up to a
    power of two, at most the catalogue) and whether it is searched exactly instead (over :data:`MAX_CANDIDATES`)."""
    n = own.size
    _, inverse, counts = np.unique(own, return_inverse=True, return_counts=True)
    need = np.minimum(kk + counts[inverse], n)
    depth = np.minimum(2 ** np.ceil(np.log2(need)).astype(np.int64), n)
    return depth, need > MAX_CANDIDATES


def _ann_rows(index: AnnIndex, e: np.ndarray, u: np.ndarray, own: np.ndarray, rows: np.ndarray, depth: np.ndarray,
              kk: int, ef: int, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """The table rows of ``rows`` (each searched ``depth`` deep, at least ``ef``), aligned with ``rows``."""
    nb = np.full((rows.size, kk), -1, dtype=np.int64)
    sc = np.full((rows.size, kk), np.nan, dtype=np.float64)
    for depth_k in np.unique(depth):
        at = np.flatnonzero(depth == depth_k)
        step = max(1, batch * 16 // int(depth_k))  # bounds the (rows, depth, d) gather below
        for s in range(0, at.size, step):
            a = at[s:s + step]
            r = rows[a]
            pos, _ = index.search(e[r], int(depth_k), ef=max(ef, int(depth_k)))
            sims = _pair_scores(u[r], u[np.maximum(pos, 0)])
            nb[a], sc[a] = _best(pos, sims, (pos < 0) | (own[np.maximum(pos, 0)] == own[r, None]), kk)
    return nb, sc


def calibrate_table_ef(index: AnnIndex, embeddings: np.ndarray, owner: np.ndarray, *, k: int = 10,
                       batch: int = ANN_BATCH, unit: np.ndarray | None = None) -> int:
    """The lowest search depth, from the index's own ``params.ef`` up :data:`musim.models.ann.EF_LADDER`, at which
    :func:`track_neighbors_ann`'s rows of a seeded sample of tracks reach the index's recall target against brute
    force, at the lower end of a two-sided 95% interval over the sampled rows (as
    :func:`musim.models.ann.calibrate_ef` does for one query: a neighbour counts when it is as similar as the
    exact row's ``k``-th, so ties are not misses). The deepest depth, with a warning, when none does.
    ``unit``: the embeddings' L2-normalised rows, when the caller has them (a 1M x 128 copy is 512 MB)."""
    e = np.asarray(embeddings, dtype=np.float32)
    own = np.asarray(owner, dtype=np.int64)
    n = e.shape[0]
    kk = max(0, min(k, n - 1))
    start = int(index.params.ef or ann.EF_LADDER[0])
    depth, exact = _table_depths(own, kk)
    candidates = np.flatnonzero(~exact)
    if kk == 0 or candidates.size == 0:
        return start
    rng = np.random.default_rng([index.params.seed, 0x7AB1E])
    rows = np.sort(rng.choice(candidates, size=min(ann.CALIBRATION_QUERIES, candidates.size), replace=False))
    u = unit_rows(e) if unit is None else unit
    kth = np.empty(rows.size, dtype=np.float64)  # each sampled row's exact k-th score (others only)
    step = max(1, min(_BLOCK, 2**25 // n))  # ~128 MB of scores at a time
    for s in range(0, rows.size, step):
        r = rows[s:s + step]
        scores = u[r] @ u.T
        scores[own[r, None] == own[None, :]] = -np.inf  # itself and its artist's other tracks
        kth[s:s + step] = -np.partition(-scores, kk - 1, axis=1)[:, kk - 1]
    _, inverse, counts = np.unique(own, return_inverse=True, return_counts=True)
    others = np.minimum(n - counts[inverse[rows]], kk)  # fewer than kk other tracks: each found one counts
    target = index.params.recall_target

    def hits_at(ef: int) -> np.ndarray:
        _, got = _ann_rows(index, e, u, own, rows, depth[rows], kk, ef, batch)
        hits = (np.nan_to_num(got, nan=-np.inf) >= kth[:, None] - ann.TIE_TOLERANCE).sum(axis=1)
        return np.minimum(hits, others) / np.maximum(others, 1)

    ef, recall, reached = ann.lowest_depth([start] + [x for x in ann.EF_LADDER if x > start], target, hits_at)
    if not reached:
        log.warning("track table of %d tracks through the index: recall@%d %.3f at the deepest search (ef %d), "
                    "under the target %.3f", n, kk, recall, ef, target)
    return ef


def artist_scores(embeddings: np.ndarray, owner: np.ndarray, *, pair_similarity: PairSimilarity | None = None,
                  rows: Sequence[int] | np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Artist x artist similarity: ``(artists (A,), S (A, A))`` (or the rows of the artists ``rows``).

    With ``pair_similarity``: the mean over the two artists' track pairs; without: cosine of their mean
    embeddings. Memory is bounded by scoring a block of artists' tracks against all tracks at a time.
    """
    e = np.asarray(embeddings, dtype=np.float32)
    own = np.asarray(owner, dtype=np.int64)
    order, artists, starts, counts = _group(own)
    want = np.arange(artists.size) if rows is None else np.asarray(rows, dtype=np.int64)
    if pair_similarity is None:
        sums = np.add.reduceat(e[order].astype(np.float64), starts, axis=0)
        unit = _unit64(sums / counts[:, None])
        return artists, _row_scores(unit[want], unit)
    es = e[order]
    out = np.empty((want.size, artists.size), dtype=np.float64)
    i = 0
    while i < want.size:
        # a block of artists whose tracks make at most ~_BLOCK rows
        j, rows_n = i, 0
        while j < want.size and (rows_n == 0 or rows_n + counts[want[j]] <= _BLOCK):
            rows_n += counts[want[j]]
            j += 1
        block_artists = want[i:j]
        idx = np.concatenate([np.arange(starts[a], starts[a] + counts[a]) for a in block_artists])
        s = np.asarray(pair_similarity(es[idx], es), dtype=np.float64)       # (rows, N)
        cols = np.add.reduceat(s, starts, axis=1) / counts[None, :]          # (rows, A): mean over b's tracks
        local = np.repeat(np.arange(block_artists.size), counts[block_artists])
        sums = np.zeros((block_artists.size, artists.size))
        np.add.at(sums, local, cols)
        out[i:j] = sums / counts[block_artists][:, None]                     # mean over a's tracks
        i = j
    return artists, out


def artist_neighbors(embeddings: np.ndarray, owner: np.ndarray, *, k: int = 10,
                     pair_similarity: PairSimilarity | None = None, search: str | None = None,
                     params: AnnParams | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` most similar other artists of every artist with tracks (``search``: as
    :func:`track_neighbors`, on the number of artists; cosine of mean embeddings only).

    Returns
    -------
    (artists (A,), neighbors (A, k') artist ids (-1 where fewer), scores (A, k'))
    """
    own = np.asarray(owner, dtype=np.int64)
    artists = np.unique(own)
    if pair_similarity is None and search_mode(artists.size, search) == "ann":
        return artist_neighbors_ann(embeddings, own, k=k, params=params,
                                    exhaustive=_below_ann_minimum(artists.size))
    kk = max(0, min(k, artists.size - 1))
    nb = np.full((artists.size, kk), -1, dtype=np.int64)
    sc = np.full((artists.size, kk), np.nan)
    step = max(1, _BLOCK // 3)
    for s in range(0, artists.size, step):
        rows = np.arange(s, min(s + step, artists.size))
        _, S = artist_scores(embeddings, own, pair_similarity=pair_similarity, rows=rows)
        S[np.arange(rows.size), rows] = -np.inf
        pos, val = top_k(S, kk)
        ok = np.isfinite(val)
        nb[rows] = np.where(ok, artists[pos], -1)
        sc[rows] = np.where(ok, val, np.nan)
    return artists, nb, sc




def artist_neighbors_ann(embeddings: np.ndarray, owner: np.ndarray, *, k: int, params: AnnParams | None = None,
                         batch: int = ANN_BATCH, exhaustive: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`artist_neighbors` (cosine of mean embeddings) through an index of the artists' means: each
    artist asks for ``k + 1`` candidates (``exhaustive``: every artist, searched at least that deep), itself
    is dropped, the rest rescored with brute force's arithmetic (:func:`_pair_scores`)."""
    e = np.asarray(embeddings, dtype=np.float32)
    order, artists, starts, counts = _group(np.asarray(owner, dtype=np.int64))
    means = np.add.reduceat(e[order].astype(np.float64), starts, axis=0) / counts[:, None]
    kk = max(0, min(k, artists.size - 1))
    nb = np.full((artists.size, kk), -1, dtype=np.int64)
    sc = np.full((artists.size, kk), np.nan)
    if kk == 0:
        return artists, nb, sc
    unit = _unit64(means)
    index = AnnIndex.build(means.astype(np.float32), params=params)
    depth = artists.size if exhaustive else kk + 1
    step = max(1, min(batch, batch * 16 // depth))  # bounds the (rows, depth, d) gather below
    for s in range(0, artists.size, step):
        r = np.arange(s, min(s + step, artists.size))
        pos, _ = index.search(means[r].astype(np.float32), depth, ef=depth if exhaustive else None)
        sims = _pair_scores(unit[r], unit[np.maximum(pos, 0)])
        top, val = _best(pos, sims, (pos < 0) | (pos == r[:, None]), kk)
        nb[r] = np.where(top >= 0, artists[np.maximum(top, 0)], -1)
        sc[r] = val
    return artists, nb, sc
