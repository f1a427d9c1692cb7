"""Batch feature extraction: previews in the object store -> tensors in the object store, rows in the warehouse.

Three steps, so that Airflow can map the middle one over batches while one writer owns the warehouse:

1. :func:`plan_build` (warehouse writer): registers a run, copies results of identical audio already
   computed for another track, and lists the distinct audio still to compute for the wanted extractors
   (every track of ``track`` without a result or a final rejection for the same parameters).
2. :func:`compute` / :func:`compute_batch` (no warehouse): streams each preview from the object store,
   decodes it once (its excerpt window for local whole tracks) and computes every wanted extractor in a
   pool of worker processes on all cores; writes each tensor as a float16 ``.npy`` under a key holding
   the parameter hash (``features/mel/<hash>/<audio_id>.npy``). Unusable audio becomes a rejection with
   the library's reason (:data:`musim.library.formats.SKIP_REASONS`: empty, not_audio, undecodable,
   truncated, too_short, silent) instead of stopping the batch.
3. :func:`record` + :func:`complete_build` (warehouse writer): inserts the rows (idempotent), closes the
   run, materialises derived views and publishes the online snapshots.

:func:`build` runs all three in this process (``musim features build``); a second build with nothing new
does nothing.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import hashlib
import io
import json
import logging
import multiprocessing
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import numpy as np

from musim import sql, warehouse
from musim.audio.batch import default_workers
from musim.errors import AudioError, NotFoundError, ParameterError
from musim.features.params import Extractor
from musim.features.registry import FeatureView
from musim.storage import ObjectNotFound, ObjectStore, open_store

log = logging.getLogger(__name__)

__all__ = [
    "BuildOptions",
    "BuildResult",
    "ItemResult",
    "Plan",
    "WorkItem",
    "build",
    "complete_build",
    "compute",
    "compute_batch",
    "extractors_for",
    "plan_build",
    "record",
    "record_batches",
    "select_views",
]

MISSING_OBJECT = "missing object"
MANIFEST_PREFIX = "features/runs"


@dataclass(frozen=True)
class BuildOptions:
    """How a build runs (none of this changes the features, so none of it is in a parameter hash).

    Parameters
    ----------
    workers : int or None
        Worker processes (default: every CPU this process may use; 1 = compute in this process).
    batch_size : int
        Audio items per batch: per recorded transaction (CLI) or per mapped task (DAG).
    min_duration_s : float
        Reject audio shorter than this (after the excerpt window) as too short.
    silence_db : float or None
        Reject audio quieter than this RMS level (dBFS) as silent.
    limit : int or None
        Compute at most this many audio items in this run (the rest waits for the next one).
    progress : bool or None
        Show a tqdm progress bar (default: when stderr is a terminal).
    """

    workers: int | None = None
    batch_size: int = 64
    min_duration_s: float = 5.0
    silence_db: float | None = -60.0
    limit: int | None = None
    progress: bool | None = None

    def __post_init__(self) -> None:
        if self.workers is not None and (isinstance(self.workers, bool) or self.workers < 1):
            raise ParameterError(f"workers must be a positive integer or None, got {self.workers!r}")
        if self.batch_size < 1:
            raise ParameterError(f"batch_size must be positive, got {self.batch_size}")
        if self.min_duration_s < 0:
            raise ParameterError(f"min_duration_s must be >= 0, got {self.min_duration_s}")
        if self.limit is not None and self.limit < 0:
            raise ParameterError(f"limit must be >= 0, got {self.limit}")


@dataclass(frozen=True)
class WorkItem:
    """One distinct audio to analyse: where it is, which window, which extractors, which tracks it serves."""

    audio_id: str
    sha256: str
    object_key: str
    offset_s: float
    duration_s: float | None  # None: the whole stored file
    track_ids: tuple[str, ...]
    extractors: tuple[str, ...]  # params hashes

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["track_ids"], d["extractors"] = list(self.track_ids), list(self.extractors)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> WorkItem:
        return cls(d["audio_id"], d["sha256"], d["object_key"], float(d["offset_s"]),
                   None if d["duration_s"] is None else float(d["duration_s"]), tuple(d["track_ids"]),
                   tuple(d["extractors"]))


@dataclass
class Plan:
    """What a run will compute."""

    run_id: str
    extractors: list[Extractor]
    items: list[WorkItem]
    tracks: int
    reused: int
    preview_set: str
    dump_id: str | None
    views: list[str] = field(default_factory=list)

    def batches(self, size: int, options: BuildOptions | None = None) -> list[dict[str, Any]]:
        """The items cut into JSON batches (the DAG's mapped-task inputs)."""
        opts = options or BuildOptions()
        return [{"run_id": self.run_id, "batch_no": i // size,
                 "extractors": [e.to_json() for e in self.extractors],
                 "min_duration_s": opts.min_duration_s, "silence_db": opts.silence_db,
                 "items": [it.to_json() for it in self.items[i:i + size]]}
                for i in range(0, len(self.items), size)]


@dataclass
class ItemResult:
    """What one work item gave: per extractor hash, a tensor's stored object or a descriptor row; or a rejection."""

    item: WorkItem
    outputs: dict[str, dict[str, Any]]
    reject: tuple[str, str] | None = None


@dataclass
class BuildResult:
    run_id: str
    tracks: int
    planned: int
    computed: int
    reused: int
    rejected: int
    rejects_by_reason: dict[str, int]
    materialised: dict[str, int]
    published: list[str]
    seconds: float
    views: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# -- choosing what to compute ------------------------------------------------------------------------
def select_views(names: Sequence[str] | None) -> list[FeatureView]:
    """The code-defined views called ``names`` (``name`` or ``name:version``); all when None or empty."""
    from musim.features import definitions

    if not names:
        return list(definitions.VIEWS)
    out = []
    for name in names:
        found = [v for v in definitions.VIEWS if name in (v.name, v.ref)]
        if not found:
            known = ", ".join(v.ref for v in definitions.VIEWS)
            raise NotFoundError(f"no feature view {name!r} is defined; defined: {known}")
        out.append(max(found, key=lambda v: v.version))
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
               views: Sequence[str] = ()) -> Plan:
    """Register a run and list what it must compute (see the module docstring); one transaction."""
    if not extractors:
        raise ParameterError("nothing to extract: no view with an extraction source was selected")
    run_id = run_id or f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    now = dt.datetime.now(dt.UTC)
    con.execute("BEGIN TRANSACTION")
    try:
        for ex in extractors:
            con.execute("INSERT INTO feature_params (params_hash, kind, params) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                        [ex.params_hash, ex.kind, json.dumps(ex.params.to_dict())])
        con.register("fs_want", _arrow_want(extractors))
        try:
            sql.run(con, "features/tracks.sql")
            sql.run(con, "features/plan.sql", run_id=run_id, now=now)
        finally:
            con.unregister("fs_want")
        rows = con.execute("""SELECT audio_id, sha256, object_key, whole, offset_s, duration_s, track_ids, extractors
                              FROM fs_items ORDER BY audio_id""").fetchall()
        items = [WorkItem(a, s, k, 0.0 if whole else float(off), None if whole else float(dur),
                          tuple(tids), tuple(exs)) for a, s, k, whole, off, dur, tids, exs in rows]
        if limit is not None:
            items = items[:limit]
        lines = con.execute("SELECT track_id || ':' || sha256 FROM fs_track ORDER BY track_id").fetchall()
        preview_set = hashlib.sha256("\n".join(r[0] for r in lines).encode()).hexdigest()[:16]
        # lineage: the dump whose listeners chose the catalogue (else the latest dump)
        dump = con.execute("""SELECT coalesce(
                                  (SELECT dump_id FROM acquire_artist WHERE dump_id IS NOT NULL
                                   ORDER BY planned_at DESC NULLS LAST LIMIT 1),
                                  (SELECT dump_id FROM lastfm_dump ORDER BY seq DESC LIMIT 1))""").fetchone()
        dump = dump if dump and dump[0] else None
        reused = con.execute("""SELECT (SELECT count(*) FROM track_mel WHERE run_id = $r)
                                     + (SELECT count(*) FROM track_descriptors WHERE run_id = $r)""",
                             {"r": run_id}).fetchone()[0]
        con.execute("DELETE FROM feature_build WHERE run_id = ?", [run_id])
        con.execute("""INSERT INTO feature_build (run_id, status, extractors, tracks, items_planned, reused,
                                                  preview_set, dump_id, started_at)
                       VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?)""",
                    [run_id, json.dumps([{"kind": e.kind, "params_hash": e.params_hash} for e in extractors]),
                     len(lines), len(items), reused, preview_set, dump[0] if dump else None, now])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return Plan(run_id, list(extractors), items, len(lines), int(reused), preview_set,
                dump[0] if dump else None, list(views))


# -- 2. compute ----------------------------------------------------------------------------------------
def _init_worker() -> None:
    # One BLAS/OpenMP thread per worker: the pool is the parallelism.
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:  # noqa: BLE001 - best effort
        pass


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _extract(data: bytes, key: str, offset_s: float, duration_s: float | None,
             extractors: tuple[Extractor, ...], min_duration_s: float,
             silence_db: float | None) -> dict[str, Any]:
    """Worker: decode once per rate, compute every extractor. Returns outputs or the rejection reason."""
    from musim.audio import descriptor_vector, descriptors, load_audio, log_mel, slices
    from musim.library.formats import FileSkipped, canonical_reason, probe

    try:  # the library's checks and words: empty, not_audio, undecodable, truncated
        probe(data, min_seconds=0.0, key=key)
    except FileSkipped as exc:
        return {"reject": (exc.reason, exc.detail or str(exc))}
    decoded: dict[int, np.ndarray] = {}
    try:
        for ex in extractors:
            if ex.sr not in decoded:
                decoded[ex.sr], _ = load_audio(data, sr=ex.sr, offset=offset_s, duration=duration_s, key=key,
                                               min_duration=min_duration_s, silence_db=silence_db)
    except AudioError as exc:
        return {"reject": (canonical_reason(getattr(exc, "reason", "undecodable")),
                           getattr(exc, "detail", str(exc)) or str(exc))}
    outputs: dict[str, dict[str, Any]] = {}
    for ex in extractors:
        y = decoded[ex.sr]
        if ex.is_tensor:
            arr = log_mel(y, params=ex.params) if ex.kind == "log_mel" else slices(y, params=ex.params)
            a16 = arr.astype(np.float16)
            outputs[ex.params_hash] = {
                "npy": _npy(a16), "shape": list(a16.shape), "dtype": str(a16.dtype),
                "min_db": float(a16.min()) if a16.size else 0.0, "max_db": float(a16.max()) if a16.size else 0.0}
        else:
            d = descriptors(y, sr=ex.sr)
            outputs[ex.params_hash] = {"vec": descriptor_vector(d).tolist(), "tonic_pc": int(d["tonic_pc"]),
                                       "key_name": str(d["key_name"])}
    return {"outputs": outputs}


_WARM: set[str] = set()


def warm_up(extractors: Sequence[Extractor]) -> None:
    """Run every extractor once on a short noise clip in this process (once per process and extractor).

    Importing librosa's and scipy's submodules and loading numba's kernels costs seconds per process; a
    forked pool inherits all of it from a warm parent instead of paying it again in every worker.
    """
    todo = tuple(e for e in extractors if e.params_hash not in _WARM)
    if not todo:
        return
    import soundfile as sf

    sr = max(e.sr for e in todo)
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, int(1.5 * sr)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, noise, sr, format="WAV")
    _extract(buf.getvalue(), "warm-up", 0.0, None, todo, 0.0, None)
    _WARM.update(e.params_hash for e in todo)


