"""The audio path's one process pool, and how many workers it may use.

:func:`process_pool` makes it (one BLAS thread per worker: the pool is the parallelism). The feature build runs
its extractors in it (:func:`musim.features.pool.audio_pool`, which warms the parent first, and
:func:`musim.features.pool.compute`); :func:`pool_map` runs a function over files outside the store in it
(``musim embed``, ``similar-audio``, ``models evaluate --labels``) and :func:`imap_unordered` runs one over a
stream of items with a bounded number in flight; :func:`imap_surviving` does so and outlives a worker that dies (the
feature build, ``musim library add``). Those two and :func:`pool_map` run every item in a worker process, with one
worker or one item too: a decoder's crash (a segfault on one file) costs that item, never the run.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import functools
import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NoReturn, TypeVar

from musim.progress import progress_bar

log = logging.getLogger(__name__)

__all__ = ["default_workers", "imap_surviving", "imap_unordered", "pool_map", "process_pool"]

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """Number of CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


#: ``prctl(2)``'s option that sends a signal to this process when its parent ends (linux/prctl.h).
_PR_SET_PDEATHSIG = 1
#: How often a worker that cannot ask the kernel looks whether its parent is still there (seconds).
_PARENT_POLL_S = 1.0


# A forked child must not garbage-collect what it inherited: objects another thread of the parent was changing at the
# fork, or whose finalizers hold native state (a segfault "Garbage-collecting" in a pool worker, now and then, in a
# pytest process that had run other tests). The objects are frozen at the fork, as the gc module's documentation
# advises for fork without exec, and the parent collects them again as before.
os.register_at_fork(before=gc.freeze, after_in_parent=gc.unfreeze)


def _init_worker(parent: int | None = None) -> None:
    """A worker's start: it ends with the process that made the pool (``parent``), and uses one BLAS thread."""
    if parent is not None:
        _end_with(parent)
    # One BLAS/OpenMP thread per worker: the pool is the parallelism.
    with contextlib.suppress(Exception):  # best effort
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)


def one_blas_thread() -> contextlib.AbstractContextManager[object]:
    """One BLAS/OpenMP thread in this process while the context lasts (the limit each worker runs under)."""
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(1)
    except Exception:  # noqa: BLE001 - best effort, as in a worker
        return contextlib.nullcontext()


def _as_in_a_worker(fn: Callable[[T], R], item: T) -> R:
    """``fn(item)`` in this process under the limit a worker runs under (one BLAS thread): a matrix product summed
    by several threads in another order gives other last bits, so without it the features one process computed
    (``--workers 1``, a single file) differed from the pool's in their last bits."""
    with one_blas_thread():
        return fn(item)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # there, another user's (a pid reused)
        return True
    return True


def _end_with(parent: int) -> None:
    """End this worker when ``parent`` ends, however it ends: a parent killed (``kill -9``) runs no shutdown, and its
    workers, blocked reading a queue whose other end their siblings hold, would wait forever (reparented to PID 1).
    On Linux the kernel signals it (``prctl(PR_SET_PDEATHSIG, SIGKILL)``; with the ``forkserver`` start method the
    parent is the fork server, which ends with the process that started it); elsewhere a daemon thread looks every
    second."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if not _alive(parent):  # it ended before the kernel was asked
                    os._exit(1)
                return
        except (OSError, AttributeError):  # no C library to ask: poll
            pass

    def watch() -> None:
        while _alive(parent):
            time.sleep(_PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="musim-parent-watch", daemon=True).start()


_parent_lock = threading.Lock()
_parent_pools = 0  # pools open in this process while its inherited daemon flag is cleared
_parent_was_daemon = False


@contextlib.contextmanager
def _may_start_workers() -> Iterator[None]:
    """Lets a daemonic process (a Celery prefork worker's task: Airflow's CeleryExecutor) start the pool's workers.

    multiprocessing refuses children to a daemonic process (it may be ended without ending them); a pool joins its
    workers when it closes, so the flag this process inherited is cleared while a pool is open (workers start as
    work is submitted, not only when the pool is made) and put back when the last one has closed."""
    global _parent_pools, _parent_was_daemon
    me = multiprocessing.current_process()
    with _parent_lock:
        if _parent_pools == 0:
            _parent_was_daemon = bool(me._config.get("daemon"))
            me._config["daemon"] = False
        _parent_pools += 1
    try:
        yield
    finally:
        with _parent_lock:
            _parent_pools -= 1
            if _parent_pools == 0 and _parent_was_daemon:
                me._config["daemon"] = True


@contextlib.contextmanager
def process_pool(n_workers: int, *, mp_context: str | None = None) -> Iterator[cf.ProcessPoolExecutor]:
    """``n_workers`` processes, one BLAS thread each, shut down on exit (work not started is cancelled). The start
    method is ``mp_context``, else the platform's. Works in a daemonic process too (an Airflow task on a Celery
    worker)."""
    ctx = multiprocessing.get_context(mp_context) if mp_context else None
    with _may_start_workers():
        pool = cf.ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=_init_worker,
                                      initargs=(os.getpid(),))
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def pool_map(fn: Callable[[T], R], items: Sequence[T], *, workers: int | None = None, desc: str = "audio",
             unit: str = "file", warm: Callable[[], object] | None = None,
             died: Callable[[T], R] | None = None) -> list[R]:
    """``[fn(item) for item in items]`` across :func:`process_pool` (``workers``, default one per CPU, at most one
    per item), in order, with a progress bar on a terminal. ``fn`` must be picklable (a module-level function, or a
    :func:`functools.partial` of one); an exception it raises is raised here.

    A worker process that dies (a decoder crashing on one file, the out-of-memory killer) costs only its item
    (:func:`imap_surviving`): the items it had in flight are run again alone, and the one that kills its own process
    too gets ``died(item)``; without ``died``, an :class:`~musim.errors.AudioError` naming that item is raised. With
    one item or one worker too (``--workers 1``): the items run in one worker process, not in this one, which a
    decoder's crash would end with every result.

    ``warm`` runs here before the pool forks: what it imports and compiles (e.g.
    :func:`musim.audio.descriptors.load_kernels`: a numba kernel librosa compiles on import and never caches) the
    workers inherit instead of compiling it each, which cost seconds per worker and, in a forked child of a process
    with threads, crashed llvmlite's compiler now and then; this process keeps it for its next call."""
    if not items:
        return []
    n = min(workers or default_workers(), len(items))
    with progress_bar(len(items), unit=unit, desc=desc, leave=False) as bar:
        if warm is not None:
            warm()
        got: dict[int, R] = {}
        for i, _, result in imap_surviving(fn, items, died=died or functools.partial(_died, unit=unit), workers=n,
                                           what=unit):
            got[i] = result
            bar.update()
        return [got[i] for i in range(len(items))]


