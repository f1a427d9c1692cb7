"""`musim library add` of zip archives: an album as downloaded is the folder it would extract into, and what a
hostile archive holds is skipped with its reason, never written where its names point."""

from __future__ import annotations

import json
import os
import zipfile

import pytest

from musim import warehouse
from musim.cli import main
from musim.config import get_settings
from musim.library import add
from musim.library.formats import FileSkipped
from musim.library.zips import holds
from tests.library.conftest import write_audio, write_tags


def _zip(path, members: dict[str, bytes], **infos: zipfile.ZipInfo):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(infos.get(name) or name, data)
    return path


@pytest.fixture
def album(tmp_path):
    """An album as a shop sells it: tagged FLACs, an untagged one in an artist/album layout, a cover."""
    src = tmp_path / "src"
    a = write_audio(src / "a.flac", "flac", seconds=8, freq=300, seed=1)
    write_tags(a, "flac", artist="Kevin MacLeod", title="Opening", album="Calm")
    b = write_audio(src / "b.flac", "flac", seconds=8, freq=420, seed=2)
    write_tags(b, "flac", artist="Kevin MacLeod", title="Closing", album="Calm")
    c = write_audio(src / "c.ogg", "ogg", seconds=8, freq=520, seed=3)
    return _zip(tmp_path / "music" / "Kevin MacLeod - Calm.zip", {
        "Kevin MacLeod - Calm - 01 Opening.flac": a.read_bytes(),
        "Kevin MacLeod - Calm - 02 Closing.flac": b.read_bytes(),
        "extras/Bonus Artist/Calm/03 - Hidden.ogg": c.read_bytes(),
        "cover.jpg": b"\xff\xd8\xff\xe0 not really a jpeg",
    })


def _outcomes(summary: dict) -> dict[str, str]:
    return {s["path"].rsplit(".zip/", 1)[-1]: s["reason"] for s in summary["skipped"]}


