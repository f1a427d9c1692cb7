"""musim.redact: what is hidden, what is kept, and that every log record passes through it."""

from __future__ import annotations

import logging

import pytest

from musim.redact import format_exception, has_secret, is_secret_name, redact, register_secret


@pytest.mark.parametrize(("text", "expected"), [
    ("s3://AKIA:s3cr3t@bucket/p", "s3://AKIA:***@bucket/p"),
    ("endpoint http://u:pa:ss@h:9000/x failed", "endpoint http://u:***@h:9000/x failed"),
    ("http://u:it's@h/", "http://u:***@h/"),  # a quote is a legal password character
    ("https://token123@github.example/x", "https://***@github.example/x"),
    ('{"login": "k", "password": "p\\"w", "extra": {"aws_secret_access_key": "S"}}',
     '{"login": "k", "password": "***", "extra": {"aws_secret_access_key": "***"}}'),
    ("{'token': 'abc', 'n': 1}", "{'token': '***', 'n': 1}"),
    ('"password": 12345, "x": 1', '"password": ***, "x": 1'),
    ("?X-Amz-Signature=abc&X-Amz-Security-Token=t&a=1", "?X-Amz-Signature=***&X-Amz-Security-Token=***&a=1"),
    ("aws://k:s@/?endpoint_url=http%3A%2F%2Fh&aws_session_token=zz",
     "aws://k:***@/?endpoint_url=http%3A%2F%2Fh&aws_session_token=***"),
    ("Authorization: Bearer abc.def", "Authorization: Bearer ***"),
    ('"spotify_token_url": "http://u:pw@h/tok"', '"spotify_token_url": "http://u:***@h/tok"'),
    ('"token_urls": "abc"', '"token_urls": "***"'),
])
def test_what_is_hidden(text, expected):
    assert redact(text) == expected and has_secret(text)


@pytest.mark.parametrize("text", [
    "s3://musim_s3@bucket/prefix", "http://127.0.0.1:9000/x?a=1&region=us-east-1", "no URL here",
    '{"login": "AKIA", "password": null}', "file:///tmp/x",
    '"spotify_token_url": "http://localhost:9999/tok"',  # where a token is fetched, no secret (it was masked)
])
def test_what_is_kept(text):
    assert redact(text) == text and not has_secret(text)


def test_registered_values_are_hidden_wherever_they_appear():
    register_secret("zq-registered-value-91")
    register_secret("ab")  # too short to hide without blanking ordinary words: ignored
    assert redact("x zq-registered-value-91y ab") == "x ***y ab"
    assert is_secret_name("aws_secret_access_key") and is_secret_name("X-Amz-Signature")
    assert not is_secret_name("endpoint_url")


def test_every_log_record_and_traceback_is_redacted(caplog):
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("some.library")
    log.warning("endpoint %s failed", "http://u:pw-in-log-1@h:9000/x")
    try:
        raise ValueError("Invalid endpoint: https://k:pw-in-exc-2@h")
    except ValueError as exc:
        log.exception("failed")
        assert "pw-in-exc-2" not in format_exception(exc)
    assert "pw-in-log-1" not in caplog.text and "pw-in-exc-2" not in caplog.text
    assert "http://u:***@h:9000/x" in caplog.text and "Invalid endpoint: https://k:***@h" in caplog.text
