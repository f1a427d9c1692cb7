"""Co-listeners of every pair of eligible artists, stored for a similarity build: by the C sparse
accumulator (:mod:`musim.cooccurrence`) or by DuckDB's self-join (``sql/similarity/pairs.sql``).

``MUSIM_SIMILARITY_ENGINE`` chooses (:func:`musim.cooccurrence.choose_engine`); both store the same rows in
``artist_pair_counts``, in pair order ``(artist_a, artist_b)``, and the catalogue (``tests/similarity/test_colisten.py``);
the C engine is the faster one (``benchmarks/bench_similarity.py``). Pair order is what the quality gate's "once
each" check reads in one streaming pass (``sql/quality/similarity_invariants.sql``).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from musim import sql, warehouse
from musim.cooccurrence import Chunk, fetch_columns, int32_column, pair_count_chunks, pair_summary
from musim.similarity.metrics import seed_raw

#: Eligible artists per slice of the DuckDB engine's self-join (see sql/similarity/pairs.sql).
ARTISTS_PER_SLICE = 1500
#: The metrics the views derive from each pair (sql/similarity/views.sql): seed, jaccard, cosine, lift, pmi.
METRICS = 5
#: Pairs summarised at a time (:func:`summarize`): 4M pairs, ~100 MiB of doubles.
SUMMARY_CHUNK = 1 << 22


@dataclass(frozen=True)
class PairSummary:
    """What a build records of its stored pairs."""

    pairs: int
    seed_raw_max: float | None  # the largest raw seed score of these pairs; None without pairs
    neighbors: int  # rows the artist_neighbors view serves: the top k of each artist for each metric


def summarize(chunks: list[Chunk], listeners: np.ndarray, k: int, engine: str = "duckdb") -> PairSummary:
    """The :class:`PairSummary` of the pairs in ``chunks`` (``(a, b, co)`` arrays each) whose artists index
    ``listeners`` (their listener counts). The raw seed score ``r = (co / la + co / lb) / 2`` is
    :func:`musim.similarity.metrics.seed_raw`, the arithmetic of ``sim_seed_raw`` in ``sql/similarity/views.sql``
    (``co (la + lb) / (2 la lb)``, one rounding), so that the gate finds the recorded maximum exactly. ``engine`` ``c``: one pass in C (:func:`musim.cooccurrence.pair_summary`, 10x faster);
    otherwise numpy, in pieces of :data:`SUMMARY_CHUNK` pairs (the doubles of all pairs at once took 40 bytes
    a pair: 3 GiB at 4x). Both give the same numbers (``tests/similarity/test_colisten.py``)."""
    pairs = sum(int(a.size) for a, _, _ in chunks)
    if pairs == 0:
        return PairSummary(pairs=0, seed_raw_max=None, neighbors=0)
    if engine == "c":
        seed_raw_max, neighbors = pair_summary(chunks, listeners, k)
        return PairSummary(pairs=pairs, seed_raw_max=seed_raw_max, neighbors=METRICS * neighbors)
    listeners = listeners.astype(np.float64)
    seed_raw_max = -np.inf
    degree = np.zeros(listeners.size, np.int64)
    for a, b, co in chunks:
        for start in range(0, a.size, SUMMARY_CHUNK):
            part = slice(start, start + SUMMARY_CHUNK)
            co_ = co[part].astype(np.float64)
            seed_raw_max = max(seed_raw_max, float(seed_raw(co_, listeners[a[part]], listeners[b[part]]).max()))
        degree += np.bincount(a, minlength=listeners.size) + np.bincount(b, minlength=listeners.size)
    return PairSummary(pairs=pairs, seed_raw_max=seed_raw_max, neighbors=METRICS * int(np.minimum(degree, k).sum()))


@dataclass(frozen=True)
class Edges:
    """The edges (user, artist) that the C counter counts: ``users`` (ids) and ``idx`` (the artists' dense indexes),
    with the artists' ``ids`` and ``listeners`` by index (ascending ids)."""

    users: np.ndarray
    idx: np.ndarray
    ids: np.ndarray
    listeners: np.ndarray


def read_edges(con: duckdb.DuckDBPyConnection, dump_id: str) -> tuple[Edges, Edges]:
    """The edges of dump ``dump_id``'s eligible artists (``sim_eligible``) and of its catalogue (``sim_catalogue``),
    for the C counter: read once from the plays straight into arrays (``sql/similarity/edges.sql``), the
    catalogue's picked out of them by index. A scratch table of the edges (``sql/similarity/edges_table.sql``, which
    only DuckDB's self-join reads) took ~0.3 s more CPU at full scale, a second read for the catalogue ~0.1 s."""
    found = fetch_columns(con, "similarity/edges.sql", dump_id=dump_id)
    eligible = fetch_columns(con, "similarity/eligible_ids.sql")
    catalogue = fetch_columns(con, "similarity/catalogue_ids.sql")
    users, idx, ids = found["user_id"], found["idx"], eligible["artist_id"]
    in_catalogue = np.full(ids.size, -1, np.int32)  # eligible index -> catalogue index (-1: not in it)
    in_catalogue[np.searchsorted(ids, catalogue["artist_id"])] = np.arange(catalogue["artist_id"].size, dtype=np.int32)
    cat_users, cat_idx = _picked(users, idx, in_catalogue)
    return (Edges(users, idx, ids, eligible["listeners"]),
            Edges(cat_users, cat_idx, catalogue["artist_id"], catalogue["listeners"]))


#: Edges picked at a time by :func:`_picked`: 1M, a few MiB of temporaries that stay in the process's heap.
PICK_CHUNK = 1 << 20


def _picked(users: np.ndarray, idx: np.ndarray, index_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The edges ``(users, idx)`` whose ``index_of[idx]`` is not -1, with that index, in their order. In pieces of
    :data:`PICK_CHUNK` edges, by positions and take(): a boolean index of all 12.3M edges at full scale took 0.115 s
    of CPU, and the temporaries for all of them at once (~150 MiB, new pages to fault in) 0.3 s in a fresh
    process, against ~0.09 s this way."""
    users_out, idx_out = [], []
    for start in range(0, idx.size, PICK_CHUNK):
        mapped = index_of[idx[start:start + PICK_CHUNK]]
        kept = np.flatnonzero(mapped >= 0)
        users_out.append(users[start:start + PICK_CHUNK].take(kept))
        idx_out.append(mapped.take(kept))
    if not idx_out:
        return users[:0].copy(), idx[:0].astype(np.int32)
    return np.concatenate(users_out), np.concatenate(idx_out)


def _count_in_c(edges: Edges, min_co_listeners: int, threads: int) -> tuple[pa.Table, list[Chunk], np.ndarray]:
    """The pairs of ``edges`` labelled with their artist ids: an Arrow table of the chunks (columns ``artist_a``,
    ``artist_b``, ``co_listeners``, sorted by pair), the chunks, and the listeners by artist id."""
    n_users = int(edges.users.max()) + 1 if edges.users.size else 0
    chunks = pair_count_chunks(edges.users, edges.idx, n_users, edges.ids.size, min_co_listeners, threads,
                               ids=edges.ids)
    columns = [pa.chunked_array([int32_column(chunk[i]) for chunk in chunks], pa.int32()) for i in range(3)]
    table = pa.Table.from_arrays(columns, names=["artist_a", "artist_b", "co_listeners"])
    return table, chunks, listeners_by_id(edges.ids, edges.listeners)


def listeners_by_id(ids: np.ndarray, listeners: np.ndarray) -> np.ndarray:
    """The listener counts indexed by artist id (0 where an id has none), as :func:`summarize` reads them."""
    out = np.zeros(int(ids.max(initial=0)) + 1, np.int64)
    out[ids] = listeners
    return out


def prepare_edges(con: duckdb.DuckDBPyConnection, dump_id: str, engine: str) -> tuple[Edges, Edges] | tuple[None, None]:
    """What each engine counts the pairs from: for ``c``, the eligible artists' and the catalogue's edges in arrays
    (:func:`read_edges`); for ``duckdb``, the scratch table ``sim_edges`` its self-joins read
    (``sql/similarity/edges_table.sql``), and ``(None, None)``. Needs ``sim_eligible`` and ``sim_catalogue``."""
    if engine == "c":
        return read_edges(con, dump_id)
    sql.run(con, "similarity/edges_table.sql", dump_id=dump_id)
    return None, None


def store_pairs(con: duckdb.DuckDBPyConnection, dump_seq: int, edges: Edges | None, min_co_listeners: int, k: int,
                threads: int) -> PairSummary:
    """Count the co-listened pairs of the eligible artists into ``artist_pair_counts`` under the dump's seq
    ``dump_seq``, in pair order: the C counter's of ``edges``, or with None DuckDB's self-join of ``sim_edges``
    (:func:`prepare_edges`); their summary for the build's record."""
    if edges is None:
        _store_by_self_join(con, dump_seq, min_co_listeners)
        stored = fetch_columns(con, "similarity/stored_pairs.sql", dump_seq=dump_seq)
        artists = fetch_columns(con, "similarity/eligible_ids.sql")
        listeners = listeners_by_id(artists["artist_id"], artists["listeners"])
        return summarize([(stored["artist_a"], stored["artist_b"], stored["co_listeners"])], listeners, k)
    table, chunks, listeners = _count_in_c(edges, min_co_listeners, threads)
    with warehouse.registered(con, "sim_new_pairs", table), warehouse.in_order(con):
        sql.run(con, "similarity/store_pairs.sql", dump_seq=dump_seq)
    return summarize(chunks, listeners, k, "c")


def store_catalogue_pairs(con: duckdb.DuckDBPyConnection, dump_id: str, users: int, pairs_seed_raw_max: float,
                          edges: Edges | None, threads: int) -> float:
    """Score every co-listened pair among the catalogue artists (``sim_catalogue``) into
    ``artist_pair_similarity`` (``sql/similarity/catalogue_pairs.sql``), counted by the C counter from ``edges``
    (the catalogue's, :func:`prepare_edges`) or with None by DuckDB's self-join; return the build's seed scale, the
    largest raw seed score of every pair it stores: ``pairs_seed_raw_max`` (the co-listened pairs') or the
    catalogue's, whose pairs may have fewer co-listeners than ``min_co_listeners`` (one co-listener of two
    artists of one listener each is r = 1: scaled by the other pairs alone, it was clipped to 1)."""
    if edges is None:
        sql.run(con, "similarity/catalogue_counts.sql")
        return _score_catalogue(con, dump_id, users, pairs_seed_raw_max)
    counts, _, _ = _count_in_c(edges, 1, threads)
    with warehouse.registered(con, "sim_catalogue_counts", counts):
        return _score_catalogue(con, dump_id, users, pairs_seed_raw_max)


def _score_catalogue(con: duckdb.DuckDBPyConnection, dump_id: str, users: int, pairs_seed_raw_max: float) -> float:
    catalogue_max = sql.query(con, "similarity/catalogue_seed_raw_max.sql").fetchone()[0]
    scale = pairs_seed_raw_max if catalogue_max is None else max(pairs_seed_raw_max, catalogue_max)
    sql.run(con, "similarity/catalogue_pairs.sql", dump_id=dump_id, users=users, seed_raw_max=scale)
    return scale


def _store_by_self_join(con: duckdb.DuckDBPyConnection, dump_seq: int, min_co_listeners: int) -> None:
    starts, id_span = sql.query(con, "similarity/slice_bounds.sql", per_slice=ARTISTS_PER_SLICE).fetchone()
    if not starts:
        return
    with warehouse.in_order(con):
        for lo, hi in zip(starts, [*starts[1:], id_span], strict=True):
            sql.run(con, "similarity/pairs.sql", dump_seq=dump_seq, id_span=id_span,
                    min_co_listeners=min_co_listeners, artist_lo=lo, artist_hi=hi)
