"""`musim library add`: one outcome per file, the JSON accounting, reruns, --retry, artists and the catalogue."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from musim import warehouse
from musim.cli import main
from musim.config import get_settings
from musim.errors import ParameterError
from musim.library import add, list_tracks, remove_tracks, show_track
from musim.storage import open_store
from tests.library.conftest import FORMATS, write_audio, write_tags

MBID = "5b11f4ce-a62d-471e-81fc-a69a8278c7da"


def rows(query: str, *params):
    with warehouse.writer() as con:
        return con.execute(query, list(params)).fetchall()


@pytest.fixture
def folder(tmp_path):
    """A small library: every format by one composer under two spellings, a folder-only artist, and one
    file for every skip reason."""
    root = tmp_path / "music"
    for i, fmt in enumerate(FORMATS):
        path = write_audio(root / "soundtrack" / f"{i:02d} track.{fmt}", fmt, seconds=8, seed=i, freq=200 + 50 * i)
        write_tags(path, fmt, artist="www.elysis.de" if i % 2 else "Elysis", title=f"Theme {fmt}")
    write_audio(root / "Maxstack" / "CD1" / "long.ogg", "ogg", seconds=40, freq=500)
    long_ogg = root / "Maxstack" / "CD1" / "long.ogg"
    write_tags(long_ogg, "ogg", artist="Maxstack (Max McCracken)", title="Long")
    write_audio(root / "Maxstack" / "untagged.flac", "flac", seconds=8, freq=600)
    (root / "broken").mkdir()
    (root / "broken" / "empty.ogg").write_bytes(b"")
    (root / "broken" / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    cut = long_ogg.read_bytes()
    (root / "broken" / "cut.ogg").write_bytes(cut[: len(cut) // 3])
    (root / "broken" / "junk.ogg").write_bytes(b"OggS" + np.random.default_rng(1).bytes(4000))
    write_audio(root / "broken" / "short.wav", "wav", seconds=2)
    write_audio(root / "broken" / "silent.wav", "wav", seconds=8, level=0.0)
    (root / "broken" / "copy.ogg").write_bytes(long_ogg.read_bytes())
    os.symlink(root / "nowhere.mp3", root / "broken" / "dangling.mp3")
    return root


EXPECTED_SKIPS = {"empty.ogg": "empty", "cover.jpg": "not_audio", "cut.ogg": "truncated", "junk.ogg": "undecodable",
                  "short.wav": "too_short", "silent.wav": "silent", "copy.ogg": "duplicate_content",
                  "dangling.mp3": "unreadable"}


def _skips(summary) -> dict[str, str]:
    return {os.path.basename(s["path"]): s["reason"] for s in summary["skipped"]}


def test_every_file_has_one_outcome_and_the_json_adds_up(folder, capsys):
    assert main(["library", "add", str(folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"files", "stored", "already_stored", "skipped", "artists", "tracks_by_artist", "replaced",
                        "regrouped", "reread", "recut", "restored", "stale", "moved", "named_again", "gone",
                        "gone_total", "first_part_only", "length_corrected"}
    assert out["files"] == out["stored"] + out["already_stored"] + len(out["skipped"]) == 17
    assert _skips(out) == EXPECTED_SKIPS
    assert out["stored"] == 9 and out["already_stored"] == 0
    assert out["tracks_by_artist"] == {"Elysis": 7, "Maxstack": 2} and out["artists"] == 2
    recorded = dict(rows("SELECT reason, count(*) FROM library_skip GROUP BY reason"))
    assert recorded == {r: 1 for r in EXPECTED_SKIPS.values()}


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_a_progress_bar_over_every_file_and_a_pipe_none(folder, capsys, monkeypatch):
    """`musim library add` of a large folder decodes every file with nothing on the screen until the end."""
    terminal = _Terminal()
    with monkeypatch.context() as patch:  # only stderr: the test's MUSIM_HOME stays (undo() would drop it too)
        patch.setattr(sys, "stderr", terminal)
        assert main(["library", "add", str(folder)]) == 0
        assert "library add: 100%" in terminal.getvalue() and "17/17" in terminal.getvalue()
        terminal.truncate(0)
        assert main(["library", "add", str(folder), "--no-progress"]) == 0 and terminal.getvalue() == ""
    assert main(["library", "add", str(folder)]) == 0 and capsys.readouterr().err == ""  # not a terminal


def test_rerun_stores_nothing_twice_and_retry_examines_skips_again(folder, tmp_path, capsys):
    first = add([folder]).to_json()
    objects = sorted(o.key for o in open_store().list("audio/previews/"))
    again = add([folder]).to_json()
    assert (again["stored"], again["already_stored"], _skips(again)) == (0, 9, EXPECTED_SKIPS)
    assert again["tracks_by_artist"] == first["tracks_by_artist"]
    assert sorted(o.key for o in open_store().list("audio/previews/")) == objects
    assert rows("SELECT count(*) FROM track")[0][0] == 9

    short = folder / "broken" / "short.wav"
    write_audio(short, "wav", seconds=9, freq=700)  # fixed: new content is examined without --retry
    (folder / "broken" / "notes.txt").write_text("hello")
    fixed = add([folder]).to_json()
    assert fixed["stored"] == 1 and "short.wav" not in _skips(fixed) and _skips(fixed)["notes.txt"] == "not_audio"
    assert fixed["files"] == fixed["stored"] + fixed["already_stored"] + len(fixed["skipped"]) == 18
    assert not rows("SELECT * FROM library_skip WHERE source_path = ?", str(short))

    import musim.library.scan as scan

    calls = tmp_path / "examined"  # written by the worker process that examines each file
    calls.touch()

    def examine(item, **kw):
        with open(calls, "a") as fh:
            fh.write(item.path.name + "\n")
        return real(item, **kw)

    real = scan.examine
    scan.examine = examine  # the forked worker inherits it
    try:
        add([folder], workers=1)
        assert calls.read_text() == ""  # unchanged skipped files are not decoded again
        retried = add([folder], retry=True, workers=1).to_json()
    finally:
        scan.examine = real
    # empty, unreadable and duplicate files are told before decoding; short.wav is stored now
    assert sorted(calls.read_text().split()) == ["cover.jpg", "cut.ogg", "junk.ogg", "notes.txt", "silent.wav"]
    assert retried["stored"] == 0 and len(retried["skipped"]) == 8


def test_the_analysis_excerpt_is_stored_with_its_offsets(folder):
    add([folder / "Maxstack"])
    (track,) = [t for t in list_tracks("Maxstack") if t["title"] == "Long"]
    shown = show_track(track["track_id"][:8])
    assert shown["stored"] == "excerpt" and shown["source_path"].endswith("CD1/long.ogg")
    assert (shown["excerpt_offset_s"], shown["excerpt_duration_s"], shown["duration_s"]) == (5.0, 30.0, 40.0)
    data = open_store().get_bytes(shown["object_key"])
    assert shown["object_key"] == f"audio/previews/{shown['sha256']}.flac"
    excerpt, sr = sf.read(io.BytesIO(data), dtype="float32")
    whole, sr2 = sf.read(shown["source_path"], dtype="float32")
    assert sr == sr2 and len(excerpt) == 30 * sr
    assert np.allclose(excerpt, whole[5 * sr: 35 * sr], atol=1e-4)
    t = rows("""SELECT provider, format, duration_s, excerpt_offset_s, excerpt_duration_s FROM track
                WHERE track_id = ?""", shown["track_id"])[0]
    assert t == ("library", "flac", 30.0, 0.0, 30.0)  # features analyse all of the stored excerpt


def test_keep_whole_stores_the_file(folder):
    add([folder / "Maxstack" / "CD1"], keep_whole=True)
    (t,) = list_tracks()
    assert t["stored"] == "whole"
    assert open_store().get_bytes(t["object_key"]) == (folder / "Maxstack" / "CD1" / "long.ogg").read_bytes()
    assert rows("SELECT format, excerpt_offset_s, excerpt_duration_s FROM track")[0] == ("ogg", 5.0, 30.0)


def test_list_shows_the_rule_per_track_and_artist_from_overrides(folder, capsys):
    add([folder])
    rules = {(t["title"], t["artist_rule"], t["artist_spelling"]) for t in list_tracks("maxstack (max mccracken)")}
    assert rules == {("Long", "artist", "Maxstack (Max McCracken)"), ("untagged", "folder", "Maxstack")}
    assert main(["library", "list", "--artist", "ELYSIS"]) == 0
    shown = capsys.readouterr().out
    assert "www.elysis.de" in shown and "artist" in shown and "Theme ogg" in shown

    remove_tracks(artist="Elysis")
    out = add([folder / "soundtrack"], artist_from="folder").to_json()
    assert out["tracks_by_artist"] == {"Unknown artist": 7}  # "soundtrack" is generic, the root is no artist
    assert rows("SELECT is_placeholder FROM artist WHERE name = 'Unknown artist'") == [(True,)]


def test_library_artists_are_catalogue_artists_matched_to_lastfm(folder):
    with warehouse.writer() as con:
        for i, (name, mbid) in enumerate((("ELYSIS", None), ("Someone", MBID), ("Max-Stack", None)), start=1):
            con.execute("""INSERT INTO artist (artist_id, artist_key, mbid, name, name_norm, is_placeholder,
                           first_dump_id) VALUES (?, ?, ?, ?, ?, false, 'd1')""",
                        [i, f"mbid:{mbid}" if mbid else f"name:{name.lower()}", mbid, name, name.lower()])
    tagged = write_audio(folder / "other" / "Q" / "q.mp3", "mp3", seconds=8, freq=900)
    write_tags(tagged, "mp3", artist="Someone Else", mbid=MBID)
    add([folder])
    got = dict(rows("SELECT name, lastfm_match FROM library_artist"))
    ids = dict(rows("SELECT name, artist_id FROM library_artist"))
    assert got == {"Elysis": "name", "Someone Else": "mbid", "Maxstack": "variant"}
    assert ids == {"Elysis": 1, "Someone Else": 2, "Maxstack": 3}
    assert rows("SELECT count(*) FROM artist")[0][0] == 3  # no new catalogue artist
    assert rows("SELECT count(DISTINCT artist_id) FROM track")[0][0] == 3


def test_library_only_artists_are_new_catalogue_artists_without_plays(folder):
    add([folder])
    got = rows("""SELECT a.name, a.first_dump_id, l.lastfm_match, (SELECT count(*) FROM lastfm_plays p
                  WHERE p.artist_id = a.artist_id) FROM artist a JOIN library_artist l USING (artist_id)
                  ORDER BY a.name""")
    assert got == [("Elysis", "library", "none", 0), ("Maxstack", "library", "none", 0)]
    variants = rows("SELECT raw_name, lines FROM artist_name_variant ORDER BY raw_name")
    assert variants == [("Elysis", 4), ("Maxstack", 1), ("Maxstack (Max McCracken)", 1), ("www.elysis.de", 3)]


def test_an_artist_that_looks_like_a_number_but_is_none_is_no_traceback(folder, capsys):
    add([folder / "Maxstack"])
    for bad in ("\u00b2", "9" * 5000):  # "²".isdigit() is true and int() refuses it, as it does 5,000 digits
        assert main(["library", "list", "--artist", bad]) == 0
        assert "Traceback" not in capsys.readouterr().err
        assert main(["library", "remove", "--artist", bad]) == 2
        err = capsys.readouterr().err
        assert "no library artist" in err and len(err.strip().splitlines()) == 1
    assert len(list_tracks()) == 2


def test_remove_deletes_rows_and_unshared_objects(folder, capsys):
    add([folder / "Maxstack"])
    (t, _) = sorted(list_tracks(), key=lambda r: r["title"])
    assert main(["library", "remove", t["track_id"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"removed": [t["track_id"]], "published": None, "served": None,
                                                   "still_served_by": None}  # nothing published, no pin
    assert not open_store().exists(t["object_key"]) and len(list_tracks()) == 1
    assert rows("SELECT count(*) FROM track")[0][0] == rows("SELECT count(*) FROM preview")[0][0] == 1
    assert main(["library", "show", "nope-nope"]) == 2
    assert "no library track" in capsys.readouterr().err


def test_an_artist_known_only_from_removed_files_keeps_a_spelling(folder):
    """Removing every track of a library-only artist left its catalogue row without any spelling, which failed
    the artists quality suite (and so every DAG gated on it) until the files were added again."""
    from musim import sql

    add([folder / "Maxstack"])
    artist_id = list_tracks("Maxstack")[0]["artist_id"]
    spellings = rows("SELECT raw_name FROM artist_name_variant WHERE artist_id = ? ORDER BY 1", artist_id)
    assert remove_tracks(artist="Maxstack") and not list_tracks("Maxstack")
    with warehouse.writer() as con:
        cur = sql.query(con, "quality/artists_invariants.sql")
        facts = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
    assert facts["artists_without_variant"] == 0 and facts["bad_variant_lines"] == 0
    assert rows("SELECT raw_name FROM artist_name_variant WHERE artist_id = ? ORDER BY 1", artist_id) == spellings
    add([folder / "Maxstack"])  # and back: the same catalogue artist
    assert {r["artist_id"] for r in list_tracks("Maxstack")} == {artist_id}


def test_the_placeholder_artist_removed_and_added_again_is_one_catalogue_artist(tmp_path):
    """The placeholder is matched by no name, so adding untagged files again after removing them made a second
    catalogue artist with the key name:unknown artist (the artists suite's unique keys failed)."""
    write_audio(tmp_path / "music" / "untagged.flac", "flac", seconds=8, freq=600)  # no tag, no folder: unknown
    add([tmp_path / "music"])
    assert remove_tracks(artist="Unknown artist")
    add([tmp_path / "music"], retry=True)
    assert rows("SELECT artist_key, count(*) FROM artist WHERE artist_key = 'name:unknown artist' GROUP BY 1") \
        == [("name:unknown artist", 1)]


def test_removed_tracks_take_their_features_with_them(tmp_path, capsys):
    """Their spectrograms and descriptors stayed, so the features suite failed ("spectrograms belong to known
    tracks") and with it every DAG gated on it."""

    write_audio(tmp_path / "music" / "Maxstack" / "fine.flac", "flac", seconds=8, freq=600)
    add([tmp_path / "music"])
    assert main(["features", "build", "--no-progress", "--no-publish", "--workers", "1"]) == 0
    capsys.readouterr()
    (track,) = list_tracks("Maxstack")
    assert rows("SELECT count(*) FROM track_mel WHERE track_id = ?", track["track_id"])[0][0] > 0
    with warehouse.writer() as con:  # a value a recompute replaced (migration 033's history) goes with them too
        con.execute("""INSERT INTO feature_superseded
                       SELECT kind, params_hash, track_id, sha256, audio_id, object_key, NULL, NULL, NULL, run_id,
                              created_at - INTERVAL 1 DAY, created_at FROM track_mel WHERE track_id = ?""",
                    [track["track_id"]])
    remove_tracks(artist="Maxstack")
    assert rows("SELECT count(*) FROM feature_superseded WHERE track_id = ?", track["track_id"]) == [(0,)]
    facts = _features_facts()
    assert facts["mel_unknown_tracks"] == facts["descriptor_unknown_tracks"] == 0
    assert rows("SELECT count(*) FROM track_descriptors WHERE track_id = ?", track["track_id"]) == [(0,)]


def test_a_missing_path_is_one_clear_error(tmp_path, capsys):
    assert main(["library", "add", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("musim: error: ") and "nowhere" in err and "Traceback" not in err


def test_a_corrupt_float_file_is_skipped_and_the_others_are_stored(tmp_path):
    """A float WAV holding NaN samples used to stop the whole scan (the FLAC encoder's assertion)."""
    from tests.library.test_formats import _float_wav_with_nan

    write_audio(tmp_path / "music" / "Maxstack" / "fine.flac", "flac", seconds=8, freq=600)
    _float_wav_with_nan(tmp_path / "music" / "Maxstack" / "nan.wav")
    summary = add([tmp_path / "music"]).to_json()
    assert summary["stored"] == 1 and _skips(summary) == {"nan.wav": "undecodable"}


@pytest.mark.timeout(60)
def test_special_files_and_names_that_are_not_utf8_are_skipped_with_what_to_do(tmp_path, capsys):
    """A named pipe used to hang the scan (opening it waits for a writer), and a Latin-1 file name stopped the
    whole add when its path was stored (DuckDB takes UTF-8 only)."""
    root = tmp_path / "music"
    write_audio(root / "Maxstack" / "fine.flac", "flac", seconds=8, freq=600)
    latin1 = os.fsdecode(bytes(root / "Maxstack") + b"/caf\xe9.flac")
    write_audio(root / "Maxstack" / "other.flac", "flac", seconds=8, freq=700).rename(latin1)
    os.mkfifo(root / "Maxstack" / "pipe.wav")
    os.symlink(root / "nowhere.mp3", root / "Maxstack" / "dangling.mp3")
    os.symlink("loop-b.mp3", root / "Maxstack" / "loop-a.mp3")
    os.symlink("loop-a.mp3", root / "Maxstack" / "loop-b.mp3")
    assert main(["library", "add", str(root), "--width", "0"]) == 0  # paths under tmp_path are long
    out = capsys.readouterr().out
    assert "6 files: 1 stored, 0 already stored, 5 skipped" in out
    assert "a link in a loop of links, via 'loop-b.mp3'" in out
    assert "caf\\xe9.flac" in out and "name not UTF-8; rename it: convmv -f latin1 -t utf-8 FILE" in out
    assert "a named pipe, not a regular file" in out and "a broken link to" in out
    recorded = dict(rows("SELECT regexp_extract(source_path, '[^/]+$'), reason FROM library_skip"))
    assert recorded == {"caf\\xe9.flac": "unreadable", "pipe.wav": "unreadable", "dangling.mp3": "unreadable",
                        "loop-a.mp3": "unreadable", "loop-b.mp3": "unreadable"}
    assert main(["library", "add", str(root)]) == 0  # and again: the same outcomes, nothing stored twice
    assert "6 files: 0 stored, 1 already stored, 5 skipped" in capsys.readouterr().out


def test_skipped_says_so_when_no_file_was_skipped(tmp_path, capsys):
    assert main(["library", "skipped"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "no skipped files" in captured.err
    write_audio(tmp_path / "music" / "Maxstack" / "fine.flac", "flac", seconds=8, freq=600)
    (tmp_path / "music" / "Maxstack" / "empty.ogg").write_bytes(b"")
    add([tmp_path / "music"])
    assert main(["library", "skipped"]) == 0
    assert "empty.ogg" in capsys.readouterr().out


def test_each_excerpt_is_stored_before_the_next_file_is_read(tmp_path, monkeypatch):
    """Memory holds one file's excerpt, not the library's: a 10,000-track folder held every excerpt (3-5 MB each,
    a whole file each with --keep-whole) until the end of the run. With one worker (a process of its own, whose
    reads are written to a file to be seen here) at most two files are read and not yet stored."""
    import musim.library.scan as scan

    for i in range(5):
        write_audio(tmp_path / "music" / "Composer" / f"{i}.ogg", "ogg", seconds=6, freq=300 + 100 * i)
    events = tmp_path / "events"
    examine = scan.examine

    def log(event: str) -> None:
        with open(events, "a") as fh:
            fh.write(event + "\n")

    monkeypatch.setattr(scan, "examine", lambda item, **kw: (log("read"), examine(item, **kw))[1])
    store = open_store()
    put = store.put_content_addressed
    monkeypatch.setattr(store, "put_content_addressed", lambda data, **kw: (log("store"), put(data, **kw))[1])
    # across the pool at most twice the workers are in flight
    # (tests/audio/test_batch.py::test_imap_unordered_takes_no_more_items_than_it_may_hold)
    assert add([tmp_path / "music"], store=store, workers=1).stored == 5
    seen = events.read_text().split()
    assert sorted(seen) == ["read"] * 5 + ["store"] * 5
    held = [seen[:k].count("read") - seen[:k].count("store") for k in range(len(seen) + 1)]
    assert max(held) <= 2 and min(held) >= 0


def _add_reported(root, out) -> None:
    try:
        summary = add([root], workers=1)
        out.put({"stored": summary.stored, "details": {os.path.basename(p): d for p, d in summary.details.items()},
                 "skipped": [(os.path.basename(s["path"]), s["reason"]) for s in summary.to_json()["skipped"]]})
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        out.put({"error": f"{type(exc).__name__}: {exc}"})


@pytest.mark.parametrize("others", [0, 4])
def test_with_one_worker_a_file_that_kills_its_process_costs_only_itself(tmp_path, monkeypatch, others):
    # `musim library add --workers 1` (and an add of one new file) examined the files in its own process: a decoder's
    # crash on one file (a segfault) ended the whole run, the files read before it never recorded, and every rerun
    # met the same file. They are examined in a worker process now, as with several: that file is skipped with the
    # reason, the others stored. (The add runs in a forked child here: the old crash ended it, not the test run.)
    import multiprocessing
    import signal

    from musim.library import scan
    from musim.library.add_files import WORKER_DIED

    root = tmp_path / "music"
    for i in range(others):
        write_audio(root / f"t{i}.wav", "wav", seconds=6, seed=i, freq=300 + 40 * i)
    write_audio(root / "poison.wav", "wav", seconds=6, freq=700)
    real = scan.examine

    def examine(item, **options):  # the process examining poison.wav dies (SIGKILL: a decoder's segfault)
        if item.path.name == "poison.wav":
            os.kill(os.getpid(), signal.SIGKILL)
        return real(item, **options)

    monkeypatch.setattr(scan, "examine", examine)  # the forked processes inherit it
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    proc = ctx.Process(target=_add_reported, args=(root, out))
    proc.start()
    proc.join(300)
    got = out.get(timeout=5) if not out.empty() else {"exitcode": proc.exitcode}
    assert got == {"stored": others, "skipped": [("poison.wav", "undecodable")], "details": {"poison.wav": WORKER_DIED}}
    assert sorted(os.path.basename(t["source_path"]) for t in list_tracks()) == [f"t{i}.wav" for i in range(others)]


def _outcome(summary) -> tuple:
    with warehouse.writer() as con:
        tracks = con.execute("SELECT source_path, artist_spelling, artist_rule, title, object_key, excerpt_offset_s "
                             "FROM library_track ORDER BY source_path").fetchall()
        skips = con.execute("SELECT source_path, reason, detail FROM library_skip ORDER BY source_path").fetchall()
    return summary.to_json(), tracks, skips


def test_the_pool_and_one_process_give_the_same_outcomes(folder, tmp_path, monkeypatch):
    """Differential: the files decoded across the audio pool, and one after another in one worker process."""
    cut = (folder / "broken" / "cut.ogg").read_bytes()
    (folder / "broken" / "cut again.ogg").write_bytes(cut)  # a copy of a file that fails: it fails the same way
    pooled = _outcome(add([folder], workers=2))
    monkeypatch.setenv("MUSIM_HOME", str(tmp_path / "other-home"))
    alone = _outcome(add([folder], workers=1))
    assert pooled == alone
    assert _skips(pooled[0])["cut again.ogg"] == "truncated" and _skips(pooled[0])["copy.ogg"] == "duplicate_content"


def test_a_file_changed_in_place_replaces_its_track(tmp_path, capsys):
    """Fixing a file's tags and adding it again left two tracks of one path under two artists, and
    `library show PATH` then failed ("matches 2 library tracks")."""
    path = write_audio(tmp_path / "music" / "song.flac", "flac", seconds=8, freq=610)
    write_tags(path, "flac", artist="Wrong Name", title="Tagged Song")
    first = add([tmp_path / "music"])
    old = show_track(str(path))
    write_tags(path, "flac", artist="Right Name", title="Tagged Song")
    assert main(["library", "add", str(tmp_path / "music"), "--no-progress"]) == 0
    assert "1 stored (1 replacing an earlier version at the same path)" in capsys.readouterr().out
    tracks = list_tracks()
    assert [(t["artist"], t["title"]) for t in tracks] == [("Right Name", "Tagged Song")]
    assert show_track(str(path))["track_id"] != old["track_id"] and first.stored == 1
    assert not rows("SELECT * FROM library_track WHERE track_id = ?", old["track_id"])
    assert open_store().exists(show_track(str(path))["object_key"])


def test_an_empty_path_is_refused_not_read_as_the_current_folder(tmp_path, monkeypatch, capsys):
    """`musim library add "$MUSIC"` with MUSIC unset scanned the working folder (a home folder, say)."""
    write_audio(tmp_path / "here.flac", "flac", seconds=8)
    monkeypatch.chdir(tmp_path)
    for argv in (["library", "add", "", "--no-progress"], ["similar-audio", " "], ["embed", "", "--out", "e.npz"]):
        with pytest.raises(SystemExit) as stop:  # refused by argparse, as every empty value (tests/cli/test_options.py)
            main(argv)
        assert stop.value.code == 2 and "is empty (an unset variable?)" in capsys.readouterr().err
    with pytest.raises(ParameterError, match=r"an empty path was given \(an unset variable\?\)"):
        add([""])  # and by the library itself, for Python and the DAG
    assert not rows("SELECT * FROM library_track") and not (tmp_path / "e.npz").exists()


def test_a_path_spelt_with_dots_is_the_same_file_and_show_takes_a_relative_path(tmp_path, monkeypatch):
    """`add ov ./ov/../ov/Ov/o1.wav` recorded the file as a duplicate of itself; `show ov/Ov/o1.wav` found nothing."""
    write_audio(tmp_path / "ov" / "Ov" / "o1.wav", "wav", seconds=8, freq=627)
    monkeypatch.chdir(tmp_path)
    summary = add(["ov", "./ov/../ov/Ov/o1.wav"]).to_json()
    assert (summary["files"], summary["stored"], summary["skipped"]) == (1, 1, [])
    assert show_track("ov/Ov/o1.wav")["source_path"] == str(tmp_path / "ov" / "Ov" / "o1.wav")
    assert remove_tracks(["./ov/Ov/../Ov/o1.wav"]) and not list_tracks()


def test_previews_lists_the_librarys_too(tmp_path, capsys):
    """`musim previews` listed only the acquisition's artists: a library's stored excerpts were not there."""
    write_audio(tmp_path / "music" / "Kill Artist" / "t0.flac", "flac", seconds=8)
    add([tmp_path / "music"])
    assert main(["previews", "--artist", "kill artist", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["artist"], row["provider"], row["status"], row["title"]) == ("Kill Artist", "library", "downloaded", "t0")


def test_options_that_cannot_change_files_stored_before_say_so(tmp_path, capsys):
    """`add --keep-whole --artist-from folder` of stored files said `1 already stored` and changed nothing, silently."""
    write_audio(tmp_path / "kw" / "KW" / "k.ogg", "ogg", seconds=8)
    assert main(["library", "add", str(tmp_path / "kw"), "--artist-from", "tag", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["library", "add", str(tmp_path / "kw"), "--keep-whole", "--artist-from", "folder",
                 "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "note: --keep-whole and --artist-from folder applied to the files stored now, not to the 1 file stored " \
           "before" in err


def test_a_run_beside_this_one_that_recorded_the_same_files_first_is_reported_not_claimed(folder, tmp_path, monkeypatch):
    """Two `library add` runs at once: the second said "18 stored" and recorded nothing (`ON CONFLICT DO
    NOTHING`), because its state was read before the first recorded."""
    import shutil

    from musim.config import get_settings
    from musim.library import add_files

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy, symlinks=True)
    stale = add_files.load_state(get_settings())  # what the second run read before the first recorded
    first = add([folder])
    monkeypatch.setattr(add_files, "load_state", lambda settings: stale)
    again = add([folder])  # the same paths: already stored
    assert (again.stored, again.already_stored) == (0, first.stored)
    beside = add([copy])  # other paths, same content: duplicates of what the first run stored
    dups = [s for s in beside.skipped if s["reason"] == "duplicate_content"]
    assert beside.stored == 0 and len(dups) == first.stored + 1  # + the folder's own copy.ogg
    assert any("(stored by a run beside this one)" in d for d in beside.details.values())
    assert beside.files == beside.stored + beside.already_stored + len(beside.skipped)


def test_objects_a_remove_beside_this_run_deleted_before_it_recorded_are_stored_again(folder, monkeypatch):
    """`library remove` beside `library add` deleted the excerpts the add had stored but not yet recorded (no
    track pointed at them when it looked); the add recorded tracks whose audio was gone, for good."""
    from musim.library import add_files

    store = open_store()
    real_groups = add_files.group_files

    def remove_beside(artists, known):  # runs under the writer, before the record: as if a remove ran just before
        for info in list(store.list("audio/previews/")):
            store.delete(info.key)
        return real_groups(artists, known)

    monkeypatch.setattr(add_files, "group_files", remove_beside)
    summary = add([folder])
    keys = [r[0] for r in rows("SELECT object_key FROM library_track")]
    assert summary.stored == len(keys) > 0 and all(store.exists(k) for k in keys)


def test_a_partial_object_a_killed_run_left_goes_with_the_next_run(folder):
    """`cleanup_incomplete` had no caller: a killed writer's `.musim-tmp-*` stayed beside the objects for good."""
    import time

    from musim.storage.local import TMP_PREFIX

    store = open_store()
    stray = store.root / "audio" / "previews" / f"{TMP_PREFIX}0123abcd"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"half an excerpt")
    hour_ago = time.time() - 3700
    os.utime(stray, (hour_ago, hour_ago))
    add([folder / "Maxstack"])
    assert not stray.exists()


def test_two_spellings_with_one_musicbrainz_id_are_one_artist_and_ingest_goes_on(tmp_path):
    """"Sam Cooke" and "Samuel Cook" tagged with one MBID became two artists with one key, after which every
    Last.FM ingest stopped ("a user or artist key is now stored twice ... a musim bug")."""
    from musim.ingest.lastfm import ingest_lastfm
    from tests.lastfm_files import tiny_dump

    root = tmp_path / "music"
    for i, name in enumerate(("Sam Cooke", "Samuel Cook")):
        path = write_audio(root / f"{i}.flac", "flac", seconds=8, freq=300 + 200 * i)
        write_tags(path, "flac", artist=name, mbid=MBID)
    add([root])
    assert len({r[0] for r in rows("SELECT artist_id FROM library_track")}) == 1
    assert rows("SELECT count(*) FROM artist WHERE artist_key = ?", f"mbid:{MBID}") == [(1,)]
    result = ingest_lastfm(tiny_dump(tmp_path / "plays.tsv"))
    assert result.loaded == result.lines > 0


def _nirvanas(root, tagged: dict[str, int], untagged: int = 0) -> None:
    """Files by "Nirvana": ``tagged`` MBID -> files with that MusicBrainz artist id, and ``untagged`` files."""
    n = 0
    for mbid, count in [*tagged.items(), (None, untagged)]:
        for _ in range(count):
            path = write_audio(root / f"{n:02d} song.flac", "flac", seconds=6, freq=200 + 40 * n)
            write_tags(path, "flac", artist="Nirvana", title=f"Song {n}", **({"mbid": mbid} if mbid else {}))
            n += 1


def _artists_by_mbid():
    return dict(rows("SELECT coalesce(CAST(a.mbid AS VARCHAR), 'none'), count(*) FROM library_track t "
                     "JOIN library_artist a USING (artist_id) GROUP BY ALL"))


def test_one_name_with_two_musicbrainz_ids_is_two_artists_and_removing_one_keeps_the_other(tmp_path):
    """The library keyed artists by name: two bands called "Nirvana", tagged with their own MusicBrainz ids, were
    one artist (the first id), and `library remove --artist Nirvana` took both bands' tracks."""
    from tests.lastfm_files import MB_A, MB_B

    _nirvanas(tmp_path / "music", {MB_A: 2, MB_B: 1})
    summary = add([tmp_path / "music"])
    assert summary.artists == 2
    assert summary.tracks_by_artist == {f"Nirvana (MBID {MB_A})": 2, f"Nirvana (MBID {MB_B})": 1}
    assert _artists_by_mbid() == {MB_A: 2, MB_B: 1}
    assert sorted(r[0] for r in rows("SELECT artist_key FROM artist")) == [f"mbid:{MB_A}", f"mbid:{MB_B}"]
    with pytest.raises(ParameterError, match=rf"'Nirvana' names 2 library artists: Nirvana \(id \d+, MBID {MB_A}, 2 tracks\); "
                                             rf"Nirvana \(id \d+, MBID {MB_B}, 1 track\); give the id"):
        remove_tracks(artist="Nirvana")
    assert len(list_tracks("Nirvana")) == 3 and len(list_tracks(MB_B)) == 1
    assert len(remove_tracks(artist=MB_B)) == 1
    assert _artists_by_mbid() == {MB_A: 2}
    assert len(remove_tracks(artist="nirvana")) == 2  # one artist of that name now


def test_untagged_files_join_the_only_musicbrainz_id_of_their_name_and_keep_apart_when_there_are_two(tmp_path):
    from tests.lastfm_files import MB_A, MB_B

    _nirvanas(tmp_path / "one", {MB_A: 1}, untagged=2)
    assert add([tmp_path / "one"]).artists == 1 and _artists_by_mbid() == {MB_A: 3}
    later = write_audio(tmp_path / "later" / "song.flac", "flac", seconds=6, freq=900)  # its name's id is stored
    write_tags(later, "flac", artist="nirvana", title="Later")
    add([later])
    assert _artists_by_mbid() == {MB_A: 4}
    remove_tracks(artist=MB_A)
    # two ids for one name: its untagged files cannot be told apart, so they are an artist of their own
    _nirvanas(tmp_path / "two", {MB_A: 1, MB_B: 1}, untagged=2)
    summary = add([tmp_path / "two"])
    assert _artists_by_mbid() == {MB_A: 1, MB_B: 1, "none": 2}
    assert summary.tracks_by_artist == {f"Nirvana (MBID {MB_A})": 1, f"Nirvana (MBID {MB_B})": 1,
                                        "Nirvana (no MBID)": 2}
    assert len({r[0] for r in rows("SELECT artist_id FROM library_track")}) == 3


def test_a_musicbrainz_id_never_joins_a_catalogue_artist_of_its_name_with_another_id(tmp_path):
    """A library "Nirvana" tagged with another band's MusicBrainz id than the catalogue's "Nirvana" was joined to
    it by name, and served as that band."""
    from tests.lastfm_files import MB_A, MB_B

    with warehouse.writer() as con:
        con.execute("""INSERT INTO artist (artist_id, artist_key, mbid, name, name_norm, is_placeholder, first_dump_id)
                       VALUES (1, ?, ?, 'Nirvana', 'nirvana', false, 'd1')""", [f"mbid:{MB_A}", MB_A])
    _nirvanas(tmp_path / "music", {MB_B: 1})
    add([tmp_path / "music"])
    assert rows("SELECT artist_id, CAST(mbid AS VARCHAR), lastfm_match FROM library_artist") == [(2, MB_B, "none")]


def test_a_featured_artist_is_not_made_an_artist_from_one_credit(tmp_path):
    root = tmp_path / "music"
    for i, credit in enumerate(("Oaktam", "Oaktam feat. Soljun", "Oaktam (ft. Max)", "Simon & Garfunkel")):
        write_tags(write_audio(root / f"{i}.ogg", "ogg", seconds=6, freq=250 + 70 * i), "ogg", artist=credit)
    assert add([root]).tracks_by_artist == {"Oaktam": 3, "Simon & Garfunkel": 1}
    assert sorted(r[0] for r in rows("SELECT name FROM artist")) == ["Oaktam", "Simon & Garfunkel"]


def test_an_untagged_unnumbered_file_in_an_album_folder_is_the_artist_folders(tmp_path):
    write_audio(tmp_path / "music" / "Oaktam" / "Night Drive" / "first light.wav", "wav", seconds=6)
    write_audio(tmp_path / "music" / "Oaktam" / "Night Drive" / "02 - second light.wav", "wav", seconds=6, freq=500)
    assert add([tmp_path / "music"]).tracks_by_artist == {"Oaktam": 2}


def _library_tables() -> dict[str, list]:
    """The library's tables with each artist id read as its (name, MBID): ids are given in the order artists
    appear, the rest must not depend on it. Every track's ``preview`` and ``track`` rows name its artist too."""
    artists = rows("SELECT name, CAST(mbid AS VARCHAR), lastfm_match, spellings, name_keys FROM library_artist "
                   "ORDER BY ALL")
    tracks = rows("""SELECT t.* EXCLUDE (artist_id, added_at), a.name, CAST(a.mbid AS VARCHAR),
                            p.artist_id = t.artist_id AND k.artist_id = t.artist_id AS same_artist_everywhere
                     FROM library_track t JOIN library_artist a USING (artist_id)
                     JOIN preview p USING (track_id) JOIN track k USING (track_id) ORDER BY t.track_id""")
    catalogue = rows("SELECT artist_key, name, CAST(mbid AS VARCHAR) FROM artist ORDER BY ALL")
    return {"library_artist": artists, "library_track": tracks, "artist": catalogue}


def test_the_artists_of_untagged_files_do_not_depend_on_the_order_folders_were_added(tmp_path, monkeypatch,
                                                                                    capsys):
    """An untagged "Nirvana" file stored beside a file tagged with one MBID joined that band, and stayed there when
    a folder with a second MBID of the name came later; added the other way round, it was "Nirvana (no MBID)"."""
    from tests.lastfm_files import MB_A, MB_B

    first, second = tmp_path / "first", tmp_path / "second"
    for n, (folder, mbid) in enumerate(((first, MB_A), (first, None), (first, None), (second, MB_B))):
        path = write_audio(folder / f"{n:02d} song.flac", "flac", seconds=6, freq=200 + 40 * n)
        write_tags(path, "flac", artist="nirvana" if n == 2 else "Nirvana", title=f"Song {n}",
                   **({"mbid": mbid} if mbid else {}))
    tables, moved = {}, {}
    for order in ((first, second), (second, first)):
        monkeypatch.setenv("MUSIM_HOME", str(tmp_path / "home" / order[0].name))
        moved[order[0].name] = [add([folder]) for folder in order]
        tables[order[0].name] = _library_tables()
    assert tables["first"] == tables["second"]
    assert {k: [s.regrouped for s in v] for k, v in moved.items()} == {"first": [0, 2], "second": [0, 0]}
    monkeypatch.setenv("MUSIM_HOME", str(tmp_path / "home" / "cli"))
    add([first])
    capsys.readouterr()
    assert main(["library", "add", str(second), "--no-progress"]) == 0
    assert ("2 untagged files stored before moved to their name's artist without an MBID: the name has several "
            "MusicBrainz ids now") in capsys.readouterr().out  # the two untagged files, once MB_B came
    assert _artists_by_mbid() == {MB_A: 1, MB_B: 1, "none": 2}
    by_title = {r[0]: r[1] for r in rows("SELECT t.title, coalesce(CAST(a.mbid AS VARCHAR), 'none') "
                                         "FROM library_track t JOIN library_artist a USING (artist_id)")}
    assert by_title == {"Song 0": MB_A, "Song 1": "none", "Song 2": "none", "Song 3": MB_B}


def test_list_tells_artists_of_one_name_apart_by_the_id_remove_takes(tmp_path, capsys):
    """Two artists of one name were two identical "Nirvana" cells in `library list` (the ids only in --json), and
    the untagged one ("no MBID") could not be named to `library remove --artist` at all."""
    from tests.lastfm_files import MB_A, MB_B

    _nirvanas(tmp_path / "music", {MB_A: 1, MB_B: 1}, untagged=1)
    other = write_audio(tmp_path / "music" / "other.flac", "flac", seconds=6, freq=990)
    write_tags(other, "flac", artist="Elysis", title="Theme")
    add([tmp_path / "music"])
    ids = {(name, mbid): i for i, name, mbid in rows("SELECT artist_id, name, CAST(mbid AS VARCHAR) FROM library_artist")}
    a, b, none = ids["Nirvana", MB_A], ids["Nirvana", MB_B], ids["Nirvana", None]
    capsys.readouterr()
    assert main(["library", "list"]) == 0
    cells = {line.split("  ")[0].rstrip() for line in capsys.readouterr().out.splitlines()[2:]}
    assert cells == {f"Nirvana (id {a}, MBID {MB_A[:8]}…)", f"Nirvana (id {b}, MBID {MB_B[:8]}…)",
                     f"Nirvana (id {none}, no MBID)", "Elysis"}
    assert main(["library", "remove", "--artist", str(none), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["removed"]) == 1
    assert sorted(r[0] for r in rows("SELECT artist_id FROM library_track")) == sorted([a, b, ids["Elysis", None]])
    with pytest.raises(ParameterError, match=rf"'Nirvana' names 2 library artists: Nirvana \(id {a}, MBID {MB_A}, 1 track\); "
                                             rf"Nirvana \(id {b}, MBID {MB_B}, 1 track\); give the id"):
        remove_tracks(artist="Nirvana")


def test_id_form_removes_the_artist_of_an_id_when_numbers_name_other_artists(tmp_path, capsys):
    """Artists named "3", "2", "1" with ids 1, 2, 3: `--artist 1` named two artists (the one called "1" and the one
    of id 1) and the refusal's advice, `--artist ID`, was the same refusal."""
    names = ["3", "2", "1"]
    for i, name in enumerate(names):  # one add each: ids 1, 2, 3 in this order
        path = write_audio(tmp_path / name / "a.ogg", "ogg", seconds=8, freq=300 + 40 * i, seed=i)
        write_tags(path, "ogg", artist=name, title=f"t{i}")
        add([tmp_path / name])
    ids = {r["artist"]: r["artist_id"] for r in list_tracks()}
    assert ids == {"3": 1, "2": 2, "1": 3}
    assert main(["library", "remove", "--artist", "1"]) == 2
    err = capsys.readouterr().err
    assert "names 2 library artists" in err and "--artist id:1" in err
    assert main(["library", "list", "--artist", "id:1", "--json"]) == 0
    assert {r["artist"] for r in json.loads(capsys.readouterr().out)} == {"3"}
    assert main(["library", "remove", "--artist", "id:1"]) == 0
    capsys.readouterr()
    assert {r["artist"] for r in list_tracks()} == {"2", "1"}
    assert main(["library", "remove", "--artist", "id:x"]) == 2
    assert "an artist id is a whole number (--artist id:3)" in capsys.readouterr().err
    assert main(["library", "remove", "--artist", "id:77"]) == 2
    assert "no library artist 'id:77'" in capsys.readouterr().err


# Excerpts cut by an older reader. Before musim.audio.window.read_window entered a stream a second early, an m4a excerpt
# cut at an offset differed from the same window of a full decode (AAC's overlap missing at the seek point), and a
# rerun of `library add` never read an unchanged file again: library_track.excerpt_reader records the reader's
# version, and an older one's excerpt is read again.


def _old_reader_cut(path, offset_s: float, duration_s: float) -> np.ndarray:
    """The window as the library's reader before the pre-roll cut an m4a (read_excerpt's PyAV path then): seek to
    the keyframe before the offset, decode from there, cut by the first frame's time."""
    import av

    chunks = []
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        sr = stream.codec_context.sample_rate
        container.seek(int(offset_s / stream.time_base), stream=stream, backward=True, any_frame=False)
        first, want = None, int(round(duration_s * sr))
        for frame in container.decode(stream):
            first = float(frame.pts * stream.time_base) if first is None else first
            chunks.append(frame.to_ndarray().reshape(1, -1).astype(np.float32))
            if sum(c.shape[1] for c in chunks) >= want + int((offset_s - first) * sr):
                break
    skip = max(0, int(round((offset_s - first) * sr)))
    return np.concatenate(chunks, axis=1)[:, skip:skip + want]


def _as_if_cut_by_the_old_reader(track_id: str, flac: bytes) -> str:
    """Point a stored library track at ``flac`` as a store written before excerpt_reader was recorded has it (what
    migration 025 marks version 1); its current object goes. Returns the old object's key."""

    store = open_store()
    (key,) = rows("SELECT object_key FROM library_track WHERE track_id = ?", track_id)[0]
    store.delete(key)
    old = store.put_content_addressed(flac, prefix="audio/previews", ext="flac")
    with warehouse.writer() as con:
        con.execute("UPDATE library_track SET object_key = ?, sha256 = ?, excerpt_reader = ? WHERE track_id = ?",
                    [old.key, old.sha256, 1, track_id])
        con.execute("UPDATE preview SET object_key = ?, sha256 = ?, bytes = ? WHERE track_id = ?",
                    [old.key, old.sha256, old.size, track_id])
        con.execute("UPDATE track SET object_key = ?, sha256 = ? WHERE track_id = ?", [old.key, old.sha256, track_id])
    return old.key


def _features_facts() -> dict:
    """The features suite's whole-table facts, with the parameters the suite gives its query."""
    from musim import sql
    from musim.config import get_settings
    from musim.quality.registry import CheckContext
    from musim.quality.suites.features import descriptor_params

    with warehouse.writer() as con:
        ctx = CheckContext(con, get_settings().quality)
        cur = sql.query(con, "quality/features_invariants.sql", **descriptor_params(ctx))
        return dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))


def test_an_m4a_excerpt_cut_by_the_old_reader_is_read_again_and_gets_new_features(tmp_path, capsys):
    """The stale excerpt (an m4a cut at 5 s by the reader before the pre-roll: 0.18 off in the samples) is read again
    by the next add of its unchanged file, equal to a fresh read_window cut of the same window; the track, its
    preview and library row point at it, the old object goes, the old audio's spectrograms stay (as the track's
    older values) and the next feature build adds the new audio's."""
    from musim.audio.window import READ_WINDOW_VERSION, read_window
    from musim.library.formats import encode_flac

    path = write_audio(tmp_path / "music" / "Maxstack" / "long.m4a", "m4a", seconds=20, freq=500)
    write_tags(path, "m4a", artist="Maxstack", title="Long")
    add([tmp_path / "music"], excerpt_s=10)  # window [5, 15): the second add (30 s by default) keeps it
    (t,) = list_tracks()
    assert (t["excerpt_offset_s"], t["excerpt_duration_s"], t["excerpt_stale"]) == (5.0, 10.0, False)
    fresh, sr = read_window(str(path), offset=5.0, duration=10.0, pyav=True)
    stale = _old_reader_cut(path, 5.0, 10.0)
    assert np.abs(stale - fresh).max() > 0.01  # what the old reader stored differs
    old_key = _as_if_cut_by_the_old_reader(t["track_id"], encode_flac(stale, sr))
    assert main(["features", "build", "--no-progress", "--no-publish", "--workers", "1"]) == 0
    (old_sha,) = rows("SELECT sha256 FROM track WHERE track_id = ?", t["track_id"])[0]
    assert rows("SELECT DISTINCT audio_id FROM track_mel WHERE track_id = ?", t["track_id"]) == [(old_sha,)]
    capsys.readouterr()
    assert main(["library", "list"]) == 0
    assert "1 stored excerpt of these cut by an older reader" in capsys.readouterr().err

    assert main(["library", "add", str(tmp_path / "music")]) == 0
    out = capsys.readouterr()
    assert "1 file: 0 stored, 1 already stored (re-read 1 excerpt cut by an older reader), 0 skipped" in out.out
    assert "older reader" not in out.err  # none left
    (t2,) = list_tracks()
    assert t2["object_key"] != old_key and not t2["excerpt_stale"]
    assert open_store().get_bytes(t2["object_key"]) == encode_flac(fresh, sr)  # exactly a fresh cut
    assert not open_store().exists(old_key)
    new_sha = rows("SELECT sha256, excerpt_reader FROM library_track")[0]
    assert new_sha[1] == READ_WINDOW_VERSION
    assert rows("SELECT object_key, sha256 FROM track") == rows("SELECT object_key, sha256 FROM preview") \
        == [(t2["object_key"], new_sha[0])]
    assert rows("SELECT count(*) FROM track_mel WHERE sha256 = ?", old_sha)[0][0] > 0  # history: the old ones stay
    assert _features_facts()["mel_audio_mismatches"] == 0  # of the track's audio when they were made

    assert main(["features", "build", "--no-progress", "--no-publish", "--workers", "1"]) == 0
    assert rows("SELECT DISTINCT audio_id FROM track_mel WHERE track_id = ? ORDER BY created_at", t["track_id"]) \
        == [(old_sha,), (new_sha[0],)]
    facts = _features_facts()
    assert facts["mel_audio_mismatches"] == facts["descriptor_audio_mismatches"] == 0
    again = add([tmp_path / "music"]).to_json()  # current now: not read again
    assert (again["already_stored"], again["reread"], again["stale"]) == (1, 0, 0)


def test_a_reread_keeps_a_pinned_training_set_and_the_features_gate_passes(tmp_path, capsys):
    """A model trained before its excerpts were read again pinned its training set then: the old audio's features
    stay its training set as of the pin (unchanged), the new audio's are the tracks' values as of now, and `features
    build` passes its gate with half the catalogue re-read (deleting the old ones failed training_sets for good:
    the pinned set lost those tracks)."""
    import datetime as dt

    from musim.audio.window import read_window
    from musim.features import FeatureService, get_training_frame, register_service
    from musim.features.definitions import track_descriptors, track_log_mel
    from musim.library.formats import encode_flac

    for name, freq in (("long", 500), ("other", 700)):
        path = write_audio(tmp_path / "music" / "Maxstack" / f"{name}.m4a", "m4a", seconds=20, freq=freq)
        write_tags(path, "m4a", artist="Maxstack", title=name)
    add([tmp_path / "music"], excerpt_s=10)
    tracks = {t["title"]: t["track_id"] for t in list_tracks()}
    long = tmp_path / "music" / "Maxstack" / "long.m4a"
    _, sr = read_window(str(long), offset=5.0, duration=10.0, pyav=True)
    _as_if_cut_by_the_old_reader(tracks["long"], encode_flac(_old_reader_cut(long, 5.0, 10.0), sr))
    assert main(["features", "build", "--no-progress", "--workers", "1"]) == 0
    pin = dt.datetime.now(dt.UTC)
    service = FeatureService("model-before", (track_log_mel, track_descriptors), model_version="m1", as_of=pin)
    with warehouse.writer() as con:
        register_service(con, service)
    ids = sorted(tracks.values())
    before = get_training_frame("model-before", ids)
    (old_sha,) = rows("SELECT sha256 FROM track WHERE track_id = ?", tracks["long"])[0]

    assert main(["library", "add", str(tmp_path / "music")]) == 0
    assert "re-read 1 excerpt" in capsys.readouterr().out
    (new_sha,) = rows("SELECT sha256 FROM track WHERE track_id = ?", tracks["long"])[0]
    assert new_sha != old_sha
    assert main(["features", "build", "--no-progress", "--workers", "1"]) == 0, capsys.readouterr().err

    at_pin = get_training_frame("model-before", ids)
    assert at_pin.drop(columns="as_of").equals(before.drop(columns="as_of"))  # the pinned set, unchanged
    mel = f"{track_log_mel.name}__{track_log_mel.schema[0].name}"
    assert old_sha in at_pin.loc[at_pin.track_id == tracks["long"], mel].item()
    now = get_training_frame("model-before", ids, as_of=dt.datetime.now(dt.UTC))
    assert new_sha in now.loc[now.track_id == tracks["long"], mel].item()
    assert now.loc[now.track_id == tracks["other"], mel].item() == at_pin.loc[at_pin.track_id == tracks["other"], mel].item()
    desc = [c for c in now.columns if c.startswith(f"{track_descriptors.name}__")]
    assert not now.loc[now.track_id == tracks["long"], desc].equals(at_pin.loc[at_pin.track_id == tracks["long"], desc])


def test_a_reread_whose_new_audio_is_rejected_serves_no_features_now_but_keeps_the_pinned_set(tmp_path, capsys):
    """An excerpt read again whose new audio the next build rejects (too short for that build's --min-duration): the
    track has no current features (online values, the tensor cache, a training set as of now, the view's entity
    count), the rejection is reported, and a service pinned before the re-read still gets the old audio's rows; a
    later build that accepts the new audio serves it again (a newer value wins over the rejection)."""
    import datetime as dt

    from musim.audio.window import read_window
    from musim.features import FeatureService, get_training_frame, register_service
    from musim.features.cache import cache_log_mels
    from musim.features.definitions import track_descriptors, track_log_mel
    from musim.features.online import OnlineStore
    from musim.library.formats import encode_flac

    path = write_audio(tmp_path / "music" / "Maxstack" / "long.flac", "flac", seconds=20, freq=500)
    add([tmp_path / "music"], excerpt_s=10)  # window [5, 15)
    (t,) = list_tracks()
    fresh, sr = read_window(str(path), offset=5.0, duration=10.0, pyav=False)
    _as_if_cut_by_the_old_reader(t["track_id"], encode_flac(0.5 * fresh, sr))  # other samples: another sha256
    assert main(["features", "build", "--no-progress", "--no-publish", "--workers", "1"]) == 0
    pin = dt.datetime.now(dt.UTC)
    with warehouse.writer() as con:
        register_service(con, FeatureService("model-before", (track_log_mel, track_descriptors), model_version="m1",
                                             as_of=pin))
    before = get_training_frame("model-before", [t["track_id"]])
    mel = f"{track_log_mel.name}__{track_log_mel.schema[0].name}"
    desc = [c for c in before.columns if c.startswith(f"{track_descriptors.name}__")]
    (old_sha,) = rows("SELECT sha256 FROM track WHERE track_id = ?", t["track_id"])[0]
    assert old_sha in before[mel].item() and before[desc].notna().all(axis=None)

    assert main(["library", "add", str(tmp_path / "music")]) == 0
    assert "re-read 1 excerpt" in capsys.readouterr().out
    (new_sha,) = rows("SELECT sha256 FROM track WHERE track_id = ?", t["track_id"])[0]
    assert new_sha != old_sha
    # the only track rejected leaves the training sets none: their gate fails that (tests/quality); not judged here
    assert main(["features", "build", "--no-progress", "--no-publish", "--workers", "1", "--min-duration", "12",
                 "--skip-quality"]) == 0
    assert "rejected (too_short): 3" in capsys.readouterr().out  # of the new audio (10 s), by each extractor
    assert {r[0] for r in rows("SELECT sha256 FROM feature_reject")} == {new_sha}

    now = get_training_frame("model-before", [t["track_id"]], as_of=dt.datetime.now(dt.UTC))
    assert now[mel].isna().item() and now[desc].isna().all(axis=None)  # no current features
    with warehouse.writer() as con:
        assert t["track_id"] not in OnlineStore.from_warehouse(con, track_descriptors)
        assert cache_log_mels([t["track_id"]], con=con, folder=tmp_path / "cache").missing == (t["track_id"],)
    at_pin = get_training_frame("model-before", [t["track_id"]])
    assert at_pin.drop(columns="as_of").equals(before.drop(columns="as_of"))  # the pinned set, unchanged
    assert main(["features", "show", track_log_mel.name]) == 0
    shown = capsys.readouterr().out
    assert "entities with values: 0;" in shown and "rejected (too_short): 1" in shown

    assert main(["features", "build", "--no-progress", "--no-publish", "--workers", "1"]) == 0  # accepted now
    later = get_training_frame("model-before", [t["track_id"]], as_of=dt.datetime.now(dt.UTC))
    assert new_sha in later[mel].item() and later[desc].notna().all(axis=None)
    with warehouse.writer() as con:
        assert t["track_id"] in OnlineStore.from_warehouse(con, track_descriptors)
    assert get_training_frame("model-before", [t["track_id"]]).drop(columns="as_of").equals(before.drop(columns="as_of"))


def test_an_excerpt_missing_from_the_store_is_stored_again_from_its_file(tmp_path, capsys):
    """An excerpt deleted from the object store (by hand, a store restored from an older backup) left its track
    pointing at nothing: a rerun said ``already stored`` and, even with ``--retry``, never stored it again, while the
    feature build skipped the track as missing. The rerun reads the same window again and stores it under the same
    key; the track, its sha256 and the other excerpts stay as they were."""
    write_audio(tmp_path / "music" / "A" / "one.flac", "flac", seconds=20, freq=500)
    write_audio(tmp_path / "music" / "A" / "two.ogg", "ogg", seconds=20, freq=700)
    add([tmp_path / "music"], excerpt_s=10)
    before = rows("SELECT track_id, object_key, sha256 FROM track ORDER BY 1")
    store = open_store()
    gone = before[0][1]
    kept = store.get_bytes(gone)
    store.delete(gone)
    assert main(["library", "add", str(tmp_path / "music"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["already_stored"], out["restored"], out["reread"], out["stored"]) == (2, 1, 0, 0)
    assert store.get_bytes(gone) == kept
    assert rows("SELECT track_id, object_key, sha256 FROM track ORDER BY 1") == before
    assert rows("SELECT count(*) FROM track_audio_history") == [(0,)]
    assert main(["library", "add", str(tmp_path / "music")]) == 0  # nothing missing now: nothing read again
    assert capsys.readouterr().out.startswith("2 files: 0 stored, 2 already stored, 0 skipped")


def test_only_excerpts_of_an_older_reader_are_read_again(tmp_path):
    """A current excerpt and a whole stored file (no excerpt: features read it through today's reader), even one
    marked with an old version, are not decoded again; nothing is stored or re-pointed."""

    write_audio(tmp_path / "music" / "A" / "current.m4a", "m4a", seconds=20, freq=500)
    write_audio(tmp_path / "whole" / "B" / "whole.m4a", "m4a", seconds=20, freq=600)
    add([tmp_path / "music"], excerpt_s=10)
    add([tmp_path / "whole"], excerpt_s=10, keep_whole=True)
    with warehouse.writer() as con:
        con.execute("UPDATE library_track SET excerpt_reader = ? WHERE stored = 'whole'", [1])
    before = rows("SELECT track_id, object_key, sha256 FROM track ORDER BY 1")
    objects = sorted(o.key for o in open_store().list("audio/previews/"))
    calls: list[str] = []
    import musim.library.scan as scan

    real = scan.examine
    scan.examine = lambda item, **kw: (calls.append(item.path.name), real(item, **kw))[1]
    try:
        out = add([tmp_path / "music", tmp_path / "whole"], workers=1).to_json()
    finally:
        scan.examine = real
    assert calls == [] and (out["already_stored"], out["reread"], out["stale"]) == (2, 0, 0)
    assert rows("SELECT track_id, object_key, sha256 FROM track ORDER BY 1") == before
    assert sorted(o.key for o in open_store().list("audio/previews/")) == objects


def test_stale_excerpts_of_files_not_given_stay_and_the_add_says_what_to_do(tmp_path, capsys):
    """An add of another folder reads nothing else again: the stale excerpt stays as it is, counted, with the
    command that reads it again; a file gone from its folder keeps its excerpt too."""

    write_audio(tmp_path / "old" / "A" / "a.m4a", "m4a", seconds=20, freq=500)
    write_audio(tmp_path / "new" / "B" / "b.flac", "flac", seconds=8, freq=600)
    add([tmp_path / "old"], excerpt_s=10)
    with warehouse.writer() as con:
        con.execute("UPDATE library_track SET excerpt_reader = ?", [1])
    (key,) = rows("SELECT object_key FROM library_track")[0]
    assert main(["library", "add", str(tmp_path / "new"), "--width", "0"]) == 0
    out = capsys.readouterr()
    assert "1 file: 1 stored, 0 already stored, 0 skipped" in out.out
    assert "note: 1 stored excerpt cut by an older reader, not read again here" in out.err
    assert f"`musim library add {tmp_path / 'old' / 'A'}` reads them again" in out.err
    assert main(["library", "add", str(tmp_path / "new"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stale"] == 1
    (tmp_path / "old" / "A" / "a.m4a").unlink()
    assert add([tmp_path / "old"]).to_json()["stale"] == 1  # gone: kept as it is
    assert rows("SELECT object_key FROM library_track WHERE source_path LIKE '%a.m4a'") == [(key,)]
    assert open_store().exists(key)


def test_the_migration_marks_the_excerpts_an_older_reader_cut_differently(monkeypatch, musim_home):
    """025: excerpts of mp3 and m4a files at an offset are version 1 (the seek without pre-roll changed them); an
    excerpt from the start, one of a format libsndfile seeks exactly, and a whole stored file are current (2)."""
    import musim.warehouse as wh

    every = wh.available_migrations()
    monkeypatch.setattr(wh, "available_migrations", lambda: [m for m in every if m[0] < 25])
    con = wh.connect()
    con.execute("""INSERT INTO library_artist (artist_id, name, mbid, lastfm_match, spellings, name_keys)
                   VALUES (1, 'Maxstack', NULL, 'none', ['Maxstack'], ['maxstack'])""")
    cases = {"m4a-at-5": ("m4a", 5.0, "excerpt"), "mp3-at-5": ("mp3", 5.0, "excerpt"),
             "m4a-at-0": ("m4a", 0.0, "excerpt"), "mp3-at-0": ("mp3", 0.0, "excerpt"),
             "ogg-at-5": ("ogg", 5.0, "excerpt"), "opus-at-5": ("opus", 5.0, "excerpt"),
             "flac-at-5": ("flac", 5.0, "excerpt"), "m4a-whole": ("m4a", 5.0, "whole"),
             "mp3-whole": ("mp3", 5.0, "whole")}
    for n, (name, (fmt, offset, stored)) in enumerate(cases.items()):
        con.execute("""INSERT INTO library_track (track_id, artist_id, name_key, artist_spelling, artist_rule, title,
                       source_path, source_sha256, source_bytes, source_format, duration_s, excerpt_offset_s,
                       excerpt_duration_s, stored, object_key, sha256)
                       VALUES (?, 1, 'maxstack', 'Maxstack', 'folder', ?, ?, ?, 1000, ?, 40.0, ?, 30.0, ?, ?, ?)""",
                    [name, name, f"/music/{name}", f"src{n}", fmt, offset, stored, f"audio/previews/{n}.flac", f"o{n}"])
    con.close()
    monkeypatch.setattr(wh, "available_migrations", lambda: [m for m in every if m[0] < 38])
    con = wh.connect()
    got = dict(con.execute("SELECT track_id, excerpt_reader FROM library_track").fetchall())
    assert got == {"m4a-at-5": 1, "mp3-at-5": 1, "m4a-at-0": 2, "mp3-at-0": 2, "ogg-at-5": 2, "opus-at-5": 2,
                   "flac-at-5": 2, "m4a-whole": 2, "mp3-whole": 2}
    con.close()
    # 038: version 3 reads a chained file whole; version 2's excerpts of the formats that can be chained stay 2 (the
    # next add reads their headers), every other version-2 row is current; version 1 stays stale
    monkeypatch.setattr(wh, "available_migrations", lambda: every)
    con = wh.connect()
    got = dict(con.execute("SELECT track_id, excerpt_reader FROM library_track").fetchall())
    assert got == {"m4a-at-5": 1, "mp3-at-5": 1, "m4a-at-0": 3, "mp3-at-0": 2, "ogg-at-5": 2, "opus-at-5": 2,
                   "flac-at-5": 3, "m4a-whole": 3, "mp3-whole": 2}
    # 039: a whole mp3 (or Ogg) may be chained, its length version 2's of its first stream: the next add checks it


# A chained file (streams one after the other: a chained Ogg, MP3s `cat`-ed together) stored by reader version 2, which
# read its first stream only: its duration was the first part's and its excerpt the middle of the first part. A rescan
# took the file for known and never cut it again.


def _chained_ogg(path, *parts: tuple[float, float]):
    """A chained Ogg of tones (seconds, Hz), each part a Vorbis stream of its own, one after the other."""
    chunks = []
    for i, (seconds, freq) in enumerate(parts):
        part = write_audio(path.parent / f".part{i}.ogg", "ogg", seconds=seconds, freq=freq, seed=i)
        chunks.append(part.read_bytes())
        part.unlink()
    path.write_bytes(b"".join(chunks))
    return path


def _as_cut_by_version_2(track_id: str, path, offset_s: float, duration_s: float, first_s: float) -> str:
    """Point a stored library track at the excerpt reader version 2 cut of a chained file (its first stream's window,
    the file taken for ``first_s`` long), as a library scanned before version 3 has it. Returns the old object's key."""
    from musim.audio.window import _read_soundfile
    from musim.library.formats import encode_flac

    samples, sr = _read_soundfile(str(path), offset_s, duration_s)  # libsndfile: the first stream only
    store = open_store()
    (key,) = rows("SELECT object_key FROM library_track WHERE track_id = ?", track_id)[0]
    store.delete(key)
    old = store.put_content_addressed(encode_flac(samples, sr), prefix="audio/previews", ext="flac")
    with warehouse.writer() as con:
        con.execute("""UPDATE library_track SET object_key = ?, sha256 = ?, excerpt_reader = 2, duration_s = ?,
                       excerpt_offset_s = ?, excerpt_duration_s = ? WHERE track_id = ?""",
                    [old.key, old.sha256, first_s, offset_s, duration_s, track_id])
        con.execute("""UPDATE preview SET object_key = ?, sha256 = ?, bytes = ?, duration_s = ?, track_duration_s = ?,
                       excerpt_duration_s = ? WHERE track_id = ?""",
                    [old.key, old.sha256, old.size, duration_s, first_s, duration_s, track_id])
        con.execute("UPDATE track SET object_key = ?, sha256 = ?, duration_s = ?, excerpt_duration_s = ? "
                    "WHERE track_id = ?", [old.key, old.sha256, duration_s, duration_s, track_id])
    return old.key


def _examined(monkeypatch) -> list[str]:
    """The names of the files an add sends to be decoded (its audio pool's jobs)."""
    import musim.library.add_files as add_files

    calls: list[str] = []
    real = add_files.imap_surviving

    def recording(fn, jobs, **kwargs):
        jobs = list(jobs)
        calls.extend(item.path.name for _, item in jobs)
        return real(fn, jobs, **kwargs)

    monkeypatch.setattr(add_files, "imap_surviving", recording)
    return calls


def _zipped_radio(tmp_path, *, single_s: float):
    """``music/Radio.zip`` holding ``Radio/recording.ogg``, a chained Ogg of 12 s + 8 s, and ``Radio/single.ogg``, one
    stream of ``single_s``; returns the chained file zipped (made in ``made/``)."""
    import zipfile

    made = tmp_path / "made"
    chained = _chained_ogg(made / "recording.ogg", (12.0, 440.0), (8.0, 880.0))
    single = write_audio(made / "single.ogg", "ogg", seconds=single_s, freq=300)
    (tmp_path / "music").mkdir()
    with zipfile.ZipFile(tmp_path / "music" / "Radio.zip", "w") as zf:
        zf.write(chained, "Radio/recording.ogg")
        zf.write(single, "Radio/single.ogg")
    return chained


def test_a_chained_ogg_cut_by_the_first_stream_reader_is_cut_again_in_its_whole_length(tmp_path, capsys, monkeypatch):
    """A chained Ogg (12 s at 440 Hz, then 8 s at 880 Hz) stored as version 2 stored it (12 s long, its 6-s excerpt
    [3, 9) all of the first part) is cut again by the next add: the window chosen in its 20 s ([7, 13), both parts),
    the new object beside the old, the track, preview and library row swapped, the old object gone, and the summary
    says so. An ogg of one stream stored as version 2 is not decoded (its headers read): marked current."""
    from musim.audio.window import READ_WINDOW_VERSION, read_window
    from musim.library.formats import encode_flac

    music = tmp_path / "music" / "Radio"
    chained = _chained_ogg(music / "recording.ogg", (12.0, 440.0), (8.0, 880.0))
    single = write_audio(music / "single.ogg", "ogg", seconds=20, freq=300)
    add([tmp_path / "music"], excerpt_s=6)
    ids = {r["source_path"]: r["track_id"] for r in list_tracks()}
    old_key = _as_cut_by_version_2(ids[str(chained)], chained, 3.0, 6.0, 12.0)
    with warehouse.writer() as con:
        con.execute("UPDATE library_track SET excerpt_reader = 2 WHERE track_id = ?", [ids[str(single)]])
    single_before = rows("SELECT object_key, sha256 FROM track WHERE track_id = ?", ids[str(single)])
    monkeypatch.setenv("MUSIM_EXCERPT_S", "6")  # the CLI's window length: the test's
    calls = _examined(monkeypatch)

    assert main(["library", "add", str(tmp_path / "music"), "--workers", "1", "--width", "0"]) == 0
    out = capsys.readouterr()
    assert calls == ["recording.ogg"]
    assert ("2 files: 0 stored, 2 already stored (re-read 1 excerpt cut by an older reader, 1 of them re-cut in the "
            "whole length of a chained file") in out.out
    got = rows("""SELECT duration_s, excerpt_offset_s, excerpt_duration_s, excerpt_reader, object_key, sha256
                  FROM library_track WHERE track_id = ?""", ids[str(chained)])[0]
    assert got[0] == pytest.approx(20.0, abs=0.3) and got[1] == pytest.approx(7.0, abs=0.2) and got[2] == 6.0
    assert got[3] == READ_WINDOW_VERSION and got[4] != old_key and not open_store().exists(old_key)
    fresh, sr = read_window(str(chained), offset=got[1], duration=6.0, pyav=False)
    assert open_store().get_bytes(got[4]) == encode_flac(fresh, sr)  # a cut of the whole file's window
    assert rows("SELECT object_key, sha256, duration_s FROM track WHERE track_id = ?", ids[str(chained)]) \
        == rows("SELECT object_key, sha256, duration_s FROM preview WHERE track_id = ?", ids[str(chained)]) \
        == [(got[4], got[5], 6.0)]
    assert rows("SELECT track_duration_s FROM preview WHERE track_id = ?", ids[str(chained)])[0][0] == got[0]
    assert rows("SELECT object_key, sha256 FROM track WHERE track_id = ?", ids[str(single)]) == single_before
    assert rows("SELECT excerpt_reader FROM library_track WHERE track_id = ?", ids[str(single)]) \
        == [(READ_WINDOW_VERSION,)]
    calls.clear()
    again = add([tmp_path / "music"], excerpt_s=6, workers=1).to_json()  # current now: nothing decoded
    assert calls == [] and (again["already_stored"], again["reread"], again["recut"]) == (2, 0, 0)


def test_a_chained_excerpt_that_cannot_be_cut_again_keeps_the_old_one(tmp_path, monkeypatch):
    """A re-cut that fails (here its encoding) leaves the track on its old excerpt, stored and recorded, still of
    version 2: the next add tries again."""
    import musim.library.scan as scan
    from musim.library.formats import FileSkipped

    chained = _chained_ogg(tmp_path / "music" / "Radio" / "recording.ogg", (12.0, 440.0), (8.0, 880.0))
    add([tmp_path / "music"], excerpt_s=6)
    (t,) = list_tracks()
    old_key = _as_cut_by_version_2(t["track_id"], chained, 3.0, 6.0, 12.0)
    before = rows("SELECT * FROM library_track")

    def fail(*args, **kwargs):
        raise FileSkipped("undecodable", "the disk gave out")

    monkeypatch.setattr(scan, "encode_excerpt", fail)
    out = add([tmp_path / "music"], excerpt_s=6, workers=1).to_json()
    assert (out["already_stored"], out["reread"], out["recut"]) == (1, 0, 0)
    assert rows("SELECT * FROM library_track") == before and open_store().exists(old_key)


def _ogg_part(seconds: float, sr: int, channels: int, subtype: str = "VORBIS") -> bytes:
    """An Ogg stream of a tone, as bytes: a part of a chained Ogg."""
    y = np.sin(2 * np.pi * 440.0 * np.arange(int(seconds * sr)) / sr).astype(np.float32) * 0.3
    out = io.BytesIO()
    sf.write(out, np.stack([y] * channels, axis=1), sr, format="OGG", subtype=subtype)
    return out.getvalue()


@pytest.mark.parametrize(("second", "change"), [
    ((8.0, 44100, 1), "part 2 is Vorbis, 44100 Hz, 1 channel after part 1's Vorbis, 22050 Hz, 1 channel"),
    ((8.0, 22050, 2), "part 2 is Vorbis, 22050 Hz, 2 channels after part 1's Vorbis, 22050 Hz, 1 channel"),
    ((8.0, 48000, 1, "OPUS"), "part 2 is Opus, 48000 Hz, 1 channel after part 1's Vorbis, 22050 Hz, 1 channel")])
def test_a_chained_ogg_whose_parts_change_format_is_stored_from_its_first_part_with_a_warning(
        tmp_path, capsys, second, change):
    """A chained Ogg whose second part changes rate, channels or codec (FFmpeg cannot decode it whole) was stored from
    its first part without a word: it still is (its first part is the track's audio), but the summary counts it, the
    JSON lists it and a warning names the file, the part where the format changes and what to do."""
    path = tmp_path / "music" / "Radio" / "side.ogg"
    path.parent.mkdir(parents=True)
    path.write_bytes(_ogg_part(12.0, 22050, 1) + _ogg_part(*second))

    assert main(["library", "add", str(tmp_path / "music"), "--workers", "1", "--no-progress"]) == 0
    out = capsys.readouterr()
    assert "1 file: 1 stored (1 of them from their first part only: see the warnings)" in out.out
    assert f"warning: {path}: its parts cannot be decoded as one stream ({change})" in out.err
    assert "split it into its parts, or re-encode it as one stream" in out.err
    (t,) = list_tracks()
    assert t["duration_s"] == pytest.approx(12.0, abs=0.1)
    summary = add([tmp_path / "music"], workers=1).to_json()
    assert (summary["already_stored"], summary["first_part_only"]) == (1, [])
    other = tmp_path / "other" / "Radio" / "side b.ogg"
    other.parent.mkdir(parents=True)
    other.write_bytes(_ogg_part(10.0, 22050, 1) + _ogg_part(*second))
    (listed,) = add([tmp_path / "other"], workers=1).to_json()["first_part_only"]
    assert listed["path"] == str(other) and f"({change})" in listed["detail"]


def test_a_chained_file_stored_whole_by_version_2_gets_its_whole_length_recorded(tmp_path, capsys, monkeypatch):
    """A chained Ogg stored whole (--keep-whole) by version 2 kept its first part's length (12 s of 20) in its rows:
    the next add of its folder records its whole length (nothing stored again), says so, and the next one does
    nothing; a whole Ogg of one stream is marked current without a change."""
    music = tmp_path / "music" / "Radio"
    chained = _chained_ogg(music / "recording.ogg", (12.0, 440.0), (8.0, 880.0))
    single = write_audio(music / "single.ogg", "ogg", seconds=10, freq=300)
    add([tmp_path / "music"], keep_whole=True)
    ids = {r["source_path"]: r["track_id"] for r in list_tracks()}
    with warehouse.writer() as con:  # as version 2 recorded them (migration 039 marks them version 2)
        con.execute("UPDATE library_track SET duration_s = 12.0, excerpt_reader = 2")
        con.execute("UPDATE preview SET duration_s = 12.0, track_duration_s = 12.0 WHERE track_id = ?",
                    [ids[str(chained)]])
        con.execute("UPDATE track SET duration_s = 12.0 WHERE track_id = ?", [ids[str(chained)]])
    objects = rows("SELECT object_key, sha256 FROM track ORDER BY track_id")
    calls = _examined(monkeypatch)

    assert main(["library", "add", str(tmp_path / "music"), "--workers", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert calls == [] and "(corrected the recorded length of 1 chained file stored whole" in out
    tid = ids[str(chained)]
    (length,) = rows("SELECT duration_s FROM library_track WHERE track_id = ?", tid)[0]
    assert length == pytest.approx(20.0, abs=0.3)
    assert rows("SELECT duration_s, track_duration_s FROM preview WHERE track_id = ?", tid) == [(length, length)]
    assert rows("SELECT duration_s FROM track WHERE track_id = ?", tid) == [(length,)]
    assert rows("SELECT duration_s FROM library_track WHERE track_id = ?", ids[str(single)]) == [(12.0,)]
    assert rows("SELECT object_key, sha256 FROM track ORDER BY track_id") == objects  # nothing stored again
    assert rows("SELECT DISTINCT excerpt_reader FROM library_track") == [(3,)]
    assert add([tmp_path / "music"], workers=1).to_json()["length_corrected"] == 0


def test_zip_members_stored_whole_by_version_2_are_checked_from_their_stored_files(tmp_path, monkeypatch):
    """Zip members stored whole by version 2 stayed "to check" after migration 039 (a member is not at hand to read
    its headers): their stored objects are the members' bytes, so those are read instead. A chained member gets its
    whole length, a single stream is marked current, nothing is stored again; while the object cannot be read the
    track stays to check (logged), and the next add checks it."""
    from musim.storage import base

    _zipped_radio(tmp_path, single_s=10.0)
    add([tmp_path / "music"], keep_whole=True)
    ids = {os.path.basename(r["source_path"]): r["track_id"] for r in list_tracks()}
    with warehouse.writer() as con:  # as version 2 recorded them (migration 039 marks them version 2)
        con.execute("UPDATE library_track SET duration_s = 12.0, excerpt_reader = 2")
    objects = rows("SELECT object_key, sha256 FROM track ORDER BY track_id")
    calls = _examined(monkeypatch)

    def unavailable(self, key, path):
        raise base.StorageUnavailable(f"store: {key}: connection refused")

    with monkeypatch.context() as down:
        down.setattr(base.ObjectStore, "download", unavailable)
        assert add([tmp_path / "music"], workers=1).to_json()["length_corrected"] == 0
    assert rows("SELECT DISTINCT excerpt_reader FROM library_track") == [(2,)]  # still to check

    assert add([tmp_path / "music"], workers=1).to_json()["length_corrected"] == 1
    assert calls == []  # nothing decoded to be stored
    (length,) = rows("SELECT duration_s FROM library_track WHERE track_id = ?", ids["recording.ogg"])[0]
    assert length == pytest.approx(20.0, abs=0.3)
    assert rows("SELECT duration_s FROM library_track WHERE track_id = ?", ids["single.ogg"]) == [(12.0,)]
    assert rows("SELECT object_key, sha256 FROM track ORDER BY track_id") == objects
    assert rows("SELECT DISTINCT excerpt_reader FROM library_track") == [(3,)]
    assert add([tmp_path / "music"], workers=1).to_json()["length_corrected"] == 0
    assert not list(Path(get_settings().tmp_dir).glob("library-member-*"))  # its scratch copies are gone


def test_show_takes_an_id_as_copied_and_names_the_tracks_a_prefix_matches(tmp_path, monkeypatch):
    """An id in upper case or with blanks around it (copied from a terminal) was "no library track"; a prefix of
    several tracks' ids did not say which; a path that is also a prefix of other ids (a file named ``abcdef00`` in the
    current folder) was refused as ambiguous, though it names one track."""
    for name in ("a", "b"):
        write_audio(tmp_path / "music" / "A" / f"{name}.wav", "wav", seconds=6, freq=300 + ord(name))
    add([tmp_path / "music"])
    first, second = sorted(list_tracks(), key=lambda r: r["source_path"])
    assert show_track(f" {first['track_id'].upper()}\n")["track_id"] == first["track_id"]
    assert show_track(second["track_id"][:8].upper())["track_id"] == second["track_id"]
    monkeypatch.chdir(tmp_path)
    with warehouse.writer() as con:
        con.execute("UPDATE library_track SET track_id = 'abcdef0000000001' WHERE track_id = ?", [first["track_id"]])
        con.execute("UPDATE library_track SET track_id = 'abcdef0000000002', source_path = ? WHERE track_id = ?",
                    [str(tmp_path / "abcdef00"), second["track_id"]])
    with pytest.raises(ParameterError, match=r"'abcdef' matches 2 library tracks: abcdef0000000001 \("):
        show_track("abcdef")
    assert show_track("abcdef00")["track_id"] == "abcdef0000000002"  # the path given, not the prefix


def test_show_keeps_the_file_name_of_a_long_path(tmp_path, capsys):
    """`library show` cut a long source path at its end (the table's cell width), hiding the file's name: it is cut at
    its start, as path columns are, and a control character in the name is shown escaped."""
    deep = tmp_path / "music" / ("Some Artist With A Long Name " * 3).strip() / ("An Album " * 6).strip()
    path = write_audio(deep / "07 the\x07 track.wav", "wav", seconds=6)
    add([tmp_path / "music"])
    assert main(["library", "show", str(path)]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("source_path")]
    assert line.endswith(" track.wav") and "\x07" not in line and "…" in line


def test_list_counts_version_2_excerpts_of_chainable_files_as_to_be_checked(tmp_path, capsys):
    """`library list` said nothing of a chained file's excerpt cut by version 2 that no add has checked since (it is
    re-cut by the next add of its folder): it is counted "to be checked" in the list's note, and marked
    ``excerpt_to_check`` in its JSON, until an add checks it."""
    folder = tmp_path / "music" / "Radio"
    chained = _chained_ogg(folder / "recording.ogg", (12.0, 440.0), (8.0, 880.0))
    add([tmp_path / "music"], excerpt_s=6)
    (t,) = list_tracks()
    _as_cut_by_version_2(t["track_id"], chained, 3.0, 6.0, 12.0)

    assert main(["library", "list"]) == 0
    err = capsys.readouterr().err
    assert "note: 1 stored excerpt of these may be re-cut in the whole length of a chained file" in err
    assert f"`musim library add {folder}` checks them" in err
    assert main(["library", "list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["excerpt_to_check"], listed["excerpt_stale"]) == (True, False)
    add([tmp_path / "music"], excerpt_s=6, workers=1)  # checked (and re-cut): nothing more to check
    assert main(["library", "list"]) == 0
    assert "re-cut" not in capsys.readouterr().err and not list_tracks()[0]["excerpt_to_check"]


def test_a_recorded_skip_says_so_once_and_its_detail_is_stored_as_examined(tmp_path, capsys):
    """The note "(recorded; --retry examines it again)" was stored with the detail, so every rerun added one more."""
    short = write_audio(tmp_path / "music" / "A" / "short.wav", "wav", seconds=2)
    write_audio(tmp_path / "music" / "A" / "long.wav", "wav", seconds=8)
    first = add([tmp_path / "music"])
    detail = first.details[str(short)]
    assert "recorded" not in detail
    for _ in range(3):
        again = add([tmp_path / "music"])
    assert again.details[str(short)] == detail + " (recorded; --retry examines it again)"
    assert rows("SELECT detail FROM library_skip WHERE source_path = ?", str(short)) == [(detail,)]
    assert main(["library", "add", str(tmp_path / "music"), "--width", "0"]) == 0
    assert capsys.readouterr().out.count("(recorded; --retry examines it again)") == 1


def test_migration_026_cleans_the_details_stored_with_the_recorded_note(monkeypatch):
    import musim.warehouse as wh

    every = wh.available_migrations()
    monkeypatch.setattr(wh, "available_migrations", lambda: [m for m in every if m[0] < 26])
    con = wh.connect()
    note = " (recorded; --retry examines it again)"
    con.execute("INSERT INTO library_skip (source_path, source_sha256, reason, detail) VALUES (?, ?, ?, ?), "
                "(?, ?, ?, ?), (?, ?, ?, ?)",
                ["/m/a.wav", "a", "too_short", "2.00 s < 5 s" + note * 3, "/m/b.wav", "b", "silent",
                 "RMS level -inf dBFS < -60 dBFS", "/m/c.wav", "c", "not_audio", ("x" * 950 + note * 2)[:1000]])
    con.close()
    monkeypatch.setattr(wh, "available_migrations", lambda: every)
    con = wh.connect()
    got = dict(con.execute("SELECT source_path, detail FROM library_skip").fetchall())
    con.close()
    assert got == {"/m/a.wav": "2.00 s < 5 s", "/m/b.wav": "RMS level -inf dBFS < -60 dBFS", "/m/c.wav": "x" * 950}


def test_an_artists_name_is_the_spelling_most_of_its_tracks_have(tmp_path):
    """6 files tagged `Zanira Ekgul`, then 3 tagged `ZANIRA EKGUL`: the artist was renamed `ZANIRA EKGUL` (each
    stored spelling counted once, the new run's per file, and all capitals won the tie)."""
    from musim.synth.folders import write_music_folder

    write_music_folder(tmp_path / "a", [("Zanira Ekgul", 0)], tracks_per_artist=6, fmt="flac", duration=6)
    write_music_folder(tmp_path / "b", [("ZANIRA EKGUL", 0)], tracks_per_artist=3, fmt="flac", duration=6)
    add([tmp_path / "a"])
    assert add([tmp_path / "b"]).tracks_by_artist == {"Zanira Ekgul": 3}
    assert rows("SELECT name FROM library_artist") == [("Zanira Ekgul",)]
    assert {r["artist"] for r in list_tracks()} == {"Zanira Ekgul"}


def test_a_moved_file_its_folder_named_is_named_by_its_new_folder_and_a_tagged_one_keeps_its_artist(tmp_path, capsys):
    """An untagged album moved from `Deliragul/Some Album` to `Ekgulvex/` kept `artist Deliragul, rule folder`."""
    from musim.synth.files import tag_file, write_clip
    from musim.synth.sound import synthesize_clip

    root = tmp_path / "music"
    for sub in ("Some Album", "Tagged"):
        (root / "Deliragul" / sub).mkdir(parents=True)
    for n in (1, 2):
        y = synthesize_clip(community=1, artist_seed=7, track_no=n, sr=22050, duration=6)
        write_clip(root / "Deliragul" / "Some Album" / f"{n:02d} - U {n}.ogg", y, sr=22050)
    y = synthesize_clip(community=2, artist_seed=8, track_no=1, sr=22050, duration=6)
    tagged = write_clip(root / "Deliragul" / "Tagged" / "01 - T.ogg", y, sr=22050)
    tag_file(tagged, artist="Morneo", title="T", genre="x", album="Tagged")
    assert add([root]).tracks_by_artist == {"Deliragul": 2, "Morneo": 1}
    (root / "Ekgulvex").mkdir()
    (root / "Deliragul" / "Some Album").rename(root / "Ekgulvex" / "Some Album")
    (root / "Deliragul" / "Tagged").rename(root / "Ekgulvex" / "Tagged")
    again = add([root])
    assert (again.stored, again.already_stored, again.moved, again.named_again, again.regrouped) == (0, 3, 3, 2, 0)
    assert again.tracks_by_artist == {"Ekgulvex": 2, "Morneo": 1}
    moved = show_track(str(root / "Ekgulvex" / "Some Album" / "01 - U 1.ogg"))
    assert (moved["artist"], moved["artist_rule"], moved["artist_spelling"]) == ("Ekgulvex", "folder", "Ekgulvex")
    assert show_track(str(tagged).replace("Deliragul", "Ekgulvex"))["artist"] == "Morneo"
    assert {r["artist"] for r in list_tracks()} == {"Ekgulvex", "Morneo"}
    assert rows("SELECT name FROM library_artist ORDER BY name") == [("Ekgulvex",), ("Morneo",)]
    assert rows("SELECT count(*) FROM preview WHERE provider = 'library' AND source_url LIKE '%/Ekgulvex/%'") == [(3,)]
    assert rows("SELECT DISTINCT a.name FROM track t JOIN artist a USING (artist_id) WHERE t.provider = 'library' "
                "ORDER BY 1") == [("Ekgulvex",), ("Morneo",)]


def test_tracks_whose_files_are_gone_are_reported_and_marked_not_removed(tmp_path, capsys):
    """4 deleted files of an artist: the add said nothing, its summary gave 5 tracks while `library list` had 9."""
    from musim.synth.folders import write_music_folder

    root = tmp_path / "music"
    files = write_music_folder(root, [("Morkesdor", 0), ("Tordel", 1)], tracks_per_artist=4, fmt="flac", duration=6)
    add([root])
    for f in files[:3]:
        f.unlink()
    summary = add([root])
    assert (summary.already_stored, summary.gone) == (5, 3) and summary.to_json()["gone"] == 3
    assert sorted(t["source_path"] for t in summary.gone_tracks) == sorted(str(f) for f in files[:3])
    assert summary.tracks_by_artist == {"Morkesdor": 1, "Tordel": 4}
    listed = {r["source_path"]: r["source_gone"] for r in list_tracks()}
    assert len(listed) == 8 and sorted(p for p, g in listed.items() if g) == sorted(str(f) for f in files[:3])
    assert add([root / "Tordel"]).gone == 0  # only what lies under the folders given
    assert add([files[5]]).gone == 0

    capsys.readouterr()
    assert main(["library", "add", str(root)]) == 0
    err = capsys.readouterr().err
    assert "3 stored tracks from under the folders given have no file any more" in err
    assert "musim library remove" in err and "-v lists them" in err
    assert main(["library", "add", str(root), "-v", "--width", "0"]) == 0
    out = capsys.readouterr().out
    assert all(str(f) in out for f in files[:3])
    assert main(["library", "list", "--width", "0"]) == 0
    out, err = capsys.readouterr()
    assert sum(line.rstrip().endswith("gone") for line in out.splitlines()) == 3 and "marked gone" in err
    assert len(rows("SELECT * FROM library_track")) == 8  # nothing removed for the user

    gone = [t["track_id"] for t in summary.gone_tracks]
    assert main(["library", "remove", *gone]) == 0
    assert add([root]).gone == 0


@pytest.mark.parametrize("change", ["duplicate", "truncated"])
def test_a_stored_file_overwritten_with_content_skipped_is_gone(tmp_path, capsys, change):
    """A stored file overwritten with a copy of another file (or cut short) kept its old track in `library list`, not
    gone, while `library skipped` listed its path: the two contradicted, and the old audio stayed served."""
    from musim.synth.folders import write_music_folder

    root = tmp_path / "music"
    files = write_music_folder(root, [("Morkesdor", 0)], tracks_per_artist=3, fmt="flac", duration=6)
    add([root])
    (old,) = [t for t in list_tracks() if t["source_path"] == str(files[0])]
    original = files[0].read_bytes()
    other = files[1].read_bytes()
    files[0].write_bytes(other if change == "duplicate" else other[: len(other) // 3])
    summary = add([root])
    assert [s["path"] for s in summary.skipped] == [str(files[0])]
    assert (summary.gone, summary.gone_total) == (1, 1)
    assert summary.gone_tracks == [{"track_id": old["track_id"], "source_path": str(files[0]), "new": True,
                                    "changed": True}]
    gone = {t["track_id"]: t["source_gone"] for t in list_tracks()}
    assert gone[old["track_id"]] is True and sum(gone.values()) == 1
    assert main(["library", "skipped", "--json"]) == 0
    assert str(files[0]) in {r["source_path"] for r in json.loads(capsys.readouterr().out)}
    assert main(["library", "add", str(root)]) == 0
    err = capsys.readouterr().err
    assert "1 stored track from under the folders given has no file any more (reported by an earlier scan" in err
    assert "1 file changed to content skipped below" in err
    again = add([root])
    assert (again.gone, again.gone_total) == (0, 1)  # reported once
    files[0].write_bytes(original)  # the stored content back: there again
    back = add([root])
    assert (back.gone, back.gone_total, back.already_stored) == (0, 0, 3)
    assert not any(t["source_gone"] for t in list_tracks())


def test_a_folder_added_again_through_a_link_is_already_stored(tmp_path, capsys):
    """`musim library add musiclink` (a link to the folder added before) skipped every file as a copy of itself and
    recorded the skips for good."""
    from musim.synth.folders import write_music_folder

    root = tmp_path / "music"
    write_music_folder(root, [("Morkesdor", 0), ("Tordel", 1)], tracks_per_artist=2, fmt="flac", duration=6)
    link = tmp_path / "musiclink"
    link.symlink_to(root, target_is_directory=True)
    first = add([root, link])  # one folder, given twice: each file once
    assert (first.files, first.stored, first.skipped) == (4, 4, [])
    paths = sorted(t["source_path"] for t in list_tracks())
    assert all(p.startswith(str(root) + os.sep) for p in paths)
    with warehouse.writer() as con:  # what the earlier code recorded: the files as copies of themselves
        con.executemany("INSERT INTO library_skip (source_path, source_sha256, reason, detail) VALUES (?, ?, ?, ?)",
                        [(p.replace(str(root), str(link)), "x", "duplicate_content", "same content as itself")
                         for p in paths])
    again = add([link])
    assert (again.files, again.already_stored, again.skipped, again.moved, again.gone) == (4, 4, [], 0, 0)
    assert sorted(t["source_path"] for t in list_tracks()) == paths  # known by the path they were stored from
    assert rows("SELECT count(*) FROM library_skip")[0][0] == 0
    assert main(["library", "skipped"]) == 0 and "no skipped files" in capsys.readouterr().err
    assert add([root]).already_stored == 4 and add([link / "Tordel"]).already_stored == 2


def test_two_stored_files_whose_names_are_swapped_are_two_moves(tmp_path):
    """Swapping two stored files' names marked both tracks gone and skipped both files as copies of each other: the
    stored path was taken to hold its track because a file was there, whatever its content."""
    root = tmp_path / "music"
    a = write_audio(root / "a.flac", "flac", seconds=8, freq=300)
    b = write_audio(root / "b.flac", "flac", seconds=8, freq=700)
    add([root], workers=1)
    before = {t["track_id"]: t["source_path"] for t in list_tracks()}
    tmp = root / "tmp.flac"
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)
    again = add([root], workers=1)
    assert (again.already_stored, again.moved, again.skipped, again.gone, again.stored) == (2, 2, [], 0, 0)
    after = {t["track_id"]: t["source_path"] for t in list_tracks()}
    assert set(after) == set(before)
    assert {i: os.path.basename(p) for i, p in after.items()} == {
        i: {"a.flac": "b.flac", "b.flac": "a.flac"}[os.path.basename(p)] for i, p in before.items()}


def test_a_worker_that_dies_costs_only_its_file(tmp_path, capsys, monkeypatch):
    """A decoder crash (or the out-of-memory killer) in one worker stopped `library add` with a bare
    'BrokenProcessPool' line naming no file, and every rerun met the same file. Now the files in flight are examined
    again alone in a fresh process: the one that kills that too is skipped with the reason, the others are stored."""
    import signal

    from musim.library import scan

    root = tmp_path / "music"
    for i in range(4):
        write_audio(root / f"t{i}.wav", "wav", seconds=6, seed=i, freq=300 + 40 * i)
    write_audio(root / "poison.wav", "wav", seconds=6, freq=700)
    write_audio(root / "flaky.wav", "wav", seconds=6, freq=800)
    flaky_died = tmp_path / "flaky-died"
    real = scan.examine

    def examine(item, **options):  # its process dies (SIGKILL) on poison.wav, and on flaky.wav the first time only
        if item.path.name == "poison.wav" or (item.path.name == "flaky.wav" and not flaky_died.exists()):
            flaky_died.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return real(item, **options)

    monkeypatch.setattr(scan, "examine", examine)  # the forked workers inherit it
    assert main(["library", "add", str(root), "--json", "--workers", "2", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stored"] == 5 and flaky_died.exists()
    assert [(os.path.basename(s["path"]), s["reason"]) for s in out["skipped"]] == [("poison.wav", "undecodable")]
    assert main(["library", "skipped", "--json"]) == 0
    (shown,) = json.loads(capsys.readouterr().out)
    assert shown["source_path"].endswith("poison.wav") and "died abruptly" in shown["detail"]


def test_a_file_of_files_joined_is_stored_by_the_middle_of_all_of_it(tmp_path):
    """Two MP3s ``cat``-ed into one (a 20 s and a 25 s track): the library recorded 20 s and stored the first part's
    middle; the window is the middle of the 45 s."""
    root = tmp_path / "music"
    parts = [write_audio(tmp_path / f"part{i}.mp3", "mp3", seconds=s, seed=i, freq=f).read_bytes()
             for i, (s, f) in enumerate(((20.0, 440.0), (25.0, 880.0)))]
    (root / "Joined").mkdir(parents=True)
    (root / "Joined" / "both.mp3").write_bytes(b"".join(parts))
    assert add([root]).stored == 1
    (track,) = list_tracks("Joined")
    shown = show_track(track["track_id"][:8])
    assert shown["duration_s"] == pytest.approx(45.0, abs=0.3)
    assert shown["excerpt_offset_s"] == pytest.approx(7.5, abs=0.2) and shown["excerpt_duration_s"] == 30.0


def test_the_skip_of_a_file_deleted_since_goes_with_the_next_scan_of_its_folder(tmp_path, capsys):
    """`musim library skipped` listed a skipped file its user had deleted for ever: a rescan of its folder left its
    skip recorded. A skip of a file still there, and one under a folder not given, stay."""
    from musim.library import skipped_files

    for folder in ("music", "other"):
        write_audio(tmp_path / folder / "A" / "short.wav", "wav", seconds=2)
        write_audio(tmp_path / folder / "A" / "kept.wav", "wav", seconds=2, freq=500)
    add([tmp_path / "music", tmp_path / "other"])
    assert len(skipped_files()) == 4
    (tmp_path / "music" / "A" / "short.wav").unlink()
    (tmp_path / "other" / "A" / "short.wav").unlink()
    add([tmp_path / "music"])
    assert sorted(os.path.relpath(r["source_path"], tmp_path) for r in skipped_files()) \
        == ["music/A/kept.wav", "other/A/kept.wav", "other/A/short.wav"]


def test_a_file_whose_middle_is_silent_is_stored_by_a_window_that_is_not(tmp_path):
    """A hidden track after a minute of silence, a long silent intro: the window in the middle of the file was silent,
    and the whole file was skipped `silent` though most of it is music. The start, then the end, are tried; a file
    silent in every window is skipped naming them."""
    from tests.library.conftest import tone

    sr = 22050
    music, quiet = tone(8.0, sr), np.zeros(60 * sr, dtype=np.float32)
    folder = tmp_path / "music" / "Hidden"
    folder.mkdir(parents=True)
    sf.write(folder / "outro.flac", np.concatenate([music, quiet]), sr)
    sf.write(folder / "intro.flac", np.concatenate([quiet, music]), sr)
    sf.write(folder / "quiet.flac", np.concatenate([quiet, quiet[:8 * sr]]), sr)
    summary = add([tmp_path / "music"], excerpt_s=10)
    assert [(s["path"], s["reason"]) for s in summary.skipped] == [(str(folder / "quiet.flac"), "silent")]
    assert "in every window tried (29-39 s, 0-10 s, 58-68 s)" in summary.details[str(folder / "quiet.flac")]
    windows = {os.path.basename(t["source_path"]): (t["excerpt_offset_s"], t["excerpt_duration_s"])
               for t in list_tracks()}
    assert windows == {"outro.flac": (0.0, 10.0), "intro.flac": (58.0, 10.0)}


def test_a_folder_that_holds_musims_own_data_does_not_store_it_as_music(tmp_path, monkeypatch):
    """`musim library add ~` with MUSIM_HOME under ~: the excerpts musim stored were found in its object store and
    stored as tracks (more of them each run), and the warehouse was a skipped file. A path given inside musim's own
    folders is still scanned."""
    from musim.library import skipped_files

    monkeypatch.setenv("MUSIM_HOME", str(tmp_path / ".musim"))
    monkeypatch.setenv("MUSIM_TMP", str(tmp_path / ".musim" / "tmp"))
    write_audio(tmp_path / "Music" / "Artist" / "a.ogg", "ogg", seconds=8)
    first = add([tmp_path / "Music"]).to_json()
    assert first["stored"] == 1
    again = add([tmp_path]).to_json()
    assert (again["files"], again["stored"], again["already_stored"], again["skipped"]) == (1, 0, 1, [])
    assert len(list_tracks()) == 1 and skipped_files() == []
    inside = tmp_path / ".musim" / "tmp" / "drop"
    write_audio(inside / "Artist" / "b.ogg", "ogg", seconds=8, freq=500)
    assert add([inside]).to_json()["stored"] == 1


def test_zip_members_of_version_2_are_read_to_tell_and_only_a_chained_one_counts_as_re_cut(tmp_path):
    """A zip's member is not at hand to read its headers, so a version-2 excerpt of one is read again: a chained Ogg's
    is re-cut, a single stream's gives the very object it had, which is no new audio (it was counted as re-read, and
    the landing's scan emitted `previews` for it); both are current after."""
    from musim.audio.window import READ_WINDOW_VERSION

    chained = _zipped_radio(tmp_path, single_s=20.0)
    add([tmp_path / "music"], excerpt_s=6)
    ids = {os.path.basename(r["source_path"]): r["track_id"] for r in list_tracks()}
    _as_cut_by_version_2(ids["recording.ogg"], chained, 3.0, 6.0, 12.0)
    with warehouse.writer() as con:
        con.execute("UPDATE library_track SET excerpt_reader = 2 WHERE track_id = ?", [ids["single.ogg"]])
    before = rows("SELECT object_key FROM track WHERE track_id = ?", ids["single.ogg"])
    out = add([tmp_path / "music"], excerpt_s=6, workers=1).to_json()
    assert (out["already_stored"], out["reread"], out["recut"]) == (2, 1, 1)
    assert rows("SELECT object_key FROM track WHERE track_id = ?", ids["single.ogg"]) == before
    assert rows("SELECT DISTINCT excerpt_reader FROM library_track") == [(READ_WINDOW_VERSION,)]


def test_the_skip_of_a_folder_that_could_not_be_listed_goes_once_it_can(tmp_path, monkeypatch):
    """A folder that could not be listed is a skipped entry; once it can be, its files are stored, and its skip, which
    `musim library skipped` went on listing, goes."""
    from musim.library import skipped_files

    write_audio(tmp_path / "music" / "Locked" / "a.ogg", "ogg", seconds=8)
    real = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith("Locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    with monkeypatch.context() as locked:
        locked.setattr(os, "scandir", scandir)
        assert [s["reason"] for s in add([tmp_path / "music"]).skipped] == ["unreadable"]
    assert len(skipped_files()) == 1
    assert add([tmp_path / "music"]).to_json()["stored"] == 1
    assert skipped_files() == []


def test_a_chained_files_excerpt_missing_from_the_store_is_stored_again_at_its_window(tmp_path):
    """An excerpt the current reader cut, missing from the object store, is read again at the window recorded, even in
    a chained file and with other options: only one an older reader cut in the first stream is chosen again."""
    chained = _chained_ogg(tmp_path / "music" / "Radio" / "recording.ogg", (12.0, 440.0), (8.0, 880.0))
    add([tmp_path / "music"], excerpt_s=6)
    (t,) = list_tracks()
    kept = open_store().get_bytes(t["object_key"])
    open_store().delete(t["object_key"])
    out = add([tmp_path / "music"], excerpt_s=10, workers=1).to_json()
    assert (out["restored"], out["reread"], out["recut"]) == (1, 0, 0)
    (again,) = list_tracks()
    assert (again["excerpt_offset_s"], again["excerpt_duration_s"]) == (t["excerpt_offset_s"], 6.0)
    assert open_store().get_bytes(again["object_key"]) == kept and chained.exists()
