"""musim.redact: what is hidden, what is kept, and that every log record passes through it."""

from __future__ import annotations

import io
import logging
from pathlib import Path

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
    # a URL given where a path was expected, as pathlib gives it back ('//' made '/')
    ("https:/u:pw123456@example.invalid/x.tsv: no such file", "https:/u:***@example.invalid/x.tsv: no such file"),
    ("s3:/AKIA:pw123456@bucket/x.tsv", "s3:/AKIA:***@bucket/x.tsv"),
    # signed URLs: Deezer's preview signing (its value holds '=', '~', ',' and a hmac), Azure's sig, a credential
    # and a token holding ',' or ';' (a value was cut at them, the rest shown)
    ('GET /a.mp3?hdnea=exp=1733500000~acl=/a/*~data=user_id=0,application_id=42~hmac=5eC7e7&quality=128 HTTP/1.1"',
     'GET /a.mp3?hdnea=***&quality=128 HTTP/1.1"'),
    ("http://h/b?sv=2022&sig=Az%2Bs1g&token=a,b;c&X-Amz-Credential=AK%2F1,x#f",
     "http://h/b?sv=2022&sig=***&token=***&X-Amz-Credential=***#f"),
    ('"preview":"https:\\/\\/cdn\\/a.mp3?hdnea=exp=1~hmac=ab","n":1', '"preview":"https:\\/\\/cdn\\/a.mp3?hdnea=***","n":1'),
    ("acl=/a~hmac=5eC7e7 sig=x1", "acl=/a~hmac=*** sig=***"),
    # unquoted config and header forms: YAML / HTTP header `name: value`, ini `name = value` (~/.aws/credentials)
    ("password: hunter22", "password: ***"),
    ("[default]\naws_access_key_id = AKIAX\naws_secret_access_key = wJalr/K7+x\n",
     "[default]\naws_access_key_id = AKIAX\naws_secret_access_key = ***\n"),
    ("db:\n  - password: 'hun ter'\n  token: \"a\\\"b\" x", "db:\n  - password: '***'\n  token: \"***\" x"),
    ("{user: u, password: hunter22}", "{user: u, password: ***"),
    ("bad line 3: db_password: hunter22", "bad line 3: db_password: ***"),
    ("X-Api-Key: k123 X-Auth-Token: t456", "X-Api-Key: *** X-Auth-Token: ***"),
    # Authorization headers of any scheme, to the end of the line or of the quoted value
    ("Authorization: Token abc123\nnext", "Authorization: Token ***\nnext"),
    ("Authorization: ApiKey abc123", "Authorization: ApiKey ***"),
    ("authorization: abc123", "authorization: ***"),
    ('Authorization: Digest username="u", realm="r", nonce="n", response="6629fae49393a053974509"',
     "Authorization: Digest ***"),
    ("Authorization: AWS4-HMAC-SHA256 Credential=AKIAX/20250101/us-east-1/s3/aws4_request, "
     "SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5fa3", "Authorization: AWS4-HMAC-SHA256 ***"),
    ("{'Authorization': 'Token abc', 'Accept': '*/*'}", "{'Authorization': 'Token ***', 'Accept': '*/*'}"),
    ("send: b'GET / HTTP/1.1\\r\\nAuthorization: Token abc\\r\\nX-Auth-Token: zzz\\r\\n\\r\\n'",
     "send: b'GET / HTTP/1.1\\r\\nAuthorization: Token ***\\r\\nX-Auth-Token: ***\\r\\n\\r\\n'"),
    ("Proxy-Authorization: Basic dXNlcjpwYXNz", "Proxy-Authorization: Basic ***"),
    # a URL's password wherever else the text quotes it, whole or as a parser split it (an AWS secret key holds '/':
    # `s3://KEY:abc/def@bucket` is read as host `KEY:abc`), percent-decoded too
    ("object store URL 's3://AKIA:Sekr1t/x+y@bucket/p': 'AKIA:Sekr1t' is not a valid bucket name",
     "object store URL 's3://AKIA:***@bucket/p': 'AKIA:***' is not a valid bucket name"),
    ("http://u:p%2Fw0rd@h/ said p/w0rd", "http://u:***@h/ said ***"),
    # s3:// user info that cannot be a connection id is a secret (`s3://KEY@SECRET@bucket`, ':' mistyped)
    ("s3://AKIA@Sekr1t@bucket/p", "s3://***@bucket/p"),
    # Airflow's other secrets (the names its own masker hides), as an Airflow command's log may show them
    ("AIRFLOW__CORE__FERNET_KEY=Zm9vYmFy fernet_key = Zm9v", "AIRFLOW__CORE__FERNET_KEY=*** fernet_key = ***"),
    ('{"private_key": "-----BEGIN", "passphrase": "x"}', '{"private_key": "***", "passphrase": "***"}'),
])
def test_what_is_hidden(text, expected):
    assert redact(text) == expected and has_secret(text)


