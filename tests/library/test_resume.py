"""An interrupted `musim library add` resumes: the files it stored are not decoded again, and it ends as one add."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from musim import warehouse
from musim.library import add, list_tracks
from musim.library.resume import PREFIX, note_key
from musim.storage import open_store
from tests.library.conftest import write_audio, write_tags
from tests.library.test_add import folder  # noqa: F401 - the fixture


def _library() -> dict[str, list[tuple]]:
    """Every row the add recorded, but when."""
    out = {}
    with warehouse.writer() as con:
        for table in ("library_track", "library_artist", "library_skip"):
            cols = [c[0] for c in con.execute(f"DESCRIBE {table}").fetchall() if not c[0].endswith("_at")]
            out[table] = sorted(con.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall(), key=repr)
    return out


def _examined(monkeypatch, tmp_path):
    """The names of the files examined (decoded) from now on, as a function; written to a file by the worker
    processes (forked: they inherit the patch)."""
    import musim.library.scan as scan

    events = tmp_path / "examined"
    real = scan.examine

    def examine(item, **options):
        with open(events, "a") as fh:
            fh.write(item.path.name + "\n")
        return real(item, **options)

    monkeypatch.setattr(scan, "examine", examine)

    def seen() -> list[str]:
        names = events.read_text().splitlines() if events.exists() else []
        events.unlink(missing_ok=True)
        return sorted(names)
    return seen


def _interrupted(root, stored: int, **kw) -> list[str]:
    """An add of ``root`` that a Ctrl-C stops as it stores its ``stored + 1``-th excerpt; the names of the files it
    stored."""
    store = open_store()
    put = store.put_content_addressed
    done: list[str] = []

    def interrupting(data, **options):
        if len(done) == stored:
            raise KeyboardInterrupt
        return put(data, **options)

    store.put_content_addressed = interrupting
    with pytest.raises(KeyboardInterrupt):
        add([root], store=store, workers=1,
            on_file=lambda path, outcome: done.append(path.name) if outcome == "stored" else None, **kw)
    assert list_tracks() == []  # nothing recorded
    return done


def test_an_interrupted_add_decodes_only_what_it_had_not_stored_and_ends_as_an_add_not_interrupted(
        folder, tmp_path, monkeypatch):  # noqa: F811
    # a Ctrl-C (a crash, a reboot) at 90% of a long add kept nothing: the rerun decoded every file again
    seen = _examined(monkeypatch, tmp_path)
    stored = _interrupted(folder, 3)
    assert len(stored) == 3
    seen()
    noted = _noted(folder)
    assert set(stored) | {"cover.jpg", "cut.ogg", "junk.ogg"} <= noted  # and the files skipped before the Ctrl-C
    resumed = add([folder], workers=1).to_json()
    decoded_again = seen()
    library = _library()
    assert not list(open_store().list(PREFIX))  # its notes are gone once recorded

    monkeypatch.setenv("MUSIM_HOME", str(tmp_path / "other-home"))
    whole = add([folder], workers=1).to_json()
    decoded = seen()
    assert resumed == whole and resumed["stored"] == 9
    assert _library() == library
    assert decoded_again == sorted(set(decoded) - noted)


def _noted(root) -> set[str]:
    """The names of the files under ``root`` that have a note."""
    from musim.library.scan import content_sha256

    keys = {o.key for o in open_store().list(PREFIX)}
    return {p.name for p in root.rglob("*") if p.is_file() and not p.is_symlink() and p.stat().st_size
            and note_key(content_sha256(p)[1]) in keys}


def test_a_resumed_file_keeps_what_examining_it_found(tmp_path, monkeypatch):
    """Tags, MBID, the folder rules and --keep-whole: what the note gives back is what examining gave."""
    seen = _examined(monkeypatch, tmp_path)
    root = tmp_path / "music"
    for i, fmt in enumerate(("flac", "mp3", "ogg", "m4a")):
        path = write_audio(root / "Folder Artist" / "Album" / f"{i} song.{fmt}", fmt, seconds=7, seed=i, freq=250 + 90 * i)
        if i % 2:
            write_tags(path, fmt, artist="Tagged", title=f"Song {i}", album="An Album", genre="Jazz",
                       mbid="5b11f4ce-a62d-471e-81fc-a69a8278c7da")
    _interrupted(root, 2, keep_whole=True)
    seen()
    resumed = add([root], workers=1, keep_whole=True).to_json()
    assert len(seen()) == 2
    library = _library()
    monkeypatch.setenv("MUSIM_HOME", str(tmp_path / "other-home"))
    assert add([root], workers=1, keep_whole=True).to_json() == resumed
    assert _library() == library


def _damage(store, key: str, how: str, tmp_path) -> None:
    doc = store.get_json(key)
    if how == "not_json":
        store.put_bytes(key, json.dumps(doc).encode()[:40])
        return
    if how == "older_format":
        doc["options"]["format"] = 0
    elif how == "other_code":  # a musim whose code that examines files changed since
        doc["options"]["code"] = "0" * 16
    elif how == "other_options":
        doc["options"]["excerpt_s"] = 10.0
    elif how == "wrong_type":
        doc["info"]["duration_s"] = "long"
    elif how == "missing_field":
        del doc["tags"]["genre"]
    elif how == "extra_field":
        doc["artist"]["nickname"] = "x"
    elif how == "not_an_object":
        doc = ["what", "is", "this"]
    elif how == "other_path":
        doc["path"] = str(tmp_path / "elsewhere.wav")
    elif how == "object_elsewhere":
        doc["object"]["key"] = "library/examined/" + doc["object"]["sha256"] + ".flac"
    elif how == "object_gone":
        store.delete(doc["object"]["key"])
    elif how == "object_cut":
        data = store.get_bytes(doc["object"]["key"])
        store.put_bytes(doc["object"]["key"], data[: len(data) // 2])
    store.put_bytes(key, json.dumps(doc).encode())


@pytest.mark.parametrize("how", ["sound", "not_json", "older_format", "other_code", "other_options", "wrong_type", "missing_field",
                                 "extra_field", "not_an_object", "other_path", "object_elsewhere", "object_gone",
                                 "object_cut"])
def test_a_note_damaged_or_not_for_this_file_is_ignored_and_the_file_decoded_again(tmp_path, monkeypatch, how):
    seen = _examined(monkeypatch, tmp_path)
    root = tmp_path / "music"
    for i in range(2):
        write_audio(root / "Composer" / f"{i}.wav", "wav", seconds=6, seed=i, freq=300 + 100 * i)
    (first,) = _interrupted(root, 1)
    store = open_store()
    from musim.library.scan import content_sha256

    key = note_key(content_sha256(root / "Composer" / first)[1])
    assert [o.key for o in store.list(PREFIX)] == [key]
    _damage(store, key, how, tmp_path)
    seen()
    resumed = add([root], workers=1).to_json()
    assert seen() == (["0.wav", "1.wav"] if how != "sound" else sorted({"0.wav", "1.wav"} - {first}))
    library = _library()
    assert all(store.exists(t["object_key"]) for t in list_tracks())
    assert not list(store.list(PREFIX))
    monkeypatch.setenv("MUSIM_HOME", str(tmp_path / "other-home"))
    assert add([root], workers=1).to_json() == resumed
    assert _library() == library


def test_the_notes_of_files_not_given_stay_for_their_add(tmp_path, monkeypatch):
    """An add of another folder neither uses nor deletes the notes of a folder whose add was interrupted."""
    seen = _examined(monkeypatch, tmp_path)
    for name in ("a", "b"):
        for i in range(2):
            write_audio(tmp_path / name / "Composer" / f"{i}.wav", "wav", seconds=6, seed=i, freq=300 + 100 * i
                        + (50 if name == "b" else 0))
    _interrupted(tmp_path / "a", 1)
    seen()
    assert add([tmp_path / "b"], workers=1).stored == 2
    assert len(list(open_store().list(PREFIX))) == 1
    assert add([tmp_path / "a"], workers=1).stored == 2
    assert len(seen()) == 3  # b's two, and a's one not stored
    assert not list(open_store().list(PREFIX))
    assert sorted(os.path.basename(os.path.dirname(os.path.dirname(t["source_path"]))) for t in list_tracks()) == [
        "a", "a", "b", "b"]


def test_a_note_holds_every_field_examining_gives():
    """A field added to what examining a file gives (a tag read, say) must be noted too, or notes are never used."""
    import dataclasses

    from musim.library import resume
    from musim.library.artists import Resolved
    from musim.library.formats import AudioProbe
    from musim.library.tags import Tags

    assert set(resume._TAGS) == {f.name for f in dataclasses.fields(Tags)}
    assert set(resume._ARTIST) == {f.name for f in dataclasses.fields(Resolved)}
    assert set(resume._INFO) == {f.name for f in dataclasses.fields(AudioProbe)} - {"mutagen"}
    assert resume.code_version() == resume.code_version() and len(resume.code_version()) == 16


def _skipping(root, tmp_path) -> None:
    """Files skipped for every reason examining gives, then two stored, and a copy of a skipped file (in the order
    they are examined)."""
    where = root / "Composer"
    write_audio(where / "0 short.wav", "wav", seconds=2)
    write_audio(where / "1 silent.flac", "flac", seconds=8, level=0.0)
    where.joinpath("2 junk.ogg").write_bytes(b"OggS" + np.random.default_rng(1).bytes(4000))
    whole = write_audio(tmp_path / "whole.ogg", "ogg", seconds=20).read_bytes()
    where.joinpath("3 cut.ogg").write_bytes(whole[: len(whole) // 3])
    where.joinpath("4 notes.mp3").write_text("these are my notes, not a song\n" * 20)
    write_audio(where / "5 song.wav", "wav", seconds=6, seed=1, freq=300)
    write_audio(where / "6 song.wav", "wav", seconds=6, seed=2, freq=400)
    where.joinpath("7 short copy.wav").write_bytes(where.joinpath("0 short.wav").read_bytes())


SKIPPED = ["0 short.wav", "1 silent.flac", "2 junk.ogg", "3 cut.ogg", "4 notes.mp3"]


def test_the_files_skipped_before_an_interrupt_are_not_decoded_again_and_skipped_the_same(tmp_path, monkeypatch):
    """A skip was noted nowhere until the add recorded it: the resumed add decoded every file skipped again (a long
    add of a folder of broken files, interrupted, decoded them all again). Now its note gives the same skip, the
    same detail; the copy of a skipped file is skipped as it (not as a duplicate), and the counts add up."""
    seen = _examined(monkeypatch, tmp_path)
    root = tmp_path / "music"
    _skipping(root, tmp_path)
    assert _interrupted(root, 1) == ["5 song.wav"]
    assert seen() == sorted(SKIPPED + ["5 song.wav", "6 song.wav"])
    assert _noted(root) == set(SKIPPED) | {"5 song.wav", "7 short copy.wav"}  # the copy: by its content
    resumed = add([root], workers=1)
    assert seen() == ["6 song.wav"]
    library = _library()
    assert not list(open_store().list(PREFIX))

    monkeypatch.setenv("MUSIM_HOME", str(tmp_path / "other-home"))
    whole = add([root], workers=1)
    assert seen() == sorted(SKIPPED + ["5 song.wav", "6 song.wav"])
    assert resumed.to_json() == whole.to_json() and resumed.details == whole.details
    assert _library() == library
    summary = resumed.to_json()
    assert (summary["files"], summary["stored"], summary["already_stored"], len(summary["skipped"])) == (8, 2, 0, 6)
    assert {os.path.basename(s["path"]): s["reason"] for s in summary["skipped"]} == {
        "0 short.wav": "too_short", "1 silent.flac": "silent", "2 junk.ogg": "undecodable", "3 cut.ogg": "truncated",
        "4 notes.mp3": "not_audio", "7 short copy.wav": "too_short"}


@pytest.mark.parametrize("how", ["touched", "grown", "retry"])
def test_a_skip_noted_of_a_file_changed_since_or_with_retry_is_examined_again(tmp_path, monkeypatch, how):
    """The note of a skip is of the file as it was: one whose modification time or size changed since (copied again,
    repaired) is examined again, and so is every skip with ``--retry``."""
    seen = _examined(monkeypatch, tmp_path)
    root = tmp_path / "music"
    _skipping(root, tmp_path)
    _interrupted(root, 1)
    seen()
    short = root / "Composer" / "0 short.wav"
    if how == "touched":
        os.utime(short, ns=(short.stat().st_atime_ns, short.stat().st_mtime_ns + 10**9))
    elif how == "grown":
        with open(short, "ab") as fh:
            fh.write(b"\0" * 100)  # after the data chunk: the same audio, another size (its copy is no copy now)
    summary = add([root], workers=1, retry=how == "retry").to_json()
    again = {"touched": ["0 short.wav"], "grown": ["0 short.wav", "7 short copy.wav"], "retry": SKIPPED}[how]
    assert seen() == sorted(again + ["6 song.wav"])
    assert {os.path.basename(s["path"]): s["reason"] for s in summary["skipped"]}["0 short.wav"] == "too_short"
    assert summary["stored"] == 2 and len(summary["skipped"]) == 6
    assert not list(open_store().list(PREFIX))


def _stale(root) -> None:
    """Two stored m4a files whose excerpts an older reader cut (read again by the next add)."""
    from musim.library.formats import encode_flac
    from tests.library.test_add import _as_if_cut_by_the_old_reader

    for i in range(2):
        write_audio(root / "Maxstack" / f"{i} long.m4a", "m4a", seconds=20, freq=500 + 100 * i, seed=i)
    add([root], excerpt_s=10, workers=1)
    for i, t in enumerate(sorted(list_tracks(), key=lambda t: t["source_path"])):
        _as_if_cut_by_the_old_reader(t["track_id"], encode_flac(np.full((1, 22050), 0.01 * (i + 1), np.float32), 22050))


def test_an_excerpt_read_again_before_an_interrupt_is_not_read_again(tmp_path, monkeypatch):
    """A stale excerpt read again is stored beside the old one and recorded at the end: an add interrupted after
    reading the first of two read both again; its note gives the first's object."""
    root = tmp_path / "music"
    _stale(root)
    seen = _examined(monkeypatch, tmp_path)
    store = open_store()
    put = store.put_content_addressed
    puts: list = []

    def interrupting(data, **options):
        if len(puts) == 1:
            raise KeyboardInterrupt
        puts.append(put(data, **options))
        return puts[-1]

    store.put_content_addressed = interrupting
    with pytest.raises(KeyboardInterrupt):
        add([root], store=store, workers=1)
    assert seen() == ["0 long.m4a", "1 long.m4a"] and len(_noted(root)) == 1
    resumed = add([root], workers=1).to_json()
    assert seen() == ["1 long.m4a"]
    assert (resumed["already_stored"], resumed["reread"], resumed["stale"]) == (2, 2, 0)
    library = _library()
    assert not list(open_store().list(PREFIX))

    monkeypatch.setenv("MUSIM_HOME", str(tmp_path / "other-home"))
    _stale(root)
    seen()
    assert add([root], workers=1).to_json() == resumed
    assert seen() == ["0 long.m4a", "1 long.m4a"]
    assert _library() == library


