"""Where an object store lives and how to reach it: store URLs and S3 endpoint and credentials.

Store URLs
----------
``file:///abs/path`` or a plain path (``~`` expanded, made absolute) selects the local-folder backend;
``s3://bucket/prefix`` the S3 backend. ``s3://conn_id@bucket/prefix`` names an Airflow connection other
than ``musim_s3`` (the form ``ObjectStoragePath`` uses).

S3 endpoint and credentials
---------------------------
Resolved field by field from the settings (:class:`musim.config.StorageSettings`); the first source that
sets a field wins:

1. the Airflow connection (type ``aws``, :meth:`musim.config.Settings.connection`): ``login``/``password`` =
   access key/secret, ``extra.endpoint_url``, ``extra.region_name`` (``extra.aws_access_key_id`` /
   ``aws_secret_access_key`` / ``aws_session_token`` also accepted);
2. the environment: ``MUSIM_S3_ENDPOINT_URL`` (else ``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL``),
   ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION`` /
   ``AWS_DEFAULT_REGION`` (default ``us-east-1``);
3. whatever boto3's own credential chain finds (instance profile, ``~/.aws``) for keys still unset.

Secrets are kept in fields excluded from ``repr`` and never appear in error messages or logs: a store URL or
endpoint URL with credentials in it is refused (shown redacted), every value read from a secret field is
registered with :func:`musim.redact.register_secret`, and every message shows URLs through
:func:`musim.redact.redact`. Transfer options are :class:`musim.config.TransferOptions` (``MUSIM_S3_*``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from pydantic import SecretStr

from musim.config import Settings, get_settings
from musim.config.connections import split_url
from musim.errors import ConfigError
from musim.redact import redact, register_secret

DEFAULT_CONN_ID = "musim_s3"
DEFAULT_REGION = "us-east-1"
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_CONN_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,249}$")
_BAD_PREFIX_RE = re.compile(r"[\x00-\x1f\x7f\\]")


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
    conn_id: str = DEFAULT_CONN_ID
    """The Airflow connection the store URL names (``s3://conn_id@bucket/...``), found or not (for messages)."""

    @property
    def conn_variable(self) -> str:
        """The variable that holds :attr:`conn_id` outside Airflow: ``AIRFLOW_CONN_<CONN_ID>``."""
        return f"AIRFLOW_CONN_{self.conn_id.upper()}"

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


def parse_store_url(url: str, source: str | None = None) -> StoreLocation:
    """Parse a store URL (see the module docstring); raise :class:`ConfigError` naming it if invalid.

    Every message shows the URL with credentials hidden (:func:`musim.redact.redact`), and ``source``, where it came
    from (``MUSIM_OBJECT_STORE``, a landing setting), when given.
    """
    url = url.strip()
    if not url:
        raise ConfigError("object store URL is empty; set MUSIM_OBJECT_STORE (file:///path or s3://bucket/prefix)")
    shown = repr(redact(url)) + (f" ({source})" if source else "")  # as messages quote it
    if "\x00" in url:
        raise ConfigError(f"object store URL {shown} contains a NUL character")
    if "://" not in url:
        try:
            return StoreLocation("local", path=Path(url).expanduser().absolute())
        except RuntimeError as exc:  # ~user that does not exist
            raise ConfigError(f"object store path {shown}: {exc}") from None
    parts = split_url(url, "object store URL")
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ConfigError(f"object store URL {shown}: file URLs must be absolute (file:///abs/path)")
        return StoreLocation("local", path=Path(unquote(parts.path)).absolute())
    if scheme == "s3":
        conn_id, at, bucket = parts.netloc.rpartition("@")
        if ":" in conn_id or (at and not _CONN_ID_RE.match(conn_id)):
            raise ConfigError(
                f"object store URL {shown}: the part before '@' must be an Airflow connection id "
                "(s3://conn_id@bucket/prefix: letters, digits, '_', '.', '-'), never credentials; put the keys "
                "in that connection or in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            )
        if not _BUCKET_RE.match(bucket) or ".." in bucket:
            raise ConfigError(
                f"object store URL {shown}: {redact(repr(bucket), quoted_from=url)} is not a valid bucket name "
                "(3-63 characters: lowercase letters, digits, dots, hyphens)"
            )
        if parts.query or parts.fragment:
            raise ConfigError(f"object store URL {shown}: s3:// URLs take no '?' or '#' part")
        prefix = unquote(parts.path).strip("/")
        if prefix and (any(seg in ("", ".", "..") for seg in prefix.split("/")) or _BAD_PREFIX_RE.search(prefix)):
            raise ConfigError(
                f"object store URL {shown}: invalid prefix {redact(prefix)!r} (no empty, '.' or '..' "
                "segment, backslash or control character)"
            )
        return StoreLocation("s3", bucket=bucket, prefix=prefix, conn_id=conn_id or DEFAULT_CONN_ID)
    raise ConfigError(f"object store URL {shown}: unsupported scheme {scheme!r} (use file:// or s3://)")


def check_endpoint_url(url: str, name: str) -> str:
    """``url`` if it is an ``http(s)://host[:port][/path]`` endpoint without credentials, else ConfigError.

    ``name`` says where it came from; the message shows the URL with credentials hidden.
    """
    shown = redact(url)
    parts = split_url(url, name)
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


def check_region(region: str, name: str) -> str:
    """``region`` if botocore takes it as a region name, else a ConfigError naming ``name``, where it came from
    (botocore's own message named neither the variable nor the connection)."""
    from botocore.exceptions import InvalidRegionError
    from botocore.utils import validate_region_name  # lazy, as in check_endpoint_url

    try:
        validate_region_name(region)
    except InvalidRegionError:
        raise ConfigError(f"{name}: {redact(region)[:80]!r} is not a region name (e.g. us-east-1; MinIO takes any "
                          "such name, its default is us-east-1)") from None
    return region


def resolve_s3_config(conn_id: str = DEFAULT_CONN_ID, settings: Settings | None = None) -> S3Config:
    """Resolve endpoint, region and credentials for ``conn_id`` (see the module docstring)."""
    settings = settings or get_settings()
    env = settings.storage
    found = settings.connection(conn_id, types=("aws", "s3"))
    conn, source = found if found else ({"extra": {}}, "environment")
    extra = conn["extra"]

    def pick(*values: Any) -> str | None:
        return next((str(v) for v in values if v), None)

    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value is not None else None

    # Keys travel as a set: never pair the connection's key with a session token from the environment.
    conn_key = pick(conn.get("login"), extra.get("aws_access_key_id"))
    if conn_key:
        secret_key = pick(conn.get("password"), extra.get("aws_secret_access_key"))
        keys = (conn_key, secret_key, pick(extra.get("aws_session_token")))
    else:
        keys = (env.access_key_id, secret(env.secret_access_key), secret(env.session_token))
    register_secret(keys[1])
    register_secret(keys[2])
    endpoint, endpoint_from = next(((str(v), n) for n, v in (
        (f"extra.endpoint_url of {source}", extra.get("endpoint_url")),
        ("MUSIM_S3_ENDPOINT_URL", env.endpoint_url),
        ("AWS_ENDPOINT_URL_S3", env.aws_endpoint_url_s3),
        ("AWS_ENDPOINT_URL", env.aws_endpoint_url),
    ) if v), (None, ""))
    region, region_from = next(((str(v), n) for n, v in (
        (f"extra.region_name of {source}", extra.get("region_name")),
        ("AWS_REGION (or AWS_DEFAULT_REGION)", env.region),
    ) if v), (DEFAULT_REGION, ""))
    return S3Config(
        endpoint_url=check_endpoint_url(endpoint, endpoint_from) if endpoint else None,
        region=check_region(region, region_from) if region_from else region,
        access_key_id=keys[0] or None,
        secret_access_key=keys[1] or None,
        session_token=keys[2] or None,
        source=source,
        conn_id=conn_id,
    )
