"""Recovering from a failed features gate: `musim features build --recompute TRACK_ID...` extracts named tracks
again and its rows replace the bad ones; a re-read's new rows supersede the old audio's; the failure names the
builds that wrote the failing rows when the failed build wrote none; the newest gate is the one checked last."""

from __future__ import annotations

import datetime as dt

import pytest

from musim import warehouse
from musim.cli import main
from musim.errors import QualityError
from musim.features.release import training_refusal
from musim.storage import open_store
from tests.features.helpers import GATED_BUILD, clip, encode, three_artists_two_clips

BUILD = GATED_BUILD
TEMPO = 2  # tempo_bpm's 1-based index in the descriptor vector


def _impossible_tempo(track: str) -> str:
    """Set ``track``'s tempo to 999 BPM (no audio gives more than 320) in place; the build that wrote the row."""
    con = warehouse.connect()
    try:
        con.execute(f"UPDATE track_descriptors SET vec = list_transform(vec, lambda x, i: CASE WHEN i = {TEMPO} "
                    "THEN 999.0 ELSE x END) WHERE track_id = ?", [track])
        return con.execute("SELECT run_id FROM track_descriptors WHERE track_id = ?", [track]).fetchone()[0]
    finally:
        con.close()


def _row(track: str) -> tuple:
    con = warehouse.connect()
    try:
        return con.execute(f"SELECT run_id, vec[{TEMPO}], audio_id FROM track_descriptors WHERE track_id = ? "
                           "ORDER BY created_at DESC LIMIT 1", [track]).fetchone()
    finally:
        con.close()


def _refusal() -> str | None:
    con = warehouse.connect()
    try:
        return training_refusal(con)
    finally:
        con.close()


def test_recompute_replaces_a_bad_row_and_the_gate_passes_again(capsys):
    three_artists_two_clips()
    assert main(BUILD) == 0
    capsys.readouterr()
    writer = _impossible_tempo("a1t1")

    # audio unchanged: a rebuild plans nothing and fails the gate again; the line blames the build that wrote the row
    assert main(BUILD) == 2
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith("musim: error: the features quality gate failed (features")
    assert f"it wrote no new rows: the failing rows were written by build {writer}:" in first
    assert "`musim features build --recompute TRACK_ID...`" in first
    assert f"a1t1: tempo_bpm (index 2) = 999.0, outside [0.0, 320.0] (audio {_row('a1t1')[2]}, build {writer})" in err
    refusal = _refusal()
    assert refusal is not None and f"the failing rows were written by build {writer}:" in refusal
    assert "`musim features build --recompute TRACK_ID...`" in refusal

    # an unknown track: one line, nothing built
    assert main([*BUILD, "--recompute", "nosuchtrack"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("musim: error: no track nosuchtrack in the warehouse") and err.count("\n") == 1

    # the supported recovery: the track extracted again, its new row replaces the bad one, the gate passes
    assert main([*BUILD, "--recompute", "a1t1"]) == 0
    out = capsys.readouterr().out
    assert "1 preview computed" in out and "quality gate passed" in out
    run, tempo, _ = _row("a1t1")
    assert run != writer and 0 <= tempo <= 320
    con = warehouse.connect()
    try:
        assert con.execute("SELECT count(*) FROM track_descriptors WHERE track_id = 'a1t1'").fetchone()[0] == 1
    finally:
        con.close()
    assert _refusal() is None

    # the newest gate is the one checked last: a build started before the passing one whose gate failed after it
    con = warehouse.connect()
    try:
        failed = con.execute("SELECT run_id FROM feature_build WHERE quality_status = 'failed' "
                             "ORDER BY started_at LIMIT 1").fetchone()[0]
        con.execute("UPDATE feature_build SET quality_checked_at = ? WHERE run_id = ?",
                    [dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5), failed])
    finally:
        con.close()
    refusal = _refusal()
    assert refusal is not None and refusal.startswith(f"the newest feature build {failed} failed")


def test_a_re_read_supersedes_the_old_audios_bad_row(capsys):
    """Audio replaced (re-read: new content, track_audio_history): the next build extracts the new audio and its
    rows are what readers take, so the old audio's bad row no longer blocks the gate."""
    three_artists_two_clips()
    assert main(BUILD) == 0
    _impossible_tempo("a1t1")
    assert main(BUILD) == 2
    capsys.readouterr()
    con = warehouse.connect()
    try:
        info = open_store().put_content_addressed(encode(clip(1, 1001, 7)), prefix="audio/previews", ext="wav")
        old = con.execute("SELECT sha256 FROM track WHERE track_id = 'a1t1'").fetchone()[0]
        con.execute("INSERT INTO track_audio_history (track_id, sha256, replaced_at) VALUES ('a1t1', ?, ?)",
                    [old, dt.datetime.now(dt.UTC)])
        con.execute("UPDATE track SET sha256 = ?, object_key = ? WHERE track_id = 'a1t1'", [info.sha256, info.key])
    finally:
        con.close()
    assert main(BUILD) == 0
    assert "quality gate passed" in capsys.readouterr().out
    assert _row("a1t1")[2] == info.sha256
    assert _refusal() is None


def test_the_dag_check_quality_error_starts_with_the_cli_line(capsys):
    from musim.features import build as build_features
    from musim.features.staged import check_run
    from musim.quality.gates import FEATURES_DATASETS, gate_task

    three_artists_two_clips()
    assert main(BUILD) == 0
    writer = _impossible_tempo("a1t1")
    with warehouse.writer() as con:
        dag_build = build_features(["track_log_mel", "artist_descriptors_mean"], con=con, publish=False)
    with pytest.raises(QualityError) as info:
        check_run(dag_build.run_id, lambda: gate_task(FEATURES_DATASETS, None))
    first = str(info.value).splitlines()[0]
    assert first.startswith("the features quality gate failed (features") and "; quality run q" in first
    assert "the build's artist means were withdrawn" in first and "--recompute TRACK_ID..." in first
    assert f"the failing rows were written by build {writer}" in first
    assert "tempo_bpm" in str(info.value)  # the report follows


def test_the_failed_gate_line_names_the_expectations_and_counts():
    """The first line of a failed features gate named only the datasets (`failed (features; quality run ...)`); it now
    says what failed on how many rows (QualityRun.failed_line), also once the build's failure adds who wrote them."""
    from musim.features.release import gate_failed, gate_failed_line
    from musim.quality.gates import FEATURES_DATASETS
    from musim.quality.runner import check_on

    three_artists_two_clips()
    assert main(BUILD) == 0
    _impossible_tempo("a1t1")
    with warehouse.writer() as con:
        run = check_on(con, FEATURES_DATASETS)
        assert not run.success
        build = con.execute("SELECT run_id FROM feature_build ORDER BY started_at DESC LIMIT 1").fetchone()[0]
        line = gate_failed_line(run, run.run_id)
        assert line.startswith(f"the features quality gate failed ({run.failed_line()}; quality run {run.run_id}):")
        assert "expectations failed" in line and " rows)" in line and "tempo" in line
        err = gate_failed(con, build, QualityError(f"{line}\n{run.describe()}", run_id=run.run_id,
                                                   failed=[r.dataset for r in run.failed]))
    first, report = str(err).split("\n", 1)
    assert first.startswith(f"the features quality gate failed ({run.failed_line()}; quality run {run.run_id})")
    assert "the build's artist means were withdrawn" in first and report == run.describe()