def test_a_skip_note_damaged_is_ignored_and_the_file_examined_again(tmp_path, monkeypatch):
    from musim.library.scan import content_sha256

    seen = _examined(monkeypatch, tmp_path)
    root = tmp_path / "music"
    _skipping(root, tmp_path)
    _interrupted(root, 1)
    seen()
    store = open_store()
    for name, damage in (("2 junk.ogg", {"skip": {"reason": "bad vibes", "detail": ""}}),
                         ("3 cut.ogg", {"nickname": "x"}), ("4 notes.mp3", {"outcome": "unheard of"})):
        key = note_key(content_sha256(root / "Composer" / name)[1])
        store.put_bytes(key, json.dumps(store.get_json(key) | damage).encode())
    summary = add([root], workers=1).to_json()
    assert seen() == ["2 junk.ogg", "3 cut.ogg", "4 notes.mp3", "6 song.wav"]
    assert summary["stored"] == 2 and len(summary["skipped"]) == 6


def _chained_stale(root, *, make: bool = True) -> None:
    """Two stored chained Oggs whose excerpts reader version 2 cut in their first stream (cut again by the next add);
    ``make=False``: the files made before (an Ogg's stream serial numbers are random)."""
    from tests.library.test_add import _as_cut_by_version_2, _chained_ogg

    for i in range(2 if make else 0):
        _chained_ogg(root / "Radio" / f"{i} recording.ogg", (12.0, 440.0 + 100 * i), (8.0, 880.0))
    add([root], excerpt_s=6, workers=1)
    for t in list_tracks():
        _as_cut_by_version_2(t["track_id"], t["source_path"], 3.0, 6.0, 12.0)


