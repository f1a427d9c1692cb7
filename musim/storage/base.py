"""The backend-neutral part of the object store: :class:`ObjectStore`, :class:`ObjectInfo`, errors, keys."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from musim.errors import NotFoundError, StorageError

log = logging.getLogger(__name__)

TMP_PREFIX = ".musim-tmp-"
"""Name prefix of in-progress local files; no key segment may start with it."""
_MAX_KEY_BYTES = 1024
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")
_EXT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$")
_CHUNK = 1024 * 1024
#: An object found in place of one about to be stored (:meth:`ObjectStore.put_content_addressed`) whose last change
#: is older than this is touched before it is reused, so that garbage collection (``musim store gc``, whose grace
#: period is 24 hours by default) sees it as the young object it is about to become a row's.
REUSE_REFRESH_AFTER = timedelta(hours=1)


class ObjectNotFound(StorageError, NotFoundError):
    """No object under the key; the message names the store URL and the key."""


class ObjectOutsideStore(ObjectNotFound):
    """A local store's key whose file is a link to somewhere outside the store: refused, as no object of the store."""


class StorageUnavailable(StorageError):
    """The storage service cannot be reached (after the configured retries); the message names the endpoint."""


class DamagedObject(StorageError):
    """An object whose content is not what musim stored there (cut short, overwritten); the message names it."""


class InvalidKey(StorageError):
    """A key or prefix is not acceptable (``..``, leading ``/``, backslash, control characters, ...)."""


class RangeNotSatisfiable(StorageError):
    """A byte range that no byte of the object lies in; ``size`` is the object's size (HTTP's 416 names it)."""

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


@dataclass(frozen=True)
class ByteRange:
    """Part of an object, in HTTP's three forms (RFC 9110 14.1.1): ``ByteRange(a, b)`` bytes ``a`` to ``b``
    inclusive, ``ByteRange(a, None)`` from ``a`` to the end, ``ByteRange(None, n)`` the last ``n`` bytes."""

    first: int | None
    last: int | None

    def __post_init__(self) -> None:
        ends = [e for e in (self.first, self.last) if e is not None]
        if not ends or any(not isinstance(e, int) or e < 0 for e in ends) or (len(ends) == 2 and ends[0] > ends[1]):
            raise ValueError(f"not a byte range: first={self.first!r}, last={self.last!r}")

    def __str__(self) -> str:
        """As HTTP's ``Range`` header writes it (``bytes=0-99``, ``bytes=100-``, ``bytes=-50``)."""
        return f"bytes={'' if self.first is None else self.first}-{'' if self.last is None else self.last}"

    def within(self, size: int) -> tuple[int, int] | None:
        """The first and last offset of this range in an object of ``size`` bytes (a last offset past the end, or a
        suffix longer than the object, is cut to it); ``None`` when no byte of the object is in it (it starts at or
        past the end, it is a suffix of 0 bytes, or the object is empty)."""
        if self.first is None:
            count = min(self.last or 0, size)
            return (size - count, size - 1) if count else None
        if self.first >= size:
            return None
        return self.first, size - 1 if self.last is None else min(self.last, size - 1)


@dataclass(frozen=True)
class ObjectInfo:
    """What is known about one stored object.

    ``etag`` is the backend's version token (S3 ETag without quotes; locally size and mtime), ``sha256``
    the hex digest of the content when known (recorded at upload on S3, computed by content-addressed
    puts), ``modified`` is timezone-aware UTC.
    """

    key: str
    size: int
    modified: datetime | None = None
    etag: str | None = None
    sha256: str | None = None
    content_type: str | None = None


def validate_key(key: str, *, prefix: bool = False) -> str:
    """Return ``key`` if it is a safe relative object key, else raise :class:`InvalidKey` naming it.

    A key is ``/``-separated, non-empty segments, none ``.``/``..`` or starting with ``.musim-tmp-``,
    no leading or trailing ``/``, no backslash or control character, at most 1024 UTF-8 bytes. With
    ``prefix=True`` the empty string and one trailing ``/`` are allowed too (list prefixes).
    """
    if not isinstance(key, str):
        raise InvalidKey(f"object key must be a string, got {type(key).__name__}")
    body = key[:-1] if prefix and key.endswith("/") else key
    if prefix and not key:
        return key
    problem = None
    if not body:
        problem = "it is empty"
    elif body.startswith("/"):
        problem = "it starts with '/'"
    elif _BAD_CHARS.search(body):
        problem = "it contains a backslash or control character"
    elif len(key.encode("utf-8")) > _MAX_KEY_BYTES:
        problem = f"it is longer than {_MAX_KEY_BYTES} bytes"
    else:
        for seg in body.split("/"):
            if seg in ("", ".", ".."):
                problem = f"it has an empty, '.' or '..' segment ({seg!r})"
                break
            if seg.startswith(TMP_PREFIX):
                problem = f"segments starting with {TMP_PREFIX!r} are reserved"
                break
    if problem:
        raise InvalidKey(f"invalid object key {key!r}: {problem}")
    return key


