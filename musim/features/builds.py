"""Feature builds' heartbeats, and the state a reader is shown.

A build killed half-way (a killed ``musim features build``, a DAG run whose tasks died) never closes its
``feature_build`` row: its status stays ``running``. A DAG build spans several tasks and processes, so no pid
tells a dead build from a live one; its heartbeat does. Every step of a build beats (:class:`Heartbeat`):
planning, each recorded batch, the work between batches (at least every :func:`beat_interval` seconds) and
closing the run write ``feature_build.heartbeat_at``; the DAG's compute tasks, which never open the warehouse
(one writer at a time), beat in the object store at the run's ``heartbeat_key`` (:func:`compute_heartbeat_key`).

:func:`list_builds` shows a ``running`` build whose latest beat, in either place, is older than
``MUSIM_FEATURE_BUILD_TIMEOUT_S`` as ``interrupted``. The rule is the reader's, not written into the row: the
stored status stays what the build wrote, so a build that was only slow (a DAG run waiting for the writer's slot
past the timeout) is shown running again at its next beat and closes as usual, and no live build is ever marked.
A build stopped with Ctrl-C closes its row as ``interrupted`` itself (:func:`musim.features.extract.closed_as`); it
never beats again, whatever the object store holds.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import duckdb

from musim import sql
from musim.config import Settings, get_settings
from musim.features.registry import FeatureView
from musim.features.work import MANIFEST_PREFIX
from musim.runs import run_key
from musim.storage import ObjectStore, open_store
from musim.storage.base import ObjectNotFound

__all__ = ["INTERRUPTED", "RUNNING", "Heartbeat", "beat_interval", "built_min_duration", "built_window",
           "compute_heartbeat_key", "list_builds", "object_heartbeat", "view_extractor_hashes", "warehouse_heartbeat"]

INTERRUPTED = "interrupted"
"""A build stopped half-way: closed so by a build stopped with Ctrl-C (migration 037), or shown so by the readers
for a build still ``running`` whose heartbeat stopped (killed outright)."""
RUNNING = "running"
#: The longest wait between two beats of a build at work (a shorter timeout beats four times within it).
MAX_BEAT_INTERVAL_S = 60.0


def beat_interval(settings: Settings | None = None) -> float:
    """Seconds between two beats of a build at work: a minute, or a quarter of the timeout if that is less."""
    timeout = (settings or get_settings()).features.build_timeout_s
    return min(MAX_BEAT_INTERVAL_S, timeout / 4)


def compute_heartbeat_key(run_id: str) -> str:
    """The object key where the compute tasks of the staged (DAG) build ``run_id`` beat."""
    return f"{MANIFEST_PREFIX}/{run_key(run_id)}/heartbeat.json"


class Heartbeat:
    """Beats of one build through ``beat(now)``: :meth:`__call__` beats when :func:`beat_interval` has passed since
    the last beat (or always, with ``force``)."""

    def __init__(self, beat: Callable[[dt.datetime], None], *, interval_s: float | None = None) -> None:
        self._beat = beat
        self._interval = beat_interval() if interval_s is None else interval_s
        self._last: float | None = None

    def __call__(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or self._last is None or now - self._last >= self._interval:
            self._beat(dt.datetime.now(dt.UTC))
            self._last = now


def warehouse_heartbeat(con: duckdb.DuckDBPyConnection, run_id: str, **kw: Any) -> Heartbeat:
    """Beats of run ``run_id`` in its ``feature_build`` row (the writer's connection ``con``)."""
    return Heartbeat(lambda now: sql.run(con, "features/heartbeat.sql", run_id=run_id, now=now), **kw)


def object_heartbeat(store: ObjectStore, run_id: str, batch_no: int, **kw: Any) -> Heartbeat:
    """Beats of run ``run_id``'s compute task for batch ``batch_no`` in the object store (no warehouse)."""
    key = compute_heartbeat_key(run_id)

    def beat(now: dt.datetime) -> None:
        doc = {"run_id": run_id, "batch_no": batch_no, "at": now.isoformat()}
        store.put_bytes(key, json.dumps(doc).encode(), content_type="application/json")

    return Heartbeat(beat, **kw)


def _last_object_beat(store: ObjectStore, key: str) -> dt.datetime | None:
    try:
        return store.stat(key).modified
    except ObjectNotFound:  # its compute tasks never started
        return None


def built_min_duration(con: duckdb.DuckDBPyConnection) -> float:
    """The shortest audio, in seconds, that the warehouse's features were built from: the lowest ``--min-duration``
    among the completed feature builds, else :data:`musim.audio.formats.MIN_DURATION_S` (no completed build, or
    none that recorded its threshold). A version's publication records it in its serving manifest
    (``min_duration_s``), and new audio featurised for the version (``musim similar-audio``, ``embed``, ``models
    evaluate --labels``) is held to it, so a library built with ``--min-duration 2`` is queried with the clips it
    holds."""
    from musim.audio.formats import MIN_DURATION_S

    row = sql.query(con, "features/min_duration.sql").fetchone()
    return MIN_DURATION_S if row is None or row[0] is None else float(row[0])


def built_window(con: duckdb.DuckDBPyConnection) -> tuple[float, float] | None:
    """The analysis window the features of whole tracks were computed in, ``(seconds, anchor)`` with the anchor a
    fraction of the free room before the window (0 the start, 0.5 the middle): where ``musim library add`` (and the
    local provider) cut the files longer than ``MUSIM_EXCERPT_S``, as the stored tracks record it; None when no
    stored track was cut from a longer file (previews). A version's publication records it in its serving manifest
    (``excerpt_s``, ``excerpt_anchor``), and new audio featurised for the version is cut the same way
    (:func:`musim.models.audio_files.analysis_window`), so a library added with ``MUSIM_EXCERPT_S=60`` or
    ``MUSIM_EXCERPT_ANCHOR=start`` is queried with the part of a file its tracks were analysed in."""
    row = sql.query(con, "features/analysis_window.sql").fetchone()
    return None if row is None or row[0] is None else (float(row[0]), float(row[1]))


def list_builds(con: duckdb.DuckDBPyConnection, *, params_hashes: Sequence[str] | None = None, limit: int = 10,
                store: ObjectStore | None = None, settings: Settings | None = None,
                now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The newest ``limit`` feature builds (of the extractors ``params_hashes``, or all), newest first, as dicts
    with ``state``: the stored status (``interrupted`` for a build stopped with Ctrl-C), or ``interrupted`` for a
    ``running`` build whose latest heartbeat is older
    than ``MUSIM_FEATURE_BUILD_TIMEOUT_S`` at ``now``. ``heartbeat_at`` is that latest beat. The object store
    (``store``, default :func:`~musim.storage.open_store`) is read only for a staged build the warehouse's
    heartbeat alone would show interrupted."""
    settings = settings or get_settings()
    now = now or dt.datetime.now(dt.UTC)
    stale_before = now - dt.timedelta(seconds=settings.features.build_timeout_s)
    rows = sql.rows(con, "features/builds.sql", stale_before=stale_before, limit=int(limit),
                    params_hashes=list(params_hashes) if params_hashes is not None else None)
    for row in rows:
        if row["state"] == INTERRUPTED and row["status"] == RUNNING and row["heartbeat_key"]:  # not one stopped
            store = store or open_store(settings.storage.object_store)
            beat = _last_object_beat(store, row["heartbeat_key"])
            if beat is not None and (row["heartbeat_at"] is None or beat > row["heartbeat_at"]):
                row["heartbeat_at"] = beat
                if beat >= stale_before:
                    row["state"] = row["status"]
    return rows


def view_extractor_hashes(con: duckdb.DuckDBPyConnection, view: FeatureView) -> list[str]:
    """The parameter hashes of the extractors whose builds give ``view`` its values (a derived view: its inputs'),
    from the registry of ``con``; none for pushed views."""
    from musim.features.registry import get_view

    found: list[str] = []
    todo = [view]
    while todo:
        v = todo.pop()
        if v.source.type == "extract" and v.params_hash and v.params_hash not in found:
            found.append(v.params_hash)
        todo += [get_view(con, ref) for ref in v.source.inputs]
    return found
