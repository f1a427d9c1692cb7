"""The library landing area: a folder, or an object-store prefix mirrored locally (S3 on moto)."""

from __future__ import annotations

from pathlib import Path

import pytest

from musim import warehouse
from musim.library.landing import has_new_audio, landing_folder, landing_location, scan_landing
from tests.library.conftest import write_audio
from tests.storage.conftest import moto_server, s3_env  # noqa: F401 - fixtures (S3 on moto)


def test_the_landing_is_a_folder_by_default_or_the_url_given(musim_home, monkeypatch):
    monkeypatch.delenv("MUSIM_LIBRARY_LANDING", raising=False)
    assert landing_location() == str(musim_home / "landing" / "library") and landing_folder().is_dir()
    monkeypatch.setenv("MUSIM_LIBRARY_LANDING", "s3://bucket/music")
    assert landing_location() == "s3://bucket/music"


def test_a_folder_is_added_as_it_is(tmp_path, monkeypatch):
    folder = tmp_path / "landing"
    write_audio(folder / "Composer" / "a.ogg", "ogg", seconds=6)
    monkeypatch.setenv("MUSIM_LIBRARY_LANDING", str(folder))
    summary = scan_landing()
    assert (summary["files"], summary["stored"], summary["folder"]) == (1, 1, str(folder))


def test_a_scan_that_reads_a_stale_excerpt_again_has_new_audio_for_the_feature_build(tmp_path, monkeypatch):
    """library_scan emits `previews` (the feature build's trigger) only when a scan has new audio: an excerpt an
    older reader cut, read again into other audio, is new audio for its track though nothing new was stored; one read
    again into the very object it had is not."""
    import numpy as np

    from musim.library import list_tracks
    from musim.library.formats import encode_flac
    from tests.library.test_add import _as_if_cut_by_the_old_reader

    folder = tmp_path / "landing"
    write_audio(folder / "Composer" / "a.m4a", "m4a", seconds=40, freq=500)
    monkeypatch.setenv("MUSIM_LIBRARY_LANDING", str(folder))
    assert has_new_audio(scan_landing())
    assert not has_new_audio(scan_landing())
    with warehouse.writer() as con:
        con.execute("UPDATE library_track SET excerpt_reader = ?", [1])
    summary = scan_landing()
    assert (summary["stored"], summary["reread"]) == (0, 0) and not has_new_audio(summary)
    (t,) = list_tracks()
    _as_if_cut_by_the_old_reader(t["track_id"], encode_flac(np.full((1, 22050), 0.01, np.float32), 22050))
    summary = scan_landing()
    assert (summary["stored"], summary["reread"]) == (0, 1) and has_new_audio(summary)


@pytest.mark.server
def test_a_prefix_is_mirrored_downloading_only_what_changed(s3_env, tmp_path, monkeypatch):  # noqa: F811
    made = tmp_path / "made"
    a = write_audio(made / "a.ogg", "ogg", seconds=6, freq=300)
    b = write_audio(made / "b.flac", "flac", seconds=6, freq=500)
    c = write_audio(made / "c.wav", "wav", seconds=6, freq=700)
    put = s3_env.client.upload_file
    put(str(a), s3_env.bucket, "music/Composer One/a.ogg")
    put(str(b), s3_env.bucket, "music/Composer One/Album/b.flac")
    s3_env.client.put_object(Bucket=s3_env.bucket, Key="music/Composer One/empty.mp3", Body=b"")
    url = f"s3://{s3_env.bucket}/music"
    monkeypatch.setenv("MUSIM_LIBRARY_LANDING", url)

    first = scan_landing()
    assert (first["objects"], first["downloaded"], first["removed"]) == (3, 3, 0)
    assert (first["files"], first["stored"], first["already_stored"]) == (3, 2, 0)
    assert first["skipped"] == [{"path": f"{url}/Composer One/empty.mp3", "reason": "empty"}]
    assert first["tracks_by_artist"] == {"Composer One": 2} and first["folder"] == url
    with warehouse.writer() as con:
        rules = con.execute("SELECT DISTINCT artist_rule FROM library_track").fetchall()
    assert rules == [("folder",)]  # the key layout names the artist, as a folder would

    again = scan_landing()
    assert (again["downloaded"], again["stored"], again["already_stored"]) == (0, 0, 2)

    s3_env.client.delete_object(Bucket=s3_env.bucket, Key="music/Composer One/a.ogg")
    put(str(c), s3_env.bucket, "music/Composer Two/c.wav")
    third = scan_landing()
    assert (third["objects"], third["downloaded"], third["removed"]) == (3, 1, 1)
    assert third["stored"] == 1 and third["tracks_by_artist"] == {"Composer One": 1, "Composer Two": 1}
    assert not (Path(third["mirror"]) / "Composer One" / "a.ogg").exists()


