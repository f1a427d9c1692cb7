"""Feature builds killed half-way: their heartbeat, and the `interrupted` state readers show after the timeout."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from musim import warehouse
from musim.cli import main
from musim.features import build
from musim.features.builds import Heartbeat, compute_heartbeat_key, list_builds
from musim.features.staged import compute_batch, plan_run
from tests.features.conftest import OPTIONS
from tests.features.helpers import Catalogue

REPO = Path(__file__).resolve().parents[2]


def add_tracks(catalogue: Catalogue, n: int) -> None:
    for i in range(n):
        catalogue.add_clip(f"t{i}", 1 + i % 2, community=i % 3, track_no=i)


def build_row(con, run_id: str) -> dict:
    return next(b for b in list_builds(con, limit=100) if b["run_id"] == run_id)


def test_a_heartbeat_beats_at_most_once_per_interval_unless_forced():
    beats: list[dt.datetime] = []
    beat = Heartbeat(beats.append, interval_s=3600)
    beat()
    beat()
    assert len(beats) == 1
    beat(force=True)
    assert len(beats) == 2
    every = Heartbeat(beats.append, interval_s=0)
    every()
    every()
    assert len(beats) == 4


def test_a_dag_build_whose_compute_step_fails_is_interrupted_after_the_timeout_and_a_later_build_succeeds(
        monkeypatch, con, store, catalogue):
    monkeypatch.setenv("MUSIM_FEATURE_BUILD_TIMEOUT_S", "0.5")
    add_tracks(catalogue, 4)
    con.close()  # plan_run opens the writer itself, as the DAG's task does
    run_id = "audio_features/manual__2026-01-01T00:00:00+00:00"
    batches = plan_run(run_id, ["track_log_mel"], batch_size=2, min_duration_s=5.0)
    assert len(batches) == 2
    with warehouse.writer() as w:
        planned = build_row(w, run_id)
    assert planned["heartbeat_key"] == compute_heartbeat_key(run_id)

    time.sleep(1.0)  # the warehouse's heartbeat (the plan's) is now older than the timeout
    compute_batch(batches[0], store=store, workers=1)
    beat = store.stat(compute_heartbeat_key(run_id)).modified
    assert beat > planned["heartbeat_at"] + dt.timedelta(seconds=0.5)

    def broken(*_a, **_k):
        raise RuntimeError("worker lost")

    with monkeypatch.context() as m, pytest.raises(RuntimeError, match="worker lost"):
        m.setattr("musim.features.staged.rows_of", broken)
        compute_batch(batches[1], store=store, workers=1)  # the second compute task dies; record never runs
    last = store.stat(compute_heartbeat_key(run_id)).modified

    with warehouse.writer() as w:
        # live: the warehouse's beat is stale, but its compute tasks beat in the object store within the timeout
        live = list_builds(w, store=store, now=last + dt.timedelta(seconds=0.4))[0]
        assert (live["state"], live["status"], live["heartbeat_at"]) == ("running", "running", last)
        dead = list_builds(w, store=store, now=last + dt.timedelta(seconds=0.6))[0]
        assert (dead["state"], dead["status"]) == ("interrupted", "running")

        later = build(["track_log_mel"], con=w, store=store, options=OPTIONS, publish=False)
        assert later.planned == 4  # nothing of the dead run was recorded: all is computed again
        rows = {b["run_id"]: b for b in list_builds(w, store=store, now=last + dt.timedelta(seconds=0.6))}
    assert rows[later.run_id]["state"] == "done"
    old = rows[run_id]
    assert (old["state"], old["status"], old["started_at"], old["heartbeat_at"], old["finished_at"]) == (
        "interrupted", "running", planned["started_at"], last, None)


KILLABLE_BUILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from musim.features import extract

    record, marker, calls = extract.record, Path(sys.argv[1]), []

    def record_then_hang(*args, **kwargs):
        recorded = record(*args, **kwargs)
        calls.append(1)
        if len(calls) == 2:  # two batches recorded: wait here to be killed
            marker.write_text("recorded")
            time.sleep(600)
        return recorded

    extract.record = record_then_hang
    from musim.cli import main
    sys.exit(main(["features", "build", "--workers", "1", "--batch-size", "1", "--no-progress",
                   "--view", "track_log_mel"]))
""")


