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


def _read_only_open(monkeypatch, folder):
    """os.open in musim.scratch refuses to create a file in ``folder`` as a read-only disk would."""
    import errno

    import musim.scratch as scratch

    real = os.open

    def refusing(path, flags, *args):
        if os.path.dirname(os.fspath(path)) == str(folder) and flags & os.O_CREAT:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
        return real(path, flags, *args)

    monkeypatch.setattr(scratch.os, "open", refusing)


def test_a_scratch_folder_musim_may_not_write_names_its_setting_not_the_lock_file(tmp_path, monkeypatch, capsys):
    """An unwritable MUSIM_TMP was `musim: error: /tmp/x/ingest-123-abcd.lock: Read-only file system`: a lock file the
    user never named. It is the setting now, in one line, and nothing is left there."""
    import pytest

    from musim.cli import main
    from musim.config import get_settings
    from musim.errors import ConfigError
    from musim.scratch import one_at_a_time, temp_folder

    tmp = tmp_path / "scratch"
    tmp.mkdir()
    monkeypatch.setenv("MUSIM_TMP", str(tmp))
    _read_only_open(monkeypatch, tmp)
    says = f"MUSIM_TMP ({tmp}) is not writable: Read-only file system; point MUSIM_TMP at a folder musim may write"
    for scratch_of in (lambda: owned_scratch(tmp, "job-"), lambda: temp_folder(tmp, "job-"),
                       lambda: one_at_a_time(tmp, "acquire", "`musim acquire`")):
        with pytest.raises(ConfigError) as raised, scratch_of():
            pass
        assert str(raised.value) == says
    dump = tmp_path / "dump.tsv"
    dump.write_text("u\t2009-05-04T23:08:57Z\tmbid\tArtist\n")
    assert main(["ingest", "lastfm", str(dump)]) == 2
    assert capsys.readouterr().err == f"musim: error: {says}\n"
    assert list(tmp.iterdir()) == []
    elsewhere = tmp_path / "elsewhere"  # a folder no setting chose: the error as it was, the path named
    _read_only_open(monkeypatch, elsewhere)
    with pytest.raises(OSError, match="Read-only file system"), owned_scratch(elsewhere, "job-"):
        pass
    assert get_settings().folder_setting(tmp / "a" / "b.lock") == ("MUSIM_TMP", tmp)


def test_a_full_scratch_disk_names_its_setting(tmp_path, monkeypatch):
    import errno

    from musim.config import unwritable_folder

    monkeypatch.setenv("MUSIM_TMP", str(tmp_path))
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "x.lock"))
    assert str(unwritable_folder(tmp_path / "x.lock", full)) == (
        f"MUSIM_TMP ({tmp_path}) is full: No space left on device; nothing was written: free space there or point "
        "MUSIM_TMP at a larger disk")
    assert unwritable_folder(tmp_path / "x.lock", FileNotFoundError(errno.ENOENT, "gone")) is None


def test_a_read_only_scratch_disk_is_one_line_naming_musim_tmp(tmp_path, monkeypatch, capsys):
    """The same on a real read-only disk (a tmpfs mounted read-only: root only)."""
    import subprocess

    import pytest

    from musim.cli import main

    disk = tmp_path / "ro"
    disk.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1M,ro", "tmpfs", str(disk)], check=False,
            capture_output=True).returncode:
        pytest.skip("mounting a read-only tmpfs needs root")
    try:
        monkeypatch.setenv("MUSIM_TMP", str(disk))
        dump = tmp_path / "dump.tsv"
        dump.write_text("u\t2009-05-04T23:08:57Z\tmbid\tArtist\n")
        assert main(["ingest", "lastfm", str(dump)]) == 2
        assert capsys.readouterr().err == (f"musim: error: MUSIM_TMP ({disk}) is not writable: Read-only file system; "
                                           "point MUSIM_TMP at a folder musim may write\n")
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_an_unwritable_scratch_folder_is_still_an_oserror_for_those_that_go_on_without_it(tmp_path, monkeypatch):
    """A sandbox goes on without its spill folder when MUSIM_TMP cannot be written (`except OSError`): the setting's
    one line is still an OSError, with the errno it was."""
    import errno

    import pytest

    from musim.errors import ConfigError

    monkeypatch.setenv("MUSIM_TMP", str(tmp_path))
    _read_only_open(monkeypatch, tmp_path)
    with pytest.raises(OSError) as raised, owned_scratch(tmp_path, "job-"):
        pass
    assert isinstance(raised.value, ConfigError) and raised.value.errno == errno.EROFS
    assert str(raised.value).startswith(f"MUSIM_TMP ({tmp_path}) is not writable")
