"""Build the similarity tables of one dump: listeners, top-K neighbours per metric, catalogue pairs.

The build runs in one transaction: the previous build of the same dump stays visible until the new one
commits. The heavy part is counting co-listeners of every pair of eligible artists
(``sql/similarity/pairs.sql``); see ``benchmarks/bench_similarity.py`` for how it compares with a sparse
matrix product and what was tried.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import asdict, dataclass

import duckdb

from musim import sql, warehouse
from musim.config import Settings, get_settings
from musim.errors import NotFoundError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimilarityParams:
    """Parameters of a similarity build."""

    min_listeners: int = 50
    min_co_listeners: int = 2
    k: int = 100
    catalogue_size: int = 1000

    def __post_init__(self) -> None:
        for name in ("min_listeners", "min_co_listeners", "k", "catalogue_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class SimilarityResult:
    dump_id: str
    users: int
    artists: int
    pairs: int
    neighbors: int
    catalogue_pairs: int
    seconds: float
    params: SimilarityParams

    def to_json(self) -> dict:
        out = asdict(self)
        out["params"] = asdict(self.params)
        return out


def resolve_dump(con: duckdb.DuckDBPyConnection, dump_id: str | None) -> str:
    """The full id of ``dump_id`` (a unique prefix is enough), or of the latest dump when None."""
    if dump_id is None:
        row = con.execute("SELECT dump_id FROM lastfm_dump ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None:
            raise NotFoundError("no dump has been ingested yet: run `musim ingest lastfm PATH` first")
        return row[0]
    rows = con.execute("SELECT dump_id FROM lastfm_dump WHERE starts_with(dump_id, ?)", [dump_id]).fetchall()
    if len(rows) != 1:
        known = [r[0][:12] for r in con.execute("SELECT dump_id FROM lastfm_dump ORDER BY seq").fetchall()]
        what = "matches no dump" if not rows else "matches several dumps"
        raise NotFoundError(f"dump id {dump_id!r} {what}; known dumps: {', '.join(known) or 'none'}")
    return rows[0][0]


#: Eligible artists per slice of the pair count (see sql/similarity/pairs.sql).
ARTISTS_PER_SLICE = 1500


def count_pairs(con: duckdb.DuckDBPyConnection, n_artists: int, min_co_listeners: int,
                artists_per_slice: int = ARTISTS_PER_SLICE) -> int:
    """Fill ``sim_pairs`` from ``sim_edges`` slice by slice; return the number of pairs."""
    con.execute("CREATE OR REPLACE TEMP TABLE sim_pairs (idx_a INTEGER, idx_b INTEGER, co INTEGER)")
    slices = max(1, -(-n_artists // artists_per_slice))
    bounds = [round(n_artists * i / slices) for i in range(slices + 1)]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        sql.run(con, "similarity/pairs.sql", n_artists=max(n_artists, 1), min_co_listeners=min_co_listeners,
                idx_lo=lo, idx_hi=hi)
    return con.execute("SELECT count(*) FROM sim_pairs").fetchone()[0]


def build_similarity(con: duckdb.DuckDBPyConnection, dump_id: str | None = None,
                     params: SimilarityParams = SimilarityParams()) -> SimilarityResult:
    """Compute and store the similarity tables of a dump on the writer connection ``con``."""
    started = time.perf_counter()
    dump_id = resolve_dump(con, dump_id)
    con.execute("BEGIN TRANSACTION")
    try:
        sql.run(con, "similarity/listeners.sql", dump_id=dump_id, min_listeners=params.min_listeners)
        n_artists = con.execute("SELECT count(*) FROM sim_eligible").fetchone()[0]
        users = con.execute("SELECT count(DISTINCT user_id) FROM lastfm_plays WHERE dump_id = ? AND plays > 0",
                            [dump_id]).fetchone()[0]
        count_pairs(con, n_artists, params.min_co_listeners)
        sql.run(con, "similarity/metrics.sql", users=users)
        pairs, seed_raw_max = con.execute("SELECT count(*), max(seed_raw) FROM sim_scored").fetchone()
        for table in ("artist_listeners", "artist_neighbors", "artist_pair_similarity", "similarity_build"):
            con.execute(f"DELETE FROM {table} WHERE dump_id = ?", [dump_id])
        con.execute("""INSERT INTO artist_listeners SELECT ?, artist_id, listeners, plays FROM sim_listeners""",
                    [dump_id])
        sql.run(con, "similarity/neighbors.sql", dump_id=dump_id, k=params.k)
        sql.run(con, "similarity/catalogue_pairs.sql", dump_id=dump_id, catalogue_size=params.catalogue_size,
                users=users, seed_raw_max=seed_raw_max or 1.0)
        neighbors = con.execute("SELECT count(*) FROM artist_neighbors WHERE dump_id = ?", [dump_id]).fetchone()[0]
        cat_pairs = con.execute("SELECT count(*) FROM artist_pair_similarity WHERE dump_id = ?",
                                [dump_id]).fetchone()[0]
        catalogue = min(params.catalogue_size, n_artists)
        seconds = time.perf_counter() - started
        con.execute("""INSERT INTO similarity_build VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    [dump_id, params.min_listeners, params.min_co_listeners, params.k, users, n_artists, pairs,
                     seed_raw_max, catalogue, dt.datetime.now(dt.UTC), seconds])
        for table in ("sim_listeners", "sim_eligible", "sim_edges", "sim_pairs", "sim_scored"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    log.info("similarity of dump %s: %d artists, %d pairs in %.1f s", dump_id[:12], n_artists, pairs, seconds)
    return SimilarityResult(dump_id=dump_id, users=users, artists=n_artists, pairs=pairs, neighbors=neighbors,
                            catalogue_pairs=cat_pairs, seconds=seconds, params=params)


def build(dump_id: str | None = None, params: SimilarityParams = SimilarityParams(),
          settings: Settings | None = None) -> SimilarityResult:
    """Open the warehouse writer and build the similarity of ``dump_id`` (default: the latest dump)."""
    with warehouse.writer(settings or get_settings()) as con:
        return build_similarity(con, dump_id, params)
