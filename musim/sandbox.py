"""The query door: read-only, sandboxed DuckDB connections, and the rules for one user statement.

Everything a user can point a query at goes through here: ``musim sql`` and the web page read the published
snapshot with :func:`open_sandbox`; commands that only read the warehouse (``musim dumps``, ``rejects``,
``quality report``, ``models list``...) use :func:`reader`, never the writer's lock.

The sandbox (:func:`open_sandbox`): the file is attached ``READ_ONLY`` to a private in-memory DuckDB (so
the lock below stays inside it); then ``enable_external_access = false`` (no file, ATTACH, COPY, EXPORT, extension or network access: ``read_csv``, ``read_text``, ``glob``
and friends fail with a permission error) and ``lock_configuration = true`` (no ``SET``/``RESET``/``PRAGMA``
can undo it). On top of that, :func:`~musim.query_rules.check_statement` lets exactly one statement through, and
only one that reads (:mod:`musim.query_rules`). :func:`run_query`
returns at most ``max_rows`` rows and interrupts a query that runs longer than ``timeout_s``; :func:`query_file`
(``musim sql``) runs it in a worker process, killed when DuckDB's interrupt has not stopped it a moment later (one
long call of a scalar function never looks at it) or on Ctrl-C.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import pickle
import select
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import duckdb

from musim import scratch, snapshots, sql, warehouse
from musim.config import Settings, get_settings
from musim.errors import QueryError
from musim.query_rules import check_statement, door_line, first_line, hint

#: Rows ``musim sql`` returns unless told otherwise (``--limit``), and seconds before a query is stopped.
DEFAULT_MAX_ROWS = 1000
DEFAULT_TIMEOUT_S = 30.0
#: The longest time limit a query can be given (a timer of 1e10 s overflows: threading.TIMEOUT_MAX).
MAX_TIMEOUT_S = 1e6
#: Seconds a query past its time gets to stop at DuckDB's interrupt before its worker process is killed.
INTERRUPT_GRACE_S = 1.0
_PR_SET_PDEATHSIG = 1
#: Seconds a reader waits for a writer holding the warehouse before giving up (tests lower it).
LOCK_WAIT_S = 10.0
#: What the attached file is called inside a sandbox (``current_database()``).
SNAPSHOT_ALIAS = "snapshot"
WAREHOUSE_ALIAS = "warehouse"
SPILL_PREFIX = "duckdb-sandbox-"
"""This process's folder of sandbox spill folders in MUSIM_TMP: ``duckdb-sandbox-<pid>-<random>/``, owned as
:mod:`musim.scratch` owns scratch (a locked ``.lock`` beside it)."""

_spill_owners: dict[Path, tuple[int, contextlib.ExitStack, Path]] = {}
_spill_lock = threading.Lock()
_MAX_SPILL_OWNERS = 16


def _spill_folder(settings: Settings) -> Path:
    """A fresh spill folder for one sandbox (not created: DuckDB makes it when it first spills and removes it when
    the sandbox closes), inside this process's owned folder under MUSIM_TMP. A process killed while a sandbox
    spilled (``kill -9``, the OOM killer: a heavy ``musim sql``) left gigabytes there for good; now the first
    sandbox each process opens removes what no live process owns (:func:`musim.scratch.sweep`), and a process
    removes its own folder as it exits."""
    tmp = settings.tmp_dir
    try:
        with _spill_lock:
            owner = _spill_owners.get(tmp)
            if owner is None or owner[0] != os.getpid():  # the first here, or a forked child: the parent's is its own
                # a leftover the sweep cannot open or remove (a folder at a lock's name, another user's lock) is left:
                # the failed sweep made every sandbox spill unowned, beside the others, which then swept it live
                with contextlib.suppress(OSError):
                    scratch.sweep(tmp, SPILL_PREFIX)
                stack = contextlib.ExitStack()
                try:
                    base = stack.enter_context(scratch.owned_scratch(tmp, SPILL_PREFIX))
                    base.mkdir()
                except BaseException:
                    stack.close()
                    raise
                _spill_owners.pop(tmp, None)
                while len(_spill_owners) >= _MAX_SPILL_OWNERS:  # many MUSIM_TMPs in one process (tests): an fd each
                    pid, oldest, _ = _spill_owners.pop(next(iter(_spill_owners)))
                    if pid == os.getpid():
                        _release(oldest)
                owner = _spill_owners[tmp] = (os.getpid(), stack, base)
        owner[2].mkdir(parents=True, exist_ok=True)  # removed by hand meanwhile
    except OSError:  # MUSIM_TMP cannot be written (a read-only disk): DuckDB makes its folder only if it spills
        return tmp / f"{SPILL_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
    return owner[2] / uuid.uuid4().hex[:12]


def _release(owner: contextlib.ExitStack) -> None:
    """Remove an owned spill folder and its lock; one whose MUSIM_TMP is gone (removed meanwhile) is nothing."""
    with contextlib.suppress(OSError):
        owner.close()


@atexit.register
def _remove_spill_folders() -> None:
    for pid, stack, _base in list(_spill_owners.values()):
        if pid == os.getpid():
            _release(stack)


def lock_down(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """No external access (files, ATTACH, COPY, extensions, network) and no configuration changes from now on."""
    sql.run(con, "sandbox/lock_down.sql")
    return con


def _attach_read_only(path: Path, alias: str, settings: Settings, spill: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB with ``path`` attached read-only as ``alias`` (the default database),
    then locked down.

    Its spill directory is its own (DuckDB lets a locked-down connection read and list its temp_directory: the
    shared ``$MUSIM_TMP/duckdb`` would show what writers spilled there).

    Private: DuckDB shares one instance per file within a process, and a locked configuration would
    leak into every other connection of this process to the same file (``warehouse.connect`` sets memory
    and threads on each new connection); an instance of our own keeps the lock to ourselves. ``spill``: the spill
    folder, where the caller chose it (a query worker's, chosen by its parent, which removes it).
    """
    con = duckdb.connect(":memory:")
    try:
        warehouse.configure(con, settings)
        sql.run(con, "sandbox/temp_directory.sql", temp_directory=str(spill or _spill_folder(settings)))
        warehouse.opened(path)
        sql.run(con, "sandbox/attach.sql", path=str(path), alias=alias)
        return lock_down(con)
    except BaseException:
        con.close()
        raise