def _store_outputs(store: ObjectStore, item: WorkItem, raw: dict[str, Any],
                   by_hash: dict[str, Extractor]) -> ItemResult:
    if "reject" in raw:
        return ItemResult(item, {}, tuple(raw["reject"]))  # type: ignore[arg-type]
    outputs = {}
    for h, out in raw["outputs"].items():
        ex = by_hash[h]
        if ex.is_tensor:
            npy = out.pop("npy")
            key = ex.object_key(item.audio_id)
            store.put_bytes(key, npy, content_type="application/octet-stream")
            out = {**out, "object_key": key, "bytes": len(npy)}
        outputs[h] = out
    return ItemResult(item, outputs)


def compute(items: Iterable[WorkItem], extractors: Sequence[Extractor], *, store: ObjectStore,
            options: BuildOptions | None = None, mp_context: str | None = None) -> Iterator[ItemResult]:
    """Compute and store the features of ``items``; yields one result per item, in completion order.

    Previews are read from ``store`` in this process (at most ``4 * workers`` ahead of the pool) and sent
    to the workers as bytes; tensors come back as ``.npy`` bytes and are written here. A preview missing
    from the store is rejected as ``"missing object"`` (retried by the next build).
    """
    opts = options or BuildOptions()
    by_hash = {e.params_hash: e for e in extractors}
    n_workers = opts.workers or default_workers()
    limit = 4 * n_workers
    if isinstance(items, Sequence):
        if not items:
            return
        n_workers = min(n_workers, len(items))

    def job(item: WorkItem) -> tuple[Any, ...] | ItemResult:
        missing = [h for h in item.extractors if h not in by_hash]
        if missing:
            raise ParameterError(f"work item {item.audio_id} needs extractors {missing} this run does not have")
        try:
            data = store.get_bytes(item.object_key)
        except ObjectNotFound as exc:
            return ItemResult(item, {}, (MISSING_OBJECT, str(exc)))
        exs = tuple(by_hash[h] for h in item.extractors)
        return (data, item.object_key, item.offset_s, item.duration_s, exs, opts.min_duration_s, opts.silence_db)

    if n_workers == 1:
        for item in items:
            args = job(item)
            yield args if isinstance(args, ItemResult) else _store_outputs(store, item, _extract(*args), by_hash)
        return
    ctx = multiprocessing.get_context(mp_context) if mp_context else None
    if (ctx.get_start_method() if ctx else multiprocessing.get_start_method()) == "fork":
        warm_up(extractors)
    pool = cf.ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=_init_worker)
    pending: dict[cf.Future[dict[str, Any]], WorkItem] = {}
    try:
        source = iter(items)
        exhausted = False
        while True:
            while not exhausted and len(pending) < limit:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    break
                args = job(item)
                if isinstance(args, ItemResult):
                    yield args
                else:
                    pending[pool.submit(_extract, *args)] = item
            if not pending:
                break
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                item = pending.pop(fut)
                yield _store_outputs(store, item, fut.result(), by_hash)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def rows_of(results: Iterable[ItemResult], extractors: Sequence[Extractor]) -> dict[str, list[dict[str, Any]]]:
    """Warehouse rows (without run id and time) of computed results: ``{"mel": [...], "desc": [...], "reject": [...]}``."""
    by_hash = {e.params_hash: e for e in extractors}
    rows: dict[str, list[dict[str, Any]]] = {"mel": [], "desc": [], "reject": []}
    for res in results:
        it = res.item
        for track_id in it.track_ids:
            for h in it.extractors:
                ex = by_hash[h]
                base = {"kind": ex.kind, "params_hash": h, "track_id": track_id, "sha256": it.sha256,
                        "audio_id": it.audio_id}
                if res.reject is not None:
                    rows["reject"].append({**base, "reason": res.reject[0], "detail": res.reject[1][:2000]})
                elif ex.is_tensor:
                    o = res.outputs[h]
                    rows["mel"].append({**base, "object_key": o["object_key"], "shape": o["shape"],
                                        "dtype": o["dtype"], "min_db": o["min_db"], "max_db": o["max_db"],
                                        "bytes": o["bytes"]})
                else:
                    o = res.outputs[h]
                    rows["desc"].append({**base, "vec": o["vec"], "tonic_pc": o["tonic_pc"],
                                         "key_name": o["key_name"]})
    return rows


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


