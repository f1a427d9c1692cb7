"""Great Expectations imported ahead of a check, beside a long step (its import takes 2-3 s of CPU).

:func:`preload` starts the import in a background thread at the lowest CPU priority where the OS allows it
(Linux: per thread). At normal priority it took a core from the similarity build's threads (full scale: build
5.3 -> 7.7 s); at the lowest it uses what the build leaves idle. When a check needs GX, it first starts its
SQL (the parts' frames) and then calls :func:`hurry`: the import goes on at normal priority beside that SQL,
where the OS lets a process raise a thread's priority back (as root, or within ``RLIMIT_NICE``); elsewhere it
keeps the cores DuckDB leaves idle. Joining is optional: a later import of the module waits for this one. Once GX
is in, the thread goes on with the modules a check imports next (:data:`AHEAD`: the built-in suites, Data Docs'
views, pyarrow's pandas conversion; ~0.04 s of CPU a check's first run paid in its own thread).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading

from musim.quality.gx import import_gx

LOWEST = 19
#: Imported after GX by a preload: what a check imports on its first run.
AHEAD = ("musim.quality.suites", "musim.quality.gx_views", "pyarrow.pandas_compat")
_importing: dict[threading.Thread, int] = {}  # preload threads still importing, by their native thread id
_lock = threading.Lock()


def preload() -> threading.Thread:
    """Start importing Great Expectations in a background thread at the lowest CPU priority."""
    thread = threading.Thread(target=_import_gx, daemon=True, name="musim-preload-gx")
    thread.start()
    return thread


def hurry() -> None:
    """A check needs GX now: the preload threads still importing it go on at normal priority (where allowed)."""
    with _lock:
        for native_id in _importing.values():
            with contextlib.suppress(AttributeError, OSError):  # not allowed here: it keeps the idle cores
                os.setpriority(os.PRIO_PROCESS, native_id, 0)


def _import_gx() -> None:
    me = threading.current_thread()
    with _lock:
        with contextlib.suppress(AttributeError, OSError):  # no per-thread priorities here: import as it is
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOWEST)
        _importing[me] = threading.get_native_id()
    try:
        import_gx()
        for name in AHEAD:
            importlib.import_module(name)
    finally:
        with _lock:  # gone before the thread ends, so that its id, which the OS may reuse, is never touched
            _importing.pop(me, None)
