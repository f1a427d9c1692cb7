"""Record → gate → publish: the one order in which a feature build's online snapshots are released.

:func:`release` is the only way a build's warehouse views become online snapshots. It runs after the build
recorded its rows and materialised its derived views, and publishes only once the ``features`` and
``training_sets`` quality suites (:data:`FEATURES_DATASETS`) passed. The suites belong to the quality layer,
above this one, so the caller hands the gate down: ``musim features build`` passes
:func:`musim.quality.gates.gate_features` as ``gate``, run here on the build's own writer (through
:func:`musim.features.extract.complete_build`); the ``audio_features`` DAG runs the suites in its
``check_quality`` task (which links the Data Docs to the task) and hands that gate's result to its
``publish`` task, which releases with it as ``quality`` (:func:`musim.features.staged.publish_views`). When
the gate fails nothing is published and the previous snapshots keep serving.

The gate's outcome is the build's (write → audit → publish): :func:`gate_build` records it on the build's
``feature_build`` row (``quality_run_id``, ``quality_status``: passed, failed or skipped) and, when it failed,
withdraws what the build materialised into the derived views (:func:`withdraw_derived`: the artist means read as
before the build), so nothing half-written of a build that failed its suites is read; training refuses while
the newest gated build failed (:func:`newest_gate`, :func:`training_refusal`). ``skip_quality`` publishes
without the gate (``musim features build --skip-quality``; not recommended). A call with none of the three
is refused: nothing publishes ungated by forgetting the gate.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb

from musim import sql, warehouse
from musim.errors import ParameterError, QualityError
from musim.features.registry import FeatureView

log = logging.getLogger(__name__)

__all__ = ["FEATURES_DATASETS", "RECOVERY", "Gate", "GateOutcome", "Released", "gate_blame", "gate_build", "gate_failed",
           "gate_failed_line",
           "newest_gate", "record_gate", "release", "require_gate", "require_passed", "training_refusal",
           "withdraw_derived"]

#: The quality suites a feature build must pass before its online snapshots are published.
FEATURES_DATASETS = ("features", "training_sets")

#: A features gate: runs :data:`FEATURES_DATASETS` on the writer's connection, raises QualityError when one
#: fails, else returns the run's summary (run id, Data Docs URL, status per dataset).
Gate = Callable[[duckdb.DuckDBPyConnection], Mapping[str, Any]]


@dataclass(frozen=True)
class Released:
    """What :func:`release` published, and the quality gate it passed (None when skipped)."""

    published: list[str]
    quality: dict[str, Any] | None


#: What to do about rows a failed features gate names (the gate's line, the training refusal).
RECOVERY = ("see `musim quality report --dataset features`; recompute the tracks it names from their audio with "
            "`musim features build --recompute TRACK_ID...` (or fix or re-read their source audio and rebuild) until "
            "a build's gate passes")


def _blame(wrote: int | None, writers: Sequence[str]) -> str:
    """``; it wrote no new rows: the failing rows were written by builds ...`` when the build wrote nothing."""
    if wrote or not writers:
        return ""
    return f"; it wrote no new rows: the failing rows were written by build{'s' if len(writers) > 1 else ''} " + \
        ", ".join(writers)


class FailedRun(Protocol):
    """What :func:`gate_failed_line` reads of a failed quality run (:class:`musim.quality.runner.QualityRun`, a layer
    above this one)."""

    run_id: str

    def failed_line(self) -> str: ...


#: How :func:`gate_failed_line` begins, then what failed and ``; quality run <id>)``.
_GATE_FAILED = "the features quality gate failed ("


def gate_failed_line(failed: Sequence[str] | FailedRun | str, run_id: str, *, wrote: int | None = None,
                     writers: Sequence[str] = ()) -> str:
    """The one line that says the features gate failed in quality run ``run_id``: ``failed`` is the run
    (``QualityRun``: its :meth:`failed_line` names each failed dataset with its failed expectations and how many rows
    they found bad), that line itself (a ``str``), or the failed datasets' names. With the build's count of rows
    written (``wrote``) and the builds that wrote the failing rows (``writers``: :func:`gate_blame`), it says who
    wrote them when the build wrote none."""
    if isinstance(failed, str):
        what = failed
    elif hasattr(failed, "failed_line"):
        what = failed.failed_line()
    else:
        what = ", ".join(failed)
    return (f"{_GATE_FAILED}{what}; quality run {run_id}){_blame(wrote, writers)}: "
            "no online snapshot was published and the previous ones keep serving, the build's artist means were "
            f"withdrawn and training waits for a build that passes; {RECOVERY}; or publish anyway with "
            "`musim features build --skip-quality`")


def _what_failed(exc: QualityError) -> str | Sequence[str]:
    """What failed, as the gate's own line (:func:`gate_failed_line`) of ``exc`` said it (the expectations and
    counts of :meth:`FailedRun.failed_line`), else the failed datasets' names."""
    first = str(exc).split("\n", 1)[0]
    end = f"; quality run {exc.run_id})"
    if first.startswith(_GATE_FAILED) and end in first:
        return first[len(_GATE_FAILED):first.index(end)]
    return exc.failed


