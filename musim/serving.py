"""Published read-only snapshots: what every query reads, never the writer's warehouse.

After a successful build, :func:`publish` copies the serving tables into a *new* DuckDB file under
``$MUSIM_SERVING_DIR/snapshots/`` and then swaps the ``current.duckdb`` symbolic link to it with one
atomic rename. A query that is running keeps its open file; a new query sees the whole new build; no
query ever sees half a build or waits for a writer. Each snapshot records what it serves; older snapshots are
pruned, the newest of each of the newest ``keep`` distinct served states stay (:mod:`musim.snapshots`, which also
lists them and rolls back to one; after a rollback, publishes write their snapshots without serving them until the
pin is released).
A publish killed half-way leaves a ``publish-*.partial`` file that the next publish removes
(:func:`clean_leftovers`; a partial file whose writer is alive is left alone, see :mod:`musim.scratch`).

Open the current snapshot yourself with ``duckdb -readonly $MUSIM_HOME/serving/current.duckdb``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from musim import scratch, snapshots, sql, warehouse
from musim.config import Settings, get_settings, make_folder
from musim.cooccurrence import choose_engine, fetch_columns, int32_column, symmetric_pairs
from musim.errors import NotFoundError, QualityError, StorageError
from musim.names import NAME_KEY_RULE, name_key

log = logging.getLogger(__name__)

CURRENT = snapshots.CURRENT
PARTIAL_PREFIX = "publish-"
"""Snapshots being written: ``snapshots/publish-<pid>-<random>.partial`` (+ ``.wal``), owned by a lock."""
LINK_PREFIX = snapshots.LINK_PREFIX
SNAPSHOT_MODE = 0o444
"""A published snapshot is read-only on disk: a client that opens it read-write by mistake (which would lock every
reader out, ``musim similar`` and ``musim sql`` included) is refused by the file system, unless it runs as root.
Pruning removes it all the same (removal needs the folder's permission, not the file's)."""


class NothingPublished(NotFoundError):
    """No snapshot has been published yet (the message says how to publish co-listening similarity; a caller that
    serves something else says how to publish that)."""


def current_path(settings: Settings | None = None) -> Path:
    """The file the ``current.duckdb`` link points to; :class:`NothingPublished` if nothing was published yet."""
    settings = settings or get_settings()
    link = settings.serving_dir / CURRENT
    if link.is_symlink() and not link.exists():
        raise StorageError(f"the published snapshot {link} points to {settings.serving_dir / os.readlink(link)}, which "
                           "is missing (deleted by hand?): publish a new one from the warehouse with `musim publish`")
    if not link.exists():
        raise NothingPublished(
            f"nothing has been published under {settings.serving_dir} yet: run `musim similarity build` "
            "(or the artist_similarity DAG) first")
    return link.resolve()


def open_snapshot(settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the current published snapshot. A publish that swaps ``current.duckdb`` and prunes
    the snapshot it pointed to between the link's reading and the file's opening (a publish of the same state
    replaces its identical predecessor) is followed: the snapshot served now is opened."""
    settings = settings or get_settings()
    for followed in range(1, snapshots.SWAPS_FOLLOWED + 1):
        path = current_path(settings)
        try:
            return warehouse.connect(path, read_only=True, settings=settings)
        except Exception:
            if path.exists() or followed == snapshots.SWAPS_FOLLOWED:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _refuse_failed_quality(con: duckdb.DuckDBPyConnection) -> None:
    """A similarity build whose latest quality check failed, or a gated build whose check never finished, is never
    published; nor is a build of a dump the ingest gate refuses (``sql/similarity/failed_ingest_checks.sql``, as
    ``musim similarity build`` refuses to build it: its latest ``lastfm_plays`` or ``lastfm_profiles`` check failed,
    or the latest ``artists`` check failed judging it or the whole catalogue) (force to override)."""
    row = sql.query(con, "serving/failed_quality.sql").fetchone()
    if row is not None and row[0] is None:
        raise QualityError(
            f"the similarity build of dump {row[1][:12]} has not been checked: its quality check did not finish "
            "(killed?), so nothing was published and the previous snapshot keeps serving. Check it (`musim quality "
            f"check --dataset similarity --dump {row[1][:12]}`), then publish; or publish it anyway "
            "(`musim publish --force`).")
    if row is not None:
        raise QualityError(
            f"the similarity build of dump {row[1][:12]} failed its quality check (run {row[0]}: "
            f"`musim quality report --run {row[0]}`); nothing was published and the previous snapshot keeps "
            f"serving. Rebuild it once the cause is fixed (other thresholds: `musim similarity build --dump "
            f"{row[1][:12]} ...`), leave that dump out (`musim similarity drop --dump {row[1][:12]}`), or publish it "
            "anyway (`musim publish --force`).")
    # the ingest gate, the rule `musim similarity build` keeps (one definition): for every dump with a build
    row = sql.query(con, "similarity/failed_ingest_checks.sql", dump_id=None).fetchone()
    if row is not None and row[1] == "artists":
        raise QualityError(
            f"the artist catalogue failed its ingest quality check (artists, run {row[2]}: `musim quality report "
            f"--run {row[2]}`), which holds back the similarity build of dump {row[0][:12]}; nothing was published "
            "and the previous snapshot keeps serving. Check it again once the cause is fixed (`musim quality check "
            "--dataset artists`), or publish anyway (`musim publish --force`).")
    if row is not None:
        raise QualityError(
            f"the Last.FM data of dump {row[0][:12]} failed its ingest quality check ({row[1]}, run {row[2]}: "
            f"`musim quality report --run {row[2]}`); nothing was published and the previous snapshot keeps serving. "
            f"Check it again once the cause is fixed (`musim quality check --dataset {row[1]} --dump {row[0][:12]}`), "
            f"leave that dump out (`musim similarity drop --dump {row[0][:12]}`), or publish it anyway "
            "(`musim publish --force`).")


