"""Scratch owned through a lock: a live owner's files stay, a killed owner's and unowned leftovers go."""

from __future__ import annotations

import os

from musim.scratch import LOCK_SUFFIX, owned_scratch, sweep
from tests.scratch_owner import kill, scratch_owner


def test_owned_scratch_is_removed_on_exit_with_its_lock(tmp_path):
    with owned_scratch(tmp_path, "job-") as base:
        assert base.name.startswith(f"job-{os.getpid()}-") and not base.exists()
        base.mkdir()
        base.with_name(base.name + ".wal").write_bytes(b"w")
        assert sweep(tmp_path, "job-") == []  # this process holds the lock: nothing is touched
        assert base.is_dir() and (tmp_path / (base.name + LOCK_SUFFIX)).exists()
    assert list(tmp_path.iterdir()) == []


def test_sweep_removes_what_dead_or_no_owner_left_and_keeps_what_a_live_owner_writes(tmp_path):
    (tmp_path / "job-legacy-folder").mkdir()  # an older version's leftover: no lock, no owner
    (tmp_path / "job-1-0123abcd.lock").write_text("")  # a lock file nobody holds, without entries
    (tmp_path / "other-keep").write_text("not ours")
    with scratch_owner(tmp_path, "job-") as (live, live_path), scratch_owner(tmp_path, "job-") as (dead, dead_path):
        kill(dead)
        assert dead_path.is_dir()  # kill -9: the owner could not clean up
        removed = sweep(tmp_path, "job-")
        assert live.poll() is None and live_path.is_dir() and (live_path / "work.bin").exists()
        assert not dead_path.exists() and not (tmp_path / (dead_path.name + LOCK_SUFFIX)).exists()
        assert {p.name for p in removed} == {dead_path.name, dead_path.name + LOCK_SUFFIX, "job-legacy-folder",
                                             "job-1-0123abcd.lock"}
        kill(live)
        assert [p.name for p in sweep(tmp_path, "job-")] and not live_path.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["other-keep"]


def test_sweep_of_a_missing_folder_is_empty(tmp_path):
    assert sweep(tmp_path / "nope", "job-") == []


HOLD = """
import sys, time
from pathlib import Path
from musim.scratch import one_at_a_time
with one_at_a_time(Path(sys.argv[1]), "acquire", "`musim acquire`"):
    print("holding", flush=True)
    time.sleep(600)
"""


def test_one_run_at_a_time_names_the_holder_and_frees_when_it_dies(tmp_path):
    """Two `musim acquire` runs at once both fetched the whole catalogue (rate limits spent twice) and the second
    deleted the first's sources index, which then failed after its fetching."""
    import subprocess
    import sys

    import pytest

    from musim.errors import BusyError
    from musim.scratch import one_at_a_time

    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "holding"
        with pytest.raises(BusyError, match=rf"^`musim acquire` is already running \(pid {proc.pid}\); wait"):
            with one_at_a_time(tmp_path, "acquire", "`musim acquire`"):
                pass
    finally:
        kill(proc)
    with one_at_a_time(tmp_path, "acquire", "`musim acquire`"):  # its holder died: the lock is free
        assert (tmp_path / "acquire.lock").read_text() == str(os.getpid())


def test_a_leftover_the_sweep_cannot_open_does_not_stop_it(tmp_path):
    """A folder where an owner's lock should be (or another user's lock) raised out of the sweep, and every
    leftover after it in the folder's order stayed."""
    (tmp_path / "job-3-89abcdef.lock").mkdir()  # cannot be opened as a lock
    for name in ("job-legacy-a", "job-legacy-b", "job-legacy-c"):
        (tmp_path / name).mkdir()
    removed = sweep(tmp_path, "job-")
    assert {p.name for p in removed} == {"job-legacy-a", "job-legacy-b", "job-legacy-c"}
    assert [p.name for p in tmp_path.iterdir()] == ["job-3-89abcdef.lock"]