def gate_blame(con: duckdb.DuckDBPyConnection, run_id: str, quality_run: str | None) -> tuple[int, list[str]]:
    """How many rows build ``run_id`` wrote, and the other builds that wrote the rows its features gate (quality run
    ``quality_run``) failed on, as the run's examples name them."""
    wrote, writers = sql.query(con, "features/gate_blame.sql", run_id=run_id, quality_run_id=quality_run).fetchone()
    return int(wrote), list(writers or [])


@dataclass(frozen=True)
class GateOutcome:
    """The features gate's outcome of one build (a ``feature_build`` row's ``quality_*`` columns)."""

    build: str
    quality_run: str | None
    status: str  # passed, failed, skipped
    checked_at: dt.datetime | None


def record_gate(con: duckdb.DuckDBPyConnection, run_id: str, status: str, quality_run: str | None, *,
                now: dt.datetime | None = None) -> None:
    """Record the features gate's outcome ``status`` (passed, failed, skipped) of build ``run_id``."""
    if status not in ("passed", "failed", "skipped"):
        raise ParameterError(f"a features gate's outcome is passed, failed or skipped, not {status!r}")
    sql.run(con, "features/record_gate.sql", run_id=run_id, quality_run_id=quality_run, quality_status=status,
            now=now or dt.datetime.now(dt.UTC))


