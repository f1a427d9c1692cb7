"""Store URLs, S3 endpoint/credential resolution (environment, AIRFLOW_CONN_MUSIM_S3, Airflow) and options."""

from __future__ import annotations

import http.server
import json
import sys
import threading
import time
import types
from pathlib import Path
from urllib.parse import quote

import pytest

from musim.config import TransferOptions, get_settings
from musim.config.connections import parse_airflow_connection
from musim.errors import ConfigError, StorageError
from musim.storage import ObjectNotFound, StorageUnavailable, open_store
from musim.storage.config import parse_store_url, resolve_s3_config
from tests.s3_server import ACCESS_KEY, S3TestServer, free_port
from tests.storage.conftest import S3Env, s3_environment

SECRET = "s3cr3t/with+odd=chars"


def test_parse_store_url() -> None:
    loc = parse_store_url("file:///data/objects")
    assert (loc.kind, loc.path) == ("local", Path("/data/objects"))
    assert parse_store_url("file:///with%20space").path == Path("/with space")
    assert parse_store_url("relative/dir").path == Path("relative/dir").absolute()
    loc = parse_store_url("s3://musim-bucket/some/prefix/")
    assert (loc.kind, loc.bucket, loc.prefix, loc.conn_id) == ("s3", "musim-bucket", "some/prefix", "musim_s3")
    assert parse_store_url("s3://other_conn@bkt").conn_id == "other_conn"
    assert parse_store_url("s3://bkt").prefix == ""
    for bad, match in [("s3://ab/x", "bucket"), ("s3://Bad_Bucket", "bucket"), ("gs://bkt/x", "scheme"),
                       ("file://host/x", "absolute"), ("s3://bkt/a/../b", "prefix"), ("  ", "empty")]:
        with pytest.raises(ConfigError, match=match):
            parse_store_url(bad)


def _conn_json(endpoint: str, **extra: str) -> str:
    return json.dumps({"conn_type": "aws", "login": ACCESS_KEY, "password": SECRET,
                       "extra": {"endpoint_url": endpoint, "region_name": "eu-west-1", **extra}})


