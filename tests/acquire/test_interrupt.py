"""Ctrl-C (SIGINT) and a killed task (SIGTERM) during acquisition: the run stops at once, not after the providers'
back-offs, nothing half-written, and a rerun does what is left."""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from musim.acquire.errors import AcquireInterrupted
from musim.acquire.journal import read_progress
from musim.acquire.pipeline import acquire, fetch_batch, plan, record, status_counts
from musim.config import RetryPolicy
from musim.storage import open_store
from tests.cli_output import run
from tests.fakes.provider_server import Fault

pytestmark = pytest.mark.server

SEARCH = r"^/deezer/search/artist$"
#: a provider asking for a minute's pause: a run that waited it out (and each retry after) took minutes
BACK_OFF_S = 60
#: far under the back-off, far over what a stop takes on a loaded machine
STOPPED_WITHIN_S = 15


def _rate_limited(fake_server, path: str = SEARCH) -> None:
    """Every call of ``path`` answered 429 with ``Retry-After: 60``, as a provider over its quota answers."""
    fake_server.add_fault(path, Fault("status", status=429, retry_after=str(BACK_OFF_S)))


def _patient(fake_server):
    """Settings that wait out a 60 s ``Retry-After`` (and back off a minute on a 5xx), as a real run would."""
    return fake_server.settings(retry=RetryPolicy(max_attempts=3, initial_s=BACK_OFF_S, max_s=BACK_OFF_S, jitter_s=0,
                                                  max_retry_after_s=2 * BACK_OFF_S))


@contextmanager
def signal_when(ready: Callable[[], bool], signum: int = signal.SIGINT) -> Iterator[list[bool]]:
    """Send ``signum`` to the main thread (as the terminal's Ctrl-C, or Airflow's SIGTERM, reaches a process) once
    ``ready()`` holds; after 30 s whether it holds or not (the block then fails rather than hang on the back-off).
    Yields a list that holds ``True`` once ``ready()`` held when the signal went."""
    seen: list[bool] = []
    done = threading.Event()
    main = threading.main_thread().ident

    def watch() -> None:
        end = time.monotonic() + 30
        while not ready() and time.monotonic() < end and not done.is_set():
            time.sleep(0.02)
        if not done.is_set():
            seen.append(ready())
            signal.pthread_kill(main, signum)

    # Python's own Ctrl-C handler for the block: a process may have been started with SIGINT ignored (pytest-xdist's
    # workers are), where the terminal's Ctrl-C would not reach musim either
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield seen
    finally:
        done.set()
        watcher.join()
        signal.signal(signal.SIGINT, previous)


class _Killed(BaseException):
    """What Airflow's task runner raises in the main thread on SIGTERM (``AirflowTaskTerminated``, a BaseException)."""


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    def terminated(signum, frame):
        raise _Killed

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.parametrize(("signum", "raised"), [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, _Killed)],
                         ids=["ctrl-c", "task-killed"])
def test_an_interrupt_does_not_wait_out_the_provider_s_back_off(snapshot, fake_server, signum, raised):
    """Ctrl-C (or a DAG task killed: Airflow raises AirflowTaskTerminated in the main thread) while the workers waited
    out a 429's ``Retry-After: 60``: the batch waited for them, each through its retries (three minutes). Now every
    wait ends at once, nothing more is asked, no artist is journaled half-done, and a rerun does them all."""
    _rate_limited(fake_server)
    settings = _patient(fake_server)
    (batch,) = plan(10, providers=["deezer"], acquire_settings=settings, batch_size=10)
    assert len(batch["artists"]) == 5
    started = time.monotonic()
    # once a worker is told to wait (the other one too, or it waits out the pause the 429 set for every thread)
    with _sigterm_raises(), signal_when(lambda: fake_server.count(SEARCH) >= 1, signum) as seen, \
            pytest.raises(raised):
        fetch_batch(batch, settings=settings, concurrency=2)
    assert seen == [True] and time.monotonic() - started < STOPPED_WITHIN_S
    time.sleep(0.2)  # a worker left running would ask again now
    assert fake_server.count(SEARCH) <= 2  # one try of each worker's artist at most, none after the stop
    store = open_store()
    assert not list(store.list("acquire/journal/")) and not list(store.list("audio/previews/"))

    fake_server.clear_faults()  # the provider is back: a rerun does every artist
    record()
    assert status_counts()["artists"]["pending"] == 5
    again = acquire(10, providers=["deezer"], acquire_settings=settings)
    assert again.planned == 5 and (again.matched, again.no_match, again.downloaded) == (4, 1, 12)
    assert status_counts()["artists"]["pending"] == 0


