"""What the landing scan does with a folder's files beyond one dump: a gunzipped copy beside its .gz, several
dumps sharing one profiles file, and files it does not take (reported once, never silently left waiting)."""

from __future__ import annotations

import gzip
import logging
import shutil
from pathlib import Path

import pytest

from musim import warehouse
from musim.errors import IngestError
from musim.ingest.landing import ingest_landed, new_dumps, nothing_new
from musim.ingest.lastfm import ingest_lastfm
from musim.quality.runner import check
from tests.lastfm_files import U1, U2, tiny_dump, write_lines

PLAYS = "usersha1-artmbid-artname-plays.tsv"
PROFILES = "usersha1-profile.tsv"


def _profiles(path):
    return write_lines(path, [f"{U1}\tm\t22\tSweden\tFeb 1, 2007", f"{U2}\tf\t\t\t"])


@pytest.mark.parametrize("as_url", [False, True], ids=["folder", "file-url"])
def test_a_dump_beside_its_gunzipped_copy_is_ingested_with_its_profiles(tmp_path, monkeypatch, as_url):
    """`gunzip -k` left X.tsv beside X.tsv.gz: both were ingested without the folder's profiles, silently."""
    folder = tmp_path / "landing" / "2026-11"
    plain = tiny_dump(folder / PLAYS)
    with open(plain, "rb") as src, gzip.open(folder / f"{PLAYS}.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    _profiles(folder / PROFILES)
    monkeypatch.setenv("MUSIM_LANDING", (tmp_path / "landing").as_uri() if as_url else str(tmp_path / "landing"))
    (ready,) = new_dumps(settle_s=0)  # one dump, taken once: it was ingested twice, the second "already ingested"
    assert ready.plays.rpartition("/")[2] == PLAYS and [t[0].rpartition("/")[2] for t in ready.twins] == [f"{PLAYS}.gz"]
    assert ready.profiles is not None and ready.profiles.endswith(PROFILES)
    first = ingest_landed(ready.to_json())
    assert (first.profile_lines, first.profile_loaded, first.already_ingested) == (2, 2, False)
    assert new_dumps(settle_s=0) == []  # both files remembered
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM lastfm_profile").fetchone()[0] == 2
        assert con.execute("SELECT count(DISTINCT dump_id), count(*) FROM landing_file").fetchone() == (1, 3)


@pytest.mark.parametrize("as_url", [False, True], ids=["folder", "file-url"])
def test_a_gunzipped_copy_made_after_the_ingest_is_found_ingested_and_announces_nothing(tmp_path, monkeypatch, as_url):
    """`gunzip -k` after the .gz was ingested: the copy is the file not yet remembered, read once, found ingested."""
    folder = tmp_path / "landing" / "2026-11"
    gz = write_lines(folder / f"{PLAYS}.gz", tiny_dump(tmp_path / PLAYS).read_text().splitlines(), gz=True)
    monkeypatch.setenv("MUSIM_LANDING", (tmp_path / "landing").as_uri() if as_url else str(tmp_path / "landing"))
    (ready,) = new_dumps(settle_s=0)
    first = ingest_landed(ready)
    assert nothing_new(first) is None
    check(["lastfm_plays"], dump_id=first.dump_id, docs=False)  # the DAG's gate judged it
    with gzip.open(gz) as src, open(folder / PLAYS, "wb") as dst:
        shutil.copyfileobj(src, dst)
    (again,) = new_dumps(settle_s=0)
    assert again.plays.rpartition("/")[2] == PLAYS and [t[0] for t in again.twins] == [ready.plays]
    second = ingest_landed(again.to_json())
    assert second.already_ingested and second.dump_id == first.dump_id
    assert nothing_new(second.to_json()) == (f"dump {first.dump_id[:12]} was ingested before (as {PLAYS}.gz): "
                                             "nothing new was loaded, so no lastfm_plays event")
    assert new_dumps(settle_s=0) == []


def test_two_dumps_sharing_one_profiles_file_are_refused_not_ingested_without_it(tmp_path, monkeypatch):
    folder = tmp_path / "landing" / "d"
    tiny_dump(folder / PLAYS)
    write_lines(folder / "userid-timestamp-artid-artname-traid-traname.tsv",
                ["user_000001\t2009-05-04T23:08:57Z\t\tDeep Dish\t\tFuck Me Im Famous"])
    _profiles(folder / PROFILES)
    monkeypatch.setenv("MUSIM_LANDING", str(tmp_path / "landing"))
    ready = new_dumps(settle_s=0)
    assert len(ready) == 2
    for d in ready:
        with pytest.raises(IngestError, match=rf"^{folder} holds 2 dumps \(userid-.*traname.tsv, {PLAYS}\) and one "
                                              rf"profiles file \({PROFILES}\): whose profiles"):
            ingest_landed(d.to_json())
    assert len(new_dumps(settle_s=0)) == 2  # nothing remembered: left for when they are in folders of their own


@pytest.mark.parametrize("as_url", [False, True], ids=["folder", "file-url"])
def test_files_the_scan_does_not_take_are_reported_once_each(tmp_path, monkeypatch, caplog, as_url):
    root = tmp_path / "landing"
    folder = root / "2026-11"
    tiny_dump(folder / "plays.tsv")  # `musim ingest lastfm` takes it by its content; the scan goes by names
    (folder / f"{PLAYS}.bz2").write_bytes(b"BZh9")
    (folder / f"{PLAYS}.xz").write_bytes(b"\xfd7zXZ")
    (folder / ".partial-upload").write_bytes(b"x")  # hidden: not reported
    monkeypatch.setenv("MUSIM_LANDING", root.as_uri() if as_url else str(root))

    with caplog.at_level(logging.WARNING, logger="musim.ingest.landing"):
        assert new_dumps(settle_s=0) == []
    warned = [r.getMessage() for r in caplog.records if r.name == "musim.ingest.landing"]
    assert len(warned) == 3, warned
    by_name = {m.split(" is not ingested")[0].rpartition("/")[2]: m for m in warned}
    assert set(by_name) == {"plays.tsv", f"{PLAYS}.bz2", f"{PLAYS}.xz"}
    assert "rename it to its Last.FM name, or ingest it with `musim ingest lastfm FILE" in by_name["plays.tsv"]
    assert "its compression (.bz2) is not read: decompress it, or gzip it" in by_name[f"{PLAYS}.bz2"]
    assert "its compression (.xz) is not read" in by_name[f"{PLAYS}.xz"]
    assert all("accepted: a dump's plays file, usersha1-artmbid-artname-plays.tsv[.gz]" in m for m in warned)

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="musim.ingest.landing"):
        assert new_dumps(settle_s=0) == []  # the next hourly scan: not reported again
    assert [r for r in caplog.records if r.name == "musim.ingest.landing"] == []

    (folder / "plays.tsv").unlink()  # gone, then dropped again: reported again
    assert new_dumps(settle_s=0) == []
    tiny_dump(folder / "plays.tsv")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="musim.ingest.landing"):
        assert new_dumps(settle_s=0) == []
    assert [r.getMessage().split(" is not")[0].rpartition("/")[2] for r in caplog.records
            if r.name == "musim.ingest.landing"] == ["plays.tsv"]


