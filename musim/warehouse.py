"""The DuckDB warehouse: connections with explicit resources, and numbered migrations.

One process writes the warehouse at a time (Airflow's ``duckdb_writer`` pool has one slot); queries never
open the writer's file, they read the published snapshot (:mod:`musim.serving`).
DuckDB's extensions are never installed: ``json``, ``parquet`` and ``icu`` are built in, and there is no
network to fetch anything else.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from musim.config import Settings, get_settings
from musim.errors import BusyError, StorageError
from musim.sql import SQL_DIR, install_macros, query, run, statements

MIGRATIONS_DIR = SQL_DIR / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def configure(con: duckdb.DuckDBPyConnection, settings: Settings) -> duckdb.DuckDBPyConnection:
    """Set memory, threads, spill directory and insertion order on a connection, and define musim's SQL macros on
    it (:func:`musim.sql.install_macros`)."""
    settings.ensure_tmp()
    run(con, "warehouse/configure.sql", memory_limit=str(settings.warehouse.memory_limit),
        threads=int(settings.warehouse.threads), temp_directory=str(settings.tmp_dir / "duckdb"))
    return install_macros(con)


def connect(path: str | Path | None = None, *, read_only: bool = False,
            settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (or another DuckDB file) with musim's resource settings.

    The writer's connection also brings the schema up to date (:func:`migrate`).
    """
    settings = settings or get_settings()
    path = Path(path) if path is not None else settings.warehouse.path
    if not read_only:
        refuse_question_mark(path, _setting_of(path, settings))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"DuckDB file {path}: cannot create its folder ({exc.strerror or exc}); "
                           f"set {_setting_of(path, settings)} to a writable place") from None
    opened(path)
    wait_s = settings.warehouse.lock_wait_s if not read_only and path == settings.warehouse.path else 0.0
    con = open_waiting(lambda: duckdb.connect(str(path), read_only=read_only), path, wait_s, settings)
    if not read_only:
        try:
            configure(con, settings)
            migrate(con)
        except BaseException:
            con.close()  # a refused or failed migration must not keep the file locked in this process
            raise
    else:
        configure(con, settings)
    return con


_LOCK_PID = re.compile(r"\(PID (\d+)\)")


def lock_holder(exc: BaseException) -> str | None:
    """``"pid N"`` when ``exc`` is DuckDB's conflicting-lock error, else None."""
    if not isinstance(exc, duckdb.IOException):
        return None
    text = str(exc)
    if "Could not set lock" not in text and "Conflicting lock" not in text:
        return None
    m = _LOCK_PID.search(text)
    return f"pid {m.group(1)}" if m else "another process"


def locked_file(holder: str, path: Path, settings: Settings) -> BusyError:
    """The one-line error for the DuckDB file ``path`` that another process (``holder``) holds open: which file
    it is and what to do. DuckDB's lock does not say whether the holder reads or writes: a process that opened
    the file read-write locks out every other; one that opened it read-only locks out writers."""
    if path.resolve().is_relative_to(settings.serving_dir.resolve()):
        return BusyError(f"the published snapshot {path} is open read-write in {holder}; open it with "
                         "read_only=True (duckdb.connect(path, read_only=True), duckdb -readonly): musim never "
                         "changes a snapshot, and a read-write connection shuts every other reader out")
    if path == settings.warehouse.path:
        return BusyError(f"the warehouse {path} is held by {holder} (reading or writing); try again when it "
                         "finishes (a writer waits MUSIM_WAREHOUSE_LOCK_WAIT_S); query the published snapshot "
                         "from DuckDB, never the warehouse")
    return BusyError(f"the DuckDB file {path} is held by {holder} (reading or writing); try again when it finishes")


