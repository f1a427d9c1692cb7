"""musim.task_log: a real task, run as an Airflow worker runs it (its supervisor writing its log file), in the
embedded environment (``musim.embedded.airflow_env``: ``make up``, the demo): no secret reaches its task log, those
musim never registered included, whichever way the task lets them out, while the rest of each line is kept."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from musim import embedded

pytest.importorskip("airflow.sdk")

DAG = '''
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


@pytest.fixture(scope="module")
def task_log(tmp_path_factory) -> tuple[str, dict[str, str]]:
    """The task log file of the task above, failed, and the values it let out."""
    tmp = tmp_path_factory.mktemp("task_log")
    (tmp / "dags").mkdir()
    (tmp / "dags" / "task_log_secrets.py").write_text(DAG)
    planted = {"T_SIG": uuid.uuid4().hex, "T_BEARER": "eyJ" + uuid.uuid4().hex[:20], "T_TOKEN": uuid.uuid4().hex,
               "T_PW4": "Zq" + uuid.uuid4().hex[:2], "T_PWX4": "Xk" + uuid.uuid4().hex[:2],
               "T_PLAIN": f"plain message kept whole: 42 artists, {uuid.uuid4().hex[:6]} previews"}
    env = dict(embedded.airflow_env(tmp / "home"), **planted,
               AIRFLOW__CORE__DAGS_FOLDER=str(tmp / "dags"), MUSIM_HOME=str(tmp / "home"),
               MUSIM_LANDING=f"postgresql://musim:{planted['T_PW4']}@db/musim")
    subprocess.run([sys.executable, "-m", "tests.supervised_task", "task_log_secrets", "leak", "task_log_secrets.py",
                    "task_log_secrets/leak.log"], env=env, cwd=embedded.REPO, check=True, timeout=600,
                   capture_output=True)
    log = Path(env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"]) / "task_log_secrets" / "leak.log"
    return log.read_text(), planted


def test_no_secret_reaches_the_task_log_registered_or_not(task_log):
    text, planted = task_log
    events = [json.loads(line) for line in text.splitlines()]
    assert any(event.get("event") == "Task failed with exception" for event in events), text[-3000:]
    leaked = {name for name in ("T_SIG", "T_BEARER", "T_TOKEN", "T_PW4", "T_PWX4") if planted[name] in text}
    assert not leaked, text


def test_the_rest_of_each_line_is_kept(task_log):
    text, planted = task_log
    events = [json.loads(line) for line in text.splitlines()]
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


def test_the_settings_install_it_in_the_embedded_environment_and_the_deployment(tmp_path, monkeypatch):
    from musim import task_log

    for name in task_log.AIRFLOW_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    env = embedded.airflow_env(tmp_path)
    compose = (embedded.REPO / "docker-compose.yaml").read_text()
    for name, value in task_log.AIRFLOW_SETTINGS.items():
        assert env[name] == value
        assert f'    {name}: "{value}"\n' in compose


class _Remote:
    processors = ("upload-as-written",)

    def __init__(self):
        self.calls = []

    def upload(self, path, ti=None):
        self.calls.append(("upload", path))

    def read(self, path, ti):
        return ["s3://logs/" + path], ["line"]

    def stream(self, path, ti):
        return ["s3://logs/" + path], []


def test_remote_logging_still_uploads_and_reads_through_the_redacting_handler():
    from musim.redact import redact_log_event
    from musim.task_log import RedactingTaskLog

    alone, remote = RedactingTaskLog(), _Remote()
    assert alone.processors == (redact_log_event,)
    assert alone.read("a/1.log", None) == ([], [])  # nothing remote: Airflow reads the local file
    assert getattr(alone, "stream", None) is None
    alone.upload("a/1.log")

    wrapped = RedactingTaskLog(remote)
    assert wrapped.processors == (redact_log_event, "upload-as-written")  # redacted before the remote sees a line
    wrapped.upload("a/1.log")
    assert remote.calls == [("upload", "a/1.log")]
    assert wrapped.read("a/1.log", None) == (["s3://logs/a/1.log"], ["line"])
    assert wrapped.stream("a/1.log", None) == (["s3://logs/a/1.log"], [])
