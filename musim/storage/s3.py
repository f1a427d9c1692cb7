"""The S3 backend (MinIO in deployment), on boto3.

Objects below ``multipart_threshold`` go up in one ``PutObject``; larger ones through boto3's managed
transfer (``upload_fileobj``, s3transfer: ``part_size`` parts, sent concurrently), a multipart upload that
becomes visible only when ``CompleteMultipartUpload`` succeeds and is aborted on any failure (if the
abort itself cannot reach the server, the parts stay invisible until :meth:`S3Store.cleanup_incomplete`
or a bucket lifecycle rule removes them). The sha256 of each upload is recorded as user metadata
(``x-amz-meta-sha256``), so :meth:`S3Store.stat` reports it for objects written by musim. Retries are
botocore's "standard" mode, bounded by :attr:`TransferOptions.max_attempts` and the timeouts.
"""

from __future__ import annotations

import hashlib
import io
import logging
import mimetypes
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from musim.config import TransferOptions
from musim.errors import ConfigError, StorageError
from musim.redact import has_secret, redact, register_secret
from musim.storage.base import (
    ByteRange,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    StorageUnavailable,
    check_expires,
    file_sha256,
    unsatisfiable,
    validate_key,
)
from musim.storage.config import S3Config

log = logging.getLogger(__name__)

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_CONTENT_RANGE = re.compile(r"bytes ([0-9]+)-([0-9]+)/([0-9]+)")
#: Offsets sent in a Range header are cut to this (a longer number of digits than any object size: past the end).
_MAX_OFFSET = 2**62
#: The most keys one ``DeleteObjects`` request may name.
_DELETE_BATCH = 1000
_DENIED = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"}


def make_client(config: S3Config, options: TransferOptions) -> Any:
    """A boto3 S3 client for ``config`` (path-style addressing when an endpoint is set, as MinIO needs).

    Raises :class:`ConfigError` (credentials hidden) if botocore refuses the endpoint or region.
    """
    register_secret(config.secret_access_key)
    register_secret(config.session_token)
    try:
        return _client(config, options)
    except (ValueError, BotoCoreError) as exc:  # "Invalid endpoint: <url>", a bad region name
        raise ConfigError(_one_line(
            f"cannot set up the S3 client for {config.endpoint_label} (credentials from {config.source}): {exc}"
        )) from None


_shared_session: boto3.session.Session | None = None
_session_lock = threading.Lock()


def _client(config: S3Config, options: TransferOptions) -> Any:
    """The client; with explicit keys it comes from one shared session (its loaded service models make a
    client ~20x cheaper to create), under a lock as sessions are not thread-safe."""
    global _shared_session
    client_config = Config(
        connect_timeout=options.connect_timeout,
        read_timeout=options.read_timeout,
        retries={"total_max_attempts": options.max_attempts, "mode": "standard"},
        s3={"addressing_style": "path" if config.endpoint_url else "auto"},
        signature_version="s3v4",
        user_agent_extra="musim",
    )
    keys = {"aws_access_key_id": config.access_key_id, "aws_secret_access_key": config.secret_access_key,
            "aws_session_token": config.session_token}
    if not config.access_key_id:  # boto3's own chain (profile, instance role): a fresh session resolves it now
        session = boto3.session.Session(**keys, region_name=config.region)
        return session.client("s3", endpoint_url=config.endpoint_url, config=client_config)
    with _session_lock:
        if _shared_session is None:
            _shared_session = boto3.session.Session()
        return _shared_session.client("s3", endpoint_url=config.endpoint_url, config=client_config,
                                      region_name=config.region, **keys)


def _one_line(text: object) -> str:
    """``text`` redacted, on one line (botocore and server messages may hold URLs and newlines)."""
    return " ".join(redact(text).split())