def open_waiting(opener: Callable[[], Any], path: Path, wait_s: float, settings: Settings, *,
                 reading: bool = False) -> Any:
    """``opener()``, retried while another process holds the DuckDB file ``path``, for up to ``wait_s`` seconds
    (saying so once on stderr), then :func:`locked_file`'s error; an unusable file is :func:`unusable_file`'s.
    ``reading``: ``opener`` opens read-only, so only a writer can hold it out (and the messages say so)."""
    deadline = None  # counted from the first refusal, so a slow open does not eat the wait
    while True:
        try:
            return opener()
        except duckdb.IOException as exc:
            holder = lock_holder(exc)
            if holder is None:
                raise unusable_file(exc, path, settings) or exc from None
            if deadline is None:
                deadline = time.monotonic() + wait_s
                if reading:
                    print(f"musim: the warehouse is being written by another process ({holder}); waiting up to "
                          f"{wait_s:g} s", file=sys.stderr)
                elif wait_s > 0:
                    print(f"musim: {path} is held by another process ({holder}, reading or writing); waiting "
                          f"up to {wait_s:g} s", file=sys.stderr)
            if time.monotonic() >= deadline:
                if reading:
                    raise BusyError(f"the warehouse {path} is being written by another process ({holder}); "
                                    "try again when it finishes") from None
                raise locked_file(holder, path, settings) from None
            time.sleep(min(0.2, max(deadline - time.monotonic(), 0.01)))


def refuse_question_mark(path: Path, setting: str) -> None:
    """Refuse to write the DuckDB file ``path`` when it holds ``?``: DuckDB names its write-ahead log by cutting the
    path there (``/tmp/q?home/warehouse.duckdb`` logs to ``/tmp/q.wal?home/warehouse.duckdb``), so every commit failed
    with a TransactionException naming a file no one chose, and nothing was stored."""
    if "?" in str(path):
        raise StorageError(f"{path}: DuckDB cannot write a database under a path that holds '?' (it cuts the path "
                           f"there to name its write-ahead log); set {setting} to a path without '?'")


def _setting_of(path: Path, settings: Settings) -> str:
    return "MUSIM_WAREHOUSE (or MUSIM_HOME)" if path == settings.warehouse.path else "the path"


def folder_at(path: Path, settings: Settings) -> StorageError:
    """The one-line error for a folder where a DuckDB file was to be opened: the warehouse (set MUSIM_WAREHOUSE to a
    file), a published snapshot (``current.duckdb``, the link musim points at the snapshot it serves: move the
    folder away and publish again), or any other path (give a file)."""
    if path == settings.warehouse.path:
        return StorageError(f"DuckDB file {path} is a folder: set {_setting_of(path, settings)} to a file, e.g. "
                            f"{path / 'warehouse.duckdb'}")
    if Path(os.path.abspath(path)).is_relative_to(os.path.abspath(settings.serving_dir)):
        return StorageError(f"the published snapshot {path} is a folder, not a DuckDB file (musim keeps a link to the "
                            "snapshot it serves there): move that folder out of MUSIM_SERVING_DIR, then serve the "
                            "newest snapshot again with `musim publish`")
    return StorageError(f"DuckDB file {path} is a folder: give the path of a DuckDB file")


def unusable_file(exc: duckdb.Error, path: Path, settings: Settings) -> StorageError | None:
    """The one-line error for a DuckDB file that cannot be opened because of what is at ``path`` (a folder,
    a file that is not a database), or ``None`` for other errors (e.g. another process holds the write lock)."""
    text = str(exc)
    if "Is a directory" in text:
        return folder_at(path, settings)
    if "not a valid DuckDB database file" in text and path == settings.warehouse.path:
        return StorageError(f"{path} is not a DuckDB database: set {_setting_of(path, settings)} to the warehouse "
                            "file, or move this file away to start a new warehouse")
    return damaged_file(exc, settings)


def explain(exc: BaseException, settings: Settings | None = None, *, reading: Path | None = None) -> StorageError | None:
    """The one-line error, with what to do, for a DuckDB failure a user can act on (:func:`damaged_file`, :func:`not_writable`,
    :func:`no_space`, :func:`out_of_memory`); ``None`` for any other error. ``reading``: the file the caller was
    reading, where DuckDB's message names none."""
    return (damaged_file(exc, settings, reading=reading) or no_space(exc) or out_of_memory(exc, settings)
            or not_writable(exc, settings))