def _died(item: object, *, unit: str) -> NoReturn:
    """:func:`pool_map`'s answer for an item whose process died, alone with it, when its caller has none."""
    from musim.errors import AudioError

    name = getattr(item, "path", item)
    raise AudioError(f"{name}: the process computing this {unit} died abruptly, alone with it (a decoder crash on "
                     "it, or killed for memory): leave it out, or give it more memory, and run again")


def imap_unordered(fn: Callable[[T], R], items: Iterable[T], *, workers: int | None = None,
                   in_flight: int | None = None, pool: cf.Executor | None = None,
                   weight: Callable[[T], int] | None = None, budget: int | None = None) -> Iterator[tuple[int, R]]:
    """``(index, fn(item))`` for every item, as each finishes, across :func:`process_pool` (``workers``, default one
    per CPU; with one worker: in this process, in order) or across ``pool`` when given. At most ``in_flight``
    (default twice the workers) are submitted and not yet taken, so that the items read ahead (``items`` is
    consumed lazily) and the results held at once are bounded; with ``weight`` (e.g. an item's bytes) and
    ``budget``, no further item is read while those submitted weigh ``budget`` or more (one item is always in
    flight, whatever it weighs): a few huge items are not read ahead as many as small ones. ``fn`` must be
    picklable; an exception it raises is raised here."""
    n = workers or default_workers()
    if pool is None and n <= 1:
        for i, item in enumerate(items):
            yield i, _as_in_a_worker(fn, item)
        return
    limit = in_flight or 2 * n
    with contextlib.nullcontext(pool) if pool is not None else process_pool(n) as pool:
        pending: dict[cf.Future[R], tuple[int, int]] = {}
        held = 0  # the weight of the items submitted and not yet taken
        source = enumerate(items)
        exhausted = False
        while True:
            while not exhausted and len(pending) < limit and (budget is None or held < budget or not pending):
                nxt = next(source, None)
                if nxt is None:
                    exhausted = True
                    break
                w = weight(nxt[1]) if weight is not None else 0
                pending[pool.submit(fn, nxt[1])] = (nxt[0], w)
                held += w
            if not pending:
                return
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                i, w = pending.pop(fut)
                held -= w
                yield i, fut.result()


def imap_surviving(fn: Callable[[T], R], items: Iterable[T], *, died: Callable[[T], R], workers: int | None = None,
                   in_flight: int | None = None, weight: Callable[[T], int] | None = None, budget: int | None = None,
                   make_pool: Callable[[int], contextlib.AbstractContextManager[cf.Executor]] | None = None,
                   mp_context: str | None = None, what: str = "item") -> Iterator[tuple[int, T, R]]:
    """:func:`imap_unordered` (``(index, item, fn(item))``) that goes on when a worker process dies.

    A worker killed (a decoder crashing on one file, the out-of-memory killer) breaks the pool: every item in flight
    is lost with it, and which one killed it is unknown. Each of those is run again alone in a fresh process; one
    that kills that too gets ``died(item)`` (called here: the caller's rejection, naming it), the others their
    results; then a new pool (``make_pool(workers)``, default :func:`process_pool` with ``mp_context``) goes on with
    the items not yet sent. Only the items in flight are held. With one worker too the items run in a worker
    process (one for them all, as long as none dies), never in this one: a decoder's crash on one file ended the
    whole run (``musim library add --workers 1``, a build of one item) with what it had done."""
    n = max(1, workers or default_workers())
    make = make_pool or (lambda k: process_pool(k, mp_context=mp_context))
    source = iter(items)  # consumed once, across the pools a worker's death makes
    flying: dict[int, T] = {}  # sent and not yet taken, by index
    count = 0

    def feed() -> Iterator[T]:
        nonlocal count
        for item in source:
            flying[count] = item
            count += 1
            yield item

    while True:
        base = count
        try:
            with make(n) as pool:
                for j, result in imap_unordered(fn, feed(), workers=n, in_flight=in_flight, pool=pool, weight=weight,
                                                budget=budget):
                    yield base + j, flying.pop(base + j), result
            return
        except cf.BrokenExecutor:
            log.warning("a worker process died abruptly with %d %s(s) in flight: running each again alone",
                        len(flying), what)
            for i in sorted(flying):
                item = flying.pop(i)
                yield i, item, _alone(fn, item, died, mp_context)


def _alone(fn: Callable[[T], R], item: T, died: Callable[[T], R], mp_context: str | None) -> R:
    """``fn(item)`` in a process of its own; ``died(item)`` when that process dies too."""
    try:
        with process_pool(1, mp_context=mp_context) as pool:
            return pool.submit(fn, item).result()
    except cf.BrokenExecutor:
        return died(item)
