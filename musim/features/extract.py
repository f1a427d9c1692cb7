"""Batch feature extraction: previews in the object store -> tensors in the object store, rows in the warehouse.

Three steps, so that Airflow can map the middle one over batches while one writer owns the warehouse:

1. :func:`plan_build` (warehouse writer): registers a run, copies results of identical audio already
   computed for another track, and lists the distinct audio still to compute for the wanted extractors
   (every track of ``track`` without a result or a final rejection for the same parameters).
2. :func:`musim.features.pool.compute` / :func:`musim.features.staged.compute_batch` (no warehouse): streams each preview from the object store,
   decodes it once (its excerpt window for local whole tracks) and computes every wanted extractor in a
   pool of worker processes on all cores; writes each tensor as a float16 ``.npy`` under a key holding
   the parameter hash and the sha256 of its bytes (``features/mel/<hash>/<audio_id>.<sha256>.npy``: never
   written over with other values). Unusable audio becomes a rejection with the library's reason
   (:data:`musim.library.formats.SKIP_REASONS`: empty, not_audio, undecodable, truncated, too_short, silent)
   instead of stopping the batch.
3. :func:`record` + :func:`complete_build` (warehouse writer): inserts the rows (idempotent), closes the
   run, materialises derived views and, once the features quality gate passed, publishes the online
   snapshots (:mod:`musim.features.release`: record → gate → publish).

:func:`build` runs all three in this process (``musim features build``); a second build with nothing new
does nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from musim import sql, warehouse
from musim.errors import NotFoundError, ParameterError
from musim.features.builds import INTERRUPTED, warehouse_heartbeat
from musim.features.params import Extractor, key_digest
from musim.features.pool import compute, rows_of
from musim.features.registry import FeatureView
from musim.features.release import Gate, gate_build, record_gate, release, require_gate
from musim.features.work import BuildOptions, BuildResult, ItemResult, Plan, WorkItem
from musim.progress import progress_bar
from musim.storage import ObjectNotFound, ObjectStore, open_store

log = logging.getLogger(__name__)

__all__ = ["Recorded", "build", "closed_as", "complete_build", "extractors_for", "plan_build", "record", "select_views"]

# -- choosing what to compute ------------------------------------------------------------------------
def select_views(names: Sequence[str] | None) -> list[FeatureView]:
    """The code-defined views called ``names`` (``name`` or ``name:version``), then every view derived from them
    (``artist_descriptors_mean`` of ``track_descriptors``): a derived view is materialised again when its input
    changes, or it would lag behind it, and the features gate's training frames read both; all when None or empty."""
    from musim.features import definitions

    if not names:
        return list(definitions.VIEWS)
    out: list[FeatureView] = []
    for name in names:
        found = [v for v in definitions.VIEWS if name in (v.name, v.ref)]
        if not found:
            known = ", ".join(v.ref for v in definitions.VIEWS)
            raise NotFoundError(f"no feature view {name!r} is defined; defined: {known}")
        chosen = max(found, key=lambda v: v.version)
        if chosen not in out:
            out.append(chosen)
    for view in out:  # grows while it is walked: the views derived from derived views too
        out += [v for v in definitions.VIEWS if view.ref in v.source.inputs and v not in out]
    return out


def extractors_for(views: Iterable[FeatureView]) -> list[Extractor]:
    """Distinct extractors the views need (a derived view needs its input's), in a stable order."""
    from musim.features import definitions

    by_ref = {v.ref: v for v in definitions.VIEWS}
    found: dict[str, Extractor] = {}
    for view in views:
        todo = [view]
        while todo:
            v = todo.pop()
            if v.source.extractor is not None:
                found.setdefault(v.source.extractor.params_hash, v.source.extractor)
            for ref in v.source.inputs:
                if ref not in by_ref:
                    raise NotFoundError(f"view {v.ref} reads {ref}, which is not defined in code")
                todo.append(by_ref[ref])
    return sorted(found.values(), key=lambda e: (e.kind, e.params_hash))


# -- 1. plan -------------------------------------------------------------------------------------------
def _arrow_want(extractors: Sequence[Extractor]) -> Any:
    import pyarrow as pa

    return pa.table({"kind": pa.array([e.kind for e in extractors], pa.string()),
                     "params_hash": pa.array([e.params_hash for e in extractors], pa.string())})