#: DuckDB's words for a file it may not open or write, with the file where DuckDB names it.
_NOT_WRITABLE = re.compile(r'(?:"([^"]+)"[^\n]*?: )?(Read-only file system|Permission denied|Operation not permitted)')


def not_writable(exc: BaseException, settings: Settings | None = None) -> StorageError | None:
    """A DuckDB file (the warehouse, a snapshot, DuckDB's spill folder) on a read-only disk or in a folder musim
    may not write, as one line naming the setting that chose the place; ``None`` for any other error."""
    if not isinstance(exc, duckdb.IOException) or not (m := _NOT_WRITABLE.search(str(exc))):
        return None
    settings = settings or get_settings()
    path = Path(m.group(1)) if m.group(1) else None
    variable = "MUSIM_HOME"
    if path is not None:
        for place, name in ((settings.warehouse.path, "MUSIM_WAREHOUSE (or MUSIM_HOME)"),
                            (settings.tmp_dir, "MUSIM_TMP (or MUSIM_HOME)"),
                            (settings.serving_dir, "MUSIM_SERVING_DIR (or MUSIM_HOME)")):
            if path == place or path.is_relative_to(place):
                variable = name
                break
    return StorageError(f"cannot open {path or 'a DuckDB file'}: {m.group(2)}: musim writes its DuckDB files there; "
                        f"point {variable} at a folder it may write")


#: DuckDB's words for a write that found the disk full, with the file it was writing.
_NO_SPACE = re.compile(r'Could not write (?:to )?file "([^"]+)"[^\n]*?: No space left on device')


def full_disk(exc: BaseException) -> str | None:
    """The file DuckDB could not write because its disk is full (``""`` where DuckDB names none), or ``None`` when
    ``exc`` is not a DuckDB full-disk error."""
    if not isinstance(exc, duckdb.Error) or "No space left on device" not in str(exc):
        return None
    m = _NO_SPACE.search(str(exc))
    return m.group(1) if m else ""


def no_space(exc: BaseException) -> StorageError | None:
    """A DuckDB write that found the disk full, as one line: DuckDB stored none of the transaction that failed."""
    path = full_disk(exc)
    if path is None:
        return None
    return StorageError(f"cannot write {path or 'a DuckDB file'}: No space left on device; nothing was stored: free "
                        "space and rerun")


def out_of_memory(exc: BaseException, settings: Settings | None = None) -> StorageError | None:
    """DuckDB's out-of-memory error as one line naming the limit and the settings that change it."""
    if not isinstance(exc, duckdb.OutOfMemoryException):
        return None
    settings = settings or get_settings()
    if "failed to offload" in str(exc) or "max_temp_directory_size" in str(exc):  # the spill folder, not memory
        spill = settings.tmp_dir / "duckdb"
        try:
            free = f"{_size(shutil.disk_usage(spill).free)} free"
        except OSError:
            free = "free space unknown"
        return StorageError(f"DuckDB's spill directory {spill} (MUSIM_TMP) is full ({free}): free space there or "
                            "point MUSIM_TMP at a larger disk")
    return StorageError(f"DuckDB ran out of memory within its limit of {settings.warehouse.memory_limit} "
                        "(MUSIM_DUCKDB_MEMORY): raise it (e.g. MUSIM_DUCKDB_MEMORY=80%), give it fewer threads "
                        "(MUSIM_DUCKDB_THREADS), or ask less of it at once")


def _size(n: int) -> str:
    """``n`` bytes in the largest binary unit that keeps a number of at least 1 (e.g. ``512 KiB``, ``1.5 GiB``)."""
    value, unit = float(n), "B"
    for bigger in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.0f} {unit}" if unit == "B" or value >= 100 else f"{value:.3g} {unit}"


#: DuckDB's words for a database file cut short, one that is not a database, or one with a damaged block, with the
#: file's path where DuckDB names it.
_DAMAGED = {"cut short": re.compile(r'Could not read enough bytes from file "([^"]+)"'),
            "not a DuckDB database": re.compile(r'The file "([^"]+)" exists, but it is not a valid DuckDB database file'),
            "a block's checksum does not match": re.compile(r"Corrupt database file: computed checksum")}