def record(con: duckdb.DuckDBPyConnection, run_id: str, rows: dict[str, list[dict[str, Any]]],
           *, now: dt.datetime | None = None) -> None:
    """Insert the rows of computed results (one transaction; rerunning it changes nothing)."""
    tables = _arrow_rows(rows)
    con.execute("BEGIN TRANSACTION")
    try:
        for name, table in tables.items():
            con.register(f"fs_in_{name}", table)
        sql.run(con, "features/record.sql", run_id=run_id, now=now or dt.datetime.now(dt.UTC))
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        for name in tables:
            con.unregister(f"fs_in_{name}")


def complete_build(con: duckdb.DuckDBPyConnection, run_id: str, *, views: Sequence[FeatureView] | None = None,
                   materialise: bool = True, publish: bool = True, started: float | None = None) -> BuildResult:
    """Close run ``run_id``; materialise the derived views and publish the online snapshots of ``views``."""
    from musim.features.materialize import materialise as materialise_view
    from musim.features.online import publish_online
    from musim.features.registry import apply

    views = list(views) if views is not None else select_views(None)
    now = dt.datetime.now(dt.UTC)
    row = con.execute("SELECT preview_set, tracks, dump_id, items_planned FROM feature_build WHERE run_id = ?",
                      [run_id]).fetchone()
    if row is None:
        raise NotFoundError(f"no feature build {run_id!r}")
    preview_set, tracks, dump_id, planned = row
    lineage = {"run_id": run_id, "preview_set": preview_set, "preview_count": tracks, "dump_id": dump_id}
    sql.run(con, "features/finish.sql", run_id=run_id, status="done", now=now)
    apply(con, views=views)
    for v in views:
        if v.source.type == "extract":
            con.execute("UPDATE feature_view SET lineage = ?, materialised_at = ? WHERE name = ? AND version = ?",
                        [json.dumps(lineage), now, v.name, v.version])
    materialised: dict[str, int] = {}
    if materialise:
        for v in views:
            if v.source.type == "derived":
                materialised[v.ref] = materialise_view(con, v, lineage=lineage).rows_written
    published: list[str] = []
    if publish:
        for v in views:
            if v.storage == "warehouse":
                published.append(str(publish_online(con, v)))
    computed, reused, rejected = con.execute(
        "SELECT computed, reused, rejected FROM feature_build WHERE run_id = ?", [run_id]).fetchone()
    reasons = dict(con.execute("""SELECT reason, count(*) FROM feature_reject WHERE run_id = ?
                                  GROUP BY reason ORDER BY reason""", [run_id]).fetchall())
    return BuildResult(run_id, int(tracks), int(planned), int(computed), int(reused), int(rejected), reasons,
                       materialised, published, round(time.perf_counter() - started, 3) if started else 0.0,
                       [v.ref for v in views])