def _point_env_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment settings that would fail if used: the connection must win."""
    monkeypatch.setenv("MUSIM_S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "env-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "env-token")


@pytest.mark.server
def test_airflow_conn_json_form(s3_env: S3Env, monkeypatch: pytest.MonkeyPatch) -> None:
    _point_env_elsewhere(monkeypatch)
    monkeypatch.setenv("AIRFLOW_CONN_MUSIM_S3", _conn_json(s3_env.server.endpoint_url))
    store = open_store(s3_env.url)
    cfg = store.config  # type: ignore[attr-defined]
    assert (cfg.endpoint_url, cfg.region, cfg.access_key_id) == (s3_env.server.endpoint_url, "eu-west-1", ACCESS_KEY)
    assert cfg.secret_access_key == SECRET and cfg.session_token is None  # no env token mixed in
    assert cfg.source == "AIRFLOW_CONN_MUSIM_S3"
    store.put_bytes("conn/json", b"ok")
    assert store.get_bytes("conn/json") == b"ok"
    for text in (repr(store), repr(cfg)):
        assert SECRET not in text and "env-secret" not in text


@pytest.mark.server
def test_airflow_conn_uri_form(s3_env: S3Env, monkeypatch: pytest.MonkeyPatch) -> None:
    _point_env_elsewhere(monkeypatch)
    uri = (f"aws://{ACCESS_KEY}:{quote(SECRET, safe='')}@/?endpoint_url={quote(s3_env.server.endpoint_url, safe='')}"
           "&region_name=eu-central-1")
    monkeypatch.setenv("AIRFLOW_CONN_MUSIM_S3", uri)
    store = open_store(s3_env.url)
    cfg = store.config  # type: ignore[attr-defined]
    assert (cfg.endpoint_url, cfg.region, cfg.secret_access_key) == (s3_env.server.endpoint_url, "eu-central-1", SECRET)
    store.put_bytes("conn/uri", b"ok")
    assert store.get_bytes("conn/uri") == b"ok"
    assert SECRET not in repr(store)


def test_connection_variants_and_errors() -> None:
    as_string_extra = json.dumps({"conn_type": "aws", "login": "k", "password": "p",
                                  "extra": json.dumps({"endpoint_url": "http://m:9000"})})
    assert parse_airflow_connection(as_string_extra, name="X")["extra"] == {"endpoint_url": "http://m:9000"}
    extra = quote(json.dumps({"endpoint_url": "http://m:9000"}), safe="")
    parsed = parse_airflow_connection(f"aws://k:p@/?__extra__={extra}", name="X")
    assert parsed == {"login": "k", "password": "p", "extra": {"endpoint_url": "http://m:9000"}}
    with pytest.raises(ConfigError, match="AIRFLOW_CONN_MUSIM_S3 is not valid JSON") as err:
        parse_airflow_connection('{"login": "k", "password": "' + SECRET, name="AIRFLOW_CONN_MUSIM_S3")
    assert SECRET not in str(err.value)
    with pytest.raises(ConfigError, match="type must be 'aws'"):
        parse_airflow_connection('{"conn_type": "postgres"}', name="X")
    with pytest.raises(ConfigError, match="neither JSON nor"):
        parse_airflow_connection("just-text", name="X")


def test_environment_resolution() -> None:
    env = {"AWS_ENDPOINT_URL": "http://generic:1", "MUSIM_S3_ENDPOINT_URL": "http://musim:2",
           "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_DEFAULT_REGION": "ap-south-1",
           "MUSIM_S3_AIRFLOW_LOOKUP": "never"}
    cfg = resolve_s3_config(settings=get_settings(env))
    assert (cfg.endpoint_url, cfg.access_key_id, cfg.region, cfg.source) == (
        "http://musim:2", "k", "ap-south-1", "environment")
    assert resolve_s3_config(settings=get_settings({"MUSIM_S3_AIRFLOW_LOOKUP": "never"})).region == "us-east-1"
    # A connection that only sets the endpoint keeps the environment's keys.
    env["AIRFLOW_CONN_OTHER"] = '{"conn_type": "aws", "extra": {"endpoint_url": "http://conn:3"}}'
    cfg = resolve_s3_config("other", get_settings(env))
    assert (cfg.endpoint_url, cfg.access_key_id, cfg.source) == ("http://conn:3", "k", "AIRFLOW_CONN_OTHER")


def _fake_airflow(monkeypatch: pytest.MonkeyPatch, get_connection: object) -> None:
    """Install a stand-in ``airflow.sdk`` (the real import costs seconds) whose BaseHook answers as given."""
    sdk = types.ModuleType("airflow.sdk")
    sdk.BaseHook = type("BaseHook", (), {"get_connection": staticmethod(get_connection)})  # type: ignore[attr-defined]
    airflow = types.ModuleType("airflow")
    airflow.sdk = sdk  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "airflow", airflow)
    monkeypatch.setitem(sys.modules, "airflow.sdk", sdk)


def test_airflow_metastore_connection_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = types.SimpleNamespace(login="af-key", password="af-secret",
                                 extra_dejson={"endpoint_url": "http://af:9000", "region_name": "eu-north-1"})
    asked: list[str] = []
    _fake_airflow(monkeypatch, lambda conn_id: asked.append(conn_id) or conn)
    env = {"AWS_ACCESS_KEY_ID": "env-key"}
    cfg = resolve_s3_config(settings=get_settings(env))  # auto: Airflow is (fake-)imported, so it is asked
    assert asked == ["musim_s3"]
    assert (cfg.endpoint_url, cfg.access_key_id, cfg.region) == ("http://af:9000", "af-key", "eu-north-1")
    assert cfg.source == "Airflow connection 'musim_s3'"
    assert resolve_s3_config(settings=get_settings({**env, "MUSIM_S3_AIRFLOW_LOOKUP": "never"})).access_key_id == "env-key"
    # The environment variable is read first, without asking Airflow.
    asked.clear()
    env["AIRFLOW_CONN_MUSIM_S3"] = '{"conn_type": "aws", "login": "var-key"}'
    assert resolve_s3_config(settings=get_settings(env)).access_key_id == "var-key" and asked == []


def test_a_metastore_connection_of_another_type_is_refused_like_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``generic`` connection in Airflow's database was used (its login, password, endpoint) where the same
    connection given as ``AIRFLOW_CONN_MUSIM_S3`` was refused."""
    conn = types.SimpleNamespace(conn_type="generic", login="k", password="s3cr3t-value", extra_dejson={})
    _fake_airflow(monkeypatch, lambda conn_id: conn)
    with pytest.raises(ConfigError, match=r"^Airflow connection 'musim_s3': connection type must be 'aws' or 's3', "
                                          r"got 'generic'$"):
        resolve_s3_config(settings=get_settings({}))
    with pytest.raises(ConfigError, match="AIRFLOW_CONN_MUSIM_S3: connection type must be 'aws' or 's3'"):
        resolve_s3_config(settings=get_settings({"AIRFLOW_CONN_MUSIM_S3": '{"conn_type": "generic"}'}))
    conn.conn_type = "aws"
    assert resolve_s3_config(settings=get_settings({})).access_key_id == "k"


