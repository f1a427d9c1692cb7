"""Co-occurrence kernels in C (``musim/_cooccurrence.c``, built by ``make install``) and which engine runs them.

- :func:`pair_count_chunks`: the pairs of artists that users share and how
  many users share each: the edges are laid out by user and by artist once, and each artist's pairs are
  counted in a dense counter array, ranges of artists on several threads (the GIL is released); they come
  sorted by pair, one chunk per range.
- :func:`symmetric_pairs`: pairs ``a < b`` in both directions grouped by artist, by one counting pass: the rows
  of a published snapshot's pair lookup (:mod:`musim.serving`), written without a sort.
- :func:`pair_summary`: what a build records of its pairs (seed scale, neighbour rows), in one pass
  (:func:`musim.similarity.colisten.summarize` is the numpy reference and the fallback).

``MUSIM_SIMILARITY_ENGINE`` (:class:`musim.native.NativeEngine`): ``c`` (these kernels), ``duckdb`` (the SQL
fallback: a self-join in ``sql/similarity/pairs.sql``) or unset/``auto`` (``c`` when the extension imports).
Both give the same rows (``tests/test_cooccurrence.py`` against a brute-force count,
``tests/similarity/test_colisten.py`` for the stored tables; ``tests/test_serving.py`` for the lookups, whose
fallback is DuckDB's sort in ``sql/serving/publish_pair_lookup.sql``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from musim import sql
from musim.config import get_settings
from musim.native import NativeEngine

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

ENV = "MUSIM_SIMILARITY_ENGINE"
#: Ranges of artists per thread of the C engine (more ranges than threads even out their work).
RANGES_PER_THREAD = 4
KERNELS = NativeEngine(module="musim._cooccurrence", what="the C co-occurrence kernels", variable=ENV,
                       step="a similarity engine", fallback="DuckDB counts the co-listened pairs", logger=__name__,
                       plural=True)


def choose_engine(requested: str | None = None) -> str:
    """``c`` or ``duckdb``: ``requested``, else ``$MUSIM_SIMILARITY_ENGINE``, else ``c`` when it is built."""
    return KERNELS.choose(requested, lambda: get_settings().similarity.engine)


Chunk = tuple[np.ndarray, np.ndarray, np.ndarray]


def pair_count_chunks(users: np.ndarray, artists: np.ndarray, n_users: int, n_artists: int, min_co_listeners: int,
                      threads: int = 1, ids: np.ndarray | None = None) -> list[Chunk]:
    """Every pair of artists ``a < b`` that at least ``min_co_listeners`` users share, as chunks ``(a, b, co)``
    (int32 arrays) that are in pair order one after the other: one per range of artists the threads took.

    ``users``/``artists`` are the edges (int32 ids in ``0..n_users-1`` and ``0..n_artists-1``, each edge
    once), counted by the C extension on ``threads`` threads. With ``ids`` (one per artist index, ascending),
    the pairs are labelled ``ids[a]``, ``ids[b]`` as they are emitted. Left in chunks, they reach DuckDB
    (an Arrow table of chunked columns) and :func:`pair_summary` without a copy: concatenating 20M pairs
    took 0.3 s, labelling them afterwards 0.1-0.3 s.
    """
    from musim import _cooccurrence

    row_ptr, row_artists, col_ptr, col_user, col_tail, work = _cooccurrence.layout(
        np.ascontiguousarray(users, dtype=np.int32), np.ascontiguousarray(artists, dtype=np.int32),
        int(n_users), int(n_artists))
    bounds = _balanced_ranges(np.frombuffer(work, np.int64), max(1, threads) * RANGES_PER_THREAD)
    labels = None if ids is None else np.ascontiguousarray(ids, dtype=np.int32)

    def count(lo_hi: tuple[int, int]) -> tuple:
        return _cooccurrence.pairs(row_ptr, row_artists, col_ptr, col_user, col_tail, lo_hi[0], lo_hi[1],
                                   int(min_co_listeners), labels)

    ranges = list(zip(bounds[:-1], bounds[1:], strict=True))
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        parts = list(pool.map(count, ranges))
    return [tuple(np.frombuffer(buf, np.int32) for buf in part) for part in parts]


def _balanced_ranges(work: np.ndarray, n_ranges: int) -> list[int]:
    """Artist boundaries ``0 = b0 < ... = n_artists`` cutting the counting work (``work``: the increments per
    artist, from the layout) into ``n_ranges`` equal parts."""
    n_artists = work.size
    per_artist = np.concatenate([[0], np.cumsum(work)])  # work done before each artist, and in all
    targets = per_artist[-1] * np.arange(1, n_ranges) / n_ranges
    cuts = np.searchsorted(per_artist, targets)
    return sorted({0, n_artists, *(int(c) for c in cuts if 0 < c < n_artists)})


def symmetric_pairs(a: np.ndarray, b: np.ndarray, co: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(artist, neighbor, co)``: each pair ``a < b`` (int32 ids, each pair once) in both directions, grouped by
    ``artist`` ascending; within an artist its neighbours below it, then those above it, each in the input's
    order (pairs sorted by ``(a, b)`` give them ascending). One counting pass in C, no sort; the rows above and
    below each artist laid out on two threads.
    """
    from musim import _cooccurrence

    a, b, co = (np.ascontiguousarray(x, dtype=np.int32) for x in (a, b, co))
    n_ids = int(b.max()) + 1 if b.size else 0
    _, neighbor, counts, artist = _cooccurrence.symmetric(a, b, co, n_ids)
    return (np.frombuffer(artist, np.int32), np.frombuffer(neighbor, np.int32), np.frombuffer(counts, np.int32))


