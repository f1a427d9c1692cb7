"""Where an object store lives and how to reach it: URL parsing, transfer options, S3 credentials.

Store URLs
----------
``file:///abs/path`` or a plain path (``~`` expanded, made absolute) selects the local-folder backend;
``s3://bucket/prefix`` the S3 backend. ``s3://conn_id@bucket/prefix`` names an Airflow connection other
than ``musim_s3`` (the form ``ObjectStoragePath`` uses).

S3 endpoint and credentials
---------------------------
Resolved field by field; the first source that sets a field wins:

1. the Airflow connection (type ``aws``): ``login``/``password`` = access key/secret, ``extra.endpoint_url``,
   ``extra.region_name`` (``extra.aws_access_key_id`` / ``aws_secret_access_key`` / ``aws_session_token``
   also accepted). It is read from ``AIRFLOW_CONN_MUSIM_S3`` (JSON or URI form) without importing Airflow.
   When that variable is absent, ``airflow.sdk.BaseHook.get_connection`` is asked, but only where that is
   cheap: ``MUSIM_S3_AIRFLOW_LOOKUP=auto`` (default) asks only if Airflow is already imported in this
   process (inside a task it always is; importing it just for this costs ~5 s and writes
   ``$AIRFLOW_HOME``), ``always`` imports it lazily when installed, ``never`` skips it;
2. the environment: ``MUSIM_S3_ENDPOINT_URL`` (else ``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL``),
   ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION`` /
   ``AWS_DEFAULT_REGION`` (default ``us-east-1``);
3. whatever boto3's own credential chain finds (instance profile, ``~/.aws``) for keys still unset.

Secrets are kept in fields excluded from ``repr`` and never appear in error messages or logs: a store URL or
endpoint URL with credentials in it is refused (shown redacted), every value read from a secret field is
registered with :func:`musim.redact.register_secret`, and every message shows URLs through
:func:`musim.redact.redact`.

Transfer options (environment)
------------------------------
``MUSIM_S3_MULTIPART_THRESHOLD`` (bytes, default 8 MiB), ``MUSIM_S3_PART_SIZE`` (bytes, default 8 MiB,
at least 5 MiB), ``MUSIM_S3_CONNECT_TIMEOUT`` / ``MUSIM_S3_READ_TIMEOUT`` (seconds, default 5 / 60),
``MUSIM_S3_MAX_ATTEMPTS`` (total attempts per request incl. the first, default 3),
``MUSIM_LOCAL_FSYNC`` (``1`` to fsync local writes before they become visible; default off).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlsplit

from musim.errors import ConfigError
from musim.redact import is_secret_name, redact, register_secret

log = logging.getLogger(__name__)

DEFAULT_CONN_ID = "musim_s3"
DEFAULT_REGION = "us-east-1"
MIB = 1024 * 1024
S3_MIN_PART_SIZE = 5 * MIB
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_CONN_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,249}$")
_BAD_PREFIX_RE = re.compile(r"[\x00-\x1f\x7f\\]")


@dataclass(frozen=True)
class TransferOptions:
    """Knobs for how objects move; the defaults suit MinIO on a LAN."""

    multipart_threshold: int = 8 * MIB
    """Objects of at least this many bytes are uploaded in parts (S3)."""
    part_size: int = 8 * MIB
    """Size of each multipart part; S3 requires at least 5 MiB (except the last)."""
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_attempts: int = 3
    """Total attempts per S3 request, the first included (botocore "standard" retry mode)."""
    fsync: bool = False
    """Local backend: fsync each object before renaming it into place (crash durability)."""

    def __post_init__(self) -> None:
        if self.part_size < S3_MIN_PART_SIZE:
            raise ConfigError(f"part_size must be at least 5 MiB (S3's minimum), got {self.part_size}")
        if self.multipart_threshold < 1:
            raise ConfigError(f"multipart_threshold must be positive, got {self.multipart_threshold}")
        if self.max_attempts < 1:
            raise ConfigError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ConfigError("connect_timeout and read_timeout must be positive")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TransferOptions:
        """Read the ``MUSIM_S3_*`` / ``MUSIM_LOCAL_FSYNC`` overrides from ``env`` (default ``os.environ``)."""
        env = os.environ if env is None else env
        kw: dict[str, Any] = {}
        for var, name, typ in (
            ("MUSIM_S3_MULTIPART_THRESHOLD", "multipart_threshold", int),
            ("MUSIM_S3_PART_SIZE", "part_size", int),
            ("MUSIM_S3_CONNECT_TIMEOUT", "connect_timeout", float),
            ("MUSIM_S3_READ_TIMEOUT", "read_timeout", float),
            ("MUSIM_S3_MAX_ATTEMPTS", "max_attempts", int),
        ):
            raw = env.get(var)
            if raw:
                try:
                    kw[name] = typ(raw)
                except ValueError:
                    raise ConfigError(f"{var} must be a number, got {raw!r}") from None
        kw["fsync"] = env.get("MUSIM_LOCAL_FSYNC", "").lower() in ("1", "true", "yes")
        return cls(**kw)


@dataclass(frozen=True)
class S3Config:
    """Endpoint and credentials of one S3-compatible service; secrets are left out of ``repr``."""

    endpoint_url: str | None = None
    region: str = DEFAULT_REGION
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    source: str = "environment"
    """Where the settings came from (for messages): a variable or connection name, never a value."""

    @property
    def endpoint_label(self) -> str:
        """The endpoint for messages: its URL without any user info, or AWS's default."""
        return redact_url(self.endpoint_url) if self.endpoint_url else f"AWS S3 default ({self.region})"


