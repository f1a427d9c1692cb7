"""Record → gate → publish: the one order in which a feature build's online snapshots are released.

:func:`release` is the only way a build's warehouse views become online snapshots. It runs after the build
recorded its rows and materialised its derived views, and publishes only once the ``features`` and
``training_sets`` quality suites passed: ``musim features build`` runs them here, on the build's own
writer (through :func:`musim.features.extract.complete_build`); the ``audio_features`` DAG runs them in its
``check_quality`` task (which links the Data Docs to the task) and hands that gate's result to its
``publish`` task, which releases with it (:func:`musim.features.staged.publish_views`). When the gate
fails nothing is published and the previous snapshots keep serving. ``skip_quality`` publishes without the
gate (``musim features build --skip-quality``; not recommended).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from musim.errors import QualityError
from musim.features.registry import FeatureView
from musim.quality.gates import FEATURES_DATASETS

log = logging.getLogger(__name__)

__all__ = ["FEATURES_DATASETS", "Released", "gate_features", "release"]


@dataclass(frozen=True)
class Released:
    """What :func:`release` published, and the quality gate it passed (None when skipped)."""

    published: list[str]
    quality: dict[str, Any] | None


def _failed_line(failed: Sequence[str], run_id: str) -> str:
    return (f"the features quality gate failed ({', '.join(failed)}; quality run {run_id}): no online snapshot was "
            "published and the previous ones keep serving; fix the data the report names (`musim quality report`), "
            "or publish anyway with `musim features build --skip-quality`")


def gate_features(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Run the ``features`` and ``training_sets`` suites on the writer ``con``; their summary (the shape the
    DAG's ``check_quality`` task returns: run id, Data Docs URL, status per dataset).

    Raises
    ------
    QualityError
        A suite failed: one line saying so and what to do, then the report.
    """
    from musim.quality import check_on

    run = check_on(con, FEATURES_DATASETS)
    if not run.success:
        raise QualityError(f"{_failed_line([r.dataset for r in run.failed], run.run_id)}\n{run.describe()}")
    return {"run_id": run.run_id, "docs_url": run.docs_url, "datasets": {r.dataset: r.status for r in run.results}}


def _require_passed(quality: Mapping[str, Any]) -> None:
    """Refuse a gate result that does not cover the features' suites or holds a failed one."""
    datasets = dict(quality.get("datasets") or {})
    missing = [d for d in FEATURES_DATASETS if d not in datasets]
    if missing:
        raise QualityError(f"quality run {quality.get('run_id')} did not check {', '.join(missing)}: the online "
                           "feature snapshots are published only after the features quality gate passed")
    failed = [d for d in FEATURES_DATASETS if datasets[d] == "failed"]
    if failed:
        raise QualityError(_failed_line(failed, str(quality.get("run_id"))))


def release(con: duckdb.DuckDBPyConnection, views: Sequence[FeatureView], *,
            quality: Mapping[str, Any] | None = None, skip_quality: bool = False) -> Released:
    """Publish the online snapshots of the warehouse-stored ``views``, once the features gate passed (no gate
    runs when none of ``views`` is stored in the warehouse: nothing is published).

    Parameters
    ----------
    con : the warehouse writer's connection (the build's, after it recorded and materialised)
    views : the views the build made
    quality : the result of a gate already run on this data (the DAG's ``check_quality`` task); None runs the
        gate here (:func:`gate_features`)
    skip_quality : publish without the gate (a warning in the log)

    Raises
    ------
    QualityError
        The gate failed (or ``quality`` is not a passed features gate): nothing is published.
    """
    from musim.features.online import publish_online

    to_publish = [v for v in views if v.storage == "warehouse"]
    if not to_publish and quality is None:  # e.g. only the log-mels (object-store views): nothing to publish, to gate
        return Released([], None)
    if skip_quality:
        log.warning("publishing the online feature snapshots without the features quality gate (--skip-quality)")
        passed = None
    elif quality is not None:
        _require_passed(quality)
        passed = dict(quality)
    else:
        passed = gate_features(con)
    published = [str(publish_online(con, v)) for v in to_publish]
    return Released(published, passed)