@pytest.mark.parametrize("text", [
    "s3://musim_s3@bucket/prefix", "http://127.0.0.1:9000/x?a=1&region=us-east-1", "no URL here",
    '{"login": "AKIA", "password": null}', "file:///tmp/x",
    '"spotify_token_url": "http://localhost:9999/tok"',  # where a token is fetched, no secret (it was masked)
    "file:/tmp/x", "s3:/musim_s3@bucket/prefix", "at 10:30/5 s", "https:/example.org/x",
    "http://h/x?design=3&signal=4&quality=128", "the sig of design=x",  # 'sig' only as a whole name
    # prose: a secret's name as a word of a sentence, no value after it
    "could not get a token: timed out", "the password: wrong", "the Basic client credentials",
    "authorization failed", "db_password: null", "token = None", "aws://KEY:SECRET@/?endpoint_url=...",
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


@pytest.mark.parametrize("argv", [
    ["quality", "report", "--run", "http://me:pw123456@host"],                 # an id that quotes what it was given
    ["ingest", "lastfm", "https://u:pw123456@example.invalid/plays.tsv"],      # a path that is a URL
])
def test_the_error_line_of_the_command_line_hides_a_password_it_quotes(musim_home, capsys, argv):
    """`musim: error:` lines were printed as the error said them: the password of a URL given where an id or a path was
    expected was shown (`run id 'http://me:pw123456@host' matches no quality run`), while `-v`'s traceback hid it."""
    from musim.cli import main

    for verbose in ([], ["-v"]):
        code = main([*verbose, *argv])
        out, err = capsys.readouterr()
        assert code == 2 and "musim: error: " in err
        assert "pw123456" not in out + err and ":***@" in err.splitlines()[-1]


@pytest.mark.parametrize("argv", [
    ["ingest", "https://u:pw123456@example.invalid/plays.tsv"],         # `lastfm` left out: an invalid choice
    ["quality", "check", "--width", "http://u:pw123456@example.invalid"],  # a URL where a number goes
])
def test_a_usage_error_hides_a_password_in_the_argument_it_quotes(capsys, argv):
    """argparse's usage errors quote the refused argument as given: `musim ingest https://u:PASS@host/plays.tsv`
    printed the password."""
    from musim.cli import main

    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "error: argument" in err
    assert "pw123456" not in err and "u:***@example.invalid" in err


@pytest.mark.parametrize("secret", ["Sec\\ret-4821", "tab\there-4821", "q\"uo'te-4821", "ünï-cödé-4821",
                                    "ctl\x7f\x1b-4821"])
def test_a_registered_secret_is_hidden_in_its_escaped_forms_too(secret, musim_home, monkeypatch, capsys):
    """A secret with a backslash, a quote, a control or a non-ASCII character was hidden only as it is: a bad setting's
    error quotes the value by repr (`MUSIM_DUCKDB_THREADS=$AWS_SECRET_ACCESS_KEY`, a slip in an env file), which
    doubles the backslash, so `got 'Sec\\\\ret-4821'` printed the S3 secret key."""
    import json

    from musim.cli import main

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("MUSIM_DUCKDB_THREADS", secret)
    assert main(["dumps"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("musim: error: MUSIM_DUCKDB_THREADS must be") and "***" in err, err
    for shown in (secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
                  secret.encode("unicode_escape").decode()):
        assert shown not in err
        assert redact(f"value {shown}!") == "value ***!"


def _musim_messages() -> list[str]:
    """The text of every string of musim's code (docstrings aside) that names a secret: what musim itself says."""
    import ast
    import re
    from pathlib import Path

    import musim

    names = re.compile(r"passw|secret|token|signature|credential|api.?key|authoriz|bearer|basic", re.IGNORECASE)
    found = []
    for path in Path(musim.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and ast.get_docstring(node, clean=False) is not None}
        found += [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
                  and isinstance(node.value, str) and id(node) not in docstrings and names.search(node.value)]
    return found


def test_musim_s_own_messages_are_kept_whole():
    """A rule for unquoted secrets must not blank musim's own words: its messages about tokens, passwords and
    secrets come back as they are (its help's ``TYPE://LOGIN:PASSWORD@HOST`` placeholder was shown with ``***``)."""
    messages = _musim_messages()
    assert len(messages) > 20 and "TYPE://LOGIN:PASSWORD@HOST/ with each value percent-encoded" in messages
    assert [m for m in messages if redact(m) != m] == []


def test_a_log_call_with_a_broken_format_has_its_arguments_redacted_in_logging_s_error_report(capsys):
    """A log call whose format does not fit its arguments was left to logging's own error report, which printed
    them as they were (`Arguments: ('http://u:pw@h/',)`), password included."""
    handler = logging.StreamHandler()  # to this test's captured stderr
    secret = "-".join(("pw", "broken", "3"))
    log = logging.getLogger("some.library.broken")
    log.addHandler(handler)
    log.propagate = False  # pytest's own handlers raise a logging error rather than report it
    try:
        log.warning("endpoint %d", f"http://u:{secret}@h/")  # (logging's report shows these lines of the source)
        log.warning("endpoint %(a)d", {"a": f"http://u:{secret}@h/", "n": 1})
    finally:
        log.removeHandler(handler)
        log.propagate = True
    err = capsys.readouterr().err
    assert "--- Logging error ---" in err and secret not in err
    assert "Arguments: ('http://u:***@h/',)" in err and "Arguments: {'a': 'http://u:***@h/', 'n': 1}" in err


def test_a_handler_that_renders_a_logged_exception_itself_sees_it_redacted():
    """Airflow's task logs (structlog) render a logged exception from the record's exc_info, not from the redacted
    exc_text: `log.exception(...)` of an error quoting `http://u:PASSWORD@h` wrote the password into the task log.
    The record now carries a stand-in (same class name, traceback, notes and causes) whose text is redacted; the
    exception itself is left as it was."""
    import traceback

    class RendersItself(logging.Formatter):
        def format(self, record):
            return "".join(traceback.format_exception(*record.exc_info))

    shown = []
    handler = logging.Handler()
    handler.setFormatter(RendersItself())
    handler.emit = lambda record: shown.append(handler.format(record))
    log = logging.getLogger("some.library.renders")
    log.addHandler(handler)
    secret = "-".join(("pw", "rendered", "5"))
    try:
        try:
            raise KeyError(f"http://u:{secret}@h")
        except KeyError as inner:
            raise ValueError(f"endpoint http://u:{secret}@h failed") from inner
    except ValueError as exc:
        exc.add_note(f"note http://u:{secret}@h")
        log.exception("failed")
        assert secret in str(exc)
    finally:
        log.removeHandler(handler)
    (text,) = shown
    assert secret not in text and "ValueError: endpoint http://u:***@h failed" in text
    assert "KeyError: 'http://u:***@h'" in text and "note http://u:***@h" in text and "direct cause" in text


@pytest.mark.parametrize("password", ["MYSECRET2024", "TOKENS-PROD-77", "ADMINPASSWORD"])
def test_a_password_in_capitals_that_holds_a_secret_s_name_is_no_placeholder(password):
    """Only the placeholders of musim's own help (``TYPE://LOGIN:PASSWORD@HOST``) are kept: a real password in capitals
    holding ``SECRET``, ``TOKEN`` or ``PASSWORD`` was kept as one, and shown in every message quoting its URL."""
    assert redact(f"object store URL 's3://KEY:{password}@bucket/p' is refused") == \
        "object store URL 's3://KEY:***@bucket/p' is refused"
    assert redact("TYPE://LOGIN:PASSWORD@HOST/ and aws://KEY:SECRET@/") == "TYPE://LOGIN:PASSWORD@HOST/ and aws://KEY:SECRET@/"


def test_a_log_event_is_redacted_in_every_field_its_keys_and_times_kept():
    import datetime

    from musim.redact import redact_log_event

    when = datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC)
    event = {"event": "GET https://cdn.example/a.mp3?X-Amz-Signature=abc123&n=1", "timestamp": when, "n": 3,
             "password": "Wq7z", "empty_token": "", "headers": {"Authorization": "Bearer eyJabc.def"},
             "error_detail": [{"exc_type": "RuntimeError", "exc_value": "connect: password=Xk9q refused",
                               "frames": [{"filename": "a.py", "lineno": 3}]}],
             "plain": "42 artists, 3 previews", "url": Path("/x/token=abcd1234")}

    out = redact_log_event(None, "info", event)

    assert out == {"event": "GET https://cdn.example/a.mp3?X-Amz-Signature=***&n=1", "timestamp": when, "n": 3,
                   "password": "***", "empty_token": "", "headers": {"Authorization": "Bearer ***"},
                   "error_detail": [{"exc_type": "RuntimeError", "exc_value": "connect: password=*** refused",
                                     "frames": [{"filename": "a.py", "lineno": 3}]}],
                   "plain": "42 artists, 3 previews", "url": "/x/token=***"}
    assert redact_log_event(None, "info", {"event": "x", "path": Path("/a/b")})["path"] == Path("/a/b")


def test_an_exception_rendered_after_the_processor_reads_redacted_with_its_traceback():
    """A chain whose renderer formats the exception after musim's processor (the console's): the exception is
    replaced by one that reads redacted, its class and frames kept."""
    import structlog

    from musim.redact import redact_log_event

    logger = structlog.wrap_logger(structlog.PrintLogger(file := io.StringIO()), processors=[
        redact_log_event, structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)])

    signature, password = "5eC7" + "e7aa0", "Wq" + "7z"  # not in the source line the traceback shows

    def fetch():
        raise ConnectionError(f"GET https://cdn.example/a.mp3?X-Amz-Signature={signature} failed: password={password}")

    try:
        fetch()
    except ConnectionError:
        logger.exception("preview failed")

    text = file.getvalue()
    assert signature not in text and password not in text
    assert "ConnectionError: GET https://cdn.example/a.mp3?X-Amz-Signature=*** failed: password=***" in text
    assert "in fetch" in text and "preview failed" in text
