"""Keep secrets out of messages and logs: :func:`redact` for text, a log-record hook for everything logged.

What is hidden (replaced by ``***``):

- the password of a URL's user info (``http://user:pass@host`` → ``http://user:***@host``); user info
  without a password is hidden whole except in ``s3://conn_id@bucket`` URLs, where it names a connection; a
  placeholder password (``TYPE://LOGIN:PASSWORD@HOST``, ``KEY:SECRET``, in musim's own help) is kept;
- the values of secret-looking ``name=value`` pairs (URL query parameters, ``key=value`` text) and JSON or
  Python-dict fields (``"password": "..."``): names containing ``password``, ``passwd``, ``secret``,
  ``token``, ``signature``, ``credential``, ``api_key``, ``passphrase``, ``private_key`` or ``fernet_key``
  (``aws_secret_access_key``, ``aws_session_token``, ``client_secret``, ``X-Amz-Signature``,
  ``AIRFLOW__CORE__FERNET_KEY``, ...), and signed URLs' signing parameters (Deezer's preview
  ``hdnea=exp=...~hmac=...``, Azure's ``sig``, ``hmac``); a URL query parameter's value is hidden up to the next
  parameter, whatever it holds (``,``, ``;``, ``=``, ``~``);
- the same names' values in unquoted ``name: value`` (YAML, HTTP headers: ``password: hunter22``,
  ``X-Auth-Token: ...``) and spaced ``name = value`` (ini files: ``aws_secret_access_key = ...`` in
  ``~/.aws/credentials``) forms; ``name: value`` only where ``name`` is a key, not a word of a sentence: a compound
  name (``db_password``), or a word at a line's start or after ``{``, ``,`` or ``;`` ("could not get a token: timed
  out" is kept);
- an ``Authorization`` (or ``Proxy-Authorization``) header's or field's value whatever its scheme (``Token``,
  ``ApiKey``, ``Digest``'s ``response=``, ``AWS4-HMAC-SHA256``'s ``Signature=``), to the end of its line or quoted
  value, and ``Bearer``/``Basic`` credentials anywhere (not a lower-case word after them: "the Basic client
  credentials" is prose);
- a URL's password wherever else the text quotes it, whole or in the parts a URL parser splits it into
  (``s3://KEY:abc/def@bucket`` is read as host ``KEY:abc``), percent-decoded or not;
- every value registered with :func:`register_secret`, as it is and quoted, escaped or percent-encoded (musim
  registers, when it reads its settings, every secret-named variable's value, every password and secret query
  parameter of a URL in any setting or ``AIRFLOW_CONN_*`` variable, a JSON connection's password and secret fields;
  and the S3 keys and provider client secrets it resolves, whatever they are called where they came from). Inside
  Airflow they are handed to Airflow's masker too (:func:`forward_to_airflow`): a task's log is written by its
  supervisor, another process, which knows them only from there.

:func:`install_log_redaction` (done when :mod:`musim` is imported) makes every log record of the process,
musim's, botocore's or Airflow's alike, pass through :func:`redact` before any handler sees it, including
the text of a logged exception's traceback. :func:`redact_log_event` does the same to a structlog event: Airflow's task
logs run it on every line their supervisor writes (:mod:`musim.task_log`).
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus, unquote

MASK = "***"
MIN_SECRET_LEN = 4  # shorter registered values would blank ordinary words

# ... but not an address named after one (``spotify_token_url``: where a token is fetched; a secret in a URL's
# userinfo is masked on its own)
_NAME = r"[A-Za-z0-9_.-]{0,64}(?:passw(?:or)?d|secret|token|signature|credential|api[_-]?key|pwd|passphrase|private[_-]?key|fernet[_-]?key)[A-Za-z0-9_.-]{0,64}(?<![_.-]ur[li])"
_NAME_RE = re.compile(rf"^{_NAME}$", re.IGNORECASE)
# "name": "value" / 'name': 'value' (JSON, Python reprs), quotes kept, escapes inside the value honoured
_FIELD = re.compile(rf"""(?P<q>["'])(?P<name>{_NAME})(?P=q)(?P<sep>\s*[:=]\s*)(?P<vq>["'])(?:\\.|(?!(?P=vq)).)*(?P=vq)""",
                    re.IGNORECASE | re.DOTALL)
# name=value in query strings and plain text (value up to &, whitespace, quote, comma or ;)
_BARE_FIELD = re.compile(rf"""(?P<q>["'])(?P<name>{_NAME})(?P=q)(?P<sep>\s*:\s*)(?!["'\[{{]|null\b|None\b)[^,}}\]\s]+""",
                         re.IGNORECASE)
# signing parameters of signed URLs named otherwise: Akamai's (Deezer's previews: ``hdnea=exp=...~acl=...~hmac=...``),
# Azure's SAS ``sig``; matched as whole names only (``design=`` is no secret)
_SIGNING = r"(?:hdnea|hdnt[ls]|hmac|sig)"
_PAIR = re.compile(rf"""(?P<name>(?<![A-Za-z0-9_.-])(?:{_NAME}|{_SIGNING}))(?P<sep>=)(?P<value>[^&\s"',;#]+)""",
                   re.IGNORECASE)
# a URL's query parameter: its value runs to the next parameter (a signing token holds '=', ',', ';' and '~':
# ``data=user_id=0,application_id=42~hmac=...``)
_QUERY_PAIR = re.compile(rf"""(?P<lead>[?&])(?P<name>{_NAME}|{_SIGNING})=[^&\s"'#<>]+""", re.IGNORECASE)
# a Bearer/Basic credential anywhere (not a lower-case word after it: "the Basic client credentials" is prose)
_AUTH = re.compile(r"\b(Bearer|Basic)\s+(?![a-z]+\b)[A-Za-z0-9._~+/=-]+")
# an (Proxy-)Authorization header or field, whatever its scheme (Token, Digest's response=, AWS4-HMAC-SHA256's
# Signature=, ApiKey, none): its value hidden whole after the scheme's name, to the end of the line (of a quoted value:
# to its closing quote; of a logged bytes repr: to its escaped line break)
_AUTH_HEADER = re.compile(r"""(?P<head>(?:(?<![A-Za-z0-9_-])|(?<=\\[rn]))(?:proxy-)?authorization["']?\s*[:=]\s*)(?P<vq>["'])?"""
                          r"""(?P<scheme>[A-Za-z][A-Za-z0-9-]*[ \t]+(?=[^\s"']))?"""
                          r"""(?(vq)(?:\\.|(?!(?P=vq))[^\r\n])+|(?:(?!\\[rn])[^\r\n])+)""", re.IGNORECASE)
# name = value (ini files: ~/.aws/credentials, boto's config) and name: value (YAML, HTTP headers), unquoted. A
# "name: " is a key where it is one: a compound name (``db_password``, ``X-Auth-Token``), or a plain word at a line's
# start (``password: hunter22``) or after '{', ',' or ';'; mid-sentence ("could not get a token: timed out") it is prose.
_KEY_START = r"""(?:(?<![A-Za-z0-9_.'"\\-])|(?<=\\[rn]))"""  # a name's start (or a logged bytes repr's line's)
_KEYED = (rf"""(?:{_KEY_START}(?:{_NAME})(?:[ \t]+=[ \t]*|=[ \t]+)"""  # '=' spaced: unspaced is _PAIR's
          rf"""|{_KEY_START}(?=[A-Za-z0-9]*[_.-])(?:{_NAME})[ \t]*:[ \t]+"""
          rf"""|(?:^|(?<=[{{,;]))[ \t]*(?:-[ \t]+)?(?:{_NAME})[ \t]*:[ \t]+)""")
_KEY_VALUE = re.compile(rf"""(?P<key>{_KEYED})(?P<value>"(?:\\.|[^"\\\n])*"|'[^'\n]*'|(?:(?!\\[rn])[^\s"'])+)""",
                        re.IGNORECASE | re.MULTILINE)
# scheme://userinfo@ : userinfo is everything up to the last '@' before whitespace, '"', '<' or '>' (a
# single quote is a legal password character; repr() quotes such strings with '"'). Also scheme:/userinfo@: a URL
# given where a path was expected comes back from pathlib with its '//' made one '/' (`https:/u:pw@host/x: no such
# file`).
_USERINFO = re.compile(r"""(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*)(?P<slashes>:/{1,2})(?P<info>[^\s"<>/][^\s"<>]*)@""")

#: An Airflow connection id, as ``s3://conn_id@bucket`` names one (any other user info there is a secret).
_CONN_ID = re.compile(r"[A-Za-z0-9_.-]+")

_secrets: set[str] = set()  # every registered secret in every form it is hidden in
_registered: list[str] = []  # the registered secrets, in the order they came
_registered_set: set[str] = set()
_forwarded: list = [0, False]  # how many of them Airflow's masker has had, and whether its supervisor was told too
_lock = threading.Lock()


def register_secret(value: object) -> None:
    """Hide ``value`` wherever it appears in text passed to :func:`redact` (and so in every log line), as it is and in
    the forms it takes quoted (:func:`_escaped_forms`: a ``repr``, JSON, percent-encoded in a URL).

    Inside an Airflow process (``airflow.sdk`` imported, now or later: see :func:`forward_to_airflow`) Airflow's own
    masker learns it too, so the task's log output is masked by the supervisor as well.
    """
    if isinstance(value, str) and len(value) >= MIN_SECRET_LEN:
        with _lock:
            if value not in _registered_set:
                _registered_set.add(value)
                _registered.append(value)
                _secrets.update(v for v in _escaped_forms(value) if len(v) >= MIN_SECRET_LEN)
    forward_to_airflow()


def forward_to_airflow() -> None:
    """Give Airflow's masker (``airflow.sdk.log.mask_secret``: the task process's, and through it the supervisor's, which
    writes the task log) every registered secret it has not had, in every form :func:`redact` hides; a no-op outside
    Airflow (``airflow.sdk`` not imported). A secret registered before Airflow was imported is handed on here later."""
    if "airflow.sdk" not in sys.modules:
        return
    supervised = _supervised()
    with _lock:
        if supervised and not _forwarded[1]:  # handed on before the task's link to its supervisor was made: again
            _forwarded[:] = [0, True]
        pending = _registered[_forwarded[0]:]
        _forwarded[0] = len(_registered)
    if not pending:
        return
    try:
        from airflow.sdk.log import mask_secret
    except Exception:  # an Airflow without it: musim's own redaction still applies
        return
    for form in sorted({form for value in pending for form in _escaped_forms(value)}):
        try:
            mask_secret(form)
        except Exception:  # noqa: S112 - Airflow's masker refusing one form: musim's own redaction still applies
            continue


def _supervised() -> bool:
    """Whether this is an Airflow task process linked to its supervisor (which writes the task log): only then does
    ``mask_secret`` tell the supervisor too."""
    runner = sys.modules.get("airflow.sdk.execution_time.task_runner")
    return getattr(runner, "SUPERVISOR_COMMS", None) is not None


def register_url_secrets(text: str) -> None:
    """Register the secrets that ``text`` (a setting's value, a connection URI) holds in URLs: each user info's password,
    percent-decoded and not, and the values of secret-named query parameters (``?token=...``,
    ``X-Amz-Signature=...``). User info without a password is not registered: most often a user's name
    (``postgresql://musim@db/musim``), which would be masked in every log line; :func:`redact` hides it in URLs."""
    for secret in _url_passwords(text, user_info=False):
        for form in (secret, unquote(secret)):
            register_secret(form)
    for match in _QUERY_PAIR.finditer(text):
        value = match[0].split("=", 1)[1]
        for form in (value, unquote(value)):
            register_secret(form)


def _escaped_forms(value: str) -> set[str]:
    """``value`` and the forms it takes inside a quoted string: a ``repr`` (how a bad setting's value is quoted), JSON
    (ASCII or not) and Python's escapes of non-ASCII; a secret holding a backslash, a quote, a control or a non-ASCII
    character is written so (``a\\b`` for ``a\b``), and must be hidden there too; and percent-encoded, as a URL
    holds it (``a%2Fb`` for ``a/b``, ``+`` for a space in a query)."""
    return {value, repr(value)[1:-1], json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
            value.encode("unicode_escape").decode("ascii"), quote(value, safe=""), quote(value), quote_plus(value)}


def is_secret_name(name: str) -> bool:
    """Whether a field or parameter called ``name`` holds a secret (``password``, ``aws_session_token``...)."""
    return bool(_NAME_RE.match(name))


#: The passwords of musim's help's URLs (``TYPE://LOGIN:PASSWORD@HOST``, ``aws://KEY:SECRET@``): placeholders, kept.
_PLACEHOLDERS = frozenset({"PASSWORD", "SECRET", "TOKEN", "CLIENT_SECRET"})


def _placeholder(password: str) -> bool:
    """Whether a URL's password is a placeholder of musim's help (``TYPE://LOGIN:PASSWORD@HOST``), no secret; a real
    password in capitals that merely holds such a word (``MYSECRET2024``) is no placeholder."""
    return password in _PLACEHOLDERS


def _userinfo(match: re.Match[str]) -> str:
    scheme, slashes, info = match["scheme"], match["slashes"], match["info"]
    user, colon, password = info.partition(":")
    if colon and _placeholder(password):
        return match[0]
    if colon:
        return f"{scheme}{slashes}{user}:{MASK}@"
    if scheme.lower() == "s3" and _CONN_ID.fullmatch(info):
        return match[0]  # s3://conn_id@bucket: the name of a connection, not a secret
    return f"{scheme}{slashes}{MASK}@"


def _url_passwords(text: str, *, user_info: bool = True) -> list[str]:
    """The passwords of the URLs in ``text`` as written, and (``user_info``) user info without one that names no
    connection, whole."""
    found = []
    for match in _USERINFO.finditer(text) if "@" in text else ():
        info = match["info"]
        _, colon, password = info.partition(":")
        names_a_connection = not colon and match["scheme"].lower() == "s3" and _CONN_ID.fullmatch(info)
        if colon and not _placeholder(password):
            found.append(password)
        elif not colon and user_info and not names_a_connection:
            found.append(info)
    return found


def _url_secrets(text: str) -> list[str]:
    """The passwords of the URLs in ``text`` (:func:`_url_passwords`) and, percent-decoded or not, the parts a URL
    parser splits them into at ``/``, ``?``, ``#``, ``@``, ``[`` or ``]`` (an AWS secret key holds ``/``:
    ``s3://KEY:abc/def@bucket`` is read as host ``KEY:abc``, and an error quotes that host), longest first."""
    found: set[str] = set()
    for secret in _url_passwords(text):
        for form in (secret, unquote(secret)):
            found.update(part for part in (form, *re.split(r"[/?#@\[\]]", form)) if len(part) >= MIN_SECRET_LEN)
    return sorted(found, key=len, reverse=True)


def _auth_header(match: re.Match[str]) -> str:
    return f"{match['head']}{match['vq'] or ''}{match['scheme'] or ''}{MASK}"


def _key_value(match: re.Match[str]) -> str:
    value = match["value"]
    if value == MASK or value in ("null", "None", "~", "''", '""'):  # hidden already, or no value at all
        return match[0]
    quote = value[0] if value[0] in "\"'" else ""
    return f"{match['key']}{quote}{MASK}{quote}"


def redact(text: object, *, quoted_from: str = "") -> str:
    """``str(text)`` with credentials hidden (see the module docstring); ``quoted_from``: the text it quotes a part of
    (a URL whose host a message names), whose URLs' passwords are hidden in ``text`` too."""
    out = str(text)
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known + _url_secrets(f"{quoted_from} {out}"):  # a URL's password, wherever else the text quotes it
        if secret in out:
            out = out.replace(secret, MASK)
    out = _FIELD.sub(lambda m: f"{m['q']}{m['name']}{m['q']}{m['sep']}{m['vq']}{MASK}{m['vq']}", out)
    out = _BARE_FIELD.sub(lambda m: f"{m['q']}{m['name']}{m['q']}{m['sep']}{MASK}", out)
    out = _QUERY_PAIR.sub(lambda m: f"{m['lead']}{m['name']}={MASK}", out)
    out = _PAIR.sub(lambda m: f"{m['name']}={MASK}", out)
    out = _AUTH_HEADER.sub(_auth_header, out)
    out = _KEY_VALUE.sub(_key_value, out)
    out = _AUTH.sub(rf"\1 {MASK}", out)
    return _USERINFO.sub(_userinfo, out) if "@" in out else out


def redact_log_event(logger: object, method_name: str, event: dict) -> dict:
    """A structlog processor: ``event`` with every text in it redacted (:func:`redact`: its message, its fields, a
    rendered exception's ``exc_value`` and frames) and the value of every field with a secret's name
    (:func:`is_secret_name`) hidden whole; keys, numbers and times are kept. Airflow's task log runs it on each line
    it writes (:mod:`musim.task_log`), a secret no one registered included. An exception not rendered yet (a chain whose
    renderer comes after, the console's) is replaced by one that reads redacted (:func:`_stand_in`)."""
    out = _redacted_event({key: value for key, value in event.items() if key != "exc_info"}, depth=0)
    if "exc_info" in event:
        exc = _exception_of(event["exc_info"])
        try:
            out["exc_info"] = event["exc_info"] if exc is None else _stand_in(exc)
        except Exception:  # an exception too odd to stand in for: its traceback as redacted text instead
            out["exception"] = format_exception(exc)
    return out


def _exception_of(exc_info: Any) -> BaseException | None:
    """The exception of a log event's ``exc_info``: ``True`` (the one being handled), an exception or a
    ``sys.exc_info()`` tuple."""
    if exc_info is True:
        return sys.exc_info()[1]
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3 and isinstance(exc_info[1], BaseException):
        return exc_info[1]
    return None


def _redacted_event(value: Any, *, depth: int) -> Any:
    if isinstance(value, str):
        return redact(value)
    if depth > 20:  # nested deeper than any log line: hidden rather than walked for ever
        return MASK
    if isinstance(value, dict):
        return {key: MASK if isinstance(key, str) and is_secret_name(key) and value[key] not in (None, "")
                else _redacted_event(value[key], depth=depth + 1) for key in value}
    if type(value) in (list, tuple):
        return type(value)(_redacted_event(item, depth=depth + 1) for item in value)
    if value is None or isinstance(value, (bool, int, float, datetime.date, datetime.time)):
        return value
    try:  # another object, written as its text: kept as it is unless its text holds a secret
        text = str(value)
    except Exception:  # an object that cannot say what it is: the log line says so instead
        return f"<unprintable {type(value).__name__}>"
    hidden = redact(text)
    return value if hidden == text else hidden


def has_secret(text: object) -> bool:
    """Whether :func:`redact` would change ``text``."""
    return redact(text) != str(text)


def format_exception(exc: BaseException) -> str:
    """The traceback of ``exc`` (with its causes), redacted: what ``-v`` may print."""
    return redact("".join(traceback.format_exception(exc)))


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: left to logging's own error report, which prints the message and
        record.msg, record.args = _redacted_args(record.msg), _redacted_args(record.args)  # its arguments: redacted
        return
    record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info))).rstrip("\n")
        try:  # for handlers that render the exception itself (Airflow's structlog task logs): its text redacted
            stand_in = _stand_in(record.exc_info[1])
            record.exc_info = (type(stand_in), stand_in, stand_in.__traceback__)
        except Exception:  # noqa: S110 - an exception too odd to stand in for: its redacted text above stays
            pass
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


