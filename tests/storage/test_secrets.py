"""No secret in any output or log line: failing commands with a planted secret in every place one can come from.

Each case plants ``PLANTED`` where a credential is read (object-store URL, endpoint URL, AWS variables, the
Airflow connection in JSON and URI form, Spotify's client secret), makes the command fail (bad URL, bad or
unreachable endpoint, wrong credentials, broken connection JSON), and greps stdout, stderr and every log
record (DEBUG included, tracebacks included) for it, case-insensitively (an upper-cased secret is a leak too).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from musim import cli
from musim.redact import format_exception
from tests.s3_server import free_port

PLANTED = "PLANTED-SECRET-7f3a"
REPO = Path(__file__).resolve().parents[2]


def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AIRFLOW_CONN_MUSIM_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MUSIM_S3_ENDPOINT_URL", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("MUSIM_S3_AIRFLOW_LOOKUP", "never")
    monkeypatch.setenv("MUSIM_S3_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("MUSIM_S3_CONNECT_TIMEOUT", "2")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


def _closed() -> str:
    return f"http://127.0.0.1:{free_port()}"


def _cases() -> dict[str, dict[str, str]]:
    closed = _closed()
    conn = {"conn_type": "aws", "login": "AKIAEXAMPLE", "password": PLANTED,
            "extra": {"endpoint_url": closed, "region_name": "us-east-1"}}
    return {
        "url-userinfo-bad-prefix": {"MUSIM_OBJECT_STORE": f"s3://AKIA:{PLANTED}@bucket-x/pre//fix"},
        "url-userinfo": {"MUSIM_OBJECT_STORE": f"s3://AKIA:{PLANTED}@bucket-x/prefix"},
        "url-bad-bucket": {"MUSIM_OBJECT_STORE": f"s3://AKIA:{PLANTED}@B/prefix"},
        "url-query": {"MUSIM_OBJECT_STORE": f"s3://bucket-x/p?aws_secret_access_key={PLANTED}"},
        "file-url-userinfo": {"MUSIM_OBJECT_STORE": f"file://u:{PLANTED}@host/tmp/x"},
        "url-scheme": {"MUSIM_OBJECT_STORE": f"gs://u:{PLANTED}@bucket-x/p"},
        "url-ipv6": {"MUSIM_OBJECT_STORE": f"s3://u:{PLANTED}@[bucket-x/p"},
        "endpoint-userinfo": {"MUSIM_OBJECT_STORE": "s3://bucket-x/p",
                              "MUSIM_S3_ENDPOINT_URL": f"http://user:{PLANTED}@127.0.0.1:{free_port()}"},
        "endpoint-bad-port": {"MUSIM_OBJECT_STORE": "s3://bucket-x/p",
                              "MUSIM_S3_ENDPOINT_URL": f"http://user:{PLANTED}@127.0.0.1:99999"},
        "endpoint-query": {"MUSIM_OBJECT_STORE": "s3://bucket-x/p",
                           "AWS_ENDPOINT_URL": f"{closed}/?X-Amz-Security-Token={PLANTED}"},
        "aws-secret-unreachable": {"MUSIM_OBJECT_STORE": "s3://bucket-x/p", "MUSIM_S3_ENDPOINT_URL": closed,
                                   "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": PLANTED,
                                   "AWS_SESSION_TOKEN": PLANTED + "-token"},
        "conn-json-unreachable": {"MUSIM_OBJECT_STORE": "s3://bucket-x/p", "AIRFLOW_CONN_MUSIM_S3": json.dumps(conn)},
        "conn-json-broken": {"MUSIM_OBJECT_STORE": "s3://bucket-x/p",
                             "AIRFLOW_CONN_MUSIM_S3": json.dumps(conn)[:-15]},
        "conn-json-endpoint-userinfo": {
            "MUSIM_OBJECT_STORE": "s3://bucket-x/p",
            "AIRFLOW_CONN_MUSIM_S3": json.dumps({**conn, "extra": {"endpoint_url": f"http://k:{PLANTED}@h:1"}})},
        "conn-json-wrong-type": {"MUSIM_OBJECT_STORE": "s3://bucket-x/p",
                                 "AIRFLOW_CONN_MUSIM_S3": json.dumps({**conn, "conn_type": "http"})},
        "conn-json-extra-secret": {
            "MUSIM_OBJECT_STORE": "s3://bucket-x/p",
            "AIRFLOW_CONN_MUSIM_S3": json.dumps({"conn_type": "aws", "extra": {
                "aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": PLANTED, "endpoint_url": "ftp://x"}})},
        "conn-uri-unreachable": {"MUSIM_OBJECT_STORE": "s3://bucket-x/p",
                                 "AIRFLOW_CONN_MUSIM_S3": f"aws://AKIAEXAMPLE:{PLANTED}@/?endpoint_url={closed}"},
        "conn-uri-bad-extra": {"MUSIM_OBJECT_STORE": "s3://bucket-x/p",
                               "AIRFLOW_CONN_MUSIM_S3": f"aws://AKIAEXAMPLE:{PLANTED}@/?__extra__=%7Bnot-json"},
        "conn-uri-ipv6": {"MUSIM_OBJECT_STORE": "s3://bucket-x/p",
                          "AIRFLOW_CONN_MUSIM_S3": f"aws://AKIAEXAMPLE:{PLANTED}@[::1/"},
        "named-conn": {"MUSIM_OBJECT_STORE": "s3://other_conn@bucket-x/p",
                       "AIRFLOW_CONN_OTHER_CONN": f"aws://AKIAEXAMPLE:{PLANTED}@/?endpoint_url=http%3A%2F%2F127.0.0.1%3A1"},
    }


def _assert_clean(*texts: str) -> None:
    for text in texts:
        assert PLANTED.lower() not in text.lower(), text


def _run_cli(argv: list[str], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> tuple[int, str]:
    caplog.set_level(logging.DEBUG)
    try:
        code = cli.main(argv)
    except BaseException as exc:  # an escaped error is printed as a traceback: check its text too
        _assert_clean(format_exception(exc).replace("***", ""), str(exc), repr(exc))
        raise AssertionError(f"{type(exc).__name__} escaped the CLI") from None
    out, err = capsys.readouterr()
    logs = caplog.text + "".join(str(r.msg) + str(r.args) for r in caplog.records)
    _assert_clean(out, err, logs)
    return code, err


@pytest.mark.parametrize("case", sorted(_cases()))
def test_no_planted_secret_in_output_or_logs_of_failing_commands(case, tmp_path, monkeypatch, capsys, caplog):
    _isolated(monkeypatch)
    for var, value in _cases()[case].items():
        monkeypatch.setenv(var, value)
    code, err = _run_cli(["-v", "acquire", "--top", "1", "--path", str(tmp_path)], capsys, caplog)
    assert code == 2 and err.strip().splitlines()[-1].startswith("musim: error: "), err  # -v may add a traceback


@pytest.mark.server
def test_wrong_credentials_against_the_server(s3_env, monkeypatch, capsys, caplog):
    import moto.settings

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", PLANTED)
    monkeypatch.setenv("MUSIM_OBJECT_STORE", s3_env.url)
    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)  # the server now checks keys
    code, err = _run_cli(["-v", "acquire", "--top", "1", "--path", "/nonexistent"], capsys, caplog)
    assert code == 2 and "denied access" in err


@pytest.mark.server
def test_missing_bucket_with_a_connection(moto_server, monkeypatch, capsys, caplog):
    _isolated(monkeypatch)
    conn = {"conn_type": "aws", "login": "AKIAEXAMPLE", "password": PLANTED,
            "extra": {"endpoint_url": moto_server.endpoint_url}}
    monkeypatch.setenv("AIRFLOW_CONN_MUSIM_S3", json.dumps(conn))
    monkeypatch.setenv("MUSIM_OBJECT_STORE", "s3://no-such-bucket-here/p")
    code, err = _run_cli(["-v", "acquire", "--top", "1", "--path", "/nonexistent"], capsys, caplog)
    assert code == 2 and "does not exist" in err


def test_spotify_client_secret_never_printed(monkeypatch, caplog):
    from musim.acquire.errors import ProviderError
    from musim.acquire.providers import build_providers
    from musim.config import get_settings

    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SPOTIPY_CLIENT_ID", "client-id")
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", PLANTED)
    monkeypatch.setenv("MUSIM_ACQUIRE_PROVIDERS", "spotify")
    monkeypatch.setenv("MUSIM_SPOTIFY_TOKEN_URL", f"{_closed()}/api/token?client_secret={PLANTED}")
    monkeypatch.setenv("MUSIM_RETRY_ATTEMPTS", "1")
    (provider,) = build_providers(get_settings().acquire)
    with pytest.raises(ProviderError) as info:
        provider.match_artist("Muse")
    provider.close()
    _assert_clean(str(info.value), format_exception(info.value).replace("***", ""), caplog.text)


@pytest.mark.slow
def test_subprocess_stderr_has_no_planted_secret(tmp_path):
    """The real thing: ``python -m musim`` with secrets in the environment, failing; stdout and stderr grepped."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AIRFLOW_CONN_", "MUSIM_"))}
    base.update(MUSIM_HOME=str(tmp_path / "home"), MUSIM_S3_AIRFLOW_LOOKUP="never", MUSIM_S3_MAX_ATTEMPTS="1",
                AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
                PYTHONPATH=str(REPO), AWS_ACCESS_KEY_ID="AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY=PLANTED,
                SPOTIPY_CLIENT_SECRET=PLANTED, MUSIM_OBJECT_STORE="s3://bucket-x/p",
                MUSIM_S3_ENDPOINT_URL=f"http://user:{PLANTED}@127.0.0.1:99999")
    for extra in ({}, {"MUSIM_S3_ENDPOINT_URL": _closed(),
                       "AIRFLOW_CONN_MUSIM_S3": f'{{"conn_type": "aws", "login": "k", "password": "{PLANTED}"'}):
        proc = subprocess.run([sys.executable, "-m", "musim.cli", "-v", "acquire", "--top", "1", "--path", str(tmp_path)],
                              env={**base, **extra}, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        _assert_clean(proc.stdout, proc.stderr)
        assert proc.returncode == 2 and "musim: error:" in proc.stderr, proc.stderr


@pytest.mark.slow
def test_registered_secrets_reach_airflows_masker_inside_airflow():
    pytest.importorskip("airflow.sdk")
    from airflow.sdk.log import _secrets_masker

    from musim.redact import register_secret

    register_secret("airflow-" + PLANTED)
    assert _secrets_masker().redact(f"value airflow-{PLANTED} here") == "value *** here"
