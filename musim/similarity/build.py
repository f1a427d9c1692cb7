"""Build the similarity tables of one dump: listeners, co-listened pairs (stored once), catalogue pairs.

Each co-listened pair of eligible artists is stored once with its co-listener count (``artist_pairs``);
with the listeners per artist and the dump's user count, that is all the five metrics need: they and the
top-K neighbours are derived at query time (``sql/similarity/views.sql``: the ``artist_neighbors`` and
``similar_artists`` views; ``musim similar`` scores one artist's pairs). The build runs in one
transaction: the previous build of the same dump stays visible until the new one commits. The heavy part
is counting co-listeners of every pair (:mod:`musim.similarity.colisten`: a C sparse accumulator, or
DuckDB's self-join in ``sql/similarity/pairs.sql``); see
``benchmarks/bench_similarity.py`` for how the whole build compares with implicit and what was tried.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import duckdb

from musim import sql, warehouse
from musim.config import Settings, get_settings
from musim.cooccurrence import choose_engine
from musim.errors import NotFoundError, ParameterError, QualityError, refuse_blank
from musim.similarity import fingerprint, listed_dumps
from musim.similarity.colisten import prepare_edges, store_catalogue_pairs, store_pairs
from musim.similarity.params import SimilarityParams

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimilarityResult:
    dump_id: str
    users: int
    artists: int
    pairs: int
    neighbors: int | None  # rows the artist_neighbors view serves (top k x 5 metrics per artist), not stored;
    # None when nothing was built (``built_before``): not recounted
    catalogue_pairs: int
    seconds: float
    params: SimilarityParams
    engine: str = "c"  # what counted the pairs: c or duckdb (musim.cooccurrence)
    #: When nothing was built because the dump already had a build of these parameters: that build's time (ISO).
    built_before: str | None = None
    check_run: str | None = None  # the quality check the build passed: the gate of `musim similarity build`, or
    # with built_before the one it passed then (None: not checked)
    #: The fingerprint of the code that made the build (musim.similarity.fingerprint; None: recorded before 024).
    code_fingerprint: str | None = None
    #: Why a build of these parameters that stood was made again: it was made by other code (None otherwise).
    rebuilt_because: str | None = None

    def describe_existing(self) -> str:
        """One line: which build stands, when it was made, its check, and how to rebuild it anyway."""
        checked = f"quality check {self.check_run} passed" if self.check_run else "not quality-checked"
        p = self.params
        return (f"dump {self.dump_id[:12]} already has a similarity build with these parameters (min_listeners="
                f"{p.min_listeners}, min_co_listeners={p.min_co_listeners}, k={p.k}, catalogue_size={p.catalogue_size}"
                f"), built {self.built_before} by this code (fingerprint {fingerprint.short(self.code_fingerprint)}), "
                f"{checked}: nothing rebuilt (--force rebuilds it)")

    def to_json(self) -> dict:
        out = asdict(self)
        out["params"] = asdict(self.params)
        return out


def resolve_dump(con: duckdb.DuckDBPyConnection, dump_id: str | None) -> str:
    """The full id of ``dump_id`` (a unique prefix is enough), or of the latest dump when None; an empty one is
    refused (:class:`~musim.errors.ParameterError`: it would be a prefix of every dump)."""
    refuse_blank(dump_id, "the dump id", "a dump id or unique prefix (`musim dumps`), or none for the latest")
    if dump_id is None:
        row = sql.query(con, "similarity/latest_dump.sql").fetchone()
        if row is None:
            raise NotFoundError("no dump has been ingested yet: run `musim ingest lastfm PATH` first")
        return row[0]
    rows = sql.query(con, "similarity/dumps_with_prefix.sql", prefix=dump_id).fetchall()
    if len(rows) > 1:  # the ones it matches, not every dump: more digits of one of them tell it apart
        raise NotFoundError(f"dump id {dump_id!r} matches several dumps: {listed_dumps([r[0] for r in rows])}; give "
                            "more of its digits")
    if not rows:
        known = [r[0] for r in sql.query(con, "similarity/dumps.sql").fetchall()]
        raise NotFoundError(f"dump id {dump_id!r} matches no dump; known dumps: {listed_dumps(known)}")
    return rows[0][0]


def existing_build(con: duckdb.DuckDBPyConnection, dump_id: str, params: SimilarityParams, *,
                   gated: bool = False) -> SimilarityResult | None:
    """The build of ``dump_id`` that a build with ``params`` would only repeat, as a result with ``built_before``
    set; None when one must be made: the dump has no build, or one of other parameters, or its quality check
    failed or never finished (``gated``: or it was never checked, since a gated build is published only once
    checked). The result carries the fingerprint of the code that made it (``code_fingerprint``; None: recorded
    before migration 024): :func:`build_similarity` lets it stand only for the same code. Such a build is made again
    rather than only checked again: the dump and parameters are the same, but
    a failed check may be the build's own fault (fixed since), and a new build is checked anyway."""
    started = time.perf_counter()
    row = sql.query(con, "similarity/same_build.sql", dump_id=dump_id, min_listeners=params.min_listeners,
                    min_co_listeners=params.min_co_listeners, k=params.k,
                    catalogue_size=params.catalogue_size).fetchone()
    if row is None:
        return None
    built_at, check_run, check_passed, servable, users, artists, pairs, built_by = row
    if not (check_passed or (servable and not gated)):
        return None
    catalogue_pairs = sql.query(con, "similarity/catalogue_count.sql", dump_id=dump_id).fetchone()[0]
    stamp = built_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return SimilarityResult(dump_id=dump_id, users=users, artists=artists, pairs=pairs, neighbors=None,
                            catalogue_pairs=catalogue_pairs, seconds=time.perf_counter() - started, params=params,
                            engine="none", built_before=stamp, check_run=check_run if check_passed else None,
                            code_fingerprint=built_by)