#: The DuckDB files this process opened, oldest first: DuckDB names no file for a damaged block.
_OPENED: dict[Path, None] = {}


def opened(path: str | Path) -> None:
    """Record that this process opened the DuckDB file ``path`` (see :func:`damaged_file`)."""
    _OPENED[Path(path)] = None


def damaged_file(exc: BaseException, settings: Settings | None = None, *,
                 reading: Path | None = None) -> StorageError | None:
    """The one-line error for a DuckDB error that says a database file is cut short (a disk that filled, a copy
    that stopped) or is not a database, naming the file and how to recover it: a published snapshot is made
    again from the warehouse; the warehouse is restored or loaded again. ``None`` for any other error.

    DuckDB names no file for a damaged block: the file is then ``reading``, else the one DuckDB file this process
    opened, else every file it opened is named."""
    found = next(((why, m) for why, pattern in _DAMAGED.items() if (m := pattern.search(str(exc)))), None)
    if found is None:
        return None
    why, m = found
    settings = settings or get_settings()
    if m.groups():
        path = Path(m.group(1))
    elif reading is not None:
        path = reading
    elif len(_OPENED) == 1:
        path = next(iter(_OPENED))
    else:
        named = ", ".join(str(p) for p in _OPENED) or "unknown"
        return StorageError(f"a DuckDB file is damaged ({why}); this process opened: {named}. A published snapshot "
                            "is made again with `musim publish`; the warehouse is restored from a backup")
    if path.resolve().is_relative_to(settings.serving_dir.resolve()):
        return StorageError(f"the published snapshot {path} is damaged ({why}): publish a new one from the "
                            "warehouse with `musim publish`")
    if path.resolve() == settings.warehouse.path.resolve():
        return StorageError(f"the warehouse {path} is damaged ({why}): restore it from a backup, or move it away "
                            "and load the dumps again (`musim ingest`)")
    return StorageError(f"the DuckDB file {path} is damaged ({why})")


@contextmanager
def writer(settings: Settings | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse writer's connection, closed on exit."""
    con = connect(settings=settings)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, data: Any) -> Iterator[duckdb.DuckDBPyConnection]:
    """``data`` (an Arrow table, a DataFrame, a dict of numpy columns) readable as the view ``name`` on ``con``
    for the block, without a copy; unregistered when it ends, however it ends (a result the block left
    unfetched is finished first: it could only read the view that goes). A block that fails inside a transaction
    leaves it aborted, where DuckDB unregisters nothing: the block's error is the one raised, not "Current
    transaction is aborted" (Ctrl-C, a full disk, DuckDB out of memory), and the rollback drops the view. A result
    left unfinished before the block (an insert's count read with ``fetchone``) is finished first too: DuckDB
    registers nothing on a connection with one."""
    con.complete()
    con.register(name, data)
    try:
        yield con
    finally:
        with contextlib.suppress(duckdb.TransactionException):
            con.complete()
            con.unregister(name)


