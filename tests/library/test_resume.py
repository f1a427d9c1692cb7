"""An interrupted `musim library add` resumes: the files it stored are not decoded again, and it ends as one add."""

from __future__ import annotations

import json
import os

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
    resumed = add([folder], workers=1).to_json()
    decoded_again = seen()
    library = _library()
    assert not list(open_store().list(PREFIX))  # its notes are gone once recorded

    monkeypatch.setenv("MUSIM_HOME", str(tmp_path / "other-home"))
    whole = add([folder], workers=1).to_json()
    decoded = seen()
    assert resumed == whole and resumed["stored"] == 9
    assert _library() == library
    assert decoded_again == sorted(set(decoded) - set(stored)) and len(decoded_again) == len(decoded) - 3


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