def refuse_failed_ingest_check(con: duckdb.DuckDBPyConnection, dump_id: str) -> None:
    """Raise :class:`~musim.errors.QualityError` when the dump fails the ingest gate (the ``lastfm_ingest`` DAG's:
    ``lastfm_plays``, ``lastfm_profiles``, ``artists``; ``sql/similarity/failed_ingest_checks.sql``, the rule every
    publish keeps too): such a dump is not built (``force`` builds it anyway). A dump never checked is refused only
    by a failed check of the whole artist catalogue."""
    failed = [(dataset, run_id) for _, dataset, run_id in
              sql.query(con, "similarity/failed_ingest_checks.sql", dump_id=dump_id).fetchall()]
    if not failed:
        return
    which = ", ".join(f"{dataset} (run {run_id})" for dataset, run_id in failed)
    datasets = " ".join(f"--dataset {dataset}" for dataset, _ in failed)
    raise QualityError(
        f"dump {dump_id[:12]} failed its ingest quality check: {which} (`musim quality report --run {failed[0][1]}`); "
        f"nothing was built or published and the previous snapshot keeps serving. Fix the cause and check it again "
        f"(`musim quality check {datasets} --dump {dump_id[:12]}`), then build; or build it anyway (`musim "
        f"similarity build --dump {dump_id[:12]} --force`)",
        run_id=failed[0][1], failed=[dataset for dataset, _ in failed])


def other_code(dump_id: str, built_by: str | None, code: str) -> str:
    """One line: the build of ``dump_id`` that stands was made by other code than ``code`` (fingerprints, or none
    recorded), so it is made again."""
    if built_by is None:
        return (f"dump {dump_id[:12]}: its similarity build with these parameters was recorded before builds "
                f"recorded their code (no fingerprint; this code's is {fingerprint.short(code)}…): rebuilding")
    return (f"dump {dump_id[:12]}: its similarity build with these parameters was built by other code (fingerprint "
            f"{fingerprint.short(built_by)}… vs {fingerprint.short(code)}…): rebuilding")


