"""The audio_features DAG's tasks over one build: plan a run (writer), compute batches (mapped, no warehouse; each
writes a manifest to the object store), record every batch (writer); after the DAG's quality gate, publish the
online views (:mod:`musim.features.release`); the gate's outcome is the run's (:func:`check_run`)."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import duckdb

from musim import warehouse
from musim.audio.formats import MIN_DURATION_S
from musim.errors import ParameterError, QualityError
from musim.features.builds import compute_heartbeat_key, object_heartbeat
from musim.features.extract import Recorded, complete_build, extractors_for, plan_build, record, select_views
from musim.features.params import Extractor
from musim.features.pool import compute, rows_of
from musim.features.registry import FeatureView
from musim.features.release import Gate, require_gate
from musim.features.work import MANIFEST_PREFIX, BuildOptions, BuildResult, WorkItem
from musim.runs import run_key
from musim.storage import ObjectStore, open_store

log = logging.getLogger(__name__)

__all__ = ["check_run", "compute_batch", "plan_run", "publish_views", "record_batches", "record_run"]

# -- the DAG's mapped task and its recorder ----------------------------------------------------------------
def compute_batch(batch: dict[str, Any], *, store: ObjectStore | None = None, workers: int | None = None) -> dict[str, Any]:
    """Compute one planned batch and write its rows as a JSON manifest in the object store (no warehouse); beats
    in the object store while it works (:func:`musim.features.builds.object_heartbeat`).

    Returns ``{"run_id", "batch_no", "manifest", "items", "rejected"}`` (small: fit for XCom). Rerunning
    recomputes and overwrites the same objects and manifest.
    """
    store = store or open_store()
    beat = object_heartbeat(store, batch["run_id"], int(batch["batch_no"]))
    beat(force=True)
    extractors = [Extractor.from_json(e) for e in batch["extractors"]]
    items = [WorkItem.from_json(d) for d in batch["items"]]
    opts = BuildOptions(workers=workers, min_duration_s=float(batch.get("min_duration_s", MIN_DURATION_S)),
                        silence_db=batch.get("silence_db", -60.0), progress=False)
    results = []
    for res in compute(items, extractors, store=store, options=opts):
        results.append(res)
        beat()
    rows = rows_of(results, extractors)
    key = f"{MANIFEST_PREFIX}/{run_key(batch['run_id'])}/batch-{int(batch['batch_no']):05d}.json"
    store.put_bytes(key, json.dumps({"run_id": batch["run_id"], "extractors": batch["extractors"], "rows": rows})
                    .encode(), content_type="application/json")
    beat(force=True)
    return {"run_id": batch["run_id"], "batch_no": batch["batch_no"], "manifest": key, "items": len(items),
            "rejected": dict(Counter(r.reject[0] for r in results if r.reject))}


def record_batches(run_id: str, manifests: Sequence[str], *, con: duckdb.DuckDBPyConnection,
                   store: ObjectStore | None = None, views: Sequence[FeatureView] | None = None,
                   materialise: bool = True, publish: bool = True, gate: Gate | None = None,
                   replace: bool = False) -> BuildResult:
    """Record the manifests written by :func:`compute_batch`, then :func:`complete_build` the run (with
    ``publish``, once ``gate`` passed: :mod:`musim.features.release`). ``replace``: a run that recomputes named
    tracks (:func:`musim.features.extract.record`)."""
    if publish:
        require_gate(gate=gate)
    store = store or open_store()
    recorded = Recorded()
    for key in manifests:
        doc = store.get_json(key)
        if doc["run_id"] != run_id:
            raise ParameterError(f"manifest {key} belongs to run {doc['run_id']}, not {run_id}")
        recorded += record(con, run_id, doc["rows"], replace=replace, store=store)
    return complete_build(con, run_id, views=views, materialise=materialise, publish=publish, gate=gate,
                          recorded=recorded)


def plan_run(run_id: str, views: Sequence[str] | None = None, *, batch_size: int = 64,
             min_duration_s: float = MIN_DURATION_S, limit: int | None = None,
             recompute: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The DAG's ``plan``: open the warehouse writer, register the views, plan run ``run_id``, cut it into batches.

    Planning the same ``run_id`` again (a retried task, a DAG run cleared and run again) replaces the run's plan:
    what its earlier attempts recorded stays the run's (their rows are done, so not planned again; the run counts
    them computed, and what they took over from identical audio reused, as before). Returns the batches (JSON,
    fit for XCom; empty when nothing is missing). ``recompute``: track ids extracted again from their current audio
    whatever they hold (:func:`musim.features.extract.plan_build`; record them with :func:`record_run`'s
    ``recompute`` so their new rows replace theirs).
    """
    opts = BuildOptions(batch_size=batch_size, min_duration_s=min_duration_s, limit=limit)
    chosen = select_views(views)
    from musim.features.registry import apply

    with warehouse.writer() as con:
        apply(con)
        plan = plan_build(con, extractors_for(chosen), limit=limit, run_id=run_id, views=[v.ref for v in chosen],
                          min_duration_s=min_duration_s, heartbeat_key=compute_heartbeat_key(run_id),
                          recompute=recompute)
    return plan.batches(batch_size, opts)


def check_run(run_id: str, gate: Callable[[], Mapping[str, Any]]) -> dict[str, Any]:
    """The DAG's ``check_quality``: run the features ``gate`` (:func:`musim.quality.gates.gate_task`, which opens
    its own writer) over run ``run_id``'s data, then record its outcome on the build with the writer; when it
    failed, withdraw what the run materialised into the derived views (:func:`musim.features.release.gate_failed`)
    before the QualityError fails the task. Returns the passed gate's result (for ``publish``)."""
    from musim.features.release import gate_failed, record_gate, require_passed

    try:
        quality = dict(gate())
        require_passed(quality)
    except QualityError as exc:  # the task's error starts with the line `musim features build` prints
        with warehouse.writer() as con:
            error = gate_failed(con, run_id, exc)
        raise error from exc
    with warehouse.writer() as con:
        record_gate(con, run_id, "passed", str(quality["run_id"]))
    return quality


def publish_views(views: Sequence[str] | None = None, *, quality: Mapping[str, Any]) -> list[str]:
    """The DAG's ``publish``: release the online snapshots of the warehouse-stored ``views`` (default: all) with
    the result of its ``check_quality`` task (:func:`musim.features.release.release` refuses one that is not
    a passed features gate); their paths. A failed gate never gets here: the previous snapshots keep serving.
    """
    from musim.features.release import release

    with warehouse.writer() as con:
        return release(con, select_views(views), quality=quality).published


def has_new_features(summary: dict[str, Any]) -> bool:
    """Whether a recorded run (its :func:`record_run` summary) wrote feature rows, computed or taken over from
    identical audio: the ``features`` asset's consumers (training) have something new only then."""
    return summary["computed"] + summary["reused"] > 0


def record_run(run_id: str, computed: Sequence[dict[str, Any]], *, views: Sequence[str] | None = None,
               recompute: Sequence[str] = ()) -> dict[str, Any]:
    """The DAG's ``record``: record the batches' manifests, close the run, materialise; a summary. Publishing
    waits for the DAG's ``check_quality`` task (:func:`publish_views`). ``recompute``: the tracks :func:`plan_run`
    was given; their new rows replace theirs, as ``musim features build --recompute`` records them."""
    with warehouse.writer() as con:
        result = record_batches(run_id, [c["manifest"] for c in computed], con=con, views=select_views(views),
                                publish=False, replace=bool(recompute))
    return result.to_json()