class _Reader(io.RawIOBase):
    """A botocore body as a raw stream whose transport errors become :class:`StorageError`."""

    def __init__(self, body: Any, on_error: Any) -> None:
        self._body = body
        self._on_error = on_error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        try:
            return self._body.read(None if size is None or size < 0 else size)
        except (BotoCoreError, OSError) as exc:
            raise self._on_error(exc) from (None if has_secret(exc) else exc)

    def readall(self) -> bytes:
        return self.read()

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class S3Store(ObjectStore):
    """Objects under ``s3://bucket/prefix/`` on an S3-compatible service."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        config: S3Config | None = None,
        options: TransferOptions | None = None,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.config = config or S3Config()
        self.options = options or TransferOptions()
        self.client = client or make_client(self.config, self.options)
        self._transfer = TransferConfig(multipart_threshold=self.options.multipart_threshold,
                                        multipart_chunksize=self.options.part_size)
        self.root_url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self._bucket_seen = False  # the bucket answered once (see _check_bucket)
        #: Keys asked for per ``ListObjectsV2`` page by :meth:`list` (None: the server's default, 1,000 on S3 and
        #: MinIO); pages are followed to the end either way, so a store of millions of keys is listed whole.
        self.list_page_size: int | None = None

    def __repr__(self) -> str:
        return (
            f"S3Store({self.root_url!r}, endpoint={self.config.endpoint_label!r}, "
            f"region={self.config.region!r}, credentials_from={self.config.source!r})"
        )

    # -- helpers ---------------------------------------------------------------------------------
    def _full(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _key(self, full: str) -> str:
        return full[len(self.prefix) + 1 :] if self.prefix else full

    def _error(self, exc: Exception, action: str, key: str) -> StorageError:
        """Translate a botocore exception into a message naming the store, key and what to check."""
        where = f"{self.root_url}/{key}" if key else self.root_url
        endpoint = self.config.endpoint_label
        if isinstance(exc, S3UploadFailedError) and isinstance(exc.__context__, BotoCoreError | ClientError):
            exc = exc.__context__  # boto3 re-raises a part's ClientError as this, its text only
        if isinstance(exc, ClientError):
            err = exc.response.get("Error", {})
            code = str(err.get("Code", ""))
            if (not code or code.isdigit()) and action != "stat":  # a HEAD's error has no body; any other S3 error
                status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", code or "?"))
                return self._not_s3(status, action, where)  # names its code
            if code in _NOT_FOUND:
                return ObjectNotFound(f"no object {key!r} in {self.root_url} (endpoint {endpoint})")
            if code == "NoSuchBucket":
                return StorageError(
                    f"cannot {action} {where}: bucket {self.bucket!r} does not exist at {endpoint}; "
                    "create it (the compose init service does) or fix MUSIM_OBJECT_STORE"
                )
            if code in _DENIED:
                return StorageError(
                    f"cannot {action} {where}: {endpoint} denied access ({code}); check the access key "
                    f"and secret (credentials from {self.config.source})"
                )
            return StorageError(_one_line(f"cannot {action} {where}: {code} {err.get('Message', '')}"))
        if isinstance(exc, (BotoConnectionError, HTTPClientError)):
            return StorageUnavailable(
                f"cannot reach the S3 endpoint {endpoint} to {action} {where} "
                f"({type(exc).__name__}, {self.options.max_attempts} attempt(s)): check that the server is "
                f"running and reachable, and that MUSIM_S3_ENDPOINT_URL or extra.endpoint_url of the "
                f"connection (credentials from {self.config.source}) points to it"
            )
        if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            return StorageError(
                f"cannot {action} {where}: no S3 credentials; set AWS_ACCESS_KEY_ID and "
                f"AWS_SECRET_ACCESS_KEY or the {self.config.conn_id} connection ({self.config.conn_variable}; a "
                "connection kept in Airflow's database is seen by tasks only, not by a command run outside Airflow)"
            )
        return StorageError(_one_line(f"cannot {action} {where}: {type(exc).__name__}: {exc}"))

    def _not_s3(self, status: str, action: str, where: str) -> StorageError:
        """An error answer without an S3 error code: not an S3 server's (a web page, the MinIO console's port) or a
        proxy's in front of a server that is down (502, 503, 504)."""
        endpoint = self.config.endpoint_label
        if status in ("502", "503", "504"):
            return StorageUnavailable(
                f"cannot {action} {where}: {endpoint} answered HTTP {status} without an S3 error "
                f"({self.options.max_attempts} attempt(s)): a proxy in front of an S3 server that is down or overloaded?"
            )
        return StorageError(
            f"cannot {action} {where}: {endpoint} answered HTTP {status} without an S3 error, so it is no S3 server: "
            f"check that MUSIM_S3_ENDPOINT_URL or extra.endpoint_url of the connection (credentials from "
            f"{self.config.source}) is the S3 API's address (MinIO's API port, 9000 by default, not its console's)"
        )

    @contextmanager
    def _errors(self, action: str, key: str) -> Iterator[None]:
        try:
            yield
        except (BotoCoreError, ClientError, S3UploadFailedError, ValueError) as exc:
            # botocore's own messages may quote the endpoint URL (with credentials): such a cause is not chained
            raise self._error(exc, action, key) from (None if has_secret(exc) else exc)

    def _info(self, key: str, resp: Mapping[str, Any], size: int | None = None) -> ObjectInfo:
        modified = resp.get("LastModified")
        if modified is None:  # PUT responses carry no LastModified: use the server's Date header
            date = resp.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
            modified = parsedate_to_datetime(date) if date else None
        return ObjectInfo(
            key=key,
            size=int(resp["ContentLength"] if size is None else size),
            modified=modified.astimezone(UTC) if modified else None,
            etag=str(resp.get("ETag", "")).strip('"') or None,
            sha256=(resp.get("Metadata") or {}).get("sha256"),
            content_type=resp.get("ContentType"),
        )

    # -- writing ---------------------------------------------------------------------------------
    def _upload(
        self, key: str, source: bytes | BinaryIO, size: int, digest: str, content_type: str | None
    ) -> ObjectInfo:
        full = self._full(validate_key(key))
        extra = {
            "Metadata": {"sha256": digest},
            "ContentType": content_type or mimetypes.guess_type(key)[0] or "application/octet-stream",
        }
        with self._errors("write", key):
            if size < self.options.multipart_threshold:
                body = source if isinstance(source, bytes) else source.read()
                resp = self.client.put_object(Bucket=self.bucket, Key=full, Body=body, **extra)
            else:
                stream = io.BytesIO(source) if isinstance(source, bytes) else source
                resp = self._multipart(full, stream, extra)
        info = self._info(key, resp, size)
        return ObjectInfo(info.key, info.size, info.modified, info.etag, digest, extra["ContentType"])

    def _multipart(self, full: str, source: BinaryIO, extra: dict[str, Any]) -> Mapping[str, Any]:
        """boto3's managed transfer (s3transfer): parts of ``part_size`` sent concurrently, the upload
        completed only when every part arrived and aborted on failure; then one HEAD for the stored info."""
        self.client.upload_fileobj(source, self.bucket, full, ExtraArgs=extra, Config=self._transfer)
        return self.client.head_object(Bucket=self.bucket, Key=full)

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> ObjectInfo:
        digest = hashlib.sha256(data).hexdigest()
        return self._upload(key, bytes(data), len(data), digest, content_type)

    def put_file(self, key: str, path: str | os.PathLike[str], *, content_type: str | None = None) -> ObjectInfo:
        src = Path(path)
        if not src.is_file():
            raise StorageError(f"cannot store {key!r} in {self.root_url}: {src} is not a file")
        digest = file_sha256(src)
        with open(src, "rb") as fh:
            return self._upload(key, fh, os.fstat(fh.fileno()).st_size, digest, content_type)

    # -- reading ---------------------------------------------------------------------------------
    def _get(self, key: str) -> Mapping[str, Any]:
        with self._errors("read", key):
            return self.client.get_object(Bucket=self.bucket, Key=self._full(validate_key(key)))

    def _stream(self, key: str, resp: Mapping[str, Any]) -> BinaryIO:
        raw = _Reader(resp["Body"], lambda exc: self._error(exc, "read", key))
        return io.BufferedReader(raw, 1024 * 1024)  # type: ignore[return-value]

    def _open(self, key: str) -> tuple[BinaryIO, ObjectInfo]:
        resp = self._get(key)
        return self._stream(key, resp), self._info(key, resp)

    def _open_range(self, key: str, byte_range: ByteRange) -> tuple[BinaryIO, ObjectInfo, tuple[int, int]]:
        """One ``GetObject`` with HTTP's ``Range``: the server sends that part only. A server that answers with the
        whole object (an empty one; one that ignores ``Range``) is read from the range's first byte."""
        sent = ByteRange(*(None if e is None else min(e, _MAX_OFFSET) for e in (byte_range.first, byte_range.last)))
        with self._errors("read", key):
            try:
                resp = self.client.get_object(Bucket=self.bucket, Key=self._full(validate_key(key)), Range=str(sent))
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code", "")) != "InvalidRange":
                    raise
                resp = None
        if resp is None:  # the range starts past the end: the 416 names the object's size
            raise unsatisfiable(self, key, byte_range, self.stat(key).size)
        stream = self._stream(key, resp)
        part = _CONTENT_RANGE.fullmatch(str(resp.get("ContentRange", "")))
        if part is not None:
            first, last, size = (int(n) for n in part.groups())
            return stream, self._info(key, resp, size), (first, last)
        return self._positioned(stream, self._info(key, resp), key, byte_range)  # a server that sent it whole

    def get_bytes(self, key: str) -> bytes:
        body = self._get(key)["Body"]
        with self._errors("read", key):
            try:
                return body.read()
            finally:
                body.close()

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except ObjectNotFound:
            return False
        return True

    def stat(self, key: str) -> ObjectInfo:
        with self._errors("stat", key):
            try:
                resp = self.client.head_object(Bucket=self.bucket, Key=self._full(validate_key(key)))
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code", "")) in _NOT_FOUND:
                    self._check_bucket("stat", key)
                raise
        return self._info(key, resp)

    def touch(self, key: str) -> ObjectInfo:
        """The object copied onto itself with its metadata and content type restated (S3 changes an object's
        LastModified only by writing it; a copy within the server moves no bytes through musim), then one HEAD."""
        info = self.stat(key)
        full = self._full(key)
        with self._errors("write", key):
            self.client.copy_object(
                Bucket=self.bucket, Key=full, CopySource={"Bucket": self.bucket, "Key": full},
                MetadataDirective="REPLACE", Metadata={"sha256": info.sha256} if info.sha256 else {},
                ContentType=info.content_type or "application/octet-stream")
        return self.stat(key)

    def _check_bucket(self, action: str, key: str) -> None:
        """Raise the missing bucket's error when the bucket is not there. A HEAD answers 404 with no body for a
        missing object and a missing bucket alike, so a missing object is checked against the bucket once per store:
        a store set to a wrong bucket must not read as "no such object" (``exists`` False) while every write fails."""
        if self._bucket_seen:
            return
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) in {*_NOT_FOUND, "NoSuchBucket"}:
                raise ClientError({"Error": {"Code": "NoSuchBucket", "Message": "no such bucket"}},
                                  "HeadBucket") from None
            return  # denied HeadBucket (a key allowed objects only): nothing learnt, the object is missing
        self._bucket_seen = True

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        validate_key(prefix, prefix=True)  # now, not on first next()
        full = self._full(prefix) if prefix else (self.prefix + "/" if self.prefix else "")
        return self._list(prefix, full)

    def _list(self, prefix: str, full: str) -> Iterator[ObjectInfo]:
        paging = {"PaginationConfig": {"PageSize": self.list_page_size}} if self.list_page_size else {}
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full, **paging)
        with self._errors("list", prefix):
            for page in pages:
                for obj in page.get("Contents", []):
                    yield ObjectInfo(
                        key=self._key(obj["Key"]),
                        size=int(obj["Size"]),
                        modified=obj["LastModified"].astimezone(UTC),
                        etag=str(obj.get("ETag", "")).strip('"') or None,
                    )

    # -- other -----------------------------------------------------------------------------------
    def delete(self, key: str, *, missing_ok: bool = True) -> None:
        if not missing_ok:
            self.stat(key)
        with self._errors("delete", key):
            self.client.delete_object(Bucket=self.bucket, Key=self._full(validate_key(key)))

    def delete_many(self, keys: Sequence[str]) -> None:
        """``DeleteObjects``, 1,000 keys a request (S3's most); a missing key is fine (S3 deletes it quietly), any
        other key the server refuses is a :class:`StorageError` naming the first and how many."""
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = keys[start:start + _DELETE_BATCH]
            objects = [{"Key": self._full(validate_key(key))} for key in batch]
            with self._errors("delete", batch[0]):
                resp = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})
            refused = [e for e in resp.get("Errors", []) if str(e.get("Code", "")) not in _NOT_FOUND]
            if refused:
                first = refused[0]
                raise StorageError(_one_line(
                    f"cannot delete {self._key(str(first.get('Key', '')))!r} in {self.root_url}: {first.get('Code')} "
                    f"{first.get('Message', '')} ({len(refused)} of the {len(batch)} keys of one request refused)"))

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(validate_key(key))}"

    def presigned_url(self, key: str, expires: timedelta = timedelta(hours=1)) -> str:
        """A SigV4 presigned GET URL (computed locally: no request, no existence check)."""
        seconds = check_expires(expires)
        with self._errors("sign", key):
            return self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": self._full(validate_key(key))}, ExpiresIn=seconds
            )

    def cleanup_incomplete(self, prefix: str = "", *, older_than: timedelta = timedelta(hours=1)) -> int:
        """Abort multipart uploads under ``prefix`` (of this store's prefix) started more than ``older_than`` ago."""
        cutoff = datetime.now(UTC) - older_than
        removed = 0
        prefix = self._full(validate_key(prefix, prefix=True)) if prefix else (self.prefix + "/" if self.prefix else "")
        with self._errors("clean up", ""):
            pages = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] <= cutoff:
                        self.client.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                        removed += 1
        return removed