def test_a_profiles_file_that_is_a_broken_link_is_reported_not_passed_over(tmp_path, monkeypatch, caplog):
    """A landed usersha1-profile.tsv that was a broken link (or a FIFO) was passed over, unsaid: its dump was
    ingested without it. It is reported, once, as no regular file; the dump is still taken."""
    folder = tmp_path / "landing" / "2026-11"
    tiny_dump(folder / PLAYS)
    (folder / PROFILES).symlink_to(tmp_path / "unmounted" / PROFILES)
    monkeypatch.setenv("MUSIM_LANDING", str(tmp_path / "landing"))
    with caplog.at_level(logging.WARNING, logger="musim.ingest.landing"):
        assert [d.profiles for d in new_dumps(settle_s=0)] == [None]
    warned = [r.getMessage() for r in caplog.records if r.name == "musim.ingest.landing"]
    assert len(warned) == 1 and warned[0].startswith(f"landing: {folder / PROFILES} is not ingested, it is no "
                                                     "regular file (a FIFO, a socket or a broken link")


@pytest.mark.parametrize("as_url", [False, True], ids=["folder", "file-url"])
def test_a_profiles_file_dropped_after_its_plays_were_ingested_is_loaded_then(tmp_path, monkeypatch, as_url):
    """The landing remembered the plays file only: a profiles file arriving after it was never picked up."""
    folder = tmp_path / "landing" / "2026-11"
    tiny_dump(folder / PLAYS)
    monkeypatch.setenv("MUSIM_LANDING", (tmp_path / "landing").as_uri() if as_url else str(tmp_path / "landing"))
    (ready,) = new_dumps(settle_s=0)
    assert ingest_landed(ready).profile_lines == 0
    assert new_dumps(settle_s=0) == []

    _profiles(folder / PROFILES)
    (later,) = new_dumps(settle_s=0)
    assert later.plays == ready.plays and later.profiles is not None
    result = ingest_landed(later.to_json())
    assert result.already_ingested and result.profiles_added and result.profile_loaded == 2
    assert new_dumps(settle_s=0) == []  # both files remembered now
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM lastfm_profile").fetchone()[0] == 2