def publish(con: duckdb.DuckDBPyConnection, settings: Settings | None = None, *, keep: int = 3,
            force: bool = False) -> Path:
    """Write a new snapshot from the warehouse connection ``con`` and make it current; return its path.

    While a rollback holds (:class:`musim.snapshots.Pin`) the snapshot is written and kept but ``current.duckdb``
    stays on the pinned one, and a warning says so in one line (:func:`musim.snapshots.served` tells a caller
    whether its snapshot is served). Refuses (:class:`~musim.errors.QualityError`) while the latest quality check of
    a similarity build, of its dump's Last.FM data or of the artist catalogue failed, unless ``force``.
    """
    settings = settings or get_settings()
    if not force:
        _refuse_failed_quality(con)
    folder = snapshots.snapshots_dir(settings)
    make_folder(folder, "MUSIM_SERVING_DIR (or MUSIM_HOME)")
    warehouse.refuse_question_mark(folder, "MUSIM_SERVING_DIR (or MUSIM_HOME)")
    current = settings.serving_dir / CURRENT
    if current.is_dir() and not current.is_symlink():  # the link could not be made: refused before a snapshot is written
        raise warehouse.folder_at(current, settings)
    clean_leftovers(settings)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    final = folder / f"snapshot-{stamp}.duckdb"
    with scratch.owned_scratch(folder, PARTIAL_PREFIX) as base:
        partial = base.with_name(base.name + ".partial")
        sql.run(con, "serving/attach.sql", path=str(partial))
        try:
            try:
                dumps = sql.query(con, "similarity/built_dumps.sql").fetchall()
                key_artist_names(con)
                with _laid_out_pairs(con, [seq for _, seq in dumps], choose_engine()) as laid_out:
                    with warehouse.in_order(con):  # the small tables, while the first dump's pairs are laid out
                        sql.run(con, "serving/publish.sql")
                    for (_, seq), rows in zip(dumps, laid_out, strict=True):
                        _publish_pair_lookup(con, seq, rows)
                _publish_extras(con)
            except BaseException as exc:
                _detach_after(con, exc)
                raise
            sql.run(con, "serving/detach.sql")
            _finish_snapshot(partial, settings)
        except duckdb.Error as exc:
            full = _full_serving_disk(exc, partial, settings)
            if full is None:
                raise
            raise full from exc
        partial.chmod(SNAPSHOT_MODE)
        _fsync(partial)
        os.replace(partial, final)
    _serve(final, settings, keep)
    return final


def _serve(final: Path, settings: Settings, keep: int, *, say_pinned: bool = True) -> None:
    """Make the new snapshot ``final`` current (unless a rollback pin holds: then say so, but where ``say_pinned`` is
    false, for a caller that says it in its own words) and prune."""
    folder = final.parent
    with snapshots.serving_lock(settings):
        pin = snapshots.read_pin(settings)
        if snapshots.holds(pin, settings):  # a rollback holds: written, kept, not served (say so)
            if say_pinned:
                log.warning("%s", snapshots.pinned_line(final, pin))
        else:
            why = snapshots.why_not_held(pin, settings) if pin is not None else None
            snapshots.point_current(final, settings)
            if pin is not None:  # its snapshot is gone or damaged: it held nothing
                try:
                    snapshots.remove_pin(settings)
                    log.warning("published %s and made it current: the rollback pin %s, so the pin was removed",
                                final.name, why)
                except StorageError as exc:
                    log.warning("published %s and made it current: the rollback pin %s; %s", final.name, why, exc)
        try:
            snapshots.prune(settings, keep=keep)
        except Exception as exc:  # noqa: BLE001 - the new snapshot is served: a pruning failure only warns
            log.warning("published %s; pruning failed: %s: %s (remove what blocks it under %s; `musim publish "
                        "--list` shows the snapshots)", final, type(exc).__name__, exc, folder)


