"""Scratch files and folders that a killed process cannot leave behind for good.

A writer takes :func:`owned_scratch` ``(folder, prefix)``: it creates and locks (``fcntl.flock``) the lock
file ``<prefix><pid>-<random>.lock`` and yields the base path ``<prefix><pid>-<random>``; everything whose
name starts with that base (``.partial``, ``.partial.wal``, a folder, ...) belongs to it. On a normal exit
the owner removes them and then its lock file; the kernel drops the lock when the owner dies, however it dies.

:func:`sweep` ``(folder, prefix)`` removes what no live process owns: every entry starting with ``prefix``
whose lock file is missing or can be locked (its owner is gone). An entry whose lock is held stays, so
what a live process (this one included) is writing is never touched. Call it before starting new work of
the same kind (a publish, a quality run).

Races: the owner verifies after locking that its lock file is still the one on disk (a sweeper may have
taken and removed it between creation and lock) and starts over under a new name if not; a sweeper removes
an owner's entries only while it holds that owner's lock, before removing the lock file itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".lock"
_OWNER = re.compile(r"^\d+-[0-9a-f]{8}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _try_lock(lock: Path) -> int | None:
    """An fd holding ``lock`` exclusively, or ``None`` if another open file holds it (or it vanished)."""
    try:
        fd = os.open(lock, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _owned_entries(folder: Path, base: str) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(base) and p.name != base + LOCK_SUFFIX]


def _create_lock(folder: Path, lock: Path, flags: int = 0) -> int:
    """An fd of the lock file ``lock`` in ``folder``, both made if missing. A folder musim may not write (a read-only
    disk, its permissions) or a full disk is one :class:`~musim.errors.ConfigError` naming the setting that chose
    the folder (``MUSIM_TMP (PATH) is not writable: ...``), not the lock file it could not create."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return os.open(lock, os.O_RDWR | os.O_CREAT | flags | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as exc:
        from musim.config import unwritable_folder

        explained = unwritable_folder(folder, exc)
        if explained is None:
            raise
        raise explained from None


@contextlib.contextmanager
def owned_scratch(folder: Path, prefix: str) -> Iterator[Path]:
    """Lock a fresh owner name in ``folder`` and yield ``folder/<prefix><pid>-<random>`` (not created).

    Create the scratch file(s) or folder under that base path (or names starting with it). On exit every
    entry starting with it is removed (unless moved away), then the lock file.
    """
    while True:
        base = f"{prefix}{os.getpid()}-{secrets.token_hex(4)}"
        lock = folder / (base + LOCK_SUFFIX)
        fd = _create_lock(folder, lock, os.O_EXCL)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # a sweeper took it between create and lock: start over under a new name
    try:
        yield folder / base
    finally:
        try:
            for entry in _owned_entries(folder, base):
                _remove(entry)
            lock.unlink(missing_ok=True)
        finally:
            os.close(fd)


def sweep(folder: Path, prefix: str) -> list[Path]:
    """Remove every entry of ``folder`` starting with ``prefix`` that no live process owns; return them.

    Entries named ``<prefix><pid>-<random>...`` belong to the holder of ``<prefix><pid>-<random>.lock``;
    any other entry starting with ``prefix`` (a leftover of an older version) has no owner and goes too.
    """
    if not folder.is_dir():
        return []
    removed: list[Path] = []
    groups: dict[str, list[Path]] = {}
    for entry in folder.iterdir():
        if not entry.name.startswith(prefix):
            continue
        owner = _OWNER.match(entry.name[len(prefix):])
        groups.setdefault(prefix + owner.group(0) if owner else entry.name, []).append(entry)
    for base, entries in groups.items():
        try:
            removed += _sweep_group(folder, base, entries)
        except OSError as err:  # one leftover it cannot open or remove (a folder at a lock, another user's): the next
            log.debug("left %s in %s: %s", base, folder, err)  # ones still go
    if removed:
        log.info("removed %d leftover(s) of killed processes in %s: %s", len(removed), folder,
                 ", ".join(sorted(p.name for p in removed)[:10]))
    return removed


def _sweep_group(folder: Path, base: str, entries: list[Path]) -> list[Path]:
    """:func:`sweep` of one owner's entries: removed unless a live owner holds their lock; the paths removed."""
    lock = folder / (base + LOCK_SUFFIX)
    fd = None
    if lock.exists():
        fd = _try_lock(lock)
        if fd is None:
            return []  # a live owner holds it
    removed = []
    try:
        for entry in entries if fd is None else _owned_entries(folder, base) + [lock]:
            if entry.exists() or entry.is_symlink():
                _remove(entry)
                removed.append(entry)
    finally:
        if fd is not None:
            os.close(fd)
    return removed


@contextlib.contextmanager
def temp_file(folder: Path, prefix: str, suffix: str = "") -> Iterator[Path]:
    """A temp file path ``folder/<prefix><pid>-<random><suffix>`` owned as in :func:`owned_scratch`, after a
    :func:`sweep` of ``prefix`` (the leftovers of killed writers). Move it into place (``os.replace``) before the
    block ends; otherwise it is removed."""
    sweep(folder, prefix)
    with owned_scratch(folder, prefix) as base:
        yield base.with_name(base.name + suffix)


@contextlib.contextmanager
def temp_folder(folder: Path, prefix: str) -> Iterator[Path]:
    """A fresh folder ``folder/<prefix><pid>-<random>`` owned as in :func:`owned_scratch`, after a :func:`sweep`
    of ``prefix``; removed with everything in it when the block ends (by the next sweep if the process is
    killed: an extracted dump is gigabytes)."""
    sweep(folder, prefix)
    with owned_scratch(folder, prefix) as base:
        base.mkdir()
        yield base


@contextlib.contextmanager
def one_at_a_time(folder: Path, name: str, what: str) -> Iterator[None]:
    """Hold ``folder/<name>.lock`` (``fcntl.flock``) for the block, or raise :class:`~musim.errors.BusyError`
    naming the process that holds it: two runs of ``what`` at once would repeat each other's work. The kernel
    drops the lock when its holder dies, however it dies."""
    from musim.errors import BusyError

    fd = _create_lock(folder, folder / f"{name}{LOCK_SUFFIX}")
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise BusyError(f"{what} is already running (pid {holder}); wait for it to finish: a second run "
                            "beside it would fetch the same work again") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)