@pytest.mark.server
def test_folder_markers_are_no_files_and_keys_that_cannot_be_file_names_are_left_out(s3_env, tmp_path,  # noqa: F811
                                                                                      monkeypatch, caplog):
    """A console's folder marker ("Composer One/") or one odd key ("a//b.ogg", "../x.ogg") stopped the whole
    mirror with InvalidKey, so nothing under the prefix was added."""
    a = write_audio(tmp_path / "a.ogg", "ogg", seconds=6, freq=300)
    b = write_audio(tmp_path / "b.ogg", "ogg", seconds=6, freq=500)
    s3_env.client.put_object(Bucket=s3_env.bucket, Key="music/Composer One/", Body=b"")
    s3_env.client.upload_file(str(a), s3_env.bucket, "music/Composer One/a.ogg")
    s3_env.client.upload_file(str(b), s3_env.bucket, "music/Composer One//b.ogg")
    s3_env.client.upload_file(str(b), s3_env.bucket, "music/../escape.ogg")
    url = f"s3://{s3_env.bucket}/music"
    monkeypatch.setenv("MUSIM_LIBRARY_LANDING", url)
    summary = scan_landing()
    assert (summary["files"], summary["stored"], summary["objects"], summary["downloaded"]) == (3, 1, 3, 1)
    assert summary["skipped"] == [{"path": f"{url}/../escape.ogg", "reason": "unreadable"},  # in listing order
                                  {"path": f"{url}/Composer One//b.ogg", "reason": "unreadable"}]
    assert "rename the object" in caplog.text
    mirror = Path(summary["mirror"])
    assert sorted(p.relative_to(mirror.parent).as_posix() for p in mirror.parent.rglob("*") if p.is_file()) == \
        [f"{mirror.name}/Composer One/a.ogg"]  # nothing written beside the mirror


@pytest.mark.server
def test_a_zipped_album_dropped_in_a_prefix_is_its_tracks_reported_by_url(s3_env, tmp_path, monkeypatch):  # noqa: F811
    import zipfile

    song = write_audio(tmp_path / "made" / "a.ogg", "ogg", seconds=6, freq=300)
    album = tmp_path / "made" / "Composer Three - Album.zip"
    with zipfile.ZipFile(album, "w") as zf:
        zf.write(song, "01 - Opening.ogg")
        zf.writestr("notes.txt", "liner notes")
    s3_env.client.upload_file(str(album), s3_env.bucket, "music/Composer Three - Album.zip")
    url = f"s3://{s3_env.bucket}/music"
    monkeypatch.setenv("MUSIM_LIBRARY_LANDING", url)
    summary = scan_landing()
    assert (summary["files"], summary["stored"]) == (2, 1)
    assert summary["tracks_by_artist"] == {"Composer Three": 1}  # "Artist - Album.zip", the album as shops name it
    assert summary["skipped"] == [{"path": f"{url}/Composer Three - Album.zip/notes.txt", "reason": "not_audio"}]


def test_a_file_url_to_no_folder_is_refused_like_a_missing_path(tmp_path):
    """``file:///nonexistent`` reported 0 files where the plain path says it does not exist."""
    from musim.errors import NotFoundError

    with pytest.raises(NotFoundError, match=r"^the library landing prefix file:///.*/nowhere is no folder"):
        scan_landing((tmp_path / "nowhere").as_uri())


def test_a_drop_folder_emptied_after_each_scan_reports_each_track_gone_once(tmp_path, monkeypatch, capsys):
    """Files moved away after each scan (a drop folder) were reported `gone` again by every hourly scan: a track is
    reported gone by the scan that finds it gone, the later ones count it in `gone_total`, and a file put back is
    found again (and reported again if it goes again)."""
    import shutil

    from musim.cli import main

    folder, kept = tmp_path / "landing", tmp_path / "kept"
    dropped = write_audio(folder / "Composer" / "a.ogg", "ogg", seconds=6)
    write_audio(folder / "Composer" / "b.ogg", "ogg", seconds=6, freq=500)
    monkeypatch.setenv("MUSIM_LIBRARY_LANDING", str(folder))
    first = scan_landing()
    assert (first["stored"], first["gone"], first["gone_total"]) == (2, 0, 0)
    kept.mkdir()
    shutil.move(dropped, kept / "a.ogg")  # the drop folder's workflow: moved away once added
    went = scan_landing()
    assert (went["already_stored"], went["gone"], went["gone_total"]) == (1, 1, 1)
    for _ in range(2):  # the next hours: reported once, still counted
        later = scan_landing()
        assert (later["already_stored"], later["gone"], later["gone_total"]) == (1, 0, 1)
    capsys.readouterr()
    assert main(["library", "add", str(folder)]) == 0
    assert "1 stored track from under the folders given has no file any more (reported by an earlier scan; none " \
           "went since)" in capsys.readouterr().err

    shutil.move(kept / "a.ogg", dropped)  # back
    back = scan_landing()
    assert (back["stored"], back["already_stored"], back["gone"], back["gone_total"]) == (0, 2, 0, 0)
    dropped.unlink()  # gone again: reported again, once
    assert (scan_landing()["gone"], scan_landing()["gone"]) == (1, 0)