def _progress(total: int, enabled: bool | None) -> Any:
    from tqdm.auto import tqdm

    disable = not sys.stderr.isatty() if enabled is None else not enabled
    return tqdm(total=total, unit="preview", desc="features", disable=disable, mininterval=0.5)


def build(views: Sequence[str | FeatureView] | None = None, *, con: duckdb.DuckDBPyConnection | None = None,
          store: ObjectStore | None = None, options: BuildOptions | None = None, materialise: bool = True,
          publish: bool = True) -> BuildResult:
    """Extract what is missing for ``views`` (default: every defined view), record it, materialise, publish.

    Parameters
    ----------
    views : names (``"track_log_mel"``, ``"name:version"``) or FeatureView, or None for all
    con : the warehouse writer's connection (default: opened and closed here)
    store : the object store (default: :func:`musim.storage.open_store`)
    options : BuildOptions
    materialise, publish : bool
        Materialise derived views; publish online snapshots of the warehouse views.
    """
    opts = options or BuildOptions()
    started = time.perf_counter()
    if views:
        names = [v for v in views if not isinstance(v, FeatureView)]
        chosen = [v for v in views if isinstance(v, FeatureView)] + (select_views(names) if names else [])
    else:
        chosen = select_views(None)
    if con is None:
        with warehouse.writer() as own:
            return build(chosen, con=own, store=store, options=opts, materialise=materialise, publish=publish)
    store = store or open_store()
    from musim.features.registry import apply

    apply(con)  # every code definition (a derived view's inputs included), then any other view asked for
    apply(con, views=chosen)
    extractors = extractors_for(chosen)
    plan = plan_build(con, extractors, limit=opts.limit, views=[v.ref for v in chosen])
    log.info("feature build %s: %d audio items to compute for %d tracks (%d rows reused)",
             plan.run_id, len(plan.items), plan.tracks, plan.reused)
    try:
        buffer: list[ItemResult] = []
        with _progress(len(plan.items), opts.progress) as bar:
            for res in compute(plan.items, extractors, store=store, options=opts):
                buffer.append(res)
                bar.update(1)
                if len(buffer) >= opts.batch_size:
                    record(con, plan.run_id, rows_of(buffer, extractors))
                    buffer.clear()
        if buffer:
            record(con, plan.run_id, rows_of(buffer, extractors))
    except BaseException:
        sql.run(con, "features/finish.sql", run_id=plan.run_id, status="failed", now=dt.datetime.now(dt.UTC))
        raise
    return complete_build(con, plan.run_id, views=chosen, materialise=materialise, publish=publish,
                          started=started)


