"""Object storage for musim: one interface, a local-folder backend and an S3 (MinIO) backend.

Usage::

    store = open_store()  # MUSIM_OBJECT_STORE, default file://$MUSIM_HOME/objects
    info = store.put_content_addressed(mp3_bytes, prefix="audio/previews", ext="mp3")
    assert store.get_bytes(info.key) == mp3_bytes

URLs, credentials and tuning are described in :mod:`musim.storage.config`; atomicity and failure
behaviour in :mod:`musim.storage.local` and :mod:`musim.storage.s3`.

Why boto3 and not the ``minio`` SDK: both speak to MinIO, but boto3/botocore is already a hard
dependency (Airflow's amazon provider), so wrapping it adds no package, keeps one credential and endpoint
model (the ``aws`` connection's fields map 1:1 onto botocore's) and one retry/timeout implementation
across musim and S3Hook; it also offers bounded "standard" retries, connect/read timeouts and presigning
out of the box. DuckDB reads no object directly (no filesystem is registered with it): musim moves
objects through this module. The minio SDK would add a second HTTP stack (its own urllib3 pool and retry rules) for no gain.
"""

from __future__ import annotations

from typing import Any

from musim.config import TransferOptions, get_settings
from musim.redact import redact
from musim.storage.base import (
    ByteRange,
    DamagedObject,
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    ObjectOutsideStore,
    ObjectStore,
    RangeNotSatisfiable,
    StorageUnavailable,
    validate_key,
)
from musim.storage.config import S3Config, parse_store_url, resolve_s3_config

__all__ = [
    "ByteRange",
    "DamagedObject",
    "InvalidKey",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectOutsideStore",
    "ObjectStore",
    "RangeNotSatisfiable",
    "S3Config",
    "StorageUnavailable",
    "TransferOptions",
    "is_object_url",
    "open_prefix",
    "open_store",
    "validate_key",
]


def open_store(
    url: str | None = None,
    *,
    options: TransferOptions | None = None,
    s3_config: S3Config | None = None,
    source: str | None = None,
) -> ObjectStore:
    """Open the object store at ``url`` (default: ``get_settings().storage.object_store``).

    Parameters
    ----------
    url
        ``file:///abs/path``, a plain path, ``s3://bucket/prefix`` or ``s3://conn_id@bucket/prefix``.
    options
        Transfer knobs; default ``get_settings().storage.transfer`` (``MUSIM_S3_*``, ``MUSIM_LOCAL_FSYNC``).
    s3_config
        Endpoint and credentials for S3; default resolved from the Airflow connection and environment
        (:func:`musim.storage.config.resolve_s3_config`).
    source
        Where ``url`` came from, for messages (a bad URL from the settings names ``MUSIM_OBJECT_STORE``).

    Opening makes no request: a wrong endpoint or missing bucket shows on first use, as a
    :class:`~musim.errors.StorageError` that names it.
    """
    settings = get_settings()
    location = (parse_store_url(url, source) if url is not None
                else parse_store_url(settings.storage.object_store, "MUSIM_OBJECT_STORE"))
    options = options or settings.storage.transfer
    if location.kind == "local":
        from musim.storage.local import LocalStore

        assert location.path is not None
        return LocalStore(location.path, options=options)
    from musim.storage.s3 import S3Store

    config = s3_config or resolve_s3_config(location.conn_id, settings)
    return S3Store(location.bucket, location.prefix, config=config, options=options)


def is_object_url(location: Any) -> bool:
    """Whether ``location`` is an object-store URL (``s3://…``, ``file://…``) rather than a folder path."""
    return "://" in str(location)


def open_prefix(url: str, *, what: str) -> tuple[str, ObjectStore]:
    """The store of the objects under ``url`` (a folder to scan: a landing area) and the URL without trailing
    slashes (``file:///`` and ``s3://bucket/`` keep theirs: they are roots, not relative paths). A ``file://``
    folder that does not exist is a :class:`~musim.errors.NotFoundError` naming ``what`` and it: a typo would
    otherwise scan nothing, every run, silently."""
    from musim.errors import NotFoundError

    scheme, _, rest = url.partition("://")
    trimmed = rest.rstrip("/")
    root = f"{scheme}://{trimmed}" if trimmed and (scheme != "file" or trimmed.startswith("/")) else url
    store = open_store(root, source=what)
    from musim.storage.local import LocalStore

    if isinstance(store, LocalStore) and not store.root.is_dir():
        raise NotFoundError(f"{what} {redact(url)} is no folder: create it, or give the URL of the folder "
                            "that holds the files")
    return root, store
