"""The quality gates as the pipelines call them: run the suites, fail on bad data.

- :func:`gate_task` is the DAGs' gate: it also links the Data Docs to the task (it imports ``airflow.sdk`` to
  push the link, only inside Airflow tasks; everything else in :mod:`musim.quality` works without Airflow);
- :func:`gate_features` is the gate ``musim features build`` hands down to
  :func:`musim.features.release.release`, run on the build's own writer before it publishes.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

import duckdb

from musim.errors import QualityError
from musim.features.release import FEATURES_DATASETS, gate_failed_line

log = logging.getLogger(__name__)

__all__ = ["FEATURES_DATASETS", "INGEST_DATASETS", "PREVIEWS_DATASETS", "SIMILARITY_DATASETS", "gate_features",
           "gate_task"]

#: What each DAG gates.
INGEST_DATASETS = ("lastfm_plays", "lastfm_profiles", "artists")
SIMILARITY_DATASETS = ("similarity",)
PREVIEWS_DATASETS = ("previews",)
# FEATURES_DATASETS: defined by the feature store, which releases only after they passed (imported above)


def gate_task(datasets: Sequence[str], dump_id: str | None, *, views: Sequence[str] | None = None) -> dict:
    """Run ``datasets`` for ``dump_id``; push the Data Docs URL for the task's "Data Docs" link; raise
    :class:`QualityError` (failing the task, so nothing downstream runs) if a dataset failed.
    ``views``: as for :func:`gate_features` (the features DAG run with its ``views`` param).

    Returns a small summary for XCom: run id, docs URL, per dataset status.
    """
    from musim.quality import DOCS_LINK_XCOM_KEY
    from musim.quality.runner import check

    run = check(list(datasets), dump_id=dump_id, payload=_built(views))
    for line in run.describe().splitlines():
        log.info("%s", line)
    # Inside a task Airflow is loaded already; elsewhere (tests, the CLI) importing it would reconfigure this
    # process's logging (its dictConfig closes the handlers in place, and with them streams they hold).
    if run.docs_url and "airflow.sdk" in sys.modules:
        try:
            from airflow.sdk import get_current_context

            get_current_context()["ti"].xcom_push(key=DOCS_LINK_XCOM_KEY, value=run.docs_url)
        except Exception as exc:  # outside a task (tests calling it directly): no link to attach
            log.debug("no Airflow context to push the Data Docs link to: %s", exc)
    if not run.success:
        raise QualityError(f"data quality gate failed for {run.failed_line()} (run {run.run_id}); nothing "
                           f"downstream runs.\n{run.describe()}",
                           run_id=run.run_id, failed=[r.dataset for r in run.failed])
    return {"run_id": run.run_id, "docs_url": run.docs_url,
            "datasets": {r.dataset: r.status for r in run.results}}


def gate_features(con: duckdb.DuckDBPyConnection, *, views: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the ``features`` and ``training_sets`` suites (:data:`FEATURES_DATASETS`) on the writer ``con``;
    their summary (the shape the DAG's ``check_quality`` task returns: run id, Data Docs URL, status per dataset).
    ``views``: the refs (``name:version``) a build of some views wrote; ``training_sets`` then judges the services
    that read one of them (a build of the descriptors alone, on a library whose log-mels were never built, is not
    failed for the log-mel service it never fed); None: every service.

    Raises
    ------
    QualityError
        A suite failed: one line saying so and what to do, then the report.
    """
    from musim.quality.runner import check_on

    run = check_on(con, FEATURES_DATASETS, payload=_built(views))
    if not run.success:
        failed = [r.dataset for r in run.failed]
        raise QualityError(f"{gate_failed_line(run, run.run_id)}\n{run.describe()}", run_id=run.run_id,
                           failed=failed)
    return {"run_id": run.run_id, "docs_url": run.docs_url, "datasets": {r.dataset: r.status for r in run.results}}


def _built(views: Sequence[str] | None) -> dict[str, tuple[str, ...]] | None:
    """The payload telling ``training_sets`` which views a build wrote (None: judge every service)."""
    return None if views is None else {"training_sets": tuple(views)}