def test_a_dump_landed_with_its_profiles_before_they_were_remembered_is_not_taken_again(tmp_path, monkeypatch):
    """Landings recorded the plays file only: its profiles file, unchanged, is recognised by content, not re-ingested."""
    folder = tmp_path / "landing" / "2026-11"
    tiny_dump(folder / PLAYS)
    profiles = _profiles(folder / PROFILES)
    monkeypatch.setenv("MUSIM_LANDING", str(tmp_path / "landing"))
    (ready,) = new_dumps(settle_s=0)
    assert ingest_landed(ready).profile_loaded == 2
    with warehouse.writer() as con:  # as a landing before this change left it
        con.execute("DELETE FROM landing_file WHERE location = ?", [str(profiles)])
    assert new_dumps(settle_s=0) == []
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM landing_file").fetchone()[0] == 2
    write_lines(profiles, [f"{U1}\tf\t30\tChile\t"])  # another profiles file in its place: taken (and refused)
    (other,) = new_dumps(settle_s=0)
    with pytest.raises(IngestError, match="--replace-profiles"):
        ingest_landed(other)


def _gzip_copy(path):
    """`gzip -k path`: path.gz beside it."""
    with open(path, "rb") as src, gzip.open(f"{path}.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path.with_name(f"{path.name}.gz")


@pytest.mark.parametrize("as_url", [False, True], ids=["folder", "file-url"])
def test_a_profiles_file_beside_its_gunzipped_copy_is_one_profiles_file(tmp_path, monkeypatch, as_url):
    """A `gunzip -k` copy of a dump folder (plays and profiles, each .tsv beside its .tsv.gz) was refused every
    hour: "holds 2 profiles files (usersha1-profile.tsv, usersha1-profile.tsv.gz)"."""
    folder = tmp_path / "landing" / "2026-11"
    _gzip_copy(tiny_dump(folder / PLAYS))
    _gzip_copy(_profiles(folder / PROFILES))
    monkeypatch.setenv("MUSIM_LANDING", (tmp_path / "landing").as_uri() if as_url else str(tmp_path / "landing"))
    (ready,) = new_dumps(settle_s=0)
    assert ready.more_profiles == ()
    assert ready.profiles is not None and ready.profiles.rpartition("/")[2] == PROFILES
    assert [t[0].rpartition("/")[2] for t in ready.profiles_twins] == [f"{PROFILES}.gz"]
    first = ingest_landed(ready.to_json())
    assert (first.profile_lines, first.profile_loaded, first.already_ingested) == (2, 2, False)
    assert new_dumps(settle_s=0) == []  # all four files remembered
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM lastfm_profile").fetchone()[0] == 2
        assert con.execute("SELECT count(DISTINCT dump_id), count(*) FROM landing_file").fetchone() == (1, 4)


def test_a_gunzipped_profiles_copy_made_after_the_ingest_is_found_loaded(tmp_path, monkeypatch):
    """The profiles twin made later is found loaded (by content) and remembered: the dump is not taken again."""
    folder = tmp_path / "landing" / "2026-11"
    tiny_dump(folder / PLAYS)
    gz = _gzip_copy(_profiles(tmp_path / PROFILES))
    shutil.move(gz, folder / gz.name)
    monkeypatch.setenv("MUSIM_LANDING", str(tmp_path / "landing"))
    (ready,) = new_dumps(settle_s=0)
    assert ingest_landed(ready).profile_loaded == 2
    shutil.copy(tmp_path / PROFILES, folder / PROFILES)
    assert new_dumps(settle_s=0) == []
    with warehouse.writer() as con:
        assert con.execute("SELECT count(DISTINCT dump_id), count(*) FROM landing_file").fetchone() == (1, 3)
    assert new_dumps(settle_s=0) == []


def test_two_different_profiles_files_are_still_refused(tmp_path, monkeypatch):
    folder = tmp_path / "landing" / "d"
    tiny_dump(folder / PLAYS)
    _gzip_copy(_profiles(folder / PROFILES))
    _profiles(folder / f"other-{PROFILES}")
    monkeypatch.setenv("MUSIM_LANDING", str(tmp_path / "landing"))
    (ready,) = new_dumps(settle_s=0)
    with pytest.raises(IngestError, match=r"holds 3 profiles files \(other-usersha1-profile.tsv, usersha1-profile.tsv, "
                                          r"usersha1-profile.tsv.gz\): nothing was stored"):
        ingest_landed(ready.to_json())


def _two_dumps_named_as_twins(folder):
    """plays.tsv and plays.tsv.gz with different content: two dumps, not a `gzip -k` copy."""
    write_lines(folder / PLAYS, [f"{U1}\t\tArtistA\t3", f"{U1}\t\tArtistB\t2"])
    write_lines(folder / f"{PLAYS}.gz", [f"{U2}\t\tArtistC\t5", f"{U2}\t\tArtistD\t1"], gz=True)


@pytest.mark.parametrize("as_url", [False, True], ids=["folder", "file-url"])
def test_a_twin_with_other_content_is_ingested_as_its_own_dump_not_remembered_unread(tmp_path, monkeypatch, caplog,
                                                                                      as_url):
    """X.tsv beside X.tsv.gz was one dump by name: one was ingested, the other remembered with it, never read."""
    folder = tmp_path / "landing" / "d1"
    _two_dumps_named_as_twins(folder)
    monkeypatch.setenv("MUSIM_LANDING", (tmp_path / "landing").as_uri() if as_url else str(tmp_path / "landing"))
    (first,) = new_dumps(settle_s=0)
    with caplog.at_level(logging.WARNING, logger="musim.ingest.landing"):
        one = ingest_landed(first.to_json())
    assert any("have different content (not a gzip -k copy)" in r.getMessage() for r in caplog.records)
    (second,) = new_dumps(settle_s=0)  # the other file: left for the scan, as a dump of its own
    assert second.plays.rpartition("/")[2] != first.plays.rpartition("/")[2]
    two = ingest_landed(second)
    assert not two.already_ingested and two.dump_id != one.dump_id
    assert new_dumps(settle_s=0) == []
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM lastfm_dump").fetchone()[0] == 2
        assert con.execute("SELECT count(DISTINCT dump_id), count(*) FROM landing_file").fetchone() == (2, 2)


def test_twins_with_other_content_beside_one_profiles_file_are_refused(tmp_path, monkeypatch):
    folder = tmp_path / "landing" / "d1"
    _two_dumps_named_as_twins(folder)
    _profiles(folder / PROFILES)
    monkeypatch.setenv("MUSIM_LANDING", str(tmp_path / "landing"))
    (ready,) = new_dumps(settle_s=0)
    with pytest.raises(IngestError, match=rf"^{folder} holds 2 dumps with different content \({PLAYS}, {PLAYS}.gz: "
                                          r"not a gzip -k copy\) and one profiles file"):
        ingest_landed(ready)
    assert len(new_dumps(settle_s=0)) == 1  # nothing stored nor remembered
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM lastfm_dump").fetchone()[0] == 0


def test_a_profiles_twin_with_other_content_is_refused_not_remembered_unread(tmp_path, monkeypatch):
    folder = tmp_path / "landing" / "d1"
    tiny_dump(folder / PLAYS)
    _profiles(folder / PROFILES)
    write_lines(folder / f"{PROFILES}.gz", [f"{U1}\tf\t30\tChile\t"], gz=True)
    monkeypatch.setenv("MUSIM_LANDING", str(tmp_path / "landing"))
    (ready,) = new_dumps(settle_s=0)
    with pytest.raises(IngestError, match=rf"^{folder} holds 2 profiles files with different content \({PROFILES}, "
                                          rf"{PROFILES}.gz: not a gzip -k copy\): nothing was stored"):
        ingest_landed(ready)
    assert len(new_dumps(settle_s=0)) == 1


def test_a_dump_landed_again_that_was_never_judged_is_judged_and_announced(tmp_path, monkeypatch):
    """A run cut off between its ingest (committed) and its quality gate, the worker killed or the task failed
    after the commit: every later run, and the task cleared to try again, found the dump "ingested before" and
    skipped its gate and its lastfm_plays event, so it was never judged nor built. Likewise a dump ingested by hand,
    then dropped in the landing area. Once judged (passed or failed), landing it again announces nothing."""
    folder = tmp_path / "landing" / "d"
    plays = tiny_dump(tmp_path / "by-hand" / PLAYS)
    by_hand = ingest_lastfm(plays)  # `musim ingest lastfm PLAYS`: no gate
    assert nothing_new(by_hand) is None  # a new dump
    folder.mkdir(parents=True)
    shutil.copy(plays, folder / PLAYS)
    monkeypatch.setenv("MUSIM_LANDING", str(tmp_path / "landing"))
    (ready,) = new_dumps(settle_s=0)
    again = ingest_landed(ready)
    assert again.already_ingested and again.dump_id == by_hand.dump_id
    assert nothing_new(again.to_json()) is None  # never judged: judged and announced now
    check(["lastfm_plays"], dump_id=again.dump_id, docs=False)
    assert nothing_new(again.to_json()) == (f"dump {again.dump_id[:12]} was ingested before (as {PLAYS}): nothing "
                                            "new was loaded, so no lastfm_plays event")


@pytest.mark.parametrize("as_url", [False, True], ids=["folder", "file-url"])
def test_a_file_named_in_a_legacy_encoding_is_reported_and_the_rest_ingested(tmp_path, monkeypatch, caplog, as_url):
    """One file whose name is not valid UTF-8 anywhere in the landing area (copied from a Latin-1 share, unzipped
    from an old zip) made every scan fail with DuckDB's "cannot encode str as UTF-8, surrogate '\\udce9'"
    traceback, as it stored the name to report it: no dump was ingested any more. It is reported once, with what
    to do, never taken (a dump's file there too: its path cannot be recorded), and the other dumps are ingested."""
    import os

    root = tmp_path / "landing"
    tiny_dump(root / "good" / PLAYS)
    raw_root = os.fsencode(root)
    os.makedirs(raw_root + b"/M\xf6tley")
    (Path(os.fsdecode(raw_root + b"/M\xf6tley")) / PLAYS).write_bytes((root / "good" / PLAYS).read_bytes())
    Path(os.fsdecode(raw_root + b"/good/caf\xe9 notes.txt")).write_bytes(b"notes\n")
    monkeypatch.setenv("MUSIM_LANDING", root.as_uri() if as_url else str(root))
    with caplog.at_level(logging.WARNING, logger="musim.ingest.landing"):
        (ready,) = new_dumps(settle_s=0)
    assert ready.plays.endswith(f"/good/{PLAYS}")
    warned = sorted(r.getMessage() for r in caplog.records if r.name == "musim.ingest.landing")
    assert [m.split(" is not ingested, ")[0].removeprefix("landing: ").rpartition("landing/")[2] for m in warned] == [
        f"M\\xf6tley/{PLAYS}", "good/caf\\xe9 notes.txt"]
    assert all("its path is not valid UTF-8 (a legacy encoding such as Latin-1?), and the warehouse records it as "
               "text: rename it, e.g. `convmv -f latin1 -t utf-8 PATH`" in m for m in warned)
    assert not ingest_landed(ready).already_ingested
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="musim.ingest.landing"):
        assert new_dumps(settle_s=0) == []  # reported once
    assert [r for r in caplog.records if r.name == "musim.ingest.landing"] == []