@dataclass(frozen=True)
class StoreLocation:
    """A parsed store URL: ``kind`` is ``"local"`` (``path`` set) or ``"s3"`` (``bucket``, ``prefix``)."""

    kind: str
    path: Path | None = None
    bucket: str = ""
    prefix: str = ""
    conn_id: str = DEFAULT_CONN_ID


def redact_url(url: str) -> str:
    """``url`` for messages: credentials hidden (user info, secret query parameters; :func:`musim.redact.redact`)."""
    return redact(url)


def _split(url: str, what: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError as exc:  # its text quotes the raw host part: never shown
        reason = "unbalanced '[' or ']'" if "IPv6" in str(exc) else "characters that change under NFKC normalisation"
        raise ConfigError(f"{what} {redact(url)!r} is not a valid URL ({reason})") from None


def parse_store_url(url: str) -> StoreLocation:
    """Parse a store URL (see the module docstring); raise :class:`ConfigError` naming it if invalid.

    Every message shows the URL with credentials hidden (:func:`musim.redact.redact`).
    """
    url = url.strip()
    if not url:
        raise ConfigError("object store URL is empty; set MUSIM_OBJECT_STORE (file:///path or s3://bucket/prefix)")
    shown = redact(url)
    if "\x00" in url:
        raise ConfigError(f"object store URL {shown!r} contains a NUL character")
    if "://" not in url:
        try:
            return StoreLocation("local", path=Path(url).expanduser().absolute())
        except RuntimeError as exc:  # ~user that does not exist
            raise ConfigError(f"object store path {shown!r}: {exc}") from None
    parts = _split(url, "object store URL")
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ConfigError(f"object store URL {shown!r}: file URLs must be absolute (file:///abs/path)")
        return StoreLocation("local", path=Path(unquote(parts.path)).absolute())
    if scheme == "s3":
        conn_id, at, bucket = parts.netloc.rpartition("@")
        if ":" in conn_id or (at and not _CONN_ID_RE.match(conn_id)):
            raise ConfigError(
                f"object store URL {shown!r}: the part before '@' must be an Airflow connection id "
                "(s3://conn_id@bucket/prefix: letters, digits, '_', '.', '-'), never credentials; put the keys "
                "in that connection or in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            )
        if not _BUCKET_RE.match(bucket) or ".." in bucket:
            raise ConfigError(
                f"object store URL {shown!r}: {bucket!r} is not a valid bucket name "
                "(3-63 characters: lowercase letters, digits, dots, hyphens)"
            )
        if parts.query or parts.fragment:
            raise ConfigError(f"object store URL {shown!r}: s3:// URLs take no '?' or '#' part")
        prefix = unquote(parts.path).strip("/")
        if prefix and (any(seg in ("", ".", "..") for seg in prefix.split("/")) or _BAD_PREFIX_RE.search(prefix)):
            raise ConfigError(
                f"object store URL {shown!r}: invalid prefix {redact(prefix)!r} (no empty, '.' or '..' "
                "segment, backslash or control character)"
            )
        return StoreLocation("s3", bucket=bucket, prefix=prefix, conn_id=conn_id or DEFAULT_CONN_ID)
    raise ConfigError(f"object store URL {shown!r}: unsupported scheme {scheme!r} (use file:// or s3://)")


def format_store_url(location: StoreLocation) -> str:
    """The URL :func:`parse_store_url` reads back as ``location`` (``file://`` URI or ``s3://``)."""
    if location.kind == "local":
        assert location.path is not None
        return location.path.as_uri()
    conn = "" if location.conn_id == DEFAULT_CONN_ID else f"{location.conn_id}@"
    prefix = f"/{quote(location.prefix, safe='/')}" if location.prefix else ""
    return f"s3://{conn}{location.bucket}{prefix}"


def _conn_env_var(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def parse_airflow_connection(raw: str, *, name: str) -> dict[str, Any]:
    """Parse an Airflow connection in JSON or URI form into ``{"login", "password", "extra": {...}}``.

    ``name`` (e.g. the variable it came from) is used in error messages; the value never is.
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
        parts = _split(raw, name)
        if not parts.scheme:
            raise ConfigError(f"{name} is neither JSON nor a connection URI (aws://KEY:SECRET@/?endpoint_url=...)")
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
    _register_connection_secrets(doc.get("password"), extra)
    conn_type = doc.get("conn_type")
    if conn_type not in (None, "aws", "s3"):
        got = repr(redact(conn_type))[:60] if isinstance(conn_type, str) else f"a JSON {type(conn_type).__name__}"
        raise ConfigError(f"{name}: connection type must be 'aws', got {got}")
    for field_name in ("login", "password"):
        if doc.get(field_name) is not None and not isinstance(doc[field_name], str):
            raise ConfigError(f"{name}: '{field_name}' must be a string")
    return {"login": doc.get("login"), "password": doc.get("password"), "extra": extra}


def _register_connection_secrets(password: Any, extra: Mapping[str, Any]) -> None:
    """Make the password and every secret-named extra field unprintable (:func:`musim.redact.register_secret`)."""
    register_secret(password)
    for key, value in extra.items():
        if isinstance(key, str) and is_secret_name(key):
            register_secret(value)


def _airflow_connection(conn_id: str, env: Mapping[str, str]) -> tuple[dict[str, Any], str] | None:
    """The connection ``conn_id`` and where it came from, or ``None`` (see the module docstring)."""
    var = _conn_env_var(conn_id)
    if env.get(var):
        return parse_airflow_connection(env[var], name=var), var
    mode = (env.get("MUSIM_S3_AIRFLOW_LOOKUP") or "auto").lower()
    if mode in ("never", "0", "false", "no") or (mode == "auto" and "airflow" not in sys.modules):
        return None
    try:
        from airflow.sdk import BaseHook  # lazy: seconds to import

        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # Airflow missing, no such connection, no metadata DB: use the environment
        log.debug("no Airflow connection %r (%s); using the environment", conn_id, type(exc).__name__)
        return None
    extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else {}
    _register_connection_secrets(conn.password, dict(extra or {}))
    return {"login": conn.login, "password": conn.password, "extra": dict(extra or {})}, f"Airflow connection {conn_id!r}"


def check_endpoint_url(url: str, name: str) -> str:
    """``url`` if it is an ``http(s)://host[:port][/path]`` endpoint without credentials, else ConfigError.

    ``name`` says where it came from; the message shows the URL with credentials hidden.
    """
    shown = redact(url)
    parts = _split(url, name)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    from botocore.utils import is_valid_uri  # lazy: what botocore will accept, checked before it sees the URL

    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or not port_ok or not is_valid_uri(url):
        raise ConfigError(f"{name}: {shown!r} is not an endpoint URL (http://host:port or https://host)"[:400])
    if "@" in parts.netloc:
        raise ConfigError(
            f"{name}: the endpoint URL {shown!r} carries credentials; give only http(s)://host:port and put the "
            "keys in the connection's login/password or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"[:500]
        )
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise ConfigError(f"{name}: the endpoint URL {shown!r} contains spaces or control characters")
    return url


def resolve_s3_config(conn_id: str = DEFAULT_CONN_ID, env: Mapping[str, str] | None = None) -> S3Config:
    """Resolve endpoint, region and credentials for ``conn_id`` (see the module docstring)."""
    env = os.environ if env is None else env
    found = _airflow_connection(conn_id, env)
    conn, source = found if found else ({"extra": {}}, "environment")
    extra = conn["extra"]

    def pick(*values: Any) -> str | None:
        return next((str(v) for v in values if v), None)

    def named(*pairs: tuple[str, Any]) -> tuple[str | None, str]:
        return next(((str(v), n) for n, v in pairs if v), (None, ""))

    # Keys travel as a set: never pair the connection's key with a session token from the environment.
    conn_key = pick(conn.get("login"), extra.get("aws_access_key_id"))
    if conn_key:
        secret = pick(conn.get("password"), extra.get("aws_secret_access_key"))
        keys = (conn_key, secret, pick(extra.get("aws_session_token")))
    else:
        keys = (env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY"), env.get("AWS_SESSION_TOKEN"))
    register_secret(keys[1])
    register_secret(keys[2])
    endpoint, endpoint_from = named(
        (f"extra.endpoint_url of {source}", extra.get("endpoint_url")),
        ("MUSIM_S3_ENDPOINT_URL", env.get("MUSIM_S3_ENDPOINT_URL")),
        ("AWS_ENDPOINT_URL_S3", env.get("AWS_ENDPOINT_URL_S3")),
        ("AWS_ENDPOINT_URL", env.get("AWS_ENDPOINT_URL")),
    )
    return S3Config(
        endpoint_url=check_endpoint_url(endpoint, endpoint_from) if endpoint else None,
        region=pick(extra.get("region_name"), env.get("AWS_REGION"), env.get("AWS_DEFAULT_REGION"))
        or DEFAULT_REGION,
        access_key_id=keys[0] or None,
        secret_access_key=keys[1] or None,
        session_token=keys[2] or None,
        source=source,
    )