def withdraw_derived(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """Withdraw what build ``run_id`` materialised into the derived views (one transaction): its values, its
    materialisations, and each view's lineage and ``materialised_at`` back to the view's previous
    materialisation, so readers see the values from before the build. Returns the materialisations removed."""
    with warehouse.transaction(con):
        sql.run(con, "features/withdraw_derived.sql", run_id=run_id)
        return int(sql.query(con, "features/withdrawn_count.sql").fetchone()[0])


def gate_build(con: duckdb.DuckDBPyConnection, run_id: str, gate: Callable[[], Mapping[str, Any]]) -> dict[str, Any]:
    """Run the features ``gate`` (no argument: it is bound to its connection) over build ``run_id``'s data and
    record its outcome on the build; when it fails (QualityError), withdraw the build's derived values
    (:func:`withdraw_derived`) before the error goes on. Returns the passed gate's result.

    ``con`` is the writer the outcome is recorded with (the DAG's gate runs on a writer of its own first)."""
    try:
        quality = dict(gate())
        _require_passed(quality)
    except QualityError as exc:
        raise gate_failed(con, run_id, exc) from exc
    record_gate(con, run_id, "passed", str(quality.get("run_id")))
    return quality


def gate_failed(con: duckdb.DuckDBPyConnection, run_id: str, exc: QualityError) -> QualityError:
    """Settle build ``run_id`` whose features gate failed with ``exc``: withdraw its derived values, record the
    failure (``exc.run_id``, the quality run) on the build. Returns the error to raise: its first line is
    :func:`gate_failed_line` (what was withdrawn, what to run; who wrote the failing rows when the build wrote
    none), then the report ``exc`` carried (the DAG's gate and the CLI's say the same)."""
    withdrawn = withdraw_derived(con, run_id)
    record_gate(con, run_id, "failed", exc.run_id)
    log.warning("feature build %s failed the features gate (quality run %s): %d derived view materialisation(s) "
                "withdrawn", run_id, exc.run_id, withdrawn)
    if not exc.failed:  # not a suite's failure (a gate result that did not cover them): as it was
        return exc
    wrote, writers = gate_blame(con, run_id, exc.run_id)
    report = str(exc).split("\n", 1)[1:]
    return QualityError("\n".join([gate_failed_line(_what_failed(exc), str(exc.run_id), wrote=wrote, writers=writers),
                                   *report]), run_id=exc.run_id, failed=exc.failed)


def require_passed(quality: Mapping[str, Any]) -> None:
    """QualityError unless ``quality`` is a features gate's result that covers and passed :data:`FEATURES_DATASETS`."""
    _require_passed(quality)


def newest_gate(con: duckdb.DuckDBPyConnection) -> GateOutcome | None:
    """The outcome of the newest feature build whose features gate ran or was skipped (None: no such build, e.g.
    only builds from before migration 029, or a DAG build whose ``check_quality`` task has not run yet)."""
    row = sql.query(con, "features/newest_gate.sql").fetchone()
    return GateOutcome(*row) if row is not None else None


def training_refusal(con: duckdb.DuckDBPyConnection) -> str | None:
    """The one line that refuses training while the newest gated feature build failed its features gate (None:
    training may go on). Training never reads features whose build failed its suites."""
    newest = newest_gate(con)
    if newest is None or newest.status != "failed":
        return None
    wrote, writers = gate_blame(con, newest.build, newest.quality_run)
    return (f"the newest feature build {newest.build} failed its features quality gate (quality run "
            f"{newest.quality_run}){_blame(wrote, writers)}: nothing is trained on features that failed their "
            f"suites; {RECOVERY}")


def _require_passed(quality: Mapping[str, Any]) -> None:
    """Refuse a gate result that does not cover the features' suites or holds a failed one."""
    datasets = dict(quality.get("datasets") or {})
    missing = [d for d in FEATURES_DATASETS if d not in datasets]
    if missing:
        raise QualityError(f"quality run {quality.get('run_id')} did not check {', '.join(missing)}: the online "
                           "feature snapshots are published only after the features quality gate passed",
                           run_id=quality.get("run_id"))
    failed = [d for d in FEATURES_DATASETS if datasets[d] == "failed"]
    if failed:
        raise QualityError(gate_failed_line(failed, str(quality.get("run_id"))), run_id=quality.get("run_id"),
                           failed=failed)


def require_gate(*, quality: Mapping[str, Any] | None = None, gate: Gate | None = None,
                 skip_quality: bool = False) -> None:
    """Refuse to go on towards publishing with none of a gate's result, a gate to run or ``skip_quality``.

    Raises
    ------
    ParameterError
        None of the three was given: nothing may publish ungated by omission.
    """
    if quality is None and gate is None and not skip_quality:
        raise ParameterError("publishing the online feature snapshots needs the features quality gate: pass "
                             "gate=musim.quality.gates.gate_features, quality= (a passed gate's result) or "
                             "skip_quality=True")


def release(con: duckdb.DuckDBPyConnection, views: Sequence[FeatureView], *,
            quality: Mapping[str, Any] | None = None, gate: Gate | None = None,
            skip_quality: bool = False) -> Released:
    """Publish the online snapshots of the warehouse-stored ``views``, once the features gate passed (no gate
    runs when none of ``views`` is stored in the warehouse: nothing is published).

    Parameters
    ----------
    con : the warehouse writer's connection (the build's, after it recorded and materialised)
    views : the views the build made
    quality : the result of a gate already run on this data (the DAG's ``check_quality`` task)
    gate : the gate to run here on ``con`` when no ``quality`` is given
        (:func:`musim.quality.gates.gate_features`, passed down by ``musim features build``)
    skip_quality : publish without the gate (a warning in the log)

    Raises
    ------
    ParameterError
        None of ``quality``, ``gate`` and ``skip_quality`` was given: nothing may publish ungated by omission.
    QualityError
        The gate failed (or ``quality`` is not a passed features gate): nothing is published.
    """
    from musim.features.online import publish_online

    require_gate(quality=quality, gate=gate, skip_quality=skip_quality)
    to_publish = [v for v in views if v.storage == "warehouse"]
    if not to_publish and quality is None:  # e.g. only the log-mels (object-store views): nothing to publish, to gate
        return Released([], None)
    if skip_quality:
        log.warning("publishing the online feature snapshots without the features quality gate (--skip-quality)")
        passed = None
    else:
        passed = dict(quality if quality is not None else gate(con))
        _require_passed(passed)
    published = [str(publish_online(con, v)) for v in to_publish]
    return Released(published, passed)
