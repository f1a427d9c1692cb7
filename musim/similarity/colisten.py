"""Co-listeners of every pair of eligible artists, stored for a similarity build: by the C sparse
accumulator (:mod:`musim.cooccurrence`) or by DuckDB's self-join (``sql/similarity/pairs.sql``).

``MUSIM_SIMILARITY_ENGINE`` chooses (:func:`musim.cooccurrence.choose_engine`); both store the same rows in
``artist_pairs`` and the catalogue (``tests/similarity/test_colisten.py``); the C engine is the faster one
(``benchmarks/bench_similarity.py``).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from musim import sql, warehouse
from musim.cooccurrence import pair_counts

#: Eligible artists per slice of the DuckDB engine's self-join (see sql/similarity/pairs.sql).
ARTISTS_PER_SLICE = 1500


def _count_in_c(con: duckdb.DuckDBPyConnection, edges: str, ids: str, min_co_listeners: int,
                threads: int) -> pa.Table:
    """The pairs of the edges that the sql file ``edges`` selects (user_id, idx), with artist ids for the
    dense indexes from the sql file ``ids``: columns ``artist_a``, ``artist_b``, ``co_listeners``, as an Arrow
    table over the arrays (DuckDB inserts from Arrow about 1.5x faster than from numpy columns)."""
    found = sql.query(con, edges).fetchnumpy()
    artist_ids = sql.query(con, ids).fetchnumpy()["artist_id"]
    users = found["user_id"]
    n_users = int(users.max()) + 1 if users.size else 0
    a, b, co = pair_counts(users, found["idx"], n_users, artist_ids.size, min_co_listeners, threads)
    return pa.Table.from_arrays([_int32_column(artist_ids[a]), _int32_column(artist_ids[b]), _int32_column(co)],
                                names=["artist_a", "artist_b", "co_listeners"])


def _int32_column(values: np.ndarray) -> pa.Array:
    """An Arrow column over an int32 array without a copy. Built from its buffer: ``pa.array``/``pa.table``
    look for pandas types first and import pandas (~0.9 s) on their first call."""
    values = np.ascontiguousarray(values, dtype=np.int32)
    return pa.Array.from_buffers(pa.int32(), values.size, [None, pa.py_buffer(values)])


def store_pairs(con: duckdb.DuckDBPyConnection, dump_id: str, min_co_listeners: int, engine: str,
                threads: int) -> None:
    """Count the co-listened pairs of the eligible artists (``sim_edges``) into ``artist_pairs``."""
    if engine == "duckdb":
        _store_by_self_join(con, dump_id, min_co_listeners)
        return
    pairs = _count_in_c(con, "similarity/edges.sql", "similarity/eligible_ids.sql", min_co_listeners, threads)
    with warehouse.registered(con, "sim_new_pairs", pairs):
        sql.run(con, "similarity/store_pairs.sql", dump_id=dump_id)


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
    with warehouse.registered(con, "sim_catalogue_counts", counts):
        sql.run(con, "similarity/catalogue_pairs.sql", **scores)


def _store_by_self_join(con: duckdb.DuckDBPyConnection, dump_id: str, min_co_listeners: int) -> None:
    starts, id_span = sql.query(con, "similarity/slice_bounds.sql", per_slice=ARTISTS_PER_SLICE).fetchone()
    if not starts:
        return
    for lo, hi in zip(starts, [*starts[1:], id_span], strict=True):
        sql.run(con, "similarity/pairs.sql", dump_id=dump_id, id_span=id_span, min_co_listeners=min_co_listeners,
                artist_lo=lo, artist_hi=hi)