def test_ctrl_c_while_the_artists_are_handed_to_the_workers_stops_the_ones_running(snapshot, fake_server,
                                                                                  monkeypatch):
    """Ctrl-C while the batch's artists were still being handed to the workers (the first ones running already: on a
    loaded machine the main thread lags behind them) stopped no worker: the pool's exit waited out each one's
    back-offs and retries (minutes on a real ``Retry-After``, where a second Ctrl-C was the way out)."""
    from concurrent.futures import ThreadPoolExecutor

    from musim.acquire import fetch

    fake_server.add_fault(SEARCH, Fault("status", status=429, retry_after="1"))  # short: the old pool's wait ends too
    settings = fake_server.settings(retry=RetryPolicy(max_attempts=2, initial_s=1, max_s=1, jitter_s=0,
                                                      max_retry_after_s=2))
    (batch,) = plan(10, providers=["deezer"], acquire_settings=settings, batch_size=10)
    stops: list[bool] = []
    real_stop, real_submit = fetch.stop, ThreadPoolExecutor.submit
    monkeypatch.setattr(fetch, "stop", lambda providers: stops.append(True) or real_stop(providers))

    def submit(pool, fn, *args, **kwargs):
        if pool._work_queue.qsize() or pool._threads:  # the first artist handed over: Ctrl-C once it is asked
            deadline = time.monotonic() + 30
            while fake_server.count(SEARCH) < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            raise KeyboardInterrupt
        return real_submit(pool, fn, *args, **kwargs)

    monkeypatch.setattr(ThreadPoolExecutor, "submit", submit)
    with pytest.raises(KeyboardInterrupt):
        fetch_batch(batch, settings=settings, concurrency=2)
    assert stops == [True]  # the workers were told to stop
    assert fake_server.count(SEARCH) == 1  # and the one running asked nothing more: its retry after a second not sent
    assert not list(open_store().list("acquire/journal/"))  # its artist not journaled: it stays pending


@pytest.mark.parametrize("concurrency", ["1", "2"])
def test_ctrl_c_ends_musim_acquire_with_what_was_done_and_how_to_resume(snapshot, fake_env, capsys, monkeypatch,
                                                                        concurrency):
    """`musim acquire` interrupted while a worker waited out one artist's 429 (``Retry-After: 60``) went on for
    minutes, then said only "musim: interrupted". Now it stops at once with one line: the artists done (recorded),
    those left, how to resume; exit 130. The rerun does the artists left, and only those."""
    for var, value in (("MUSIM_RETRY_INITIAL_S", str(BACK_OFF_S)), ("MUSIM_RETRY_MAX_S", str(BACK_OFF_S)),
                       ("MUSIM_RETRY_AFTER_MAX_S", str(2 * BACK_OFF_S))):
        monkeypatch.setenv(var, value)
    top = rf"^/deezer/artist/{fake_env.artist_id('deezer', 'Beyoncé')}/top$"
    _rate_limited(fake_env, top)
    started = time.monotonic()
    with signal_when(lambda: fake_env.count(top) >= 1) as seen:
        code, out, err = run(capsys, "acquire", "--provider", "deezer", "--top", "5", "--concurrency", concurrency)
    assert seen == [True] and time.monotonic() - started < STOPPED_WITHIN_S
    said = re.fullmatch(r"musim: interrupted: (\d) of 5 artists done and recorded, (\d) left pending; run the same "
                        r"`musim acquire` again to resume\n", err.split("\r")[-1].split("\x1b[A")[-1])
    assert (code, out) == (130, "") and said, err
    done, left = int(said[1]), int(said[2])
    assert done + left == 5 and left >= 1  # Beyoncé at least
    assert concurrency == "2" or done == 1  # one at a time: Radiohead, then Beyoncé's wait
    assert status_counts()["artists"]["pending"] == left  # what it said is what the warehouse holds

    fake_env.clear_faults()
    searched = fake_env.count(SEARCH)
    code, out, err = run(capsys, "acquire", "--provider", "deezer", "--top", "5", "--json")
    assert code == 0, err
    assert status_counts()["artists"]["pending"] == 0
    assert fake_env.count(SEARCH) - searched <= left  # the artists done are not asked again


