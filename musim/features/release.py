"""Record → gate → publish: the one order in which a feature build's online snapshots are released.

:func:`release` is the only way a build's warehouse views become online snapshots. It runs after the build
recorded its rows and materialised its derived views, and publishes only once the ``features`` and
``training_sets`` quality suites (:data:`FEATURES_DATASETS`) passed. The suites belong to the quality layer,
above this one, so the caller hands the gate down: ``musim features build`` passes
:func:`musim.quality.gates.gate_features` as ``gate``, run here on the build's own writer (through
:func:`musim.features.extract.complete_build`); the ``audio_features`` DAG runs the suites in its
``check_quality`` task (which links the Data Docs to the task) and hands that gate's result to its
``publish`` task, which releases with it as ``quality`` (:func:`musim.features.staged.publish_views`). When
the gate fails nothing is published and the previous snapshots keep serving. ``skip_quality`` publishes
without the gate (``musim features build --skip-quality``; not recommended). A call with none of the three
is refused: nothing publishes ungated by forgetting the gate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from musim.errors import ParameterError, QualityError
from musim.features.registry import FeatureView

log = logging.getLogger(__name__)

__all__ = ["FEATURES_DATASETS", "Gate", "Released", "gate_failed_line", "release", "require_gate"]

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


def gate_failed_line(failed: Sequence[str], run_id: str) -> str:
    """The one line that says the features gate failed (``failed`` datasets of quality run ``run_id``)."""
    return (f"the features quality gate failed ({', '.join(failed)}; quality run {run_id}): no online snapshot was "
            "published and the previous ones keep serving; fix the data the report names (`musim quality report`), "
            "or publish anyway with `musim features build --skip-quality`")


def _require_passed(quality: Mapping[str, Any]) -> None:
    """Refuse a gate result that does not cover the features' suites or holds a failed one."""
    datasets = dict(quality.get("datasets") or {})
    missing = [d for d in FEATURES_DATASETS if d not in datasets]
    if missing:
        raise QualityError(f"quality run {quality.get('run_id')} did not check {', '.join(missing)}: the online "
                           "feature snapshots are published only after the features quality gate passed")
    failed = [d for d in FEATURES_DATASETS if datasets[d] == "failed"]
    if failed:
        raise QualityError(gate_failed_line(failed, str(quality.get("run_id"))))


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