@pytest.mark.slow
def test_a_killed_cli_build_is_shown_interrupted_after_the_timeout_and_keeps_its_history(
        monkeypatch, tmp_path, con, catalogue, capsys):
    add_tracks(catalogue, 4)
    con.close()
    marker = tmp_path / "recorded"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE_BUILD, str(marker)], env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "the build ended before it could be killed"
            assert time.monotonic() < deadline, "the build recorded nothing in 120 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()

    with warehouse.writer() as w:
        killed = list_builds(w)[0]
        # within the default timeout (an hour) it may still be at work: shown running, never marked
        assert (killed["state"], killed["status"], killed["computed"]) == ("running", "running", 2)
        assert killed["heartbeat_at"] > killed["started_at"]  # each recorded batch beat
        assert list_builds(w, now=killed["heartbeat_at"] + dt.timedelta(seconds=3599))[0]["state"] == "running"
        assert list_builds(w, now=killed["heartbeat_at"] + dt.timedelta(seconds=3601))[0]["state"] == "interrupted"

    monkeypatch.setenv("MUSIM_FEATURE_BUILD_TIMEOUT_S", "0.2")
    time.sleep(0.3)
    assert main(["features", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["builds"]
    assert [(b["run_id"], b["state"]) for b in listed] == [(killed["run_id"], "interrupted")]
    assert main(["features", "list"]) == 0
    out = capsys.readouterr().out
    assert f"{killed['run_id']}  interrupted" in out and "no heartbeat for over 0.2 s" in out

    assert main(["features", "build", "--workers", "1", "--no-progress", "--view", "track_log_mel", "--json"]) == 0
    later = json.loads(capsys.readouterr().out)
    assert later["planned"] == 2  # the two recorded before the kill are kept
    assert main(["features", "show", "track_log_mel", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["builds"]
    assert [(b["run_id"], b["state"], b["computed"]) for b in shown] == [
        (later["run_id"], "done", 2), (killed["run_id"], "interrupted", 2)]
    assert shown[1]["heartbeat_at"] == killed["heartbeat_at"].isoformat()


def test_the_heartbeat_migration_gives_earlier_builds_their_last_beat(monkeypatch, musim_home):
    import musim.warehouse as wh

    every = wh.available_migrations()
    monkeypatch.setattr(wh, "available_migrations", lambda: [m for m in every if m[0] < 15])
    c = wh.connect()
    started = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for run_id, status, finished in (("old-done", "done", started + dt.timedelta(minutes=5)),
                                     ("old-dead", "running", None)):
        c.execute("""INSERT INTO feature_build (run_id, status, extractors, tracks, items_planned, preview_set,
                                                started_at, finished_at) VALUES (?, ?, '[]', 1, 1, 'x', ?, ?)""",
                  [run_id, status, started, finished])
    c.close()
    monkeypatch.setattr(wh, "available_migrations", lambda: every)
    c = wh.connect()
    try:
        rows = {b["run_id"]: b for b in list_builds(c)}
    finally:
        c.close()
    assert rows["old-done"]["heartbeat_at"] == started + dt.timedelta(minutes=5)
    assert (rows["old-dead"]["heartbeat_at"], rows["old-dead"]["state"]) == (started, "interrupted")


def test_a_dag_run_planned_again_after_its_record_task_died_counts_every_row_it_computed(monkeypatch, con, store,
                                                                                         catalogue):
    """A DAG run whose `record` task died after recording its first batch, then cleared and run again from `plan`
    (the build keeps its run id): the second plan counted the rows the first attempt had computed as "reused from
    identical audio", so the run's summary and registry row said 2 computed and 3 reused where it computed 4 and
    took 1 over. Now the run counts every row computed under its id, in either attempt, and what it took over from
    identical audio once."""
    from musim.features.extract import record
    from musim.features.staged import record_run

    add_tracks(catalogue, 4)
    con.close()
    run_id = "audio_features/manual__2026-01-02T00:00:00+00:00"
    batches = plan_run(run_id, ["track_log_mel"], batch_size=2, min_duration_s=5.0)
    assert [len(b["items"]) for b in batches] == [2, 2]
    first = compute_batch(batches[0], store=store, workers=1)
    with warehouse.writer() as w:  # the record task recorded the first manifest, then died (never closed the run)
        record(w, run_id, store.get_json(first["manifest"])["rows"])
        assert build_row(w, run_id)["computed"] == 2
        done = w.execute("SELECT track_id FROM track_mel ORDER BY track_id LIMIT 1").fetchone()[0]
        i = int(done[1:])  # a twin of a recorded track (its audio again): the next plan takes its row over
        Catalogue(w, store).add_clip("twin", 1 + i % 2, community=i % 3, track_no=i)

    again = plan_run(run_id, ["track_log_mel"], batch_size=2, min_duration_s=5.0)  # the run cleared: planned again
    assert [len(b["items"]) for b in again] == [2]  # what the first attempt left
    summary = record_run(run_id, [compute_batch(b, store=store, workers=1) for b in again],
                         views=["track_log_mel"])
    assert (summary["computed"], summary["reused"], summary["rejected"]) == (4, 1, 0)
    with warehouse.writer() as w:
        row = build_row(w, run_id)
        assert (row["state"], row["computed"], row["reused"]) == ("done", 4, 1)
        assert w.execute("SELECT count(*) FROM track_mel WHERE run_id = ?", [run_id]).fetchone()[0] == 5


def _stopped_after_one_batch(monkeypatch, error: BaseException) -> None:
    """`record` of musim.features.extract records its first batch, then ``error`` is raised (as Ctrl-C would)."""
    from musim.features import extract

    record, calls = extract.record, []

    def record_then_stop(*args, **kwargs):
        recorded = record(*args, **kwargs)
        calls.append(1)
        if len(calls) == 1:
            raise error
        return recorded

    monkeypatch.setattr(extract, "record", record_then_stop)


def test_a_build_stopped_with_ctrl_c_is_closed_interrupted_not_failed_and_a_later_build_computes_the_rest(
        monkeypatch, con, catalogue, capsys):
    """A `musim features build` stopped with Ctrl-C closed its row as 'failed' (and was listed so): it is closed
    'interrupted' now (migration 037 lets the row say so), listed as stopped, and keeps what it recorded."""
    add_tracks(catalogue, 4)
    con.close()
    argv = ["features", "build", "--workers", "1", "--batch-size", "1", "--no-progress", "--view", "track_log_mel",
            "--skip-quality", "--no-publish"]
    with monkeypatch.context() as mp:
        _stopped_after_one_batch(mp, KeyboardInterrupt())
        assert main(argv) == 130
    assert capsys.readouterr().err == "musim: interrupted\n"
    with warehouse.writer() as w:
        (stopped,) = list_builds(w)
        assert w.execute("SELECT status FROM feature_build").fetchall() == [("interrupted",)]
        # an hour later (past the timeout) still what it was: it never beats again, and is not "running"
        later = list_builds(w, now=stopped["finished_at"] + dt.timedelta(hours=2))[0]
    assert (stopped["state"], stopped["status"], stopped["computed"]) == ("interrupted", "interrupted", 1)
    assert stopped["finished_at"] is not None and later["state"] == "interrupted"

    assert main(["features", "list"]) == 0
    out = capsys.readouterr().out
    assert f"{stopped['run_id']}  interrupted" in out
    assert "interrupted: stopped with Ctrl-C. What it recorded stays" in out and "no heartbeat" not in out

    assert main([*argv, "--json"]) == 0
    rest = json.loads(capsys.readouterr().out)
    assert rest["planned"] == 3  # the one recorded before the stop is kept
    assert main(["features", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["builds"]
    assert [(b["run_id"], b["state"]) for b in listed] == [(rest["run_id"], "done"), (stopped["run_id"], "interrupted")]


def test_a_build_that_fails_is_still_closed_failed(monkeypatch, con, catalogue):
    from musim.features.extract import closed_as

    add_tracks(catalogue, 2)
    _stopped_after_one_batch(monkeypatch, RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        build(["track_log_mel"], con=con, options=OPTIONS, publish=False, skip_quality=True)
    assert con.execute("SELECT status FROM feature_build").fetchall() == [("failed",)]
    import duckdb

    assert closed_as(duckdb.InterruptException("INTERRUPT Error: Interrupted!")) == "interrupted"  # Ctrl-C in DuckDB
    assert closed_as(KeyboardInterrupt()) == "interrupted"
    assert closed_as(SystemExit(1)) == "failed"


def test_the_interrupted_migration_keeps_every_build_and_admits_interrupted(monkeypatch, musim_home):
    """037 rebuilds feature_build with 'interrupted' in its CHECK: a warehouse filled under 036 keeps every row and
    column, the table keeps its key and defaults, and an unknown status is still refused."""
    import duckdb

    import musim.warehouse as wh

    every = wh.available_migrations()
    monkeypatch.setattr(wh, "available_migrations", lambda: [m for m in every if m[0] < 37])
    c = wh.connect()
    started = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for run_id, status in (("b-done", "done"), ("b-failed", "failed"), ("b-running", "running")):
        c.execute("""INSERT INTO feature_build (run_id, status, extractors, tracks, items_planned, reused, computed,
                                                rejected, preview_set, dump_id, started_at, finished_at, min_duration_s,
                                                heartbeat_at, heartbeat_key, quality_run_id, quality_status,
                                                quality_checked_at, unchanged, skipped)
                     VALUES (?, ?, '[{"kind": "log_mel", "params_hash": "h"}]', 4, 3, 1, 2, 1, 'ps', 'd1', ?, ?, 2.5,
                             ?, 'k', 'q1', 'passed', ?, 5, 0)""",
                  [run_id, status, started, None if status == "running" else started, started, started])
    with pytest.raises(duckdb.ConstraintException):
        c.execute("UPDATE feature_build SET status = 'interrupted' WHERE run_id = 'b-running'")
    columns = c.execute("SELECT column_name, data_type, column_default, is_nullable FROM information_schema.columns "
                        "WHERE table_name = 'feature_build' ORDER BY ordinal_position").fetchall()
    before = c.execute("SELECT * FROM feature_build ORDER BY run_id").fetchall()
    c.close()
    monkeypatch.setattr(wh, "available_migrations", lambda: every)
    c = wh.connect()
    try:
        assert c.execute("SELECT * FROM feature_build ORDER BY run_id").fetchall() == before
        assert c.execute("SELECT column_name, data_type, column_default, is_nullable FROM information_schema.columns "
                         "WHERE table_name = 'feature_build' ORDER BY ordinal_position").fetchall() == columns
        c.execute("UPDATE feature_build SET status = 'interrupted' WHERE run_id = 'b-running'")
        with pytest.raises(duckdb.ConstraintException):
            c.execute("UPDATE feature_build SET status = 'paused' WHERE run_id = 'b-done'")
        with pytest.raises(duckdb.ConstraintException):  # still keyed by run id
            c.execute("INSERT INTO feature_build (run_id, status, extractors, tracks, items_planned, preview_set, "
                      "started_at) VALUES ('b-done', 'done', '[]', 0, 0, 'x', now())")
        c.execute("INSERT INTO feature_build (run_id, status, extractors, tracks, items_planned, preview_set, "
                  "started_at) VALUES ('b-new', 'running', '[]', 0, 0, 'x', now())")
        assert c.execute("SELECT reused, computed, rejected FROM feature_build WHERE run_id = 'b-new'").fetchone() == (
            0, 0, 0)
        assert {b["run_id"]: b["state"] for b in list_builds(c)}["b-running"] == "interrupted"
    finally:
        c.close()