def serves_tracks(path: Path, ids: list[str], settings: Settings | None = None) -> bool:
    """Whether the snapshot file ``path`` serves one of the tracks ``ids``, as a track or as a track's neighbour."""
    if not ids:
        return False
    con = warehouse.connect(path, read_only=True, settings=settings or get_settings())
    try:
        tables = {r[0] for r in sql.query(con, "library/snapshot_tables.sql").fetchall()}
        return any(sql.query(con, f"library/{name}.sql", ids=ids).fetchone()[0]
                   for table, name in (("track", "served_as_track"), ("track_neighbors", "served_as_neighbour"))
                   if table in tables)
    finally:
        con.close()


def publish_without_tracks(ids: list[str], settings: Settings | None = None, *,
                           keep: int = 3) -> tuple[Path | None, bool]:
    """After ``library remove``: publish a copy of the snapshot that serves (or would serve) the removed tracks
    ``ids`` without them, and nothing else changed (the warehouse may hold builds not published yet: they stay
    unpublished). The copy is derived from the current snapshot; while a rollback pin holds, from the newest one
    (what ``musim publish --release`` serves), and the pinned one stays served as it is. It goes through the same
    atomic swap, recorded state and pruning as :func:`publish`, but logs nothing of a pin: the caller (``musim library
    remove``) says in one note what a pin keeps serving (:func:`musim.snapshots.served` tells whether the copy is).
    Returns the snapshot written (``None``: none held the tracks, or nothing is published) and whether a rollback pin
    keeps serving a snapshot that holds them."""
    settings = settings or get_settings()
    if not ids or not (settings.serving_dir / CURRENT).is_symlink():
        return None, False
    with snapshots.serving_lock(settings):
        pin = snapshots.read_pin(settings)
        pinned = snapshots.holds(pin, settings)
        current = snapshots.current_target(settings)
        if pinned:
            source = next((s.path for s in snapshots.list_snapshots(settings) if not s.problem and not s.held), None)
        else:
            source = current
        pinned_serves = pinned and current is not None and current.is_file() and serves_tracks(current, ids, settings)
        if source is None or not source.is_file() or not serves_tracks(source, ids, settings):
            return None, pinned_serves
        original = open(source, "rb")  # noqa: SIM115 - opened under the lock: a prune cannot take it from the copy
    folder = snapshots.snapshots_dir(settings)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    final = folder / f"snapshot-{stamp}.duckdb"
    with scratch.owned_scratch(folder, PARTIAL_PREFIX) as base:
        partial = base.with_name(base.name + ".partial")
        with original, open(partial, "wb") as copy:
            shutil.copyfileobj(original, copy, 1 << 20)
        con = warehouse.configure(duckdb.connect(str(partial)), settings)
        try:
            con.begin()
            sql.run(con, "serving/unserve_tracks.sql", ids=ids)
            snapshots.record_state(con)
            con.commit()
        finally:
            con.close()
        partial.chmod(SNAPSHOT_MODE)
        _fsync(partial)
        os.replace(partial, final)
    _serve(final, settings, keep, say_pinned=False)
    return final, pinned_serves


def _detach_after(con: duckdb.DuckDBPyConnection, exc: BaseException) -> None:
    """Detach the partial snapshot after ``exc`` stopped its writing. DuckDB checkpoints it as it detaches, which
    fails again where the writing failed (a full disk): that second error is noted on ``exc`` (shown with ``-v``),
    never raised in its place."""
    try:
        sql.run(con, "serving/detach.sql")
    except duckdb.Error as second:
        exc.add_note(f"then detaching the partial snapshot failed too: {type(second).__name__}: {second}")