def test_a_profiles_file_with_no_plays_file_beside_it_is_reported_then_taken_with_them(tmp_path, monkeypatch, caplog):
    """A profiles file in a folder without a plays file (dropped in another folder than its dump's, or beside an
    archive, which reads its own) was neither read nor reported: left waiting, unsaid. It is reported once, and
    taken with the plays file put beside it."""
    root = tmp_path / "landing"
    _profiles(root / "profiles-here" / PROFILES)
    tiny_dump(root / "plays-there" / PLAYS)
    monkeypatch.setenv("MUSIM_LANDING", str(root))
    with caplog.at_level(logging.WARNING, logger="musim.ingest.landing"):
        (ready,) = new_dumps(settle_s=0)
    assert ready.profiles is None
    (warned,) = [r.getMessage() for r in caplog.records if r.name == "musim.ingest.landing"]
    assert warned.startswith(f"landing: {root / 'profiles-here' / PROFILES} is not ingested, it is a profiles file "
                             "with no plays file beside it: a profiles file is loaded with the dump in its folder, so "
                             "put it beside its plays file (or load it with `musim ingest lastfm PLAYS --profiles")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="musim.ingest.landing"):
        assert len(new_dumps(settle_s=0)) == 1  # reported once
    assert [r for r in caplog.records if r.name == "musim.ingest.landing"] == []
    shutil.move(root / "plays-there" / PLAYS, root / "profiles-here" / PLAYS)
    (ready,) = new_dumps(settle_s=0)
    assert ready.profiles == str(root / "profiles-here" / PROFILES)
    result = ingest_landed(ready)
    assert (result.loaded, result.profile_loaded) == (9, 2)