def build_similarity(con: duckdb.DuckDBPyConnection, dump_id: str | None = None,
                     params: SimilarityParams | None = None, engine: str | None = None, *,
                     gated: bool = False, force: bool = False) -> SimilarityResult:
    """Compute and store the similarity tables of a dump on the writer connection ``con``.

    A dump that already has a build of the same ``params`` (checked, see :func:`existing_build`) made by this code
    (:func:`musim.similarity.fingerprint.code_fingerprint`) is not built again: the result says so
    (``built_before``), unless ``force``. One made by other code, or before builds recorded theirs, is built again
    (``rebuilt_because`` says so).

    ``gated``: the similarity quality suite checks the build before it is published (the CLI's gate, the DAG's
    ``check_quality``); until a check is recorded, :func:`musim.serving.publish` refuses it.

    A dump whose latest ingest quality check failed (:func:`refuse_failed_ingest_check`) is refused
    (:class:`~musim.errors.QualityError`), as the ``lastfm_ingest`` DAG quarantines it, unless ``force``.

    ``engine`` counts the co-listened pairs: ``c`` or ``duckdb`` (default: ``$MUSIM_SIMILARITY_ENGINE``,
    else ``c`` where it is built; :mod:`musim.similarity.colisten`).
    """
    started = time.perf_counter()
    params = params or SimilarityParams()
    dump_id = resolve_dump(con, dump_id)
    if not force:
        refuse_failed_ingest_check(con, dump_id)
    code, rebuilt_because = fingerprint.code_fingerprint(), None
    if not force and (existing := existing_build(con, dump_id, params, gated=gated)) is not None:
        if existing.code_fingerprint == code:
            log.info("%s", existing.describe_existing())
            return existing
        rebuilt_because = other_code(dump_id, existing.code_fingerprint, code)
        log.info("%s", rebuilt_because)
    engine, threads = choose_engine(engine), get_settings().warehouse.threads
    with warehouse.transaction(con):
        sql.run(con, "similarity/views.sql")
        with _perfect_hash(con):
            sql.run(con, "similarity/listeners.sql", dump_id=dump_id, min_listeners=params.min_listeners)
            users = sql.query(con, "similarity/users.sql", dump_id=dump_id).fetchone()[0]
        n_artists = sql.query(con, "similarity/eligible_count.sql").fetchone()[0]
        dump_seq = sql.query(con, "similarity/dump_seq.sql", dump_id=dump_id).fetchone()[0]
        sql.run(con, "similarity/clear_dump.sql", dump_id=dump_id, dump_seq=dump_seq)
        sql.run(con, "similarity/catalogue.sql", catalogue_size=params.catalogue_size)
        edges, catalogue_edges = prepare_edges(con, dump_id, engine)
        summary = store_pairs(con, dump_seq, edges, params.min_co_listeners, params.k, threads)
        pairs, seed_raw_max = summary.pairs, summary.seed_raw_max
        if pairs == 0:  # the transaction is rolled back: the dump's earlier build, if any, stays
            raise ParameterError(_no_pairs(con, dump_id, n_artists, params))
        sql.run(con, "similarity/store_listeners.sql", dump_id=dump_id)
        seed_raw_max = store_catalogue_pairs(con, dump_id, users, seed_raw_max, catalogue_edges, threads)
        cat_pairs = sql.query(con, "similarity/catalogue_count.sql", dump_id=dump_id).fetchone()[0]
        catalogue = min(params.catalogue_size, n_artists)
        seconds = time.perf_counter() - started
        sql.run(con, "similarity/record_build.sql", dump_id=dump_id, min_listeners=params.min_listeners,
                min_co_listeners=params.min_co_listeners, k=params.k, users=users, artists=n_artists, pairs=pairs,
                seed_raw_max=seed_raw_max, catalogue=catalogue, built_at=dt.datetime.now(dt.UTC), seconds=seconds,
                gated=gated, code_fingerprint=code)
        sql.run(con, "similarity/drop_scratch.sql")
    log.info("similarity of dump %s: %d artists, %d pairs in %.1f s (pairs counted by %s)", dump_id[:12], n_artists,
             pairs, seconds, engine)
    return SimilarityResult(dump_id=dump_id, users=users, artists=n_artists, pairs=pairs, neighbors=summary.neighbors,
                            catalogue_pairs=cat_pairs, seconds=seconds, params=params, engine=engine,
                            code_fingerprint=code, rebuilt_because=rebuilt_because)