def _safe(run_id: str) -> str:
    """``run_id`` as one object-key segment (Airflow run ids hold ':', '+' and may hold '/')."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", run_id) or "run"


# -- the DAG's mapped task and its recorder ----------------------------------------------------------------
def compute_batch(batch: dict[str, Any], *, store: ObjectStore | None = None, workers: int | None = None) -> dict[str, Any]:
    """Compute one planned batch and write its rows as a JSON manifest in the object store (no warehouse).

    Returns ``{"run_id", "batch_no", "manifest", "items", "rejected"}`` (small: fit for XCom). Rerunning
    recomputes and overwrites the same objects and manifest.
    """
    store = store or open_store()
    extractors = [Extractor.from_json(e) for e in batch["extractors"]]
    items = [WorkItem.from_json(d) for d in batch["items"]]
    opts = BuildOptions(workers=workers, min_duration_s=float(batch.get("min_duration_s", 5.0)),
                        silence_db=batch.get("silence_db", -60.0), progress=False)
    results = list(compute(items, extractors, store=store, options=opts))
    rows = rows_of(results, extractors)
    key = f"{MANIFEST_PREFIX}/{_safe(batch['run_id'])}/batch-{int(batch['batch_no']):05d}.json"
    store.put_bytes(key, json.dumps({"run_id": batch["run_id"], "extractors": batch["extractors"], "rows": rows})
                    .encode(), content_type="application/json")
    return {"run_id": batch["run_id"], "batch_no": batch["batch_no"], "manifest": key, "items": len(items),
            "rejected": dict(Counter(r.reject[0] for r in results if r.reject))}


def record_batches(run_id: str, manifests: Sequence[str], *, con: duckdb.DuckDBPyConnection,
                   store: ObjectStore | None = None, views: Sequence[FeatureView] | None = None,
                   materialise: bool = True, publish: bool = True) -> BuildResult:
    """Record the manifests written by :func:`compute_batch`, then :func:`complete_build` the run."""
    store = store or open_store()
    for key in manifests:
        doc = json.loads(store.get_bytes(key))
        if doc["run_id"] != run_id:
            raise ParameterError(f"manifest {key} belongs to run {doc['run_id']}, not {run_id}")
        record(con, run_id, doc["rows"])
    return complete_build(con, run_id, views=views, materialise=materialise, publish=publish)


def plan_run(run_id: str, views: Sequence[str] | None = None, *, batch_size: int = 64,
             min_duration_s: float = 5.0, limit: int | None = None) -> list[dict[str, Any]]:
    """The DAG's ``plan``: open the warehouse writer, register the views, plan run ``run_id``, cut it into batches.

    Planning the same ``run_id`` again (a retried task) replaces the run's plan. Returns the batches (JSON,
    fit for XCom; empty when nothing is missing).
    """
    opts = BuildOptions(batch_size=batch_size, min_duration_s=min_duration_s, limit=limit)
    chosen = select_views(views)
    from musim.features.registry import apply

    with warehouse.writer() as con:
        apply(con)
        plan = plan_build(con, extractors_for(chosen), limit=limit, run_id=run_id, views=[v.ref for v in chosen])
    return plan.batches(batch_size, opts)


def publish_views(views: Sequence[str] | None = None) -> list[str]:
    """Publish the online snapshots of the warehouse-stored ``views`` (default: all); their paths.

    The DAG calls it after the features' quality gate passed, so a failed gate leaves the previous online
    snapshots serving.
    """
    from musim.features.online import publish_online

    with warehouse.writer() as con:
        return [str(publish_online(con, v)) for v in select_views(views) if v.storage == "warehouse"]


def record_run(run_id: str, computed: Sequence[dict[str, Any]], *, views: Sequence[str] | None = None,
               publish: bool = True) -> dict[str, Any]:
    """The DAG's ``record``: record the batches' manifests, close the run, materialise, publish; a summary."""
    with warehouse.writer() as con:
        result = record_batches(run_id, [c["manifest"] for c in computed], con=con, views=select_views(views),
                                publish=publish)
    return result.to_json()
