"""The local-folder backend: one file per object under a root folder (the embedded default).

Writes go to a ``.musim-tmp-*`` file in the object's own folder and are renamed into place with
``os.replace``, so readers see the old object or the new one, never a partial file. With
:attr:`TransferOptions.fsync` set (``MUSIM_LOCAL_FSYNC=1``) the file is fsynced before the rename and its folder
after it (and the folders above that the write created), so a crash leaves the old object or the new one on disk.
Reads refuse an object whose real path (symbolic links followed) is outside the store's real folder: a link
placed in the store to ``/etc/passwd`` is no object of the store. A store folder that is itself a link, or is
reached through linked folders, works as the folder it points to. A key cannot be both an object and a
"folder" of other keys here (``a`` and ``a/b``), unlike S3; such a write raises :class:`StorageError`.
``presigned_url`` returns the ``file://`` URI: there is no server to sign for, and ``urllib`` opens that
URI on this machine, which is where an embedded installation's readers are.
"""

from __future__ import annotations

import errno
import mimetypes
import os
import shutil
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from musim.config import TransferOptions
from musim.errors import StorageError
from musim.storage.base import (
    TMP_PREFIX,
    ObjectInfo,
    ObjectNotFound,
    ObjectOutsideStore,
    ObjectStore,
    check_expires,
    create_temp,
    validate_key,
)

_NOT_WRITABLE = ("; musim may not write the store's folder: make it writable, or point MUSIM_OBJECT_STORE (or "
                 "MUSIM_HOME) at a folder musim may write")
_FULL = "; nothing was stored (an object already under the key is as it was): free space and rerun"
#: What to do about a write the store's folder refused, by errno.
_WHAT_TO_DO = {errno.EACCES: _NOT_WRITABLE, errno.EPERM: _NOT_WRITABLE, errno.EROFS: _NOT_WRITABLE,
               errno.ENOSPC: _FULL, errno.EDQUOT: _FULL}


