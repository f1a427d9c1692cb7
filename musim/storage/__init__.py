"""Object storage for musim: one interface, a local-folder backend and an S3 (MinIO) backend.

Usage::

    store = open_store()  # MUSIM_OBJECT_STORE, default file://$MUSIM_HOME/objects
    info = store.put_content_addressed(mp3_bytes, prefix="audio/previews", ext="mp3")
    assert store.get_bytes(info.key) == mp3_bytes

URLs, credentials and tuning are described in :mod:`musim.storage.config`; atomicity and failure
behaviour in :mod:`musim.storage.local` and :mod:`musim.storage.s3`.

Why boto3 and not the ``minio`` SDK: both speak to MinIO, but boto3/botocore is already a hard
dependency twice over (Airflow's amazon provider, and s3fs, which pins botocore and which DuckDB needs
through fsspec), so wrapping it adds no package, keeps one credential and endpoint model (the ``aws``
connection's fields map 1:1 onto botocore's) and one retry/timeout implementation across musim, S3Hook
and s3fs; it also offers bounded "standard" retries, connect/read timeouts and presigning out of the
box. The minio SDK would add a second HTTP stack (its own urllib3 pool and retry rules) for no gain.
"""

from __future__ import annotations

from typing import Any

from musim.config import TransferOptions, get_settings
from musim.storage.base import (
    DamagedObject,
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    StorageUnavailable,
    validate_key,
)
from musim.storage.config import S3Config, parse_store_url, resolve_s3_config

__all__ = [
    "DamagedObject",
    "InvalidKey",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "S3Config",
    "StorageUnavailable",
    "TransferOptions",
    "fsspec_filesystem",
    "open_store",
    "validate_key",
]


def open_store(
    url: str | None = None,
    *,
    options: TransferOptions | None = None,
    s3_config: S3Config | None = None,
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

    Opening makes no request: a wrong endpoint or missing bucket shows on first use, as a
    :class:`~musim.errors.StorageError` that names it.
    """
    settings = get_settings()
    location = parse_store_url(url if url is not None else settings.storage.object_store)
    options = options or settings.storage.transfer
    if location.kind == "local":
        from musim.storage.local import LocalStore

        assert location.path is not None
        return LocalStore(location.path, options=options)
    from musim.storage.s3 import S3Store

    config = s3_config or resolve_s3_config(location.conn_id, settings)
    return S3Store(location.bucket, location.prefix, config=config, options=options)


def fsspec_filesystem(store: ObjectStore) -> Any:
    """An fsspec filesystem reaching ``store`` with its endpoint and credentials (``store.url(key)`` paths).

    For DuckDB without httpfs: ``con.register_filesystem(fsspec_filesystem(store))``, then
    ``read_parquet(store.url(key))``.
    """
    return store.fsspec_filesystem()