def test_airflow_lookup_failure_falls_back_to_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(conn_id: str) -> None:
        raise LookupError(f"The conn_id `{conn_id}` isn't defined")

    _fake_airflow(monkeypatch, missing)
    cfg = resolve_s3_config(settings=get_settings({"AWS_ACCESS_KEY_ID": "env-key", "MUSIM_S3_AIRFLOW_LOOKUP": "always"}))
    assert (cfg.access_key_id, cfg.source) == ("env-key", "environment")


def test_auto_lookup_does_not_import_airflow(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "airflow" or m.startswith("airflow.")]:
        monkeypatch.delitem(sys.modules, name)
    resolve_s3_config(settings=get_settings({}))
    assert "airflow" not in sys.modules


def test_transfer_options_from_env() -> None:
    opts = get_settings({"MUSIM_S3_PART_SIZE": str(6 * 2**20), "MUSIM_S3_MAX_ATTEMPTS": "2",
                         "MUSIM_S3_CONNECT_TIMEOUT": "0.5", "MUSIM_LOCAL_FSYNC": "1"}).storage.transfer
    assert (opts.part_size, opts.max_attempts, opts.connect_timeout, opts.fsync) == (6 * 2**20, 2, 0.5, True)
    assert get_settings({}).storage.transfer == TransferOptions()
    with pytest.raises(ConfigError, match="part_size must be a number of bytes of at least 5 MiB"):
        TransferOptions(part_size=2**20)
    with pytest.raises(ConfigError, match="MUSIM_S3_MAX_ATTEMPTS must be a positive integer, got 'many'"):
        get_settings({"MUSIM_S3_MAX_ATTEMPTS": "many"})
    with pytest.raises(ConfigError, match="MUSIM_S3_AIRFLOW_LOOKUP must be auto, always or never"):
        get_settings({"MUSIM_S3_AIRFLOW_LOOKUP": "sometimes"})


def test_local_fsync_option(tmp_path: Path) -> None:
    store = open_store(tmp_path.as_uri(), options=TransferOptions(fsync=True))
    store.put_bytes("x/y", b"durable")
    assert (tmp_path / "x" / "y").read_bytes() == b"durable"


@pytest.mark.server
def test_unreachable_endpoint_is_a_clear_bounded_error(monkeypatch: pytest.MonkeyPatch) -> None:
    dead = S3TestServer()  # never started: its port refuses connections
    s3_environment(monkeypatch, dead)
    store = open_store("s3://musim-bucket/x", options=TransferOptions(max_attempts=2, connect_timeout=1))
    started = time.monotonic()
    with pytest.raises(StorageUnavailable) as err:
        store.get_bytes("some/key")
    assert time.monotonic() - started < 5
    message = str(err.value)
    assert dead.endpoint_url in message and "some/key" in message and "2 attempt(s)" in message
    assert "MUSIM_S3_ENDPOINT_URL" in message and "running" in message


@pytest.mark.server
def test_missing_bucket_message(s3_env: S3Env) -> None:
    store = open_store("s3://no-such-bucket-here/x")
    with pytest.raises(StorageError, match="bucket 'no-such-bucket-here' does not exist"):
        store.put_bytes("k", b"v")


@pytest.mark.server
def test_a_missing_bucket_is_no_missing_object(s3_env: S3Env) -> None:
    """S3 answers a HEAD of a missing bucket with a bare 404, as for a missing object: stat said "no object" and
    exists() False on a store set to a wrong bucket, while every write failed."""
    store = open_store("s3://no-such-bucket-here/x")
    for check in (store.exists, store.stat, lambda key: store.delete(key, missing_ok=False)):
        with pytest.raises(StorageError, match="bucket 'no-such-bucket-here' does not exist") as err:
            check("k")
        assert not isinstance(err.value, ObjectNotFound) and "\n" not in str(err.value)
    good = open_store(s3_env.url)
    assert good.exists("k") is False  # a bucket that is there: a missing object stays a missing object
    with pytest.raises(ObjectNotFound):
        good.stat("k")
    good.put_bytes("k", b"v")
    assert good.exists("k") and good.stat("k").size == 1


def test_no_credentials_names_the_connection_the_store_url_names(s3_env: S3Env,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """`s3://nosuchconn@bucket/...` without keys said to set "the musim_s3 connection (AIRFLOW_CONN_MUSIM_S3...)":
    a connection the URL does not read."""
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var)
    for url, conn, var in ((f"s3://nosuchconn@{s3_env.bucket}/x", "nosuchconn", "AIRFLOW_CONN_NOSUCHCONN"),
                           (f"s3://{s3_env.bucket}/x", "musim_s3", "AIRFLOW_CONN_MUSIM_S3")):
        with pytest.raises(StorageError, match="no S3 credentials") as err:
            open_store(url).put_bytes("k", b"v")
        assert f"or the {conn} connection ({var}; " in str(err.value)
        assert ("musim_s3" in str(err.value)) == (conn == "musim_s3")