def test_a_chained_excerpt_cut_again_before_an_interrupt_keeps_its_new_window(tmp_path, monkeypatch):
    """A note of a chained file's excerpt cut again holds the window chosen in its whole length and that length: the
    resumed add records them (the note of a stale excerpt read again held the object only, the window stored being
    the same), as an add not interrupted does."""
    monkeypatch.setenv("MUSIM_EXCERPT_S", "6")
    root = tmp_path / "music"
    _chained_stale(root)
    seen = _examined(monkeypatch, tmp_path)
    store = open_store()
    put = store.put_content_addressed
    puts: list = []

    def interrupting(data, **options):
        if len(puts) == 1:
            raise KeyboardInterrupt
        puts.append(put(data, **options))
        return puts[-1]

    store.put_content_addressed = interrupting
    with pytest.raises(KeyboardInterrupt):
        add([root], store=store, workers=1)
    assert len(seen()) == 2 and len(_noted(root)) == 1
    resumed = add([root], workers=1).to_json()
    assert len(seen()) == 1
    assert (resumed["already_stored"], resumed["reread"], resumed["recut"]) == (2, 2, 2)
    library = _library()
    assert {round(r[0]) for r in rows_of("SELECT duration_s FROM library_track")} == {20}

    monkeypatch.setenv("MUSIM_HOME", str(tmp_path / "other-home"))
    _chained_stale(root, make=False)
    seen()
    assert add([root], workers=1).to_json() == resumed
    assert _library() == library


def rows_of(query: str) -> list[tuple]:
    with warehouse.writer() as con:
        return con.execute(query).fetchall()