def test_an_artist_stopped_between_its_previews_keeps_the_ones_stored_whole(snapshot, fake_server):
    """Ctrl-C while a worker waited out a 429 on an artist's second preview: the first one, stored whole, is noted in
    the artist's progress and taken from it by the rerun (not downloaded again); the artist is not journaled half-done
    (it stays pending), and the rerun completes it."""
    first, second = (rf"^/audio/deezer/{fake_server._track_id('deezer', 0, j)}\.mp3$" for j in (0, 1))  # Radiohead's
    _rate_limited(fake_server, second)
    settings = _patient(fake_server)
    with signal_when(lambda: fake_server.count(second) >= 1) as seen, pytest.raises(AcquireInterrupted) as stopped:
        acquire(2, providers=["deezer"], acquire_settings=settings, concurrency=2)
    assert seen == [True] and stopped.value.planned == 2 and stopped.value.done <= 1  # Radiohead not done
    store = open_store()
    assert not [i.key for i in store.list("acquire/journal/")]  # what was journaled is recorded
    assert status_counts()["artists"]["pending"] == 2 - stopped.value.done
    assert [p.status for p in read_progress(store, 2).values()] == ["downloaded"]  # Radiohead's first, noted

    fake_server.clear_faults()
    again = acquire(2, providers=["deezer"], acquire_settings=settings)
    assert again.planned == 2 - stopped.value.done and status_counts()["artists"]["pending"] == 0
    assert fake_server.count(first) == 1 and fake_server.count(second) == 2  # the first never fetched again
    assert status_counts()["tracks"] == 6


def test_an_interrupt_does_not_wait_for_the_scan_of_a_large_music_folder(snapshot, tmp_path, monkeypatch):
    """`musim acquire --provider local`: the first worker scans the folder (every file's tags: minutes for a large
    library). Ctrl-C during the scan waited for all of it, then let each worker check its artist's files. Now the scan
    stops at its next file; nothing is journaled, and a rerun does every artist."""
    from musim.acquire.providers import local
    from musim.config import AcquireSettings
    from tests.library.conftest import write_audio

    root = tmp_path / "music"
    write_audio(root / "Muse" / "song.ogg", "ogg", seconds=12)
    for i in range(300):  # each read a fifth of a second below: a minute's scan
        (root / "Other" / f"{i:03d}.ogg").parent.mkdir(parents=True, exist_ok=True)
        (root / "Other" / f"{i:03d}.ogg").write_bytes(b"")
    settings = AcquireSettings(local_dir=root)
    (batch,) = plan(10, providers=["local"], local_dir=root, acquire_settings=settings, batch_size=10)
    read_track, reads = local.read_track, []

    def slow(path, root):
        reads.append(path)
        time.sleep(0.2)
        return read_track(path, root)

    monkeypatch.setattr(local, "read_track", slow)
    started = time.monotonic()
    with signal_when(lambda: len(reads) >= 2) as seen, pytest.raises(KeyboardInterrupt):
        fetch_batch(batch, settings=settings, concurrency=2)
    assert seen == [True] and time.monotonic() - started < STOPPED_WITHIN_S and len(reads) < 100
    assert not list(open_store().list("acquire/journal/"))

    monkeypatch.setattr(local, "read_track", read_track)
    record()
    again = acquire(10, providers=["local"], local_dir=root, acquire_settings=settings)
    assert again.planned == 5 and again.downloaded == 1 and status_counts()["artists"]["pending"] == 0


