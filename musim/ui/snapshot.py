"""Read-only, sandboxed connections to the published snapshot, cached by the snapshot's path.

The connections come from :func:`musim.sandbox.open_sandbox` (the door ``musim sql`` uses): read-only,
no external access (files, ATTACH, COPY, extensions), configuration locked; their cursors share that.

``serving.publish`` swaps ``current.duckdb`` to a *new* file, so a file's content never changes: one
read-only connection per snapshot file is safe to share, and each request gets its own cursor (DuckDB
cursors are independent connections to the same database, usable from any thread). When a new snapshot
is published the next request opens it; connections to older files are dropped from the cache (not
closed, so a request still reading one finishes; DuckDB closes the file when its last cursor goes).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from musim import queries, sandbox, serving, snapshots, sql
from musim.config import Settings, get_settings
from musim.errors import NotFoundError, StorageError


class NotPublished(NotFoundError):
    """No snapshot has been published yet."""


@dataclass
class Opened:
    """One request's view of the current snapshot."""

    path: Path
    con: duckdb.DuckDBPyConnection
    snap: queries.Snapshot


def _stamp(path: Path) -> tuple[int, int]:
    """The file's size and modification time: what tells that a file read before has changed since."""
    st = path.stat()
    return st.st_size, st.st_mtime_ns


class SnapshotCache:
    """``with cache.open() as s:`` → a cursor on the current snapshot and its inspected schema."""

    def __init__(self, settings: Callable[[], Settings] = get_settings, *, keep: int = 2):
        self._settings = settings
        self._keep = max(1, keep)
        self._lock = threading.Lock()
        self._open: OrderedDict[Path, tuple[duckdb.DuckDBPyConnection, queries.Snapshot, tuple[int, int]]] = OrderedDict()

    def current(self) -> Path:
        """The current snapshot file; NotFoundError (naming the DAG to run) if none was published."""
        try:
            return serving.current_path(self._settings())
        except NotFoundError as exc:
            raise NotPublished(str(exc)) from None

    @contextmanager
    def open(self) -> Iterator[Opened]:
        path = self.current()
        with self._lock:
            try:
                stamp = _stamp(path)
            except FileNotFoundError:  # a publish pruned it since the link was read (`musim sql` follows it too):
                try:                   # the one served now, not a 500
                    path = snapshots.served_instead(path, self._settings())
                except NotFoundError as exc:
                    raise StorageError(str(exc)) from None
                stamp = _stamp(path)
            entry = self._open.get(path)
            if entry is not None and entry[2] != stamp:  # a published file never changes: damaged or replaced
                entry[0].close()                         # by hand; read it again (and say so if it cannot be)
                del self._open[path]
                entry = None
            if entry is None:
                try:
                    con = sandbox.open_sandbox(path, self._settings())
                except NotFoundError as exc:  # current.duckdb names no file (a folder put there by hand): not "nothing
                    raise StorageError(str(exc)) from None  # published", nor a 500 on every page: a 503 saying so
                entry = (con, queries.inspect(con), stamp)
                self._open[path] = entry
                while len(self._open) > self._keep:
                    self._open.popitem(last=False)
            else:
                self._open.move_to_end(path)
            cur = sandbox.cursor(entry[0])
            try:  # a cursor is a connection of its own: it has none of the sandbox's TEMP macros (name_norm...)
                sql.install_macros(cur)
            except BaseException:
                cur.close()
                raise
        try:
            yield Opened(path, cur, entry[1])
        finally:
            cur.close()

    def clear(self) -> None:
        with self._lock:
            for con, *_ in self._open.values():
                con.close()
            self._open.clear()