def open_sandbox(path: str | Path, settings: Settings | None = None, *,
                 _spill: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only, locked-down connection whose default database is the DuckDB file ``path`` (a published
    snapshot), attached as ``snapshot``; a snapshot a publish pruned since its link was read: the one served now
    (:func:`musim.snapshots.served_instead`).

    Its cursors share the sandbox (the settings are the instance's) but start in the in-memory database:
    take them with :func:`cursor`.
    """
    path, settings = Path(path), settings or get_settings()
    for followed in range(1, snapshots.SWAPS_FOLLOWED + 1):  # a publish that pruned it meanwhile: the one served now
        path = path if path.is_file() else snapshots.served_instead(path, settings)
        try:
            return warehouse.open_waiting(lambda p=path: _attach_read_only(p, SNAPSHOT_ALIAS, settings, _spill), path,
                                          0.0, settings)
        except Exception:
            if path.exists() or followed == snapshots.SWAPS_FOLLOWED:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def cursor(con: duckdb.DuckDBPyConnection, alias: str = SNAPSHOT_ALIAS) -> duckdb.DuckDBPyConnection:
    """A cursor of a sandbox connection, with the attached file (``alias``) as its default database."""
    cur = con.cursor()
    try:
        sql.run(cur, "sandbox/use.sql", alias=alias)
    except BaseException:
        cur.close()
        raise
    return cur


@dataclass(frozen=True)
class QueryResult:
    """What one query returned: its ``columns``, at most ``max_rows`` ``rows``, and whether more existed."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    seconds: float


def run_query(con: duckdb.DuckDBPyConnection, query: str, *, max_rows: int | None = DEFAULT_MAX_ROWS,
              timeout_s: float | None = DEFAULT_TIMEOUT_S, reading: Path | None = None) -> QueryResult:
    """Run one checked statement on a sandboxed connection; ``None`` or 0 lifts a limit.

    Every DuckDB error becomes a one-line :class:`QueryError`, but one :func:`musim.warehouse.explain` knows (a
    damaged file: ``reading``, the file attached, where DuckDB names none; DuckDB out of memory...), which is
    its :class:`~musim.errors.StorageError`; a query past ``timeout_s`` is interrupted.
    Leaves ``con`` with an unfinished result when rows were cut off: use a connection of its own.
    """
    stmt = check_statement(query)
    timer = threading.Timer(timeout_s, con.interrupt) if timeout_s else None
    start = time.perf_counter()
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        cur = con.execute(stmt.query)
        columns = [d[0] for d in cur.description] if cur.description else []
        rows = cur.fetchmany(max_rows + 1) if max_rows else cur.fetchall()
    except duckdb.InterruptException:
        raise _timed_out(timeout_s) from None
    except duckdb.Error as exc:
        explained = warehouse.explain(exc, reading=reading)
        if explained is not None:
            raise explained from None
        raise QueryError(f"the query failed: {door_line(exc)}{hint(exc)}") from None
    finally:
        if timer is not None:
            timer.cancel()
    truncated = bool(max_rows) and len(rows) > max_rows
    return QueryResult(columns, rows[:max_rows] if truncated else rows, truncated, time.perf_counter() - start)


def query_file(path: str | Path, query: str, *, max_rows: int | None = DEFAULT_MAX_ROWS,
               timeout_s: float | None = DEFAULT_TIMEOUT_S, settings: Settings | None = None) -> QueryResult:
    """:func:`run_query` on a fresh sandbox of the DuckDB file ``path``, closed afterwards, in a worker process
    that is killed if it outlives ``timeout_s`` by :data:`INTERRUPT_GRACE_S` (or on Ctrl-C).

    DuckDB checks an interrupt only between chunks of rows: one long call of a scalar function (``levenshtein``
    on two 60,000-character strings) ran 19 s past ``--timeout 2``, and Ctrl-C waited for it too. The worker is a
    fork of this process (a few milliseconds: nothing is imported again); it dies with this process
    (``PR_SET_PDEATHSIG``); what a killed one spilled is swept at once. A process with other Python threads (a
    server) runs the query in-process instead, where DuckDB's interrupt is all there is: forking it could copy a
    lock another thread holds.
    """
    settings = settings or get_settings()
    check_statement(query)  # a refused statement needs no worker
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return _query_here(path, query, max_rows, timeout_s, settings)
    return _query_in_worker(path, query, max_rows, timeout_s, settings)


def _query_here(path: str | Path, query: str, max_rows: int | None, timeout_s: float | None,
                settings: Settings) -> QueryResult:
    con = open_sandbox(path, settings)
    try:
        return run_query(con, query, max_rows=max_rows, timeout_s=timeout_s, reading=Path(path).resolve())
    finally:
        con.close()


def _timed_out(timeout_s: float | None) -> QueryError:
    return QueryError(f"the query ran longer than {timeout_s:g} s and was stopped: narrow it, or raise the limit "
                      "with --timeout SECONDS (0 = none)")


def _query_in_worker(path: str | Path, query: str, max_rows: int | None, timeout_s: float | None,
                     settings: Settings) -> QueryResult:
    """:func:`_query_here` in a forked child, which sends back its pickled result (or exception) through a pipe."""
    spill = _spill_folder(settings)  # a folder of this process's own: it removes the worker's, however it ends
    read_end, write_end = os.pipe()
    parent = os.getpid()
    pid, data, status = -1, None, 0
    # Ctrl-C reaches the worker too (a terminal signals the whole group): it must not see one before it ignores them
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        with contextlib.suppress(OSError):  # no process to spare (EAGAIN, ENOMEM): in-process, below
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child (coverage does not follow a fork)
            _worker(read_end, write_end, parent, mask, path, query, max_rows, timeout_s, settings, spill)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a Ctrl-C meanwhile is raised here: the worker goes below
        os.close(write_end)
        write_end = -1
        if pid > 0:
            data = _receive(read_end, None if not timeout_s else time.monotonic() + timeout_s + INTERRUPT_GRACE_S)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for fd in (read_end, write_end):
            if fd >= 0:
                os.close(fd)
        if pid > 0:
            if not data:  # past its time, Ctrl-C here (KeyboardInterrupt), or dead: the worker goes for sure
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            shutil.rmtree(spill, ignore_errors=True)  # what it spilled (it exits without closing DuckDB)
    if pid < 0:
        return _query_here(path, query, max_rows, timeout_s, settings)
    if data is None:
        raise _timed_out(timeout_s)
    if not data:  # it died before answering: the OOM killer, a crash inside DuckDB
        why = (f"signal {signal.Signals(-os.waitstatus_to_exitcode(status)).name}"
               if os.WIFSIGNALED(status) else f"exit status {os.waitstatus_to_exitcode(status)}")
        raise QueryError(f"the query's worker process died ({why}) before it answered: out of memory? Narrow the "
                         "query (fewer columns, a WHERE, a LIMIT)")
    try:
        kind, value = pickle.loads(data)
    except Exception as exc:  # an exception class that cannot be rebuilt from its pickle
        raise QueryError(f"the query failed, and its answer could not be read back: {first_line(exc)}") from None
    if kind == "error":
        raise value
    return value


def _receive(fd: int, deadline: float | None) -> bytes | None:
    """Everything the worker writes to ``fd`` until it closes it (``b""``: it died without a word); ``None`` if
    nothing came by ``deadline`` (a monotonic time). Once its answer starts coming, it is read to the end."""
    chunks: list[bytes] = []
    while True:
        if not chunks and deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _worker(read_end: int, write_end: int, parent: int, mask: set[signal.Signals], path: str | Path, query: str,
            max_rows: int | None, timeout_s: float | None, settings: Settings,
            spill: Path) -> NoReturn:  # pragma: no cover - the child
    """The forked child: run the query, write ``pickle((kind, value))`` to ``write_end``, exit without returning
    into the caller's code (nor running its ``atexit`` or ``finally`` blocks), and without closing DuckDB (the
    snapshot is attached read-only; the parent removes ``spill``)."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(read_end)
        _die_with(parent)
        try:
            con = open_sandbox(path, settings, _spill=spill)
            answer: tuple[str, Any] = ("ok", run_query(con, query, max_rows=max_rows, timeout_s=timeout_s,
                                                       reading=Path(path).resolve()))
        except BaseException as exc:  # noqa: BLE001 - every failure goes to the parent, which raises it
            answer = ("error", _explained(exc, path, settings).with_traceback(None))
        try:
            data = _dumps(answer)
        except Exception as exc:  # an unpicklable value or exception: its type and first line
            data = _dumps(("error", QueryError(f"the query failed: {first_line(exc)}")))
        with open(write_end, "wb", closefd=True) as out:
            out.write(data)
    except BaseException:  # noqa: BLE001 - nothing may escape into the parent's code
        code = 1
    finally:
        os._exit(code)


def _explained(exc: BaseException, path: str | Path, settings: Settings) -> BaseException:
    """``exc`` as the caller sees it in-process: a DuckDB error a user can act on (a damaged snapshot, a full disk) is
    put in words here, where the file read is known; the parent opened no DuckDB file to name."""
    if isinstance(exc, duckdb.Error):
        return warehouse.explain(exc, settings, reading=Path(path).resolve()) or exc
    return exc


def _dumps(answer: tuple[str, Any]) -> bytes:
    """``answer`` pickled without the memo (a fetched result has no cycles; the memo of a million rows' objects made
    pickling 4 times slower)."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump(answer)
    return out.getvalue()


def _die_with(parent: int) -> None:  # pragma: no cover - runs in the child
    """Have the kernel kill this process when its parent dies, however it dies (Linux; elsewhere a worker whose parent
    was killed runs until its query ends)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


# -- reading the warehouse without the writer's lock -------------------------------------------------


def _behind(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse lacks migrations this musim knows (a reader cannot apply them)."""
    try:
        have = {r[0] for r in sql.query(con, "warehouse/applied_migrations.sql").fetchall()}
    except duckdb.CatalogException:
        return True
    return not {n for n, _, _ in warehouse.available_migrations()} <= have


@contextmanager
def reader(settings: Settings | None = None, *, wait_s: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only, locked-down connection to the warehouse (attached as ``warehouse``), closed on exit.

    Takes no writer's lock. While another process writes the warehouse it waits up to ``wait_s`` seconds
    (default :data:`LOCK_WAIT_S`, saying so on stderr), then raises :class:`BusyError` naming the writer's
    pid. A warehouse that does not exist yet or lacks migrations is first brought up to date by a writer.
    """
    settings = settings or get_settings()
    wait = LOCK_WAIT_S if wait_s is None else wait_s
    path = settings.warehouse.path

    def open_ro() -> duckdb.DuckDBPyConnection:
        return _attach_read_only(path, WAREHOUSE_ALIAS, settings)

    def migrate() -> None:
        warehouse.connect(path, settings=settings).close()

    if not path.exists():
        warehouse.open_waiting(migrate, path, wait, settings, reading=True)
    con = warehouse.open_waiting(open_ro, path, wait, settings, reading=True)
    if _behind(con):
        con.close()
        warehouse.open_waiting(migrate, path, wait, settings, reading=True)
        con = warehouse.open_waiting(open_ro, path, wait, settings, reading=True)
    try:
        yield con
    finally:
        con.close()