def test_ctrl_c_while_a_batch_is_recorded_still_says_what_was_done(snapshot, fake_server, monkeypatch):
    """Ctrl-C while a batch was being recorded ends DuckDB's query (``RuntimeError: Query interrupted``, rolled back):
    `musim acquire` ended on a bare "musim: interrupted", the batch's artists recorded only by the next run. Now the
    journals are recorded then and the run ends as any interrupted one (AcquireInterrupted: done, left)."""
    from musim.acquire import pipeline

    settings = fake_server.settings()
    record_batch, calls = pipeline.record, []

    def interrupted_once(fetched=None, **kwargs):
        calls.append(fetched)
        if fetched and len([c for c in calls if c]) == 1:
            raise RuntimeError("Query interrupted")  # what DuckDB raises on SIGINT mid-query
        return record_batch(fetched, **kwargs)

    monkeypatch.setattr(pipeline, "record", interrupted_once)
    with pytest.raises(AcquireInterrupted) as stopped:
        acquire(10, providers=["deezer"], acquire_settings=settings, batch_size=2)
    assert (stopped.value.done, stopped.value.planned) == (2, 5)
    assert status_counts()["artists"]["pending"] == 3 and not list(open_store().list("acquire/journal/"))


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_ends_the_musim_acquire_process_at_once(snapshot, fake_env, monkeypatch, capsys, presses):
    """The whole process, as a terminal's Ctrl-C reaches it: `musim acquire` stops within seconds of SIGINT, its
    workers gone (the interpreter waits for every worker thread before it exits), with the one line and 130; pressed
    twice (10 ms apart), the same: the second press, which landed while the first was handled or as the interpreter
    exited, and killed the process by the signal (-2) or cut its line, is ignored. The rerun does every artist."""
    import os
    import subprocess
    import sys

    for var, value in (("MUSIM_RETRY_INITIAL_S", str(BACK_OFF_S)), ("MUSIM_RETRY_MAX_S", str(BACK_OFF_S)),
                       ("MUSIM_RETRY_AFTER_MAX_S", str(2 * BACK_OFF_S))):
        monkeypatch.setenv(var, value)
    _rate_limited(fake_env, SEARCH)
    proc = subprocess.Popen([sys.executable, "-m", "musim.cli", "acquire", "--provider", "deezer", "--top", "5"],
                            env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60  # the start-up (imports) on a loaded machine
        while fake_env.count(SEARCH) < 1 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None and fake_env.count(SEARCH) >= 1, proc.communicate()
        for _ in range(presses):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.01)
        out, err = proc.communicate(timeout=STOPPED_WITHIN_S)
    finally:
        proc.kill()
        proc.wait()
    lines = [line for line in err.split("\r")[-1].splitlines() if " WARNING musim." not in line]  # the 429s logged
    assert proc.returncode == 130, err
    assert (out, len(lines)) == ("", 1) and "Traceback" not in err, err
    assert lines[0] == ("musim: interrupted: 0 of 5 artists done and recorded, 5 left pending; run the same `musim "
                        "acquire` again to resume"), err

    fake_env.clear_faults()
    monkeypatch.setenv("MUSIM_RETRY_INITIAL_S", "0.01")
    monkeypatch.setenv("MUSIM_RETRY_MAX_S", "0.02")
    code, _, err = run(capsys, "acquire", "--provider", "deezer", "--top", "5")
    assert code == 0 and status_counts()["artists"]["pending"] == 0, err
