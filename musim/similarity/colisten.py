"""Co-listeners of every pair of eligible artists: the C sparse accumulator, or DuckDB's self-join.

``MUSIM_SIMILARITY_ENGINE``: ``c`` (``musim/similarity/_colisten.c``, built by ``make install``: the edges
are read into arrays once, laid out by user and by artist, and each artist's pairs are counted in a dense
counter array, several artists' ranges at once on ``MUSIM_DUCKDB_THREADS`` threads), ``duckdb``
(``sql/similarity/pairs.sql``: a self-join of the edges on the user, grouped by pair, slice by slice) or
unset/``auto`` (``c`` when the extension imports). Both store the same rows in ``artist_pairs``
(``tests/similarity/test_colisten.py``); the C engine is the faster one (``benchmarks/bench_similarity.py``).
"""

from __future__ import annotations

import functools
import importlib
import logging
from concurrent.futures import ThreadPoolExecutor

import duckdb
import numpy as np

from musim import sql
from musim.config import get_settings
from musim.errors import ConfigError

log = logging.getLogger(__name__)

ENGINES = ("c", "duckdb")
ENV = "MUSIM_SIMILARITY_ENGINE"
#: Eligible artists per slice of the DuckDB engine's self-join (see sql/similarity/pairs.sql).
ARTISTS_PER_SLICE = 1500
#: Ranges of artists per thread of the C engine (more ranges than threads even out their work).
RANGES_PER_THREAD = 4


@functools.cache
def c_counter_missing() -> str | None:
    """Why the C co-listener counter cannot be used here (``None`` when it can)."""
    try:
        importlib.import_module("musim.similarity._colisten")
    except ImportError as exc:
        return str(exc)
    return None


@functools.cache
def _say_fallback(why: str) -> None:
    log.info("the C co-listener counter is not built (%s): DuckDB counts the pairs (slower; `make install` "
             "builds it, %s=duckdb silences this)", why, ENV)


def choose_engine(requested: str | None = None) -> str:
    """``c`` or ``duckdb``: ``requested``, else ``$MUSIM_SIMILARITY_ENGINE``, else ``c`` when it is built."""
    wanted = (requested or "").strip().lower() or get_settings().similarity.engine
    if wanted not in (*ENGINES, "auto"):
        raise ConfigError(f"engine {wanted!r} is not a similarity engine: use c, duckdb or auto")
    missing = c_counter_missing()
    if wanted == "c" and missing:
        raise ConfigError(f"{ENV}=c but the C co-listener counter is not built ({missing}); run `make install` "
                          f"(needs a C compiler) or use {ENV}=duckdb")
    if wanted == "auto":
        if missing:
            _say_fallback(missing)
            return "duckdb"
        return "c"
    return wanted


