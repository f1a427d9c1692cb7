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

#: A task that lets secrets out every way a task can (printed, its own structlog logger, a library's stdlib logger, a
#: library printing a traceback, its failure's exception), those musim never registered and a 4-character one it did
#: (``MUSIM_LANDING``'s password), from the environment :func:`planted_secrets` gives it.
LEAKING_DAG = '''
import logging, os, traceback
from datetime import datetime, timezone

import structlog
from airflow.sdk import dag, task


@dag(dag_id="task_log_secrets", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc), catchup=False,
     tags=["test"])
def task_log_secrets():
    @task
    def leak():
        from musim.config import get_settings

        get_settings()  # registers MUSIM_LANDING's password, 4 characters
        s = os.environ
        signed = ("https://cdn.example/p/a.mp3?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=" + s["T_SIG"]
                  + "&X-Amz-Expires=60")
        print(s["T_PLAIN"])
        structlog.get_logger("musim.acquire").info("fetching", url=signed,
                                                   headers={"Authorization": "Bearer " + s["T_BEARER"]})
        logging.getLogger("urllib3.connectionpool").warning("GET %s ?token=%s", signed, s["T_TOKEN"])
        print("logging in to the landing as musim with " + s["T_PW4"])
        try:
            raise ConnectionError("connect failed: password=" + s["T_PWX4"] + " sent")
        except ConnectionError:
            traceback.print_exc()  # a library printing a traceback: the task's stderr
        raise RuntimeError("login password=" + s["T_PWX4"] + " refused: preview " + signed
                           + " with Authorization: Bearer " + s["T_BEARER"])

    leak()


task_log_secrets()
'''


def planted_secrets() -> dict[str, str]:
    """The environment :data:`LEAKING_DAG` takes its values from, new ones each call; ``T_PLAIN`` is no secret."""
    planted = {"T_SIG": uuid.uuid4().hex, "T_BEARER": "eyJ" + uuid.uuid4().hex[:20], "T_TOKEN": uuid.uuid4().hex,
               "T_PW4": "Zq" + uuid.uuid4().hex[:2], "T_PWX4": "Xk" + uuid.uuid4().hex[:2],
               "T_PLAIN": f"plain message kept whole: 42 artists, {uuid.uuid4().hex[:6]} previews"}
    return {**planted, "MUSIM_LANDING": f"postgresql://musim:{planted['T_PW4']}@db/musim"}


def leaked_secrets(text: str, planted: dict[str, str]) -> set[str]:
    """The names of the planted secrets that ``text`` holds."""
    return {name for name in ("T_SIG", "T_BEARER", "T_TOKEN", "T_PW4", "T_PWX4") if planted[name] in text}


def assert_the_rest_is_kept(events: list[dict], planted: dict[str, str]) -> None:
    """The task's lines, in ``events`` (a task log's, as written or as Airflow's API reads it), whole but for the
    secrets."""
    said = [event["event"] for event in events]
    assert planted["T_PLAIN"] in said  # a plain message whole
    assert "logging in to the landing as musim with ***" in said
    failure = next(event for event in events if event.get("event") == "Task failed with exception")
    error = failure["error_detail"][0]
    assert error["exc_type"] == "RuntimeError" and error["frames"], error
    assert error["exc_value"] == ("login password=*** refused: preview https://cdn.example/p/a.mp3?X-Amz-Algorithm="
                                  "AWS4-HMAC-SHA256&X-Amz-Signature=***&X-Amz-Expires=60 with Authorization: Bearer ***")
    fetching = next(event for event in events if event.get("event") == "fetching")
    assert fetching["headers"] == {"Authorization": "***"} and "X-Amz-Signature=***" in fetching["url"]
    assert any("ConnectionError: connect failed: password=*** sent" in line for line in said)  # the printed traceback


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