def fsync_folder(folder: Path) -> None:
    """fsync ``folder`` itself, so the names written or renamed in it are on disk."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _resolves_inside(path: str, real_root: Path) -> bool:
    """Whether the link ``path`` leads to a file inside the store's real folder ``real_root`` (a loop: no)."""
    try:
        return Path(path).resolve().is_relative_to(real_root)
    except (RuntimeError, OSError):  # a loop of links
        return False


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to the file descriptor ``fd``."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class LocalStore(ObjectStore):
    """Objects as files under ``root`` (created on first write)."""

    def __init__(self, root: str | os.PathLike[str], *, options: TransferOptions | None = None) -> None:
        self.root = Path(root).absolute()
        self.options = options or TransferOptions()
        self.root_url = self.root.as_uri()

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def _inside(self, key: str) -> Path:
        """The real path of ``key``'s file (links followed), or :class:`ObjectOutsideStore` when a link takes it
        outside the store's real folder."""
        path = self._path(key)
        try:
            real = path.resolve()
        except RuntimeError:  # a loop of links (Python 3.11 and 3.12; later ones raise OSError, which _errors names)
            raise ObjectNotFound(f"no object {key!r} in {self.root_url}: it is a loop of links") from None
        if not real.is_relative_to(self.root.resolve()):
            raise ObjectOutsideStore(f"no object {key!r} in {self.root_url}: it is a link to a file outside the "
                                     "store (refused)")
        return real

    @contextmanager
    def _errors(self, action: str, key: str) -> Iterator[None]:
        try:
            yield
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, FileExistsError) as exc:
            blocked = self._blocking_file()
            if action in ("read", "stat", "delete") and not isinstance(exc, FileExistsError):
                if blocked is not None:  # not a missing object: no object can be there (a store set to a file)
                    raise StorageError(f"cannot {action} {key!r} in {self.root_url}: the store's folder is not a "
                                       f"folder, {blocked} is a file (MUSIM_OBJECT_STORE?)") from exc
                raise ObjectNotFound(f"no object {key!r} in {self.root_url}") from exc
            if blocked is not None:
                raise StorageError(f"cannot {action} {key!r} in {self.root_url}: the store's folder cannot be made, "
                                   f"{blocked} is a file") from exc
            if action == "write" and not isinstance(exc, FileNotFoundError):
                raise StorageError(
                    f"cannot write {key!r} in {self.root_url}: a key and a key prefix collide "
                    f"({exc.strerror}); locally 'a' and 'a/b' cannot both be objects"
                ) from exc
            raise StorageError(f"cannot {action} {key!r} in {self.root_url}: {exc.strerror or exc}"
                               f"{_WHAT_TO_DO.get(exc.errno, '') if action == 'write' else ''}") from exc
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG and action in ("read", "stat", "delete"):  # no file can have that name
                raise ObjectNotFound(f"no object {key!r} in {self.root_url}: a part of the key is longer than a file "
                                     "name may be here") from exc
            hint = _WHAT_TO_DO.get(exc.errno, "") if action == "write" else ""
            raise StorageError(f"cannot {action} {key!r} in {self.root_url}: {exc.strerror or exc}{hint}") from exc

    def _blocking_file(self) -> Path | None:
        """The file standing where the store's folder or one above it should be (``None``: no such file)."""
        for folder in (self.root, *self.root.parents):
            if folder.exists():
                return None if folder.is_dir() else folder
        return None

    def _info(self, key: str, st: os.stat_result, content_type: str | None = None) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=st.st_size,
            modified=datetime.fromtimestamp(st.st_mtime, UTC),
            etag=f"{st.st_size:x}-{st.st_mtime_ns:x}",
            content_type=content_type or mimetypes.guess_type(key)[0],
        )

    def _write(self, key: str, fill: Any, content_type: str | None) -> ObjectInfo:
        """Create a temp file next to the target, let ``fill(fd, tmp_path)`` write it, rename it into place."""
        target = self._path(key)
        synced = [target.parent]  # the folders to fsync after the rename, when options.fsync is set
        with self._errors("write", key):
            try:
                fd, tmp = create_temp(target.parent)
            except FileNotFoundError:  # first object in this folder
                synced += [f for f in target.parent.parents if f.is_relative_to(self.root) and not f.exists()]
                target.parent.mkdir(parents=True, exist_ok=True)
                synced.append(synced[-1].parent)  # the folder that now names the first folder made
                fd, tmp = create_temp(target.parent)
            try:
                try:
                    fill(fd, tmp)
                    if self.options.fsync:
                        os.fsync(fd)
                    st = os.fstat(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, target)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            if self.options.fsync:
                for folder in synced:
                    fsync_folder(folder)
            return self._info(key, st, content_type)

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> ObjectInfo:
        return self._write(key, lambda fd, _tmp: write_all(fd, data), content_type)

    def put_file(self, key: str, path: str | os.PathLike[str], *, content_type: str | None = None) -> ObjectInfo:
        src = Path(path)
        if not src.is_file():
            raise StorageError(f"cannot store {key!r} in {self.root_url}: {src} is not a file")

        def fill(fd: int, _tmp: Path) -> None:
            with open(src, "rb") as fin, open(fd, "wb", closefd=False) as fout:
                shutil.copyfileobj(fin, fout, 1024 * 1024)

        return self._write(key, fill, content_type)

    def _open(self, key: str) -> tuple[BinaryIO, ObjectInfo]:
        with self._errors("read", key):
            # the real path checked, then opened without following a link swapped in for its last part since
            path = self._inside(key)
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
            try:
                st = os.fstat(fd)
                if stat.S_ISDIR(st.st_mode):
                    raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
                fh = open(fd, "rb")
            except BaseException:
                os.close(fd)
                raise
            return fh, self._info(key, st)

    def get_bytes(self, key: str) -> bytes:
        fh, _info = self._open(key)
        with fh, self._errors("read", key):
            return fh.read()

    def exists(self, key: str) -> bool:
        try:
            with self._errors("stat", key):
                return self._inside(key).is_file()
        except ObjectNotFound:  # a link out of the store, a loop of links, a name no file can have
            return False

    def touch(self, key: str) -> ObjectInfo:
        self.stat(key)  # ObjectNotFound when there is none
        with self._errors("stat", key):  # gone since: ObjectNotFound too
            path = self._inside(key)
            os.utime(path)
            return self._info(key, path.stat())

    def stat(self, key: str) -> ObjectInfo:
        with self._errors("stat", key):
            path = self._inside(key)
            st = path.stat()
            if not path.is_file():
                raise IsADirectoryError(21, "is a folder", str(path))
            return self._info(key, st)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        validate_key(prefix, prefix=True)
        folder = self.root / prefix.rpartition("/")[0]
        if not folder.is_dir() and (blocked := self._blocking_file()) is not None:  # not "no objects": no store
            raise StorageError(f"cannot list {prefix!r} in {self.root_url}: the store's folder is not a folder, "
                               f"{blocked} is a file (MUSIM_OBJECT_STORE?)")
        found: list[tuple[str, os.stat_result]] = []
        with self._errors("list", prefix):
            real_root = self.root.resolve()
            for dirpath, _dirs, files in os.walk(folder):
                rel = Path(dirpath).relative_to(self.root).as_posix()
                base = "" if rel == "." else rel + "/"
                for name in files:
                    key = base + name
                    if name.startswith(TMP_PREFIX) or not key.startswith(prefix):
                        continue
                    path = os.path.join(dirpath, name)
                    if os.path.islink(path) and not _resolves_inside(path, real_root):  # what reads refuse (_inside)
                        continue
                    try:
                        found.append((key, os.stat(path)))
                    except FileNotFoundError:  # deleted while listing
                        continue
        found.sort(key=lambda item: item[0])
        return (self._info(key, st) for key, st in found)

    def delete(self, key: str, *, missing_ok: bool = True) -> None:
        path = self._path(key)
        try:
            with self._errors("delete", key):
                path.unlink()
        except ObjectNotFound:
            if not missing_ok:
                raise

    def url(self, key: str) -> str:
        return self._path(key).as_uri()

    def presigned_url(self, key: str, expires: timedelta = timedelta(hours=1)) -> str:
        """The object's ``file://`` URI (see the module docstring); ``expires`` is validated, not enforced."""
        check_expires(expires)
        return self.url(key)

    def cleanup_incomplete(self, prefix: str = "", *, older_than: timedelta = timedelta(hours=1)) -> int:
        """Delete ``.musim-tmp-*`` files under ``prefix`` left by killed writers, if older than ``older_than``."""
        cutoff = time.time() - older_than.total_seconds()
        removed = 0
        top = self.root / validate_key(prefix, prefix=True) if prefix else self.root
        for dirpath, _dirs, files in os.walk(top):
            for name in files:
                path = os.path.join(dirpath, name)
                try:
                    if name.startswith(TMP_PREFIX) and os.stat(path).st_mtime <= cutoff:
                        os.unlink(path)
                        removed += 1
                except FileNotFoundError:
                    continue
        return removed