def _full_serving_disk(exc: duckdb.Error, partial: Path, settings: Settings) -> StorageError | None:
    """A publish that found the disk of the serving folder full, as one line with what to do (the partial
    snapshot is removed by the caller); ``None`` for any other error, a full warehouse disk included."""
    path = warehouse.full_disk(exc)
    if path is None or (path and not Path(path).resolve().is_relative_to(settings.serving_dir.resolve())):
        return None
    serves = ("the previous snapshot keeps serving" if (settings.serving_dir / CURRENT).is_symlink()
              else "nothing is served yet")
    return StorageError(f"cannot write {path or partial}: No space left on device; {serves}; free space in "
                        "MUSIM_SERVING_DIR and rerun musim publish")


def clean_leftovers(settings: Settings | None = None) -> list[Path]:
    """Remove what killed publishes left (partial snapshots, their WAL, link temps) that no live process owns.

    Done at the start of every :func:`publish`; returns the paths removed.
    """
    settings = settings or get_settings()
    folder = snapshots.snapshots_dir(settings)
    removed = scratch.sweep(folder, PARTIAL_PREFIX) + scratch.sweep(settings.serving_dir, LINK_PREFIX)
    # names of versions before the owner locks: no process owns them any more
    removed += scratch.sweep(settings.serving_dir, f".{CURRENT}.")
    if folder.is_dir():
        for old in folder.glob("snapshot-*.partial*"):
            old.unlink(missing_ok=True)
            removed.append(old)
    return removed


@contextlib.contextmanager
def _laid_out_pairs(con: duckdb.DuckDBPyConnection, seqs: list[int],
                    engine: str) -> Iterator[Iterator[pa.Table | None]]:
    """The co-listened pairs of the dumps of ``seqs`` (in order) laid out for the pair lookup by the C kernels
    (``engine`` ``c``), each read and laid out on a thread with a cursor of its own while the caller writes the
    one before (the first while it copies the small tables): a stream of Arrow tables, one dump ahead at most.
    ``None`` per dump for the DuckDB engine, which sorts them as it inserts."""
    if engine == "duckdb" or not seqs:
        yield iter([None] * len(seqs))
        return
    cursor = con.cursor()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="musim-lookup") as pool:
            first = pool.submit(_lay_out_pairs, cursor, seqs[0])

            def stream() -> Iterator[pa.Table]:
                ahead = first
                for i in range(len(seqs)):
                    rows = ahead.result()
                    ahead = pool.submit(_lay_out_pairs, cursor, seqs[i + 1]) if i + 1 < len(seqs) else None
                    yield rows

            yield stream()  # on an error in between, the layout under way finishes before its cursor closes
    finally:
        cursor.close()


def _lay_out_pairs(cursor: duckdb.DuckDBPyConnection, seq: int) -> pa.Table:
    """The stored pairs of the dump of ``seq`` in both directions, grouped by artist (one counting pass in C), each
    artist's neighbours ascending: the pairs are read in their storage order, which is pair order."""
    with warehouse.in_order(cursor):
        stored = fetch_columns(cursor, "similarity/stored_pairs.sql", dump_seq=seq)
    artist, neighbor, co = symmetric_pairs(stored["artist_a"], stored["artist_b"], stored["co_listeners"])
    return pa.Table.from_arrays([int32_column(artist), int32_column(neighbor), int32_column(co)],
                                names=["artist_id", "neighbor_id", "co_listeners"])


def _publish_pair_lookup(con: duckdb.DuckDBPyConnection, seq: int, rows: pa.Table | None) -> None:
    """Append the co-listened pairs of the dump of ``seq`` in both directions, grouped by artist, to the new
    snapshot's ``pair_lookup`` and record their rowids in ``pair_lookup_dumps``: ``rows`` laid out by the C
    kernels, or (``None``) sorted by DuckDB."""
    first_row = _lookup_rows(con)
    with warehouse.in_order(con):
        if rows is None:
            sql.run(con, "serving/publish_pair_lookup.sql", dump_seq=seq)
        else:
            with warehouse.registered(con, "pub_pair_lookup", rows):
                sql.run(con, "serving/publish_pair_lookup_laid_out.sql")
    sql.run(con, "serving/record_lookup_rows.sql", dump_seq=seq, first_row=first_row,
            row_count=_lookup_rows(con) - first_row)


