"""Inside an Airflow task the log is written by the task's supervisor, another process, whose own masker knows only
what musim registered: every secret a setting or connection holds is registered the moment the settings are read, in
the forms an error quotes it in (percent-encoded in a URL, JSON-escaped), even when Airflow is imported after the
reading. (What no one registered is hidden by musim's processor in the same write path: tests/test_task_log.py.)"""

from __future__ import annotations

import json
import sys
import uuid
from urllib.parse import quote

import pytest

from musim.config import get_settings

pytest.importorskip("airflow.sdk")


def _task_log(message: str) -> str:
    """What Airflow's task log writes for a task failing with ``message``: the event as the supervisor masks it."""
    from airflow.sdk.log import mask_logs

    try:
        raise RuntimeError(message)
    except RuntimeError as exc:
        event = {"event": "Task failed with exception", "error_detail": [{"exc_value": str(exc)}]}
    return json.dumps(mask_logs(None, "error", event))


def _secret() -> str:
    return f"Pa/ss'w%rd+{uuid.uuid4().hex[:10]}"  # '/', a quote, '%' and '+' change when percent-encoded


def test_a_password_in_a_settings_url_is_masked_in_the_task_log_as_written_and_encoded(tmp_path):
    password, token = _secret(), uuid.uuid4().hex
    store = f"s3://AKIAEXAMPLE:{quote(password, safe='')}@bucket/p"
    endpoint = f"https://minio.example/?X-Amz-Security-Token={token}"
    get_settings({"MUSIM_HOME": str(tmp_path), "MUSIM_OBJECT_STORE": store, "MUSIM_S3_ENDPOINT_URL": endpoint})

    log = _task_log(f"could not open {store}: bad key {password!r}; {endpoint} refused")

    assert "***" in log
    for form in (password, quote(password, safe=""), quote(password), token):
        assert form not in log


def test_a_connection_secret_is_masked_before_the_connection_is_used(tmp_path):
    secret = _secret()
    conn = json.dumps({"conn_type": "http", "login": "client-id", "password": secret,
                       "extra": {"client_secret": secret + "-x"}})
    get_settings({"MUSIM_HOME": str(tmp_path), "AIRFLOW_CONN_MUSIM_SPOTIFY": conn})

    log = _task_log(f"token request refused for {secret} and {secret}-x ({json.dumps(secret)})")

    assert "***" in log and secret not in log and json.dumps(secret)[1:-1] not in log


def test_secrets_read_before_airflow_was_imported_reach_its_masker(tmp_path, monkeypatch):
    secret = _secret()
    env = {"MUSIM_HOME": str(tmp_path), "AWS_SECRET_ACCESS_KEY": secret,
           "MUSIM_LANDING": f"postgresql://musim:{quote(secret, safe='')}@db/musim"}
    with monkeypatch.context() as m:  # a task whose module read the settings before it imported airflow.sdk
        m.delitem(sys.modules, "airflow.sdk")
        get_settings(env)
    assert secret in _task_log(secret)  # nothing told Airflow yet

    get_settings(env)  # the task reads them again (the reading is cached: nothing is registered anew)

    assert secret not in _task_log(f"{secret} / {quote(secret, safe='')}")


def test_secrets_handed_on_before_the_task_s_supervisor_link_reach_the_supervisor(tmp_path, monkeypatch):
    """The supervisor writes the task log, and learns a secret only from ``mask_secret`` called while the task process
    is linked to it (``SUPERVISOR_COMMS``): a secret handed on before that link existed is handed on again."""
    from airflow.sdk.execution_time import task_runner

    secret = _secret()
    monkeypatch.delattr(task_runner, "SUPERVISOR_COMMS", raising=False)
    env = {"MUSIM_HOME": str(tmp_path), "SPOTIPY_CLIENT_SECRET": secret}
    get_settings(env)  # read in the task process before its link was made

    sent = []
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", type("Comms", (), {"send": lambda self, msg: sent.append(msg)})(),
                        raising=False)
    get_settings(env)

    assert secret in {getattr(msg, "value", None) for msg in sent}


def test_a_user_name_without_a_password_is_not_masked_everywhere(tmp_path):
    """Only a URL's password is registered: a user name alone (``postgresql://musimdb@db/x``) masked in every line
    would blank each mention of it."""
    from musim.redact import redact

    get_settings({"MUSIM_HOME": str(tmp_path), "MUSIM_LANDING": "postgresql://grafanauser@db/x"})

    assert redact("grafanauser logged in") == "grafanauser logged in"
    assert "grafanauser logged in" in _task_log("grafanauser logged in")