TRICKY = ["p@ss/w:rd", "a+b c", "semi;colon#hash?q", "ünï-cödé", "pa?ss", "a/b", "per%cent"]


@pytest.mark.parametrize("password", TRICKY)
def test_a_connection_uri_reads_any_encoded_password_and_refuses_one_that_is_not(password):
    """`aws://KEY:p@ss/w:rd@/?...` was read with the password 'p', `aws://KEY:a#b@/?...` and `aws://KEY:pa?ss@/?...`
    with no keys at all (musim then used whatever AWS_* said), and `?endpoint_url=http://minio:9000` as it is was taken
    while Airflow refuses it ("Invalid connection string"): every one without a word."""
    endpoint = quote("http://minio:9000", safe="")
    encoded = f"aws://AKIA:{quote(password, safe='')}@/?endpoint_url={endpoint}&region_name=us-east-1"
    parsed = parse_airflow_connection(encoded, name="AIRFLOW_CONN_MUSIM_S3")
    assert (parsed["login"], parsed["password"]) == ("AKIA", password)  # as Airflow's Connection(uri=...) reads it
    assert parsed["extra"] == {"endpoint_url": "http://minio:9000", "region_name": "us-east-1"}
    for raw in (f"aws://AKIA:{password}@/?endpoint_url={endpoint}", f"aws://AKIA:{quote(password, safe='')}@/"
                "?endpoint_url=http://minio:9000"):
        if raw.startswith(f"aws://AKIA:{password}@/") and not any(c in password for c in "@/?#"):
            continue  # nothing in it that a URI cannot carry as it is
        with pytest.raises(ConfigError) as err:
            parse_airflow_connection(raw, name="AIRFLOW_CONN_MUSIM_S3")
        message = str(err.value)
        assert message.startswith("AIRFLOW_CONN_MUSIM_S3: ") and "percent-encoded" in message and "\n" not in message
        assert password not in message and quote(password, safe="") not in message


def test_a_bad_region_names_where_it_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    """`AWS_REGION="us east"` was botocore's "Provided region_name 'us east' doesn't match a supported format", naming
    neither the variable nor the connection that set it."""
    monkeypatch.setenv("MUSIM_S3_AIRFLOW_LOOKUP", "never")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_MUSIM_S3", raising=False)
    monkeypatch.setenv("AWS_REGION", "us east")
    with pytest.raises(ConfigError, match=r"^AWS_REGION \(or AWS_DEFAULT_REGION\): 'us east' is not a region name"):
        open_store("s3://bucket-x/p")
    monkeypatch.setenv("AIRFLOW_CONN_MUSIM_S3", json.dumps({"conn_type": "aws", "extra": {"region_name": "eu/west"}}))
    with pytest.raises(ConfigError, match=r"^extra.region_name of AIRFLOW_CONN_MUSIM_S3: 'eu/west' is not a region"):
        open_store("s3://bucket-x/p")
    monkeypatch.setenv("AIRFLOW_CONN_MUSIM_S3", json.dumps({"conn_type": "aws", "extra": {"region_name": "eu-west-3"}}))
    assert resolve_s3_config(settings=get_settings()).region == "eu-west-3"  # the connection's wins, checked
    monkeypatch.delenv("AIRFLOW_CONN_MUSIM_S3")
    monkeypatch.delenv("AWS_REGION")
    assert resolve_s3_config(settings=get_settings()).region == "us-east-1"


class _NotS3(http.server.BaseHTTPRequestHandler):
    """A web server that is no S3 server: a page for every GET, 404 elsewhere; a proxy's 502 for PUT."""

    def _answer(self, status: int) -> None:
        body = b"<html><body>not here</body></html>"
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(404)

    def do_PUT(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer(502)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(404)

    def log_message(self, *args: object) -> None:
        pass


def test_an_endpoint_that_is_no_s3_server_is_named_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    """MUSIM_S3_ENDPOINT_URL at a web server (MinIO's console port, the Airflow UI) answered a read "no object 'k'" and a
    listing "no object ''": a wrong endpoint read as missing data."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotS3)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        s3_environment(monkeypatch, S3TestServer(server.server_address[1]))
        store = open_store("s3://bucket-x/p")
        for read in (lambda: store.get_bytes("k"), lambda: list(store.list("a/"))):
            with pytest.raises(StorageError, match="answered HTTP 404 without an S3 error, so it is no S3 server") as err:
                read()
            assert not isinstance(err.value, ObjectNotFound) and "MUSIM_S3_ENDPOINT_URL" in str(err.value)
        with pytest.raises(StorageUnavailable, match="answered HTTP 502 without an S3 error"):
            store.put_bytes("k", b"v")
    finally:
        server.shutdown()
        server.server_close()