def key_artist_names(con: duckdb.DuckDBPyConnection) -> int:
    """Bring ``artist_name_key`` up to date: the :func:`musim.names.name_key` of every artist that is new, renamed or
    keyed by another rule (:data:`musim.names.NAME_KEY_RULE`) since the last publish, the key ``musim similar``
    finds a name by when it is not typed as stored; return how many were keyed. Names of plain ASCII letters,
    digits and spaces are keyed in SQL (``sql/serving/stale_name_keys.sql``), the others here. A snapshot always
    holds the keys of the rule that published it."""
    sql.run(con, "serving/stale_name_keys.sql", rule=NAME_KEY_RULE)  # a cache: one cut short is keyed again
    found = sql.query(con, "serving/stale_names.sql").fetchnumpy()
    other = ~np.asarray(found["simple"], dtype=bool)
    names = np.asarray(found["name"], dtype=object)[other].tolist()
    keys = pa.table({"artist_id": pa.array(np.asarray(found["artist_id"])[other], pa.int32()),
                     "name": pa.array(names, pa.string()),
                     "name_key": pa.array([name_key(n) for n in names], pa.string())})
    with warehouse.registered(con, "pub_new_name_keys", keys):
        sql.run(con, "serving/store_name_keys.sql", rule=NAME_KEY_RULE)
    return int(other.size)


def _lookup_rows(con: duckdb.DuckDBPyConnection) -> int:
    """Rows in the new snapshot's ``pair_lookup``; they must hold rowids 0 to rows - 1, since each dump's rows are
    found by rowid range (DuckDB gives the rows one transaction appends consecutive rowids)."""
    rows, end = sql.query(con, "serving/lookup_rows.sql").fetchone()
    if rows != end:
        raise RuntimeError(f"the new snapshot's pair_lookup has {rows} rows but rowids up to {end - 1}: "
                           "its dumps' row ranges would be wrong; nothing was published")
    return int(rows)


def _publish_extras(con: duckdb.DuckDBPyConnection) -> None:
    """Serving tables of later stages (audio neighbours, models, quality results); the audio neighbours'
    cold_start flags as of the dump the snapshot serves."""
    sql.run(con, "serving/publish_extras.sql")
    if sql.query(con, "serving/has_audio_neighbors.sql").fetchone()[0]:
        sql.run(con, "serving/refresh_cold_start.sql")


#: The named views of the audio neighbours: (SQL file, {table it reads: the columns it needs}).
_AUDIO_VIEWS = (
    ("serving/audio_artist_view.sql",
     {"artist_neighbors_audio": {"model_version", "artist_id", "neighbor_id", "rank", "score", "cold_start"},
      "artist": {"artist_id", "name"}}),
    ("serving/audio_track_view.sql",
     {"track_neighbors": {"model_version", "track_id", "neighbor_track_id", "rank", "score"},
      "track": {"track_id", "title", "artist_id"}, "artist": {"artist_id", "name"}}),
)


def _finish_snapshot(path: Path, settings: Settings) -> None:
    """The views (the five metrics, top-K neighbours, audio neighbours with names), lookup indexes and what each
    relation is (COMMENT ON), created on the snapshot's own connection so that they name its tables. One
    transaction: each of its ~80 statements committed on its own took a third of this step's time (half a second at
    full scale), and one cut short leaves none of them."""
    con = warehouse.configure(duckdb.connect(str(path)), settings)
    try:
        con.begin()
        sql.run(con, "serving/snapshot_lookups.sql")
        sql.run(con, "similarity/views.sql")
        for view, needs in _AUDIO_VIEWS:  # over the layout of migrations 004 and 008 (not another stage's)
            if all(columns <= {c for (c,) in sql.query(con, "serving/columns_of.sql", table=table).fetchall()}
                   for table, columns in needs.items()):
                sql.run(con, view)
        sql.run(con, "serving/comments.sql")
        snapshots.record_state(con)
        con.commit()
    finally:
        con.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)



def serves_build(con: duckdb.DuckDBPyConnection, dump_id: str, settings: Settings | None = None) -> bool:
    """Whether the current snapshot serves the warehouse's (connection ``con``) similarity build of ``dump_id``: the
    same build, made at the same time. False when nothing is published or the current snapshot cannot be read."""
    built_at = sql.query(con, "similarity/built_at.sql", dump_id=dump_id).fetchone()
    try:
        snap = open_snapshot(settings)
    except (NotFoundError, StorageError):
        return False
    try:
        served = sql.query(snap, "similarity/built_at.sql", dump_id=dump_id).fetchone()
    except duckdb.Error:
        return False
    finally:
        snap.close()
    return built_at is not None and served == built_at


def serves_builds(con: duckdb.DuckDBPyConnection, results: list[dict]) -> bool:
    """Whether a publish after builds ``results`` (``SimilarityResult.to_json()`` each) would add nothing: none of
    them built anything, and the current snapshot serves each build that stood (:func:`serves_build`)."""
    return all(r["built_before"] for r in results) and all(serves_build(con, r["dump_id"]) for r in results)