def plan_build(con: duckdb.DuckDBPyConnection, extractors: Sequence[Extractor], *,
               limit: int | None = None, run_id: str | None = None,
               views: Sequence[str] = (), min_duration_s: float = BuildOptions.min_duration_s,
               heartbeat_key: str | None = None, recompute: Sequence[str] = ()) -> Plan:
    """Register a run and list what it must compute (see the module docstring); one transaction.

    ``min_duration_s`` is the run's shortest usable audio: a 'too short' rejection recorded under a longer
    threshold is examined again, and this run's rejections keep it. Planning is the run's first heartbeat;
    ``heartbeat_key``: where its compute tasks beat in the object store, when they cannot in the warehouse
    (:mod:`musim.features.builds`). ``recompute``: track ids computed again from their audio whatever they hold
    (their new rows replace theirs of the same audio when recorded with ``replace``: :func:`record`); NotFoundError
    when one names no track.
    """
    if not extractors:
        raise ParameterError("nothing to extract: no view with an extraction source was selected")
    recompute = list(dict.fromkeys(recompute))
    if recompute:
        unknown = sql.query(con, "features/unknown_tracks.sql", track_ids=recompute).fetchone()[0] or []
        if unknown:
            raise NotFoundError(f"no track {', '.join(unknown)} in the warehouse: `musim features build --recompute` "
                                "takes the track ids the features quality report names")
    run_id = run_id or f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    now = dt.datetime.now(dt.UTC)
    with warehouse.transaction(con):
        for ex in extractors:
            sql.run(con, "features/register_params.sql", params_hash=ex.params_hash, kind=ex.kind,
                    params=json.dumps(ex.params.to_dict()))
        with warehouse.registered(con, "fs_want", _arrow_want(extractors)):
            sql.run(con, "features/tracks.sql")
            sql.run(con, "features/plan.sql", run_id=run_id, now=now, min_duration_s=float(min_duration_s),
                    recompute=recompute)
        rows = sql.query(con, "features/plan_items.sql").fetchall()
        items = [WorkItem(a, s, k, 0.0 if whole else float(off), None if whole else float(dur),
                          tuple(tids), tuple(exs)) for a, s, k, whole, off, dur, tids, exs in rows]
        if limit is not None:
            items = items[:limit]
        lines = sql.query(con, "features/preview_lines.sql").fetchall()
        preview_set = hashlib.sha256("\n".join(r[0] for r in lines).encode()).hexdigest()[:16]
        dump = sql.query(con, "features/lineage_dump.sql").fetchone()
        dump = dump if dump and dump[0] else None
        reused = sql.query(con, "features/reused.sql", run_id=run_id, now=now).fetchone()[0]
        sql.run(con, "features/start_build.sql", run_id=run_id,
                extractors=json.dumps([{"kind": e.kind, "params_hash": e.params_hash} for e in extractors]),
                tracks=len(lines), items_planned=len(items), reused=reused, preview_set=preview_set,
                dump_id=dump[0] if dump else None, min_duration_s=float(min_duration_s), now=now,
                heartbeat_key=heartbeat_key)
    return Plan(run_id, list(extractors), items, len(lines), int(reused), preview_set,
                dump[0] if dump else None, list(views))