def pair_summary(chunks: list[Chunk], listeners: np.ndarray, k: int) -> tuple[float, int]:
    """``(seed_raw_max, neighbors)`` of the pairs in ``chunks`` (``(a, b, co)`` each) whose ids index
    ``listeners``: the largest raw seed score ``(co / la + co / lb) / 2``, computed as ``sim_seed_raw`` does
    (``co (la + lb) / (2 la lb)`` in doubles, :func:`musim.similarity.metrics.seed_raw`; ``-inf`` without pairs) and the sum over artists of ``min(pairs of the artist, k)``. One pass in C; the numpy reference is
    :func:`musim.similarity.colisten.summarize`."""
    from musim import _cooccurrence

    chunks = [tuple(np.ascontiguousarray(x, dtype=np.int32) for x in chunk) for chunk in chunks]
    return _cooccurrence.summary(chunks, np.ascontiguousarray(listeners, dtype=np.float64), int(k))


def int32_column(values: np.ndarray) -> pa.Array:
    """An Arrow column over an int32 array without a copy, for handing the kernels' arrays to DuckDB (it inserts
    from Arrow about 1.5x faster than from numpy columns). Built from the buffer: ``pa.array``/``pa.table``
    look for pandas types first and import pandas (~0.9 s) on their first call."""
    import pyarrow as pa

    values = np.ascontiguousarray(values, dtype=np.int32)
    return pa.Array.from_buffers(pa.int32(), values.size, [None, pa.py_buffer(values)])


def fetch_columns(con: duckdb.DuckDBPyConnection, name: str, /, **params) -> dict[str, np.ndarray]:
    """The columns of the one statement of ``sql/<name>`` (its ``$`` parameters from ``params``) as numpy arrays, for
    the kernels: read through a relation, which DuckDB converts chunk by chunk as its scan makes them, in the order
    the connection keeps (:func:`musim.warehouse.in_order`). ``execute(...).fetchnumpy()`` first collected the whole
    result and then copied it into the arrays: 0.42 s of CPU for the 19.7M stored pairs of the full dump, 0.25 s
    this way; the 12.3M edges 0.15 -> 0.08 s. The peak RSS of a build, gate and publish in one process is ~130 MiB
    higher this way (1,285 -> 1,412 MiB at full scale; the target is 4 GiB)."""
    stmt = sql.single(name)
    used = {k: params[k] for k in sql.params_of(stmt)}
    return con.sql(stmt, params=used or None).fetchnumpy()
