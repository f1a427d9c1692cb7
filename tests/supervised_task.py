"""Run one task of a DAG as an Airflow worker runs it, and write its task log: ``python -m tests.supervised_task DAG_ID
TASK_ID DAG_FILE LOG_PATH`` (``LOG_PATH`` relative to ``[logging] base_log_folder``).

``supervise_task`` is what the LocalExecutor's and Celery's workers call: it forks the task process, reads its log
events, stdout and stderr, and writes the task log file through Airflow's logging chain. Only the execution API
server is stood in for (an in-memory transport answering the task's start and its state updates), so no scheduler,
API server or metadata database is needed. Run in a process of its own: Airflow reads its settings once, at import.
"""

from __future__ import annotations

import sys
import uuid

import httpx


def _execution_api(dag_id: str):
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/run"):  # the task's start: its run context
            return httpx.Response(200, json={"max_tries": 0, "dag_run": {
                "dag_id": dag_id, "run_id": "supervised", "logical_date": None, "data_interval_start": None,
                "data_interval_end": None, "run_after": "2026-01-01T00:00:00Z", "start_date": "2026-01-01T00:00:00Z",
                "end_date": None, "run_type": "manual", "state": "running", "consumed_asset_events": [],
                "partition_key": None}})
        return httpx.Response(204)  # heartbeats, the final state

    return answer


def main(dag_id: str, task_id: str, dag_file: str, log_path: str) -> int:
    from airflow.sdk.api.client import Client
    from airflow.sdk.api.datamodels._generated import BundleInfo, TaskInstance
    from airflow.sdk.execution_time.supervisor import supervise_task

    ti = TaskInstance(id=uuid.uuid4(), task_id=task_id, dag_id=dag_id, run_id="supervised", try_number=1,
                      dag_version_id=uuid.uuid4())
    client = Client(base_url=None, dry_run=True, token="", transport=httpx.MockTransport(_execution_api(dag_id)))
    return supervise_task(ti=ti, bundle_info=BundleInfo(name="dags-folder"), dag_rel_path=dag_file, token="",
                          client=client, log_path=log_path)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