def pair_counts(users: np.ndarray, artists: np.ndarray, n_users: int, n_artists: int, min_co_listeners: int,
                threads: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(a, b, co)``: every pair of artists ``a < b`` that at least ``min_co_listeners`` users share.

    ``users``/``artists`` are the edges (int32 ids in ``0..n_users-1`` and ``0..n_artists-1``, each edge
    once); the pairs come ordered by ``a`` then ``b``, counted by the C extension on ``threads`` threads.
    """
    from musim.similarity import _colisten

    row_ptr, row_artists, col_ptr, col_user, col_tail = _colisten.layout(
        np.ascontiguousarray(users, dtype=np.int32), np.ascontiguousarray(artists, dtype=np.int32),
        int(n_users), int(n_artists))
    bounds = _balanced_ranges(np.frombuffer(row_ptr, np.int64), np.frombuffer(col_ptr, np.int64),
                              np.frombuffer(col_user, np.int32), np.frombuffer(col_tail, np.int64),
                              max(1, threads) * RANGES_PER_THREAD)

    def count(lo_hi: tuple[int, int]) -> tuple:
        return _colisten.pairs(row_ptr, row_artists, col_ptr, col_user, col_tail, lo_hi[0], lo_hi[1],
                               int(min_co_listeners))

    ranges = list(zip(bounds[:-1], bounds[1:], strict=True))
    if not ranges:
        return np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.int32)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        parts = list(pool.map(count, ranges))
    a, b, co = ([np.frombuffer(part[i], np.int32) for part in parts] for i in range(3))
    return np.concatenate(a), np.concatenate(b), np.concatenate(co)


def _balanced_ranges(row_ptr: np.ndarray, col_ptr: np.ndarray, col_user: np.ndarray, col_tail: np.ndarray,
                     n_ranges: int) -> list[int]:
    """Artist boundaries ``0 = b0 < ... = n_artists`` cutting the counting work into ``n_ranges`` equal parts."""
    n_artists = col_ptr.size - 1
    work = np.cumsum(row_ptr[col_user.astype(np.int64) + 1] - col_tail)  # increments up to each column entry
    per_artist = np.concatenate([[0], work])[col_ptr]  # work done before each artist, and in all
    targets = per_artist[-1] * np.arange(1, n_ranges) / n_ranges
    cuts = np.searchsorted(per_artist, targets)
    return sorted({0, n_artists, *(int(c) for c in cuts if 0 < c < n_artists)})


def _count_in_c(con: duckdb.DuckDBPyConnection, edges: str, ids: str, min_co_listeners: int,
                threads: int) -> dict[str, np.ndarray]:
    """The pairs of the edges that the sql file ``edges`` selects (user_id, idx), with artist ids for the
    dense indexes from the sql file ``ids``, as numpy columns ``artist_a``, ``artist_b``, ``co_listeners``."""
    found = sql.query(con, edges).fetchnumpy()
    artist_ids = sql.query(con, ids).fetchnumpy()["artist_id"]
    users = found["user_id"]
    n_users = int(users.max()) + 1 if users.size else 0
    a, b, co = pair_counts(users, found["idx"], n_users, artist_ids.size, min_co_listeners, threads)
    return {"artist_a": artist_ids[a], "artist_b": artist_ids[b], "co_listeners": co}


def store_pairs(con: duckdb.DuckDBPyConnection, dump_id: str, min_co_listeners: int, engine: str,
                threads: int) -> None:
    """Count the co-listened pairs of the eligible artists (``sim_edges``) into ``artist_pairs``."""
    if engine == "duckdb":
        _store_by_self_join(con, dump_id, min_co_listeners)
        return
    pairs = _count_in_c(con, "similarity/edges.sql", "similarity/eligible_ids.sql", min_co_listeners, threads)
    con.register("sim_new_pairs", pairs)  # numpy columns, scanned without a copy
    try:
        sql.run(con, "similarity/store_pairs.sql", dump_id=dump_id)
    finally:
        con.unregister("sim_new_pairs")


def store_catalogue_pairs(con: duckdb.DuckDBPyConnection, dump_id: str, users: int, seed_raw_max: float,
                          engine: str, threads: int) -> None:
    """Score every co-listened pair among the catalogue artists (``sim_catalogue``) into
    ``artist_pair_similarity`` (``sql/similarity/catalogue_pairs.sql``)."""
    scores = {"dump_id": dump_id, "users": users, "seed_raw_max": seed_raw_max}
    if engine == "duckdb":
        sql.run(con, "similarity/catalogue_counts.sql")
        sql.run(con, "similarity/catalogue_pairs.sql", **scores)
        return
    counts = _count_in_c(con, "similarity/catalogue_edges.sql", "similarity/catalogue_ids.sql", 1, threads)
    con.register("sim_catalogue_counts", counts)
    try:
        sql.run(con, "similarity/catalogue_pairs.sql", **scores)
    finally:
        con.unregister("sim_catalogue_counts")


def _store_by_self_join(con: duckdb.DuckDBPyConnection, dump_id: str, min_co_listeners: int) -> None:
    starts, id_span = sql.query(con, "similarity/slice_bounds.sql", per_slice=ARTISTS_PER_SLICE).fetchone()
    if not starts:
        return
    for lo, hi in zip(starts, [*starts[1:], id_span], strict=True):
        sql.run(con, "similarity/pairs.sql", dump_id=dump_id, id_span=id_span, min_co_listeners=min_co_listeners,
                artist_lo=lo, artist_hi=hi)
