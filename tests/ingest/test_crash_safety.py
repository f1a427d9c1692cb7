"""Killing a real ingest process leaves no partial snapshot; the rerun gives identical tables."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from musim import warehouse
from musim.ingest.lastfm import ingest_lastfm
from musim.synth.lastfm import write_lastfm_dump

TABLES = {
    "lastfm_dump": "SELECT dump_id, lines, loaded, rejected, users, artists FROM lastfm_dump",
    "lastfm_plays": "SELECT dump_id, user_id, artist_id, plays, lines FROM lastfm_plays",
    "artist": "SELECT artist_id, artist_key, name, is_placeholder FROM artist",
    "lastfm_user": "SELECT user_id, user_key FROM lastfm_user",
    "ingest_rejects": "SELECT line_no, raw, reason FROM ingest_rejects",
    "artist_name_variant": "SELECT artist_id, raw_name, lines FROM artist_name_variant",
}


def _fingerprint(con) -> dict[str, tuple]:
    return {t: con.execute(f"SELECT count(*), sum(hash(x)) FROM ({q}) x").fetchone() for t, q in TABLES.items()}


@pytest.mark.slow
def test_kill_mid_ingest_then_rerun_is_identical(tmp_path, musim_home, monkeypatch):
    s = write_lastfm_dump(tmp_path / "synth", users=60_000, artists=3_000, quirks=0.002, seed=2)
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-m", "musim.cli", "-v", "ingest", "lastfm", s.plays_path],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # wait until the ingest transaction has begun, let it write for a moment, then kill -9
    for line in proc.stderr:
        if "in one transaction" in line:
            break
    time.sleep(0.05)
    assert proc.poll() is None, "the ingest finished before it could be killed; make the dump larger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    with warehouse.writer() as con:  # recovery: the WAL of the unfinished transaction is discarded
        assert con.execute("SELECT count(*) FROM lastfm_dump").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM lastfm_plays").fetchone()[0] == 0
    rerun = ingest_lastfm(s.plays_path)
    assert not rerun.already_ingested
    with warehouse.writer() as con:
        after_kill = _fingerprint(con)

    clean_home = tmp_path / "clean"
    monkeypatch.setenv("MUSIM_HOME", str(clean_home))
    ingest_lastfm(s.plays_path)
    with warehouse.writer() as con:
        assert _fingerprint(con) == after_kill
