"""The audio path's process pool: pool_map in order, imap_unordered bounded and complete, errors raised here."""

from __future__ import annotations

import pytest

from musim.audio.batch import imap_surviving, imap_unordered, pool_map, process_pool


def _square_or_fail(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative: {x}")
    return x * x


def test_pool_map_keeps_the_order_in_and_out_of_the_pool():
    items = list(range(7))
    assert pool_map(_square_or_fail, items, workers=2) == [x * x for x in items]
    assert pool_map(_square_or_fail, items, workers=1) == [x * x for x in items]
    assert pool_map(_square_or_fail, [], workers=2) == []


_LOADED: list[bool] = []


def _loaded_before(x: int) -> bool:
    """Whether this process had made its "kernel" before this call (a stand-in for numba's first-call compile)."""
    before = bool(_LOADED)
    _LOADED.append(True)
    return before


def test_pool_map_s_workers_inherit_what_its_warm_up_loaded():
    """librosa compiles some numba kernels on import and never caches them: every worker forked from a cold parent
    compiled them again (seconds each; a compile in a forked child of a threaded pytest worker crashed llvmlite).
    ``warm`` runs here before the pool forks, so every worker starts with it loaded."""
    _LOADED.clear()
    assert pool_map(_loaded_before, list(range(6)), workers=2, warm=lambda: _loaded_before(-1)) == [True] * 6
    _LOADED.clear()  # one item runs in a worker process too (a crash on it is its own): warmed before it forks
    assert pool_map(_loaded_before, [1], workers=2, warm=lambda: _loaded_before(-1)) == [True]


def _frozen(_: int) -> int:
    import gc

    return gc.get_freeze_count()


def test_a_worker_never_collects_what_it_inherited():
    """A worker segfaulted "Garbage-collecting" objects it inherited from a pytest process that had run other tests:
    what the parent held at the fork is frozen in the child (never traversed by its collector), not in the parent."""
    import gc

    assert all(n > 1000 for n in pool_map(_frozen, list(range(4)), workers=2))
    assert gc.get_freeze_count() == 0


def test_pool_map_raises_what_a_worker_raised():
    with pytest.raises(ValueError, match="negative: -3"):
        pool_map(_square_or_fail, [1, -3, 2], workers=2)


def test_imap_unordered_gives_every_result_with_its_index_in_and_out_of_the_pool():
    items = list(range(11))
    for workers in (1, 2):
        got = dict(imap_unordered(_square_or_fail, iter(items), workers=workers, in_flight=3))
        assert got == {i: x * x for i, x in enumerate(items)}
    assert list(imap_unordered(_square_or_fail, [], workers=2)) == []


def test_imap_unordered_takes_no_more_items_than_it_may_hold():
    taken: list[int] = []

    def source():
        for i in range(10):
            taken.append(i)
            yield i

    results = imap_unordered(_square_or_fail, source(), workers=2, in_flight=3)
    next(results)
    assert len(taken) <= 4  # three in flight, and the one that finished replaced by at most one more
    assert len(list(results)) == 9


def test_imap_unordered_reads_no_more_ahead_than_its_weight_budget():
    # The feature build reads each audio object whole before the pool takes it: 4 per worker of 1-GB local WAVs were
    # held at once. With a budget no item is read while those in flight weigh that much (one always goes).
    import concurrent.futures as cf

    sizes = [300, 10, 10, 300, 300, 10, 5, 5]
    out = {"i": 0, "held": 0, "most": 0}

    def weigh(i: int) -> int:
        assert out["held"] < 250 or out["held"] == 0, f"item {i} read while {out['held']} were held"
        out["held"] += sizes[i]
        out["most"] = max(out["most"], out["held"])
        return sizes[i]

    with cf.ThreadPoolExecutor(2) as pool:
        got = []
        for i, r in imap_unordered(_square_or_fail, range(len(sizes)), in_flight=4, pool=pool, weight=weigh,
                                   budget=250):
            out["held"] -= sizes[i]
            got.append((i, r))
    assert sorted(got) == [(i, i * i) for i in range(len(sizes))]
    assert out["most"] <= 250 + 300  # under the budget before the last read, which is at most the largest item


def test_imap_unordered_raises_what_a_worker_raised():
    with pytest.raises(ValueError, match="negative: -3"):
        list(imap_unordered(_square_or_fail, [1, -3, 2], workers=2))


def _pid_after(x: int) -> tuple[int, int]:
    import os
    import time

    time.sleep(0.05)  # long enough that both workers take some
    return x * x, os.getpid()


def _pools_in_a_daemon(start_method: str, out) -> None:
    import multiprocessing
    import os

    try:
        got = pool_map(_pid_after, list(range(8)), workers=2)
        with process_pool(2, mp_context=start_method) as pool:
            spawned = list(pool.map(_pid_after, range(4)))
        unordered = dict(imap_unordered(_square_or_fail, iter(range(5)), workers=2))
        out.put({"squares": [s for s, _ in got], "pids": sorted({p for _, p in got + spawned}), "me": os.getpid(),
                 "unordered": unordered, "daemon_after": multiprocessing.current_process().daemon})
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        out.put({"error": f"{type(exc).__name__}: {exc}"})


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_the_pool_runs_in_parallel_inside_a_daemonic_process(start_method):
    """From a review: under Airflow's CeleryExecutor the task process is daemonic (Celery's prefork workers are, and
    the task inherits it), and the audio pool failed there with `daemonic processes are not allowed to have
    children` (audio_features.compute, library_scan.scan)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    proc = ctx.Process(target=_pools_in_a_daemon, args=(start_method, out), daemon=True)
    proc.start()
    result = out.get(timeout=120)
    proc.join(30)
    assert "error" not in result, result["error"]
    assert result["squares"] == [x * x for x in range(8)]
    assert result["unordered"] == {i: i * i for i in range(5)}
    assert result["me"] not in result["pids"] and len(result["pids"]) >= 2  # in worker processes, not serially here
    assert result["daemon_after"] is True  # the flag is put back once the pool has closed
    assert proc.exitcode == 0


_POOL_OWNER = """
import sys, time
from musim.audio import batch
from musim.audio.batch import process_pool
if sys.argv[2] == "poll":  # as where the kernel cannot be asked: the forked workers inherit it
    batch.sys = type(sys)("sys")
    batch.sys.platform = "darwin"
with process_pool(2, mp_context=sys.argv[1]) as pool:
    for f in [pool.submit(time.sleep, 0.01) for _ in range(4)]:
        f.result()
    print(" ".join(str(p) for p in pool._processes), flush=True)
    time.sleep(600)
"""


def _running(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize(("method", "how"), [("fork", "kernel"), ("spawn", "kernel"), ("fork", "poll")])
def test_the_workers_end_when_the_process_that_made_the_pool_is_killed(method, how):
    """`kill -9` of `musim library add` left its pool's workers running for ever (reparented to PID 1), each
    blocked reading a queue whose other end its siblings held."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    owner = subprocess.Popen([sys.executable, "-c", _POOL_OWNER, method, how], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": root})
    try:
        workers = [int(p) for p in owner.stdout.readline().split()]
        assert len(workers) == 2 and all(_running(p) for p in workers)
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 5
    while any(_running(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in workers if _running(p)]
    for p in left:  # not to leave them behind when the test fails
        os.kill(p, signal.SIGKILL)
    assert left == []


def _square_or_die(x: int) -> int:
    """``x * x``; the process dies (SIGKILL: a decoder's crash, the out-of-memory killer) on 13."""
    import os
    import signal

    if x == 13:
        os.kill(os.getpid(), signal.SIGKILL)
    return x * x


def test_imap_surviving_loses_only_the_item_that_kills_its_process():
    # imap_unordered stops on BrokenProcessPool, naming no item; imap_surviving runs the items in flight again alone
    # and gives died(item) for the one that kills that process too; every other item, before and after, is computed
    items = list(range(20))
    got = {i: (item, r) for i, item, r in imap_surviving(_square_or_die, items, died=lambda x: -x, workers=2,
                                                          in_flight=4)}
    assert got == {i: (i, -13 if i == 13 else i * i) for i in items}


def test_pool_map_loses_only_the_item_that_kills_its_process():
    # pool_map (`musim embed`, `similar-audio`, `models evaluate --labels`) stopped on BrokenProcessPool, naming no
    # file, when a worker died (a decoder crashing on one file, the out-of-memory killer): the whole batch was lost.
    # Now the items in flight run again alone: every other item is computed, and the one that kills its own process
    # too gets died(item), or, without died, one error naming it.
    from musim.errors import AudioError

    items = list(range(12, 20))
    assert pool_map(_square_or_die, items, workers=2, died=lambda x: -x) == [-13 if x == 13 else x * x for x in items]
    with pytest.raises(AudioError, match=r"^13: the process computing this file died abruptly") as err:
        pool_map(_square_or_die, items, workers=2)
    assert "\n" not in str(err.value)


def _reported(target, *args) -> dict:
    """What ``target(*args, out)`` put on its queue, run in a forked child: one whose crash ends only that child
    (``{"exitcode": ...}``), not the test run."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, out))
    proc.start()
    proc.join(120)
    try:
        return out.get(timeout=5)
    except Exception:  # noqa: BLE001 - nothing put: it died
        return {"exitcode": proc.exitcode}


def _one_worker_runs(out) -> None:
    import os

    from musim.errors import AudioError

    try:
        got = {"one worker": pool_map(_square_or_die, list(range(10, 16)), workers=1, died=lambda x: -x),
               "one item": pool_map(_square_or_die, [13], workers=8, died=lambda x: -x),
               "surviving": [(i, r) for i, _, r in imap_surviving(_square_or_die, [12, 13, 14], died=lambda x: -x,
                                                                  workers=1)]}
        try:
            pool_map(_square_or_die, [13], workers=1)
        except AudioError as err:
            got["error"] = str(err)
        got["pids"] = sorted({pid for _, pid in pool_map(_pid_after, [1, 2, 3], workers=1)})
        got["me"] = os.getpid()
        out.put(got)
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        out.put({"error": f"{type(exc).__name__}: {exc}"})


def test_one_worker_or_one_item_loses_only_the_item_that_kills_its_process():
    # With one worker (`--workers 1`) or one item, pool_map and imap_surviving ran the items in this process: a
    # decoder's crash on one file (a segfault, os._exit) ended the whole run, with every result computed before it.
    # The items now run in a worker process there too: the one that kills it gets died(item) (or an error naming
    # it), the others their results.
    got = _reported(_one_worker_runs)
    assert got == {"one worker": [100, 121, 144, -13, 196, 225], "one item": [-13],
                   "surviving": [(0, 144), (1, -13), (2, 196)],
                   "error": "13: the process computing this file died abruptly, alone with it (a decoder crash on it, "
                            "or killed for memory): leave it out, or give it more memory, and run again",
                   "pids": got.get("pids"), "me": got.get("me")}
    assert len(got["pids"]) == 1 and got["me"] not in got["pids"]  # one worker process for them all, not this one