def test_an_album_zip_is_added_as_the_folder_it_would_extract_into(album, capsys):
    assert main(["library", "add", str(album.parent), "--json", "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["files"], summary["stored"], summary["already_stored"]) == (4, 3, 0)
    assert _outcomes(summary) == {"cover.jpg": "not_audio"}
    assert summary["tracks_by_artist"] == {"Bonus Artist": 1, "Kevin MacLeod": 2}
    with warehouse.writer() as con:
        paths = dict(con.execute("SELECT title, source_path FROM library_track").fetchall())
    assert paths["Opening"] == f"{album}/Kevin MacLeod - Calm - 01 Opening.flac"
    assert paths["Hidden"] == f"{album}/extras/Bonus Artist/Calm/03 - Hidden.ogg"
    assert not [p for p in get_settings().tmp_dir.iterdir() if p.name.startswith("library-member-")]

    assert main(["library", "add", str(album.parent), "--json", "--no-progress"]) == 0  # a rerun stores nothing
    again = json.loads(capsys.readouterr().out)
    assert (again["stored"], again["already_stored"]) == (0, 3)


def test_the_album_zip_and_its_extracted_folder_are_one_album(album, tmp_path):
    first = add([album]).to_json()
    extracted = tmp_path / "extracted"
    zipfile.ZipFile(album).extractall(extracted)
    second = add([extracted]).to_json()
    assert first["stored"] == 3 and second["stored"] == 0
    assert {s["reason"] for s in second["skipped"]} == {"duplicate_content", "not_audio"}


def test_a_moved_archive_keeps_its_tracks(album, tmp_path):
    add([album])
    moved = album.rename(tmp_path / "Calm.zip")
    assert not holds(f"{album}/cover.jpg") and holds(f"{moved}/cover.jpg") and not holds(f"{moved}/nothing.flac")
    summary = add([moved]).to_json()
    assert (summary["stored"], summary["already_stored"]) == (0, 3)
    with warehouse.writer() as con:
        assert {r[0].split(".zip/")[0] for r in con.execute("SELECT source_path FROM library_track").fetchall()} \
            == {str(moved)[:-4]}


def _link(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o120777 << 16
    return info


def _mark_encrypted(archive) -> None:
    """Set the encryption flag of the archive's one member, in its local and central headers (Python's zip
    writer cannot encrypt)."""
    data = bytearray(archive.read_bytes())
    for signature, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = data.index(signature) + at
        data[i] |= 0x1
    archive.write_bytes(bytes(data))


def test_what_a_hostile_archive_holds_is_skipped_and_nothing_is_written_where_it_points(tmp_path):
    song = write_audio(tmp_path / "src" / "song.ogg", "ogg", seconds=8, freq=350).read_bytes()
    inner = _zip(tmp_path / "src" / "inner.zip", {"song.ogg": song}).read_bytes()
    hostile = _zip(tmp_path / "music" / "hostile.zip", {
        "ok.ogg": song,
        "../../escaped.ogg": song[::-1],
        "/etc/absolute.ogg": song[:-1],
        "link.ogg": b"/etc/passwd",
        "bomb.wav": bytes(64 << 20),
        "inner.zip": inner,
        "empty.ogg": b"",
    }, **{"link.ogg": _link("link.ogg")})
    _zip(tmp_path / "music" / "nothing.zip", {})
    (tmp_path / "music" / "cut.zip").write_bytes(hostile.read_bytes()[:3000])
    summary = add([tmp_path / "music"]).to_json()
    reasons = {s["path"].split("music/", 1)[1]: s["reason"] for s in summary["skipped"]}
    assert reasons == {
        "hostile.zip/../../escaped.ogg": "unreadable",
        "hostile.zip/etc/absolute.ogg": "unreadable",
        "hostile.zip/link.ogg": "unreadable",
        "hostile.zip/bomb.wav": "unreadable",
        "hostile.zip/inner.zip": "not_audio",
        "hostile.zip/empty.ogg": "empty",
        "nothing.zip": "empty",
        "cut.zip": "unreadable",
    }
    assert summary["stored"] == 1 and summary["files"] == 9
    assert not (tmp_path / "escaped.ogg").exists() and not (tmp_path.parent / "escaped.ogg").exists()
    details = add([tmp_path / "music"], retry=True).details
    assert "zip bomb" in details[f"{tmp_path}/music/hostile.zip/bomb.wav"]
    assert "leaves the archive" in details[f"{tmp_path}/music/hostile.zip/../../escaped.ogg"]
    assert "unzip -t" in details[f"{tmp_path}/music/cut.zip"]


def test_an_encrypted_member_is_skipped_with_what_to_do(tmp_path):
    song = write_audio(tmp_path / "src" / "song.ogg", "ogg", seconds=8).read_bytes()
    archive = _zip(tmp_path / "music" / "locked.zip", {"song.ogg": song})
    _mark_encrypted(archive)
    summary = add([archive])
    assert summary.skipped == [{"path": f"{archive}/song.ogg", "reason": "unreadable"}]
    assert "password" in summary.details[f"{archive}/song.ogg"]


def test_a_named_pipe_is_never_opened_as_an_archive(tmp_path):
    (tmp_path / "music").mkdir()
    os.mkfifo(tmp_path / "music" / "pipe.zip")
    assert add([tmp_path / "music"]).skipped == [{"path": f"{tmp_path}/music/pipe.zip", "reason": "unreadable"}]


def test_an_untagged_album_zip_is_named_by_the_archive_as_shops_name_it(tmp_path):
    song = write_audio(tmp_path / "src" / "a.ogg", "ogg", seconds=8).read_bytes()
    other = write_audio(tmp_path / "src" / "b.ogg", "ogg", seconds=8, freq=600).read_bytes()
    _zip(tmp_path / "music" / "Kai Engel - Irsens Tale.zip", {"01 Lonely Hill.ogg": song})
    _zip(tmp_path / "music" / "Chronos.zip", {"Chronos.ogg": other})
    assert add([tmp_path / "music"]).tracks_by_artist == {"Chronos": 1, "Kai Engel": 1}


def test_an_untagged_zip_holding_a_folder_of_its_name_is_the_album_of_the_folder_above(tmp_path):
    """`Diami Belcro/Live at the Hall.zip` with its members in `Live at the Hall/` (how most zips are made) gave
    the artist `Live at the Hall`; `Kai Engel - Irsens Tale.zip` holding `Irsens Tale/` gave `Kai Engel - Irsens
    Tale`."""
    from musim.synth.files import write_clip
    from musim.synth.sound import synthesize_clip

    songs = [write_clip(tmp_path / f"{n}.mp3", synthesize_clip(community=0, artist_seed=5, track_no=n, sr=22050,
                                                              duration=6), sr=22050).read_bytes() for n in (1, 2, 3)]
    _zip(tmp_path / "music" / "Diami Belcro" / "Live at the Hall.zip",
         {"Live at the Hall/01 - Z 1.mp3": songs[0], "Live at the Hall/02 - Z 2.mp3": songs[1]})
    _zip(tmp_path / "music" / "Kai Engel - Irsens Tale.zip", {"Irsens Tale/01 - Lonely Hill.mp3": songs[2]})
    assert add([tmp_path / "music"]).tracks_by_artist == {"Diami Belcro": 2, "Kai Engel": 1}


def test_a_zip_given_where_one_audio_file_is_read_says_how_to_use_it(album):
    from musim.library.formats import probe

    with pytest.raises(FileSkipped, match="not_audio .*a zip archive: `musim library add` reads the albums in it"):
        probe(album)


@pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")
def test_every_member_has_its_own_outcome_when_names_repeat_or_collide(tmp_path):
    """`../x.ogg` and `x.ogg` were both shown as ALBUM.zip/x.ogg, and a name held twice counted once: members went
    without any outcome."""
    tones = [write_audio(tmp_path / "src" / f"{i}.ogg", "ogg", seconds=8, freq=300 + 70 * i).read_bytes()
             for i in range(4)]
    archive = tmp_path / "music" / "Coll - Album.zip"
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../x.ogg", tones[0])
        zf.writestr("x.ogg", tones[1])
        zf.writestr("y.ogg", tones[2])
        zf.writestr("y.ogg", tones[3])  # the same name twice (zip allows it; Python warns)
    summary = add([archive]).to_json()
    assert summary["files"] == 4 and summary["stored"] == 3
    assert summary["skipped"] == [{"path": f"{archive}/../x.ogg", "reason": "unreadable"}]
    with warehouse.writer() as con:
        stored = sorted(r[0] for r in con.execute("SELECT source_path FROM library_track").fetchall())
    assert stored == [f"{archive}/x.ogg", f"{archive}/y.ogg", f"{archive}/y.ogg (member 4)"]
    assert holds(f"{archive}/y.ogg (member 4)") and not holds(f"{archive}/y.ogg (member 5)")


def test_skipped_details_are_whole_with_width_0(tmp_path, capsys):
    """They were cut at 80 characters whatever --width said, losing the what-to-do part."""
    from musim.cli import main

    _zip(tmp_path / "music" / "bomb.zip", {"big.wav": b"RIFF" + bytes(8 << 20)})
    add([tmp_path / "music"])
    assert main(["--width", "0", "library", "skipped"]) == 0
    assert "which audio never does (a zip bomb?); not extracted" in capsys.readouterr().out


def test_the_scratch_copy_of_a_member_a_killed_add_left_goes_with_the_next_add_of_any_file(tmp_path):
    """A `library add` killed (kill -9, the OOM killer) while it read a zip member left its scratch copy in
    ``$MUSIM_TMP`` (up to 4 GiB) until an add that read a zip again: the next add of any file removes it."""
    tmp = get_settings().ensure_tmp()
    left = [tmp / "library-member-4242-deadbeef.flac", tmp / "library-member-4242-deadbeef.lock"]
    left[0].write_bytes(b"\0" * 4096)
    left[1].touch()
    write_audio(tmp_path / "music" / "A" / "one.flac", "flac", seconds=8)
    assert add([tmp_path / "music"], workers=1).stored == 1
    assert not any(p.exists() for p in left)