def check_expires(expires: timedelta) -> int:
    """``expires`` in whole seconds, between 1 s and 7 days (SigV4's limit), else :class:`StorageError`."""
    seconds = int(expires.total_seconds())
    if not 1 <= seconds <= 7 * 24 * 3600:
        raise StorageError(f"presigned URL expiry must be between 1 second and 7 days, got {expires}")
    return seconds


def create_temp(folder: Path) -> tuple[int, Path]:
    """Create a new, exclusive ``.musim-tmp-*`` file in ``folder`` (umask-respecting mode): fd and path."""
    path = folder / f"{TMP_PREFIX}{secrets.token_hex(8)}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    return os.open(path, flags, 0o666), path


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class ObjectChunks(Iterator[bytes]):
    """An object's content read chunk by chunk (:meth:`ObjectStore.iter_bytes`); ``info`` describes the object."""

    def __init__(self, stream: BinaryIO, info: ObjectInfo, chunk_size: int = _CHUNK,
                 span: tuple[int, int] | None = None) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
        self.info = info
        #: The first and last offset of the part read (:meth:`ObjectStore.iter_bytes`'s ``byte_range``), None: all.
        self.span = span
        self._stream = stream
        self._size = chunk_size
        self._left = info.size if span is None else span[1] - span[0] + 1

    def __iter__(self) -> ObjectChunks:
        return self

    def __next__(self) -> bytes:
        if self._stream.closed:
            raise StopIteration
        chunk = self._stream.read(min(self._size, self._left))
        self._left -= len(chunk)
        if not chunk:
            self.close()
            raise StopIteration
        if self._left <= 0:  # the last byte of the size opened (a file grown in place since is not read on)
            self._stream.close()
        return chunk

    def close(self) -> None:
        """Close the object's stream (at the end this is done already)."""
        self._stream.close()