#: Bits of an id range that DuckDB groups in a perfect hash table during a build (sql/similarity/perfect_hash.sql):
#: ids up to ~1M (2^20), at most ~40 MiB of aggregate states per thread.
PERFECT_HASH_BITS = 20


@contextlib.contextmanager
def _perfect_hash(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The block's aggregates over dense ids (the listeners per artist, the users of a dump) in perfect hash tables
    (``sql/similarity/perfect_hash.sql``); DuckDB's default again afterwards. A block that fails leaves its
    transaction aborted, where DuckDB runs no statement, not even a RESET: the setting then stays on the connection
    (a faster grouping, memory bounded by the bits) and the block's error is the one raised."""
    sql.run(con, "similarity/perfect_hash.sql", bits=PERFECT_HASH_BITS)
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.TransactionException):
            sql.run(con, "similarity/perfect_hash_off.sql")


def drop_build(con: duckdb.DuckDBPyConnection, dump_id: str) -> str:
    """Remove the similarity build of ``dump_id`` (an id or unique prefix) from the warehouse; return its full id.

    The dump's plays stay; a later :func:`build_similarity` builds it again. Raises :class:`NotFoundError` when the
    dump has no build."""
    dump_id = resolve_dump(con, dump_id)
    if not sql.query(con, "similarity/built_dumps_with_prefix.sql", prefix=dump_id).fetchall():
        built = [r[0] for r in sql.query(con, "similarity/built_dumps.sql").fetchall()]
        raise NotFoundError(f"dump {dump_id[:12]} has no similarity build to drop; built: {listed_dumps(built)}")
    dump_seq = sql.query(con, "similarity/dump_seq.sql", dump_id=dump_id).fetchone()[0]
    with warehouse.transaction(con):
        sql.run(con, "similarity/clear_dump.sql", dump_id=dump_id, dump_seq=dump_seq)
    return dump_id


def _no_pairs(con: duckdb.DuckDBPyConnection, dump_id: str, n_artists: int, params: SimilarityParams) -> str:
    with_listeners, most = sql.query(con, "similarity/listener_range.sql").fetchone()
    if with_listeners == 0:
        return (f"dump {dump_id[:12]} has no plays above 0 of a named artist: nothing to build similarity from; "
                "nothing was stored (check the dump: `musim rejects`, `musim dumps`)")
    return (f"no co-listened pairs in dump {dump_id[:12]} with min_listeners={params.min_listeners} and "
            f"min_co_listeners={params.min_co_listeners}: {n_artists:,} of its {with_listeners:,} artists have that many "
            f"listeners (the most has {most:,}); nothing was stored. Lower --min-listeners or --min-co-listeners")


def build(dump_id: str | None = None, params: SimilarityParams | None = None,
          settings: Settings | None = None, *, gated: bool = False, force: bool = False) -> SimilarityResult:
    """Open the warehouse writer and build the similarity of ``dump_id`` (default: the latest dump), unless it has
    a build of these parameters already (``force``: build it anyway; :func:`build_similarity`)."""
    with warehouse.writer(settings or get_settings()) as con:
        return build_similarity(con, dump_id, params, gated=gated, force=force)
