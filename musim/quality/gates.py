"""The quality gate as the DAGs call it: run the suites, link the Data Docs to the task, fail on bad data.

Only called inside Airflow tasks (it imports ``airflow.sdk`` to push the link); everything else in
:mod:`musim.quality` works without Airflow.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from musim.errors import QualityError

log = logging.getLogger(__name__)

#: What each DAG gates.
INGEST_DATASETS = ("lastfm_plays", "lastfm_profiles", "artists")
SIMILARITY_DATASETS = ("similarity",)
PREVIEWS_DATASETS = ("previews",)
FEATURES_DATASETS = ("features", "training_sets")


def gate_task(datasets: Sequence[str], dump_id: str | None) -> dict:
    """Run ``datasets`` for ``dump_id``; push the Data Docs URL for the task's "Data Docs" link; raise
    :class:`QualityError` (failing the task, so nothing downstream runs) if a dataset failed.

    Returns a small summary for XCom: run id, docs URL, per dataset status.
    """
    from musim.quality import DOCS_LINK_XCOM_KEY
    from musim.quality.runner import check

    run = check(list(datasets), dump_id=dump_id)
    for line in run.describe().splitlines():
        log.info("%s", line)
    if run.docs_url:
        try:
            from airflow.sdk import get_current_context

            get_current_context()["ti"].xcom_push(key=DOCS_LINK_XCOM_KEY, value=run.docs_url)
        except Exception as exc:  # outside a task (tests calling it directly): no link to attach
            log.debug("no Airflow context to push the Data Docs link to: %s", exc)
    if not run.success:
        raise QualityError(f"data quality gate failed for {', '.join(r.dataset for r in run.failed)} "
                           f"(run {run.run_id}); nothing downstream runs.\n{run.describe()}")
    return {"run_id": run.run_id, "docs_url": run.docs_url,
            "datasets": {r.dataset: r.status for r in run.results}}