class ObjectStore(ABC):
    """A flat namespace of ``/``-separated keys mapping to immutable byte strings.

    Writes are atomic (an object under its final key is always complete), reads of a missing key raise
    :class:`ObjectNotFound`, an unreachable service raises :class:`StorageUnavailable`, and every other
    failure a :class:`~musim.errors.StorageError` naming the store and key. Instances are safe to share
    between threads.
    """

    #: The store's own URL (``file:///…`` or ``s3://bucket/prefix``), without secrets.
    root_url: str

    # -- writing ---------------------------------------------------------------------------------
    @abstractmethod
    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> ObjectInfo:
        """Store ``data`` under ``key`` (replacing any object there) and describe what was stored."""

    @abstractmethod
    def put_file(self, key: str, path: str | os.PathLike[str], *, content_type: str | None = None) -> ObjectInfo:
        """Store the content of the local file ``path`` under ``key``, streaming large files."""

    def put_content_addressed(self, data: bytes, *, prefix: str, ext: str) -> ObjectInfo:
        """Store ``data`` under ``f"{prefix}/{sha256}.{ext}"`` unless an identical object is there.

        An existing object of the same size (and, where recorded, the same sha256) is left untouched, so
        repeated calls cost one metadata request. The returned info always carries ``sha256``.
        """
        prefix = prefix.strip("/")
        validate_key(prefix)
        if not _EXT_RE.match(ext):
            raise InvalidKey(f"invalid extension {ext!r} for a content-addressed key (e.g. 'mp3', 'npy')")
        digest = hashlib.sha256(data).hexdigest()
        key = f"{prefix}/{digest}.{ext}"
        try:
            info = self.stat(key)
        except ObjectNotFound:
            info = None
        if info is not None and info.size == len(data) and info.sha256 in (None, digest):
            try:
                return _with_sha(self.reused(info), digest)
            except ObjectNotFound:  # deleted since it was looked at (garbage collection): stored anew
                info = None
        if info is not None:
            log.warning("replacing %s: its size or sha256 does not match its content-addressed key", self.url(key))
        return _with_sha(self.put_bytes(key, data), digest)

    @abstractmethod
    def touch(self, key: str) -> ObjectInfo:
        """Make the object under ``key`` changed now, its content, sha256 and content type as they were, and describe
        it; :class:`ObjectNotFound` when there is none."""

    def reused(self, info: ObjectInfo, *, now: datetime | None = None) -> ObjectInfo:
        """``info``'s object about to be named by a new row in place of a copy of it not stored: touched first
        (:meth:`touch`) where its last change is older than :data:`REUSE_REFRESH_AFTER` or unknown, so that garbage
        collection, which keeps objects changed within its grace period, does not delete it before that row is
        written although no row named it when it looked. :class:`ObjectNotFound` when it is gone."""
        now = now or datetime.now(UTC)
        if info.modified is not None and now - info.modified <= REUSE_REFRESH_AFTER:
            return info
        return self.touch(info.key)

    # -- reading ---------------------------------------------------------------------------------
    @abstractmethod
    def _open(self, key: str) -> tuple[BinaryIO, ObjectInfo]:
        """A readable stream of the object and its info, from one request."""

    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of the object's content; close it (or use ``with``)."""
        return self._open(key)[0]

    def iter_bytes(self, key: str, *, chunk_size: int = _CHUNK, byte_range: ByteRange | None = None) -> ObjectChunks:
        """The object's content as chunks of at most ``chunk_size`` bytes, each read when it is asked for (one chunk
        in memory at a time, for serving large objects). Opened at once: a missing key raises here, not while
        iterating. The iterator's ``info`` describes the object; it closes its stream when done (or ``close()``).

        With ``byte_range`` only that part is read (its ``span`` says which bytes, cut to the object as
        :meth:`ByteRange.within` does), or :class:`RangeNotSatisfiable` is raised when no byte of the object is in it.
        """
        if byte_range is None:
            fh, info = self._open(key)
            return ObjectChunks(fh, info, chunk_size)
        fh, info, span = self._open_range(key, byte_range)
        return ObjectChunks(fh, info, chunk_size, span)

    def _open_range(self, key: str, byte_range: ByteRange) -> tuple[BinaryIO, ObjectInfo, tuple[int, int]]:
        """A stream positioned at the first byte of ``byte_range``, the object's info and the range's offsets (here:
        the object opened whole, then sought; a backend that can ask for the part alone overrides this)."""
        fh, info = self._open(key)
        return self._positioned(fh, info, key, byte_range)

    def _positioned(self, fh: BinaryIO, info: ObjectInfo, key: str, byte_range: ByteRange
                    ) -> tuple[BinaryIO, ObjectInfo, tuple[int, int]]:
        """``fh``, a stream of the whole object, read on to the first byte of ``byte_range``; closed and
        :class:`RangeNotSatisfiable` when no byte of the object is in it."""
        span = byte_range.within(info.size)
        if span is None:
            fh.close()
            raise unsatisfiable(self, key, byte_range, info.size)
        skip(fh, span[0])
        return fh, info, span

    def get_bytes(self, key: str) -> bytes:
        """The whole content of the object under ``key``."""
        with self.open(key) as fh:
            return fh.read()

    def get_json(self, key: str) -> Any:
        """The JSON document under ``key``; :class:`DamagedObject` naming it when its content is not JSON."""
        data = self.get_bytes(key)
        try:
            return json.loads(data)
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            raise DamagedObject(f"object {key} in {self.root_url} is damaged: not JSON ({exc})") from None

    def download(self, key: str, path: str | os.PathLike[str]) -> ObjectInfo:
        """Copy the object to the local file ``path``, atomically (temp file in the same folder, then rename)."""
        target = Path(path)
        src, info = self._open(key)
        with src:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = create_temp(target.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    while chunk := src.read(_CHUNK):
                        out.write(chunk)
                os.replace(tmp, target)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        return info

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo:
        """Size, modification time, etag and (if known) sha256 of the object under ``key``."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Objects whose key starts with ``prefix`` (a plain string prefix, as in S3), sorted by key."""

    # -- other -----------------------------------------------------------------------------------
    @abstractmethod
    def delete(self, key: str, *, missing_ok: bool = True) -> None:
        """Remove the object under ``key``; a missing key is fine unless ``missing_ok=False``."""

    def delete_many(self, keys: Sequence[str]) -> None:
        """Remove the objects under ``keys``; a missing key is fine. Here one :meth:`delete` a key; a backend that
        deletes several in one request (S3's ``DeleteObjects``) overrides it."""
        for key in keys:
            self.delete(key, missing_ok=True)

    @abstractmethod
    def url(self, key: str) -> str:
        """The object's URL: ``s3://bucket/prefix/key`` or a ``file://`` URI (no network access)."""

    @abstractmethod
    def presigned_url(self, key: str, expires: timedelta = timedelta(hours=1)) -> str:
        """A URL anyone can GET the object from until ``expires`` passes, without credentials."""

    @abstractmethod
    def cleanup_incomplete(self, prefix: str = "", *, older_than: timedelta = timedelta(hours=1)) -> int:
        """Remove leftovers of interrupted writes under ``prefix`` older than ``older_than``; return how many.
        Writers call it before they start (acquire, library add, features build), so what a killed writer left
        goes with the next run."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root_url!r})"


def unsatisfiable(store: ObjectStore, key: str, byte_range: ByteRange, size: int) -> RangeNotSatisfiable:
    """The error for a ``byte_range`` no byte of the ``size``-byte object ``key`` is in."""
    return RangeNotSatisfiable(f"no byte of object {key!r} in {store.root_url} ({size} bytes) is in the range "
                               f"{byte_range}", size)


def skip(stream: BinaryIO, count: int) -> None:
    """Move ``stream`` ``count`` bytes on: a seek where it can, else reads (a chunk at a time) thrown away."""
    if stream.seekable():
        stream.seek(count, os.SEEK_CUR)
        return
    while count > 0 and (chunk := stream.read(min(count, _CHUNK))):
        count -= len(chunk)


def _with_sha(info: ObjectInfo, digest: str) -> ObjectInfo:
    if info.sha256 == digest:
        return info
    return ObjectInfo(info.key, info.size, info.modified, info.etag, digest, info.content_type)