@pytest.mark.parametrize("as_url", [False, True], ids=["folder", "file-url"])
def test_a_dump_in_a_hidden_folder_is_not_taken(tmp_path, monkeypatch, caplog, as_url):
    """A dump deleted on a mounted landing disk lies in `.Trash-1000/files/`, a filer's hourly copies in
    `.snapshot/hourly.0/`: the scan ingested each of them as a dump (a deleted or an old one, announced as new)."""
    root = tmp_path / "landing"
    tiny_dump(root / "2026-11" / PLAYS)
    write_lines(root / ".Trash-1000" / "files" / PLAYS, [f"{U1}\t\tDeleted Dump\t1"])
    write_lines(root / ".snapshot" / "hourly.0" / "2026-10" / PLAYS, [f"{U2}\t\tAn Old Copy\t2"])
    _profiles(root / ".snapshot" / "hourly.0" / "2026-10" / PROFILES)
    (root / ".partial").mkdir()
    (root / ".partial" / "notes.txt").write_text("uploading\n")
    monkeypatch.setenv("MUSIM_LANDING", root.as_uri() if as_url else str(root))
    with caplog.at_level(logging.WARNING, logger="musim.ingest.landing"):
        (ready,) = new_dumps(settle_s=0)
    assert ready.plays.endswith(f"landing/2026-11/{PLAYS}")
    assert [r for r in caplog.records if r.name == "musim.ingest.landing"] == []  # nothing of theirs reported
    assert ingest_landed(ready).loaded == 9 and new_dumps(settle_s=0) == []
