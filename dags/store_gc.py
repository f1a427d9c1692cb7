"""
### Object store garbage collection

Weekly, as `musim store gc --delete --older-than 7d` does: lists the object store under musim's prefixes
(`audio/previews/`, `features/mel/`, `features/slices/`, `models/`, `quality/docs/`, and the DAG runs' staging
`features/runs/` and `models/runs/`), subtracts
every object a warehouse row refers to (feature values a recompute superseded included: point-in-time training sets
read them; a registered model version's folder; a quality run's Data Docs) and deletes the rest that is older than
the grace period. A recompute whose bytes equalled an old value's, a failed or killed build, a removed library track
and a deleted model version leave such objects; nothing else ever deletes them. A DAG run's staging folder (a
training run's inputs and models, a feature build's batch manifests) goes whole once its newest object is older than
`staging_older_than_hours`: a task of that run cleared later finds its staging gone (clear the whole run instead).

`collect` runs in the `duckdb_writer` pool, so no DAG task that records rows for objects it stored (an acquisition's
`record`, a library scan, a feature build) runs while it looks; the grace period keeps what a build in flight stored
before its rows. Set `delete` off to see what would go (the task log's summary line names how many objects and
megabytes); the task's return value (XCom) holds the counts, not the keys (`musim store gc --json` lists them).

A warehouse that names no object while the store holds musim's objects (a new `MUSIM_HOME` beside a shared bucket)
fails the task, nothing deleted.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task


@dag(
    schedule="@weekly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["musim", "maintenance"],
    doc_md=__doc__,
    params={
        "older_than_hours": Param(168, type="integer", minimum=1, maximum=100_000,
                                  description="Grace period in hours: unreferenced objects changed more recently are "
                                              "kept (a build in flight stores its objects before its rows)"),
        "staging_older_than_hours": Param(168, type="integer", minimum=1, maximum=100_000,
                                          description="Grace period in hours of a DAG run's staging folder "
                                                      "(features/runs/<run>/, models/runs/<run>/): kept while its "
                                                      "newest object is younger (a retried task reads it back)"),
        "delete": Param(True, type="boolean",
                        description="Delete the unreferenced objects (off: only count them, a dry run)"),
    },
)
def store_gc():
    @task(pool="duckdb_writer", retries=2, retry_delay=pendulum.duration(minutes=5))
    def collect(params=None, dag=None) -> dict:
        import datetime as dt
        import logging

        from airflow.sdk.exceptions import AirflowFailException

        from musim.assets import refused_conf
        from musim.errors import StorageError
        from musim.redact import redact
        from musim.storage import StorageUnavailable, open_store
        from musim.storage_gc import collect_garbage

        params = params or {}
        if refused := refused_conf(dag, params):  # a typo ({"dry_run": true}) must not delete as the default does
            raise AirflowFailException(refused)
        try:
            result = collect_garbage(
                open_store(), older_than=dt.timedelta(hours=int(params["older_than_hours"])),
                staging_older_than=dt.timedelta(hours=int(params["staging_older_than_hours"])),
                delete=bool(params["delete"]), progress=False)
        except StorageUnavailable:
            raise  # an outage: retried
        except StorageError as exc:  # the wrong warehouse for this store, a key refused: no retry mends it
            raise AirflowFailException(redact(str(exc))) from None
        logging.getLogger("musim.store_gc").info("%s", result.summary())
        return {k: v for k, v in result.to_json().items() if k != "keys"}

    collect()


store_gc()
