"""musim.task_log: a real task, run as an Airflow worker runs it (its supervisor writing its log file), in the
embedded environment (``musim.embedded.airflow_env``: ``make up``, the demo): no secret reaches its task log, those
musim never registered included, whichever way the task lets them out, while the rest of each line is kept."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from musim import embedded
from tests.supervised_task import LEAKING_DAG, assert_the_rest_is_kept, leaked_secrets, planted_secrets

pytest.importorskip("airflow.sdk")


@pytest.fixture(scope="module")
def task_log(tmp_path_factory) -> tuple[str, dict[str, str]]:
    """The task log file of ``LEAKING_DAG``'s task, failed, and the values it let out."""
    tmp = tmp_path_factory.mktemp("task_log")
    (tmp / "dags").mkdir()
    (tmp / "dags" / "task_log_secrets.py").write_text(LEAKING_DAG)
    planted = planted_secrets()
    env = dict(embedded.airflow_env(tmp / "home"), **planted, AIRFLOW__CORE__DAGS_FOLDER=str(tmp / "dags"),
               MUSIM_HOME=str(tmp / "home"))
    subprocess.run([sys.executable, "-m", "tests.supervised_task", "task_log_secrets", "leak", "task_log_secrets.py",
                    "task_log_secrets/leak.log"], env=env, cwd=embedded.REPO, check=True, timeout=600,
                   capture_output=True)
    log = Path(env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"]) / "task_log_secrets" / "leak.log"
    return log.read_text(), planted


def test_no_secret_reaches_the_task_log_registered_or_not(task_log):
    text, planted = task_log
    events = [json.loads(line) for line in text.splitlines()]
    assert any(event.get("event") == "Task failed with exception" for event in events), text[-3000:]
    assert not leaked_secrets(text, planted), text


def test_the_rest_of_each_line_is_kept(task_log):
    text, planted = task_log
    assert_the_rest_is_kept([json.loads(line) for line in text.splitlines()], planted)


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