# -- 3. record -----------------------------------------------------------------------------------------
def _arrow_rows(rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    import pyarrow as pa

    s = pa.string()
    base = [("kind", s), ("params_hash", s), ("track_id", s), ("sha256", s), ("audio_id", s)]
    schemas = {
        "mel": pa.schema(base + [("object_key", s), ("shape", pa.list_(pa.int32())), ("dtype", s),
                                 ("min_db", pa.float64()), ("max_db", pa.float64()), ("bytes", pa.int64())]),
        "desc": pa.schema(base + [("vec", pa.list_(pa.float64())), ("tonic_pc", pa.int16()), ("key_name", s)]),
        "reject": pa.schema(base + [("reason", s), ("detail", s)]),
    }
    return {name: pa.Table.from_pylist(rows.get(name, []), schema=schemas[name]) for name in schemas}


@dataclass(frozen=True)
class Recorded:
    """What :func:`record` kept as it was: ``unchanged`` feature rows (a recompute found the values they hold:
    they keep their build and moment, and are not the run's computed rows) and ``skipped`` tracks (a recompute whose
    preview is missing from the object store: nothing was computed, their rows stay)."""

    unchanged: int = 0
    skipped: int = 0

    def __add__(self, other: Recorded) -> Recorded:
        return Recorded(self.unchanged + other.unchanged, self.skipped + other.skipped)


def _rows_of_equal_bytes(con: duckdb.DuckDBPyConnection, store: ObjectStore | None, *,
                         replace: bool) -> dict[tuple[str, str, str, str], str]:
    """The tensor rows of ``fs_in_mel`` whose bytes equal those of the row they replace, when that row's key holds no
    digest (made before keys named their content): ``{(kind, params_hash, track_id, new key): old key}``. Each such
    old object is read once and its bytes' sha256 compared with the new key's digest.

    A row without a digest is judged on its content, not taken as changed: a recompute of unchanged audio would
    otherwise give every such row a new build and moment (and a history row) for values that never changed, and count
    them computed. An old object that is gone is changed (its row served nothing); one that cannot be read stops the
    batch (nothing of it is recorded; the next build tries again)."""
    rows = sql.query(con, "features/legacy_replaced.sql", replace=replace).fetchall()
    if not rows:
        return {}
    store = store or open_store()
    digests: dict[str, str | None] = {}
    equal: dict[tuple[str, str, str, str], str] = {}
    for kind, params_hash, track_id, new_key, old_key in rows:
        if old_key not in digests:
            try:
                digests[old_key] = hashlib.sha256(store.get_bytes(old_key)).hexdigest()
            except ObjectNotFound:
                digests[old_key] = None
        if digests[old_key] is not None and digests[old_key] == key_digest(new_key):
            equal[(kind, params_hash, track_id, new_key)] = old_key
    return equal


def record(con: duckdb.DuckDBPyConnection, run_id: str, rows: dict[str, list[dict[str, Any]]],
           *, now: dt.datetime | None = None, replace: bool = False, store: ObjectStore | None = None) -> Recorded:
    """Insert the rows of computed results (one transaction; rerunning it changes nothing); a heartbeat of the run.

    ``replace`` (a build that recomputes named tracks): a new row replaces the row of the same track, parameters
    and audio, and a new rejection the value of the same audio; what they replace stays readable as of its time
    (``feature_superseded``, migration 033), and a new row equal to the old one keeps the old one as it was (its
    moment and build). Tensors are equal when their keys are: a key names its bytes' digest
    (:meth:`~musim.features.params.Extractor.object_key`); an old row whose key has none is compared by reading its
    object from ``store`` (default :func:`~musim.storage.open_store`) once (:func:`_rows_of_equal_bytes`). Returns
    what was kept as it was (:class:`Recorded`)."""
    tables = _arrow_rows(rows)
    beat = dt.datetime.now(dt.UTC)
    try:
        with warehouse.transaction(con):
            for name, table in tables.items():
                con.register(f"fs_in_{name}", table)
            equal = _rows_of_equal_bytes(con, store, replace=replace)
            if equal:  # found again: the row keeps its old key, so record.sql keeps it as it was
                mel = [{**r, "object_key": equal.get((r["kind"], r["params_hash"], r["track_id"], r["object_key"]),
                                                     r["object_key"])} for r in rows.get("mel", [])]
                tables["mel"] = _arrow_rows({"mel": mel})["mel"]
                con.unregister("fs_in_mel")
                con.register("fs_in_mel", tables["mel"])
            kept = sql.query(con, "features/missing_kept.sql").fetchall()
            for track_id, detail in kept:
                log.warning("track %s was not computed again: %s; its rows stay as they were (restore the object, "
                            "or `musim library add` a library track's file again, then rebuild)", track_id, detail)
            unchanged = sql.query(con, "features/unchanged.sql", run_id=run_id, replace=replace).fetchone()[0]
            sql.run(con, "features/record.sql", run_id=run_id, now=now or beat, replace=replace)
            sql.run(con, "features/heartbeat.sql", run_id=run_id, now=beat)
    finally:
        for name in tables:
            con.unregister(f"fs_in_{name}")
    return Recorded(int(unchanged), len(kept))


def closed_as(exc: BaseException) -> str:
    """The status a build stopped by ``exc`` closes with: ``interrupted`` for Ctrl-C (KeyboardInterrupt, or DuckDB's
    interrupt of the query it was in), ``failed`` for any other error. What it recorded stays either way."""
    stopped = isinstance(exc, KeyboardInterrupt | duckdb.InterruptException)
    return INTERRUPTED if stopped else "failed"


def complete_build(con: duckdb.DuckDBPyConnection, run_id: str, *, views: Sequence[FeatureView] | None = None,
                   materialise: bool = True, publish: bool = True, gate: Gate | None = None,
                   skip_quality: bool = False, started: float | None = None,
                   recorded: Recorded | None = None) -> BuildResult:
    """Close run ``run_id``; materialise the derived views; run the features quality ``gate`` (when ``views``
    hold warehouse-stored ones) and record its outcome on the build; with ``publish``, release the online
    snapshots of ``views`` once it passed (:func:`musim.features.release.release`; ``skip_quality`` publishes
    without it; ParameterError, before the run is closed, with neither).

    Write → audit → publish: when the gate fails (QualityError) the build stays recorded, but what it
    materialised into the derived views is withdrawn (:func:`musim.features.release.gate_build`) and nothing
    is published; training refuses until a later build passes. ``recorded``: what the run's :func:`record` calls
    kept as it was (their sum), written on the build's row (``unchanged``, ``skipped``) and told in the result, as
    every count is, from that row."""
    from musim.features.materialize import materialise as materialise_view
    from musim.features.registry import apply

    if publish:
        require_gate(gate=gate, skip_quality=skip_quality)

    views = list(views) if views is not None else select_views(None)
    now = dt.datetime.now(dt.UTC)
    row = sql.query(con, "features/build_lineage.sql", run_id=run_id).fetchone()
    if row is None:
        raise NotFoundError(f"no feature build {run_id!r}")
    preview_set, tracks, dump_id, planned = row
    lineage = {"run_id": run_id, "preview_set": preview_set, "preview_count": tracks, "dump_id": dump_id}
    recorded = recorded or Recorded()
    sql.run(con, "features/finish.sql", run_id=run_id, status="done", now=now, unchanged=recorded.unchanged,
            skipped=recorded.skipped)
    apply(con, views=views)
    for v in views:
        if v.source.type == "extract":
            sql.run(con, "features/set_lineage.sql", lineage=json.dumps(lineage), now=now, name=v.name,
                    version=v.version)
    materialised: dict[str, int] = {}
    if materialise:
        for v in views:
            if v.source.type == "derived":
                materialised[v.ref] = materialise_view(con, v, lineage=lineage).rows_written
    gated = any(v.storage == "warehouse" for v in views)  # the log-mels alone: no warehouse row, no gate (as ever)
    quality = None
    if gated and skip_quality:
        record_gate(con, run_id, "skipped", None)
    elif gated and gate is not None:
        quality = gate_build(con, run_id, lambda: gate(con))
    released = None
    if publish:
        released = (release(con, views, quality=quality) if quality is not None
                    else release(con, views, gate=gate, skip_quality=skip_quality))
    computed, reused, rejected, unchanged, skipped = sql.query(con, "features/build_counts.sql",
                                                               run_id=run_id).fetchone()
    reasons = dict(sql.query(con, "features/reject_reasons.sql", run_id=run_id).fetchall())
    rejected_tracks = dict(sql.query(con, "features/rejected_tracks.sql", run_id=run_id).fetchall())
    return BuildResult(run_id, int(tracks), int(planned), int(computed), int(reused), int(rejected), reasons,
                       materialised, released.published if released else [],
                       round(time.perf_counter() - started, 3) if started else 0.0, [v.ref for v in views],
                       released.quality if released else quality, rejected_tracks,
                       unchanged=int(unchanged), skipped=int(skipped))


def build(views: Sequence[str | FeatureView] | None = None, *, con: duckdb.DuckDBPyConnection | None = None,
          store: ObjectStore | None = None, options: BuildOptions | None = None, materialise: bool = True,
          publish: bool = True, gate: Gate | None = None, skip_quality: bool = False,
          recompute: Sequence[str] = ()) -> BuildResult:
    """Extract what is missing for ``views`` (default: every defined view), record it, materialise, then (with
    ``publish``) gate and publish: record → gate → publish, as the ``audio_features`` DAG does.

    Parameters
    ----------
    views : names (``"track_log_mel"``, ``"name:version"``) or FeatureView, or None for all
    con : the warehouse writer's connection (default: opened and closed here)
    store : the object store (default: :func:`musim.storage.open_store`)
    options : BuildOptions
    materialise, publish : bool
        Materialise derived views; publish online snapshots of the warehouse views, after the ``features`` and
        ``training_sets`` quality suites passed (:mod:`musim.features.release`).
    gate : callable
        The features gate run over the build's data (with or without ``publish``; its outcome is recorded on
        the build), handed down from above the feature store (:func:`musim.quality.gates.gate_features`, as
        ``musim features build`` passes it).
    skip_quality : bool
        Neither gate nor refuse: publish without the quality gate (not recommended; the build's outcome is
        ``skipped``).
    recompute : track ids
        Extract these tracks' current audio again whatever they hold; the new rows replace their rows of that
        audio (``musim features build --recompute``: the recovery from rows a failed features gate named) for the
        latest reads, while point-in-time reads of an earlier moment still get the rows of then.

    Raises
    ------
    ParameterError
        ``publish`` with neither ``gate`` nor ``skip_quality``: nothing publishes ungated by omission (raised
        before anything is extracted).
    QualityError
        The gate failed: the build's rows are recorded, what it materialised into the derived views is withdrawn
        (the artist means read as before it), no online snapshot is published, and training refuses
        (:func:`musim.features.release.training_refusal`) until a later build passes.
    """
    if publish:
        require_gate(gate=gate, skip_quality=skip_quality)
    opts = options or BuildOptions()
    started = time.perf_counter()
    if views:
        names = [v for v in views if not isinstance(v, FeatureView)]
        chosen = [v for v in views if isinstance(v, FeatureView)] + (select_views(names) if names else [])
    else:
        chosen = select_views(None)
    if con is None:
        with warehouse.writer() as own:
            return build(chosen, con=own, store=store, options=opts, materialise=materialise, publish=publish,
                         gate=gate, skip_quality=skip_quality, recompute=recompute)
    store = store or open_store()
    store.cleanup_incomplete("features")  # partial arrays of a killed build
    from musim.features.registry import apply

    apply(con)  # every code definition (a derived view's inputs included), then any other view asked for
    apply(con, views=chosen)
    extractors = extractors_for(chosen)
    plan = plan_build(con, extractors, limit=opts.limit, views=[v.ref for v in chosen],
                      min_duration_s=opts.min_duration_s, recompute=recompute)
    log.info("feature build %s: %d audio items to compute for %d tracks (%d rows reused)",
             plan.run_id, len(plan.items), plan.tracks, plan.reused)
    beat = warehouse_heartbeat(con, plan.run_id)
    recorded = Recorded()
    try:
        buffer: list[ItemResult] = []
        with progress_bar(len(plan.items), unit="preview", desc="features", enabled=opts.progress) as bar:
            for res in compute(plan.items, extractors, store=store, options=opts):
                buffer.append(res)
                bar.update(1)
                beat()
                if len(buffer) >= opts.batch_size:
                    recorded += record(con, plan.run_id, rows_of(buffer, extractors), replace=bool(recompute),
                                       store=store)
                    buffer.clear()
        if buffer:
            recorded += record(con, plan.run_id, rows_of(buffer, extractors), replace=bool(recompute),
                               store=store)
    except BaseException as exc:
        sql.run(con, "features/finish.sql", run_id=plan.run_id, status=closed_as(exc), now=dt.datetime.now(dt.UTC),
                unchanged=recorded.unchanged, skipped=recorded.skipped)  # what its recorded batches kept
        raise
    return complete_build(con, plan.run_id, views=chosen, materialise=materialise, publish=publish, gate=gate,
                          skip_quality=skip_quality, started=started, recorded=recorded)


