"""Property tests of the parsers that read untrusted configuration: store URLs, endpoints, Airflow connections.

Whatever the text, they return a result or raise ConfigError/StorageError with a one-line message that never
contains a password planted in it; valid store URLs round-trip. Example counts are bounded (CI time).
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from urllib.parse import quote

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from musim.config import TransferOptions, get_settings
from musim.config.connections import parse_airflow_connection
from musim.errors import ConfigError, StorageError
from musim.storage.config import (
    DEFAULT_CONN_ID,
    S3Config,
    StoreLocation,
    check_endpoint_url,
    parse_store_url,
    resolve_s3_config,
)
from musim.storage.s3 import make_client


def format_store_url(location: StoreLocation) -> str:
    """The URL ``parse_store_url`` must read back as ``location`` (``file://`` URI or ``s3://``)."""
    if location.kind == "local":
        assert location.path is not None
        return location.path.as_uri()
    conn = "" if location.conn_id == DEFAULT_CONN_ID else f"{location.conn_id}@"
    prefix = f"/{quote(location.prefix, safe='/')}" if location.prefix else ""
    return f"s3://{conn}{location.bucket}{prefix}"


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# what RFC 3986 allows unescaped in a password (unreserved and sub-delims); at least 8 characters, one of
# them a marker no message would contain by chance
PASSWORDS = st.builds(lambda a, b: f"Pw{a}~Q{b}", st.text(string.ascii_letters + string.digits + "-._~!$&'()*+,;=",
                                                          min_size=4, max_size=20), st.text(string.digits, max_size=4))
TEXT = st.text(max_size=80)
URLISH = st.one_of(
    TEXT,
    st.builds(lambda s, r: f"{s}://{r}", st.sampled_from(["s3", "S3", "file", "http", "gs", ""]), TEXT),
    st.builds(lambda r: f"s3://{r}", st.text(alphabet=string.ascii_lowercase + "/.@:-%[]?#\\ \n\x00", max_size=40)),
)


def _one_line_error(exc: Exception, *secrets: str) -> None:
    assert isinstance(exc, ConfigError | StorageError), type(exc)
    message = str(exc)
    assert message and "\n" not in message and "\r" not in message, message
    for secret in secrets:
        assert secret not in message, message


@FUZZ
@given(URLISH)
@example("s3://[bucket/x")
@example("s3://bucket\uff03x/p")
@example("~no-such-user-xyz/objects")
def test_any_store_url_parses_or_fails_with_one_line(url):
    try:
        loc = parse_store_url(url)
    except Exception as exc:  # noqa: BLE001 - the property is about which exceptions
        _one_line_error(exc)
        return
    assert loc.kind in ("local", "s3")


@FUZZ
@given(PASSWORDS, st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=0, max_size=12),
       st.sampled_from(["s3", "file", "http", "gs"]), URLISH)
def test_a_password_in_a_store_url_is_never_echoed(password, user, scheme, rest):
    rest = rest.split("://")[-1]
    try:
        parse_store_url(f"{scheme}://{user}:{password}@{rest}")
    except Exception as exc:  # noqa: BLE001
        _one_line_error(exc, password)
        return
    raise AssertionError("a URL with a password was accepted")


BUCKETS = st.from_regex(r"\A[a-z0-9][a-z0-9.\-]{1,20}[a-z0-9]\Z").filter(lambda b: ".." not in b)
SEGMENTS = st.text(st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters="/\\\x7f"),
                   min_size=1, max_size=12).filter(lambda s: s not in (".", ".."))
CONN_IDS = st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.\-]{0,20}\Z")


@FUZZ
@given(BUCKETS, st.lists(SEGMENTS, max_size=4), st.one_of(st.just(DEFAULT_CONN_ID), CONN_IDS))
def test_valid_s3_urls_round_trip(bucket, segments, conn_id):
    loc = StoreLocation("s3", bucket=bucket, prefix="/".join(segments), conn_id=conn_id)
    assert parse_store_url(format_store_url(loc)) == loc


@FUZZ
@given(st.lists(SEGMENTS.filter(lambda s: "\x00" not in s), min_size=1, max_size=4))
def test_local_file_urls_round_trip(segments):
    loc = StoreLocation("local", path=Path("/", *segments))
    assert parse_store_url(format_store_url(loc)) == loc


def _json_connections(password: str) -> st.SearchStrategy[str]:
    values = st.one_of(st.none(), st.integers(), TEXT, st.lists(TEXT, max_size=2), st.dictionaries(TEXT, TEXT, max_size=2))
    docs = st.fixed_dictionaries(
        {"password": st.just(password)},
        optional={"conn_type": st.one_of(st.sampled_from(["aws", "s3", "http"]), values), "login": values,
                  "extra": st.one_of(values, st.fixed_dictionaries({}, optional={
                      "endpoint_url": st.one_of(URLISH, st.just(f"http://k:{password}@127.0.0.1:1")),
                      "region_name": values, "aws_secret_access_key": st.just(password)}))})
    return st.builds(lambda d, cut: json.dumps(d)[:cut] if cut else json.dumps(d), docs,
                     st.one_of(st.none(), st.integers(1, 200)))


CONNECTIONS = PASSWORDS.flatmap(lambda pw: st.tuples(st.just(pw), st.one_of(
    _json_connections(pw),
    st.builds(lambda user, rest: f"aws://{user}:{pw}@{rest}", st.text(string.ascii_letters, max_size=8), URLISH),
    st.builds(lambda q: f"aws://AKIA:{pw}@/?{q}", TEXT),
    st.builds(lambda ep: f"aws://AKIA:{pw}@/?endpoint_url={ep}", URLISH),
)))


@settings(FUZZ, max_examples=100)
@given(CONNECTIONS)
@example(("Pwabcd~Q1", '{"password": "Pwabcd~Q1", "extra": "{not json"}'))
@example(("Pwabcd~Q1", "aws://AKIA:Pwabcd~Q1@[::1/"))
def test_any_connection_resolves_or_fails_with_one_line_and_no_password(case):
    password, raw = case
    try:
        parse_airflow_connection(raw, name="AIRFLOW_CONN_MUSIM_S3")
        config = resolve_s3_config(settings=get_settings({
            "AIRFLOW_CONN_MUSIM_S3": raw, "MUSIM_S3_AIRFLOW_LOOKUP": "never", "AWS_ACCESS_KEY_ID": "k",
            "AWS_SECRET_ACCESS_KEY": "s"}))
        client = make_client(config, TransferOptions())  # an accepted endpoint is one botocore accepts
    except Exception as exc:  # noqa: BLE001
        _one_line_error(exc, password)
        return
    assert client.meta.service_model.service_name == "s3"
    assert password not in repr(config)


@FUZZ
@given(URLISH)
@example("http://127.0.0.1:99999")
@example("http://[::1")
def test_endpoints_are_checked_before_botocore_sees_them(url):
    try:
        checked = check_endpoint_url(url, "MUSIM_S3_ENDPOINT_URL")
    except Exception as exc:  # noqa: BLE001
        _one_line_error(exc)
        return
    make_client(S3Config(endpoint_url=checked, access_key_id="k", secret_access_key="s"), TransferOptions())


@FUZZ
@given(URLISH)
def test_even_an_unchecked_endpoint_fails_as_a_config_error(url):
    try:
        make_client(S3Config(endpoint_url=url or None, access_key_id="k", secret_access_key="s"), TransferOptions())
    except Exception as exc:  # noqa: BLE001
        _one_line_error(exc)