@contextmanager
def in_order(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Statements of the block keep their rows' order: an insert stores the rows in the order it selects them,
    a scan reads them in storage order. Connections are configured without (``preserve_insertion_order``
    false lets DuckDB reorder rows for speed and memory); this turns it on for the block only. DuckDB scopes
    the setting to the database, not the cursor, so the blocks of all cursors of one database file are counted
    (threads of a process may hold several at once, e.g. a publish writing while the quality gate reads): the
    first turns the setting on, the last to end turns it off. Statements that other cursors run meanwhile
    keep order too. A block that fails inside a transaction leaves it aborted, where DuckDB runs no statement: the
    setting then stays on until the connection closes, and the block's error is the one raised."""
    key = _database_key(con)
    with _ORDER_LOCK:
        if _ORDER_BLOCKS.get(key, 0) == 0:
            run(con, "warehouse/insertion_order.sql", keep=True)
        _ORDER_BLOCKS[key] = _ORDER_BLOCKS.get(key, 0) + 1
    try:
        yield con
    finally:
        with _ORDER_LOCK:
            _ORDER_BLOCKS[key] -= 1
            if _ORDER_BLOCKS[key] == 0:
                del _ORDER_BLOCKS[key]
                with contextlib.suppress(duckdb.TransactionException):
                    run(con, "warehouse/insertion_order.sql", keep=False)


#: Open :func:`in_order` blocks per database (its file; a block of an in-memory database counts alone).
_ORDER_BLOCKS: dict[object, int] = {}
_ORDER_LOCK = threading.Lock()


def _database_key(con: duckdb.DuckDBPyConnection) -> object:
    path = query(con, "warehouse/database_path.sql").fetchall()[0][0]  # fetched to the end: a result left
    # unfinished would stop the connection's next register()
    return str(Path(path).resolve()) if path else object()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A transaction on ``con``: committed when the block ends, rolled back (and the error re-raised) when it
    raises, so nothing is half-written."""
    con.begin()
    try:
        yield con
        con.commit()
    except BaseException:
        _roll_back(con)
        raise


def _roll_back(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back the open transaction of ``con``; none open (a failed commit, e.g. on a full disk, has already
    ended it in DuckDB), nothing to do: the error that ended it is the one to report, not this one."""
    try:
        con.rollback()
    except duckdb.TransactionException as exc:
        if "no transaction is active" not in str(exc):
            raise


def fill(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts keyed by column name) into the staging table ``table`` in one statement (DuckDB
    turns the list of dicts into a list of structs); no rows, nothing to insert."""
    if rows:
        run(con, "warehouse/fill.sql", table=table, rows=[dict(r) for r in rows])


def available_migrations() -> list[tuple[int, str, Path]]:
    """``(number, name, path)`` of every migration file, in order; numbers must be unique."""
    found: list[tuple[int, str, Path]] = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        m = _MIGRATION_NAME.match(path.name)
        if not m:
            raise ValueError(f"migration file {path} is not named NNN_lower_snake.sql")
        found.append((int(m.group(1)), path.stem, path))
    numbers = [n for n, _, _ in found]
    if len(numbers) != len(set(numbers)):
        raise ValueError(f"two migrations share a number in {MIGRATIONS_DIR}")
    return found


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet recorded in ``schema_migrations``; return the names applied.

    Each migration runs in its own transaction together with its record, so a failed migration leaves
    the schema as it was and re-running is a no-op once everything is applied.
    """
    run(con, "warehouse/schema_migrations.sql")
    done = {row[0] for row in query(con, "warehouse/applied_migrations.sql").fetchall()}
    known = available_migrations()
    check_not_newer(con, done, known)
    applied: list[str] = []
    for number, name, path in known:
        if number in done:
            continue
        with transaction(con):
            for stmt in statements(path.read_text(encoding="utf-8")):
                con.execute(stmt)
            run(con, "warehouse/record_migration.sql", version=number, migration=name)
        applied.append(name)
    return applied


def check_not_newer(con: duckdb.DuckDBPyConnection, done: set[int], known: list[tuple[int, str, Path]]) -> None:
    """Refuse a warehouse that records migrations this musim does not have (one written by a newer musim, or by
    another branch): writing it with older code could store rows its schema no longer means. One line naming the
    file, the migration and what to do; nothing is changed."""
    unknown = sorted(done - {number for number, _, _ in known})
    if not unknown:
        return
    names = dict(query(con, "warehouse/migration_names.sql", versions=unknown).fetchall())
    path = query(con, "warehouse/database_path.sql").fetchall()[0][0] or "in memory"
    newest = max((number for number, _, _ in known), default=0)
    shown = ", ".join(str(names.get(n, n)) for n in unknown[:3]) + (f" and {len(unknown) - 3} more" if len(unknown) > 3 else "")
    raise StorageError(f"the warehouse {path} was migrated by a newer musim: it records migration(s) {shown}, "
                       f"this musim knows up to {newest:03d}; run the musim that wrote it (upgrade this one), or set "
                       "MUSIM_WAREHOUSE (or MUSIM_HOME) to another file; nothing was changed")
