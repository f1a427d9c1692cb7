"""The landing scan leaves a dump alone while its files are still changing (a copy under way)."""

from __future__ import annotations

import os

import pytest

from musim.ingest.landing import ingest_landed, new_dumps
from tests.lastfm_files import U1, U2, tiny_dump, write_lines

PLAYS = "usersha1-artmbid-artname-plays.tsv"


@pytest.mark.parametrize("as_url", [False, True], ids=["folder", "file-url"])
def test_a_dump_is_taken_once_its_files_have_settled(tmp_path, monkeypatch, as_url):
    root = tmp_path / "landing"
    plays = tiny_dump(root / "2026-12-01" / PLAYS)
    monkeypatch.setenv("MUSIM_LANDING", root.as_uri() if as_url else str(root))
    monkeypatch.setenv("MUSIM_LANDING_SETTLE_S", "60")
    written = plays.stat().st_mtime
    assert new_dumps(now=written + 5) == []  # `cp` of a plain .tsv may still be writing it
    (ready,) = new_dumps(now=written + 61)
    assert ready.profiles is None

    profiles = write_lines(root / "2026-12-01" / "usersha1-profile.tsv", [f"{U1}\tm\t22\tSweden\tFeb 1, 2007",
                                                                         f"{U2}\tf\t\t\t"])
    os.utime(profiles, (written + 100, written + 100))  # the profiles arrive after the plays: wait for them too
    assert new_dumps(now=written + 130) == []
    (ready,) = new_dumps(now=written + 161)
    assert ready.profiles is not None and ready.profiles.endswith("usersha1-profile.tsv")
    assert new_dumps(now=written + 130, settle_s=0) != []  # the DAG's settle_s param: "the copy is complete"
    assert ingest_landed(ready).profile_lines == 2


@pytest.mark.parametrize("as_url", [False, True], ids=["folder", "file-url"])
def test_a_landed_dump_with_two_profiles_files_is_refused_naming_them(tmp_path, monkeypatch, as_url):
    from musim.errors import IngestError

    root = tmp_path / "landing"
    tiny_dump(root / "d" / PLAYS)
    for name in ("usersha1-profile.tsv", "old-usersha1-profile.tsv"):
        write_lines(root / "d" / name, [f"{U1}\tm\t22\tSweden\tFeb 1, 2007"])
    monkeypatch.setenv("MUSIM_LANDING", root.as_uri() if as_url else str(root))
    (ready,) = new_dumps(settle_s=0)
    with pytest.raises(IngestError, match=r"holds 2 profiles files \(old-usersha1-profile.tsv, usersha1-profile.tsv\)"):
        ingest_landed(ready.to_json())  # as the DAG hands it over


@pytest.mark.parametrize("as_url", [False, True])
def test_a_landing_folder_that_does_not_exist_is_named_not_scanned_as_empty(tmp_path, as_url):
    """A typo in the DAG's `landing` param made every hourly run succeed with nothing to do."""
    from musim.errors import NotFoundError

    missing = tmp_path / "lastfn-typo"
    with pytest.raises(NotFoundError, match=rf"^the landing folder ({missing}|file://{missing}) is no folder: create it"):
        new_dumps(missing.as_uri() if as_url else missing)


HOLD = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "read")
print("holding", flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def hold_warehouse():
    """``hold("read" | "write")``: another process holds the warehouse open (a notebook, `musim dumps`, a build)."""
    import subprocess
    import sys

    from musim import warehouse
    from musim.config import get_settings

    procs = []

    def hold(how: str) -> subprocess.Popen:
        warehouse.connect().close()
        proc = subprocess.Popen([sys.executable, "-c", HOLD, str(get_settings().warehouse.path), how],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "holding"
        return proc

    yield hold
    for proc in procs:
        proc.kill()
        proc.wait()


def test_a_scan_reads_beside_another_reader_and_takes_the_writer_only_to_remember(tmp_path, monkeypatch,
                                                                                    hold_warehouse, caplog):
    """The scan opened the warehouse writer every hour: any other process reading the warehouse (a notebook,
    `musim dumps`) made it wait MUSIM_WAREHOUSE_LOCK_WAIT_S and fail, though it had nothing to write."""
    import logging

    from musim.errors import BusyError

    root = tmp_path / "landing"
    tiny_dump(root / "d1" / PLAYS)
    monkeypatch.setenv("MUSIM_LANDING", str(root))
    monkeypatch.setenv("MUSIM_WAREHOUSE_LOCK_WAIT_S", "0.5")
    ingest_landed(new_dumps(settle_s=0)[0])
    tiny_dump(root / "d2" / PLAYS)
    write_lines(root / "d2" / "plays.tsv", ["x"])  # a file it does not take
    assert len(new_dumps(settle_s=0)) == 1  # ...reported (and remembered) by this scan

    reading = hold_warehouse("read")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="musim.ingest.landing"):
        (ready,) = new_dumps(settle_s=0)  # nothing to remember: read only
    assert ready.plays == str(root / "d2" / PLAYS)
    assert [r for r in caplog.records if r.name == "musim.ingest.landing"] == []  # reported once, before
    write_lines(root / "d2" / "notes.txt", ["a new file to report"])  # to remember: that takes the writer
    with pytest.raises(BusyError, match=f"held by pid {reading.pid}"):
        new_dumps(settle_s=0)


def test_an_empty_landing_area_is_scanned_beside_a_writer(tmp_path, monkeypatch, hold_warehouse):
    """Nothing landed: the hourly scan needs nothing from the warehouse, and a long build writing it does not fail
    it."""
    from musim.errors import BusyError

    root = tmp_path / "landing"
    root.mkdir()
    monkeypatch.setenv("MUSIM_LANDING", str(root))
    monkeypatch.setenv("MUSIM_WAREHOUSE_LOCK_WAIT_S", "0.5")
    writing = hold_warehouse("write")
    assert new_dumps(settle_s=0) == []
    tiny_dump(root / "d1" / PLAYS)  # something landed: what is remembered of it must be read
    monkeypatch.setattr("musim.sandbox.LOCK_WAIT_S", 0.2)
    with pytest.raises(BusyError, match=f"being written by another process \\(pid {writing.pid}\\)"):
        new_dumps(settle_s=0)
