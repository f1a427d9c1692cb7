"""Airflow connections as settings: ``AIRFLOW_CONN_<ID>`` (JSON or URI form) or, where cheap, Airflow itself.

:meth:`musim.config.Settings.connection` reads the variable ``AIRFLOW_CONN_<CONN_ID>`` without importing
Airflow. When it is absent, ``airflow.sdk.BaseHook.get_connection`` is asked, but only as
``MUSIM_S3_AIRFLOW_LOOKUP`` allows: ``auto`` (default) asks only if Airflow is already imported in this
process (inside a task it always is; importing it just for this costs seconds and writes ``$AIRFLOW_HOME``),
``always`` imports it lazily when installed, ``never`` skips it (Airflow 3 serves a connection kept in its
database to tasks only: outside a task ``always`` finds those of ``AIRFLOW_CONN_*`` and the secrets backends).
Either way a connection of another type than the caller's (``aws``/``s3`` for S3) is refused. The password and every secret-named extra
field are registered with :func:`musim.redact.register_secret`; messages name the variable, never a value.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from musim.errors import ConfigError
from musim.redact import is_secret_name, redact, register_secret, register_url_secrets

log = logging.getLogger(__name__)


def split_url(url: str, what: str) -> SplitResult:
    """``urlsplit(url)``, or a ConfigError naming ``what`` that never quotes the raw host part."""
    try:
        return urlsplit(url)
    except ValueError as exc:
        reason = "unbalanced '[' or ']'" if "IPv6" in str(exc) else "characters that change under NFKC normalisation"
        raise ConfigError(f"{what} {redact(url)!r} is not a valid URL ({reason})") from None


def parse_airflow_connection(raw: str, *, name: str, types: tuple[str, ...] = ("aws", "s3")) -> dict[str, Any]:
    """Parse an Airflow connection in JSON or URI form into ``{"login", "password", "extra": {...}}``.

    ``name`` (e.g. the variable it came from) is used in error messages; the value never is. A connection
    type other than ``types`` is refused (no type at all is accepted; ``types=()`` accepts every type).
    """
    raw = raw.strip()
    if raw.startswith("{"):
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
        if not isinstance(doc, dict):
            raise ConfigError(f"{name} must be a JSON object")
        extra = doc.get("extra") or {}
    else:
        parts = split_url(raw, name)
        if not parts.scheme:
            form = ("aws://KEY:SECRET@/?endpoint_url=..." if "aws" in types  # the form of this kind of connection
                    else "TYPE://LOGIN:PASSWORD@HOST/ with each value percent-encoded")
            raise ConfigError(f"{name} is neither JSON nor a connection URI ({form})")
        _check_uri(raw, parts, name)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        extra = query.pop("__extra__", None) or query
        doc = {
            "conn_type": parts.scheme.replace("-", "_"),
            "login": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
        }
    if isinstance(extra, str):
        try:
            extra = json.loads(extra) if extra.strip() else {}
        except json.JSONDecodeError:
            raise ConfigError(f"{name}: 'extra' is not valid JSON") from None
    if not isinstance(extra, dict):
        raise ConfigError(f"{name}: 'extra' must be a JSON object")
    _register_secrets(doc.get("password"), extra)
    conn_type = doc.get("conn_type")
    if types and conn_type not in (None, *types):
        got = repr(redact(conn_type))[:60] if isinstance(conn_type, str) else f"a JSON {type(conn_type).__name__}"
        raise ConfigError(f"{name}: connection type must be {' or '.join(map(repr, types))}, got {got}")
    for field_name in ("login", "password"):
        if doc.get(field_name) is not None and not isinstance(doc[field_name], str):
            raise ConfigError(f"{name}: '{field_name}' must be a string")
    return {"login": doc.get("login"), "password": doc.get("password"), "extra": extra}


def _check_uri(raw: str, parts: SplitResult, name: str) -> None:
    """Refuse a connection URI whose fields were not percent-encoded, as Airflow refuses it (more than one other
    ``://``, or one after an ``@`` or ``:``: ``?endpoint_url=http://minio:9000`` as it is) or reads it wrong without a
    word: an ``@`` after the host part (``aws://KEY:p@ss@/``: the password read as ``p``), or a ``#`` (everything after
    it dropped: ``aws://KEY:a#b@/``, no keys at all). The message names the variable, never a value."""
    rest = raw.split("://", 1)[1]
    airflow_refuses = rest.count("://") > 1 or ("://" in rest and any(c in rest.split("://", 1)[0] for c in "@:"))
    cut = "@" in parts.path or bool(parts.fragment) or "#" in raw or ("@" in parts.query and "@" not in parts.netloc)
    if airflow_refuses or cut:
        raise ConfigError(f"{name}: the connection URI holds an '@', '/', '?', '#' or '://' that is not percent-encoded, "
                          "so its login, password or extra would be read wrong; encode each value "
                          "(urllib.parse.quote(value, safe='')), or give the connection as JSON")


def _register_secrets(password: Any, extra: Mapping[str, Any]) -> None:
    """Make the password and every secret-named extra field unprintable (:func:`musim.redact.register_secret`)."""
    register_secret(password)
    for key, value in extra.items():
        if isinstance(key, str) and is_secret_name(key):
            register_secret(value)


def register_setting_secrets(variable: str, value: str) -> None:
    """Register every secret the variable ``variable`` holds, as soon as it is read, before anything can fail and quote
    it (in a task, Airflow's task log is masked only by what was registered): its whole value where its name is a
    secret's (``AWS_SECRET_ACCESS_KEY``), the passwords and secret query parameters of URLs in it
    (``MUSIM_OBJECT_STORE=s3://KEY:SECRET@bucket``, an ``AIRFLOW_CONN_*`` URI), and an ``AIRFLOW_CONN_*`` JSON
    connection's password and secret-named extra fields."""
    if is_secret_name(variable):
        register_secret(value)
    register_url_secrets(value)
    if variable.upper().startswith("AIRFLOW_CONN_") and value.strip().startswith("{"):
        # registers what it holds; a value broken beyond reading holds nothing to find (said when it is used)
        with contextlib.suppress(ConfigError):
            parse_airflow_connection(value, name=variable, types=())


def airflow_connection(conn_id: str, env: Mapping[str, str], *, lookup: str,
                       types: tuple[str, ...]) -> tuple[dict[str, Any], str] | None:
    """The connection ``conn_id`` and where it came from (a variable or connection name), or ``None``."""
    var = f"AIRFLOW_CONN_{conn_id.upper()}"
    if env.get(var):
        return parse_airflow_connection(env[var], name=var, types=types), var
    if lookup == "never" or (lookup == "auto" and "airflow" not in sys.modules):
        return None
    try:
        from airflow.sdk import BaseHook  # lazy: seconds to import

        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # Airflow missing, no such connection, no metadata DB: use the environment
        log.debug("no Airflow connection %r (%s); using the environment", conn_id, type(exc).__name__)
        return None
    extra = dict(getattr(conn, "extra_dejson", None) or {})
    _register_secrets(conn.password, extra)
    conn_type = getattr(conn, "conn_type", None) or None
    if types and conn_type not in (None, *types):  # the rule of the variable's form (parse_airflow_connection)
        raise ConfigError(f"Airflow connection {conn_id!r}: connection type must be "
                          f"{' or '.join(map(repr, types))}, got {repr(redact(str(conn_type)))[:60]}")
    return {"login": conn.login, "password": conn.password, "extra": extra}, f"Airflow connection {conn_id!r}"