_STAND_INS: dict[type, type] = {}


def _stand_in(exc: BaseException, depth: int = 0) -> BaseException:
    """An exception like ``exc`` as a log handler shows it (its class's name and module, its traceback, its notes, its
    cause and context, stood in for alike), whose text is ``exc``'s redacted; ``exc`` itself is left as it is."""
    with _lock:
        kind = _STAND_INS.get(type(exc)) or _STAND_INS.setdefault(type(exc), type(
            type(exc).__name__, (Exception,),
            {"__module__": type(exc).__module__, "__qualname__": type(exc).__qualname__, "__str__": _stand_in_text}))
    stand_in = kind(redact(exc))
    stand_in.__traceback__ = exc.__traceback__
    if getattr(exc, "__notes__", None):
        stand_in.__notes__ = [redact(note) for note in exc.__notes__]
    if depth < 10:  # a chain of causes, not a loop
        stand_in.__cause__ = exc.__cause__ and _stand_in(exc.__cause__, depth + 1)
        stand_in.__context__ = exc.__context__ and _stand_in(exc.__context__, depth + 1)
    stand_in.__suppress_context__ = exc.__suppress_context__
    return stand_in


def _stand_in_text(self: BaseException) -> str:
    return str(self.args[0])


def _redacted_args(value: Any) -> Any:
    """``value`` (a log record's message or arguments) with every text in it redacted, its containers kept."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, tuple):
        return tuple(_redacted_args(v) for v in value)
    if isinstance(value, dict):
        return {k: _redacted_args(v) for k, v in value.items()}
    return value if value is None or isinstance(value, (int, float)) else redact(value)


_installed = False


def install_log_redaction() -> None:
    """Redact every log record made from now on in this process (idempotent); see the module docstring."""
    global _installed
    with _lock:
        if _installed:
            return
        previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _redact_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
