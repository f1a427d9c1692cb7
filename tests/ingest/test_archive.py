"""Dumps as distributed: `lastfm-dataset-360K.tar.gz` ingested as it is, on the command line and from the landing
area (the archive was read as a dump file: its tar headers became rejected lines, and its profiles file's lines
plays; in the landing area it was never picked up)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from musim import warehouse
from musim.cli import main
from musim.errors import IngestError
from musim.ingest.landing import ingest_landed, new_dumps
from musim.ingest.lastfm import ingest_lastfm
from tests.lastfm_files import MB_A, U1, U2, tiny_dump, write_lines

PLAYS = "usersha1-artmbid-artname-plays.tsv"
PROFILES = "usersha1-profile.tsv"


def _distributed(tmp_path: Path, name: str = "lastfm-dataset-360K.tar.gz", *, mode: str = "w:gz",
                 members: dict[str, bytes] | None = None) -> Path:
    """An archive laid out as Last.FM's: a folder holding the plays file, the profiles file and a README."""
    src = tmp_path / "src"
    plays = tiny_dump(src / PLAYS).read_bytes()
    profiles = write_lines(src / PROFILES, [f"{U1}\tm\t22\tSweden\tFeb 1, 2007", f"{U2}\tf\t\t\t"]).read_bytes()
    if members is None:
        members = {f"lastfm-dataset-360K/{PLAYS}": plays, f"lastfm-dataset-360K/{PROFILES}": profiles,
                   "lastfm-dataset-360K/README.txt": b"Last.fm Dataset - 360K users\n"}
    path = tmp_path / name
    with tarfile.open(path, mode) as tar:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _tables() -> dict[str, int]:
    with warehouse.writer() as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("lastfm_dump", "lastfm_plays", "ingest_rejects", "lastfm_profile")}


def test_an_archive_is_the_dump_it_holds_with_its_profiles(tmp_path):
    archive = _distributed(tmp_path)
    result = ingest_lastfm(archive)
    assert (result.format, result.lines, result.loaded, result.rejected) == ("360k", 9, 9, 0)
    assert (result.profile_lines, result.profile_loaded) == (2, 2)
    again = ingest_lastfm(tmp_path / "src" / PLAYS)  # the same content: the same dump
    assert again.already_ingested and again.dump_id == result.dump_id
    assert _tables() == {"lastfm_dump": 1, "lastfm_plays": 9, "ingest_rejects": 0, "lastfm_profile": 2}
    assert not any((Path(warehouse.get_settings().tmp_dir)).glob("archive-*"))  # its scratch folder is gone


def test_an_archive_of_another_compression_and_the_profiles_given_apart(tmp_path):
    archive = _distributed(tmp_path, "dump.tar.xz", mode="w:xz")
    other = write_lines(tmp_path / "mine" / PROFILES, [f"{U1}\tm\t22\tSweden\tFeb 1, 2007"])
    result = ingest_lastfm(archive, profiles=other)
    assert result.loaded == 9 and result.profile_lines == 1  # --profiles wins over the archive's


def test_a_member_path_never_chooses_where_it_is_written(tmp_path):
    plays = tiny_dump(tmp_path / "src" / PLAYS).read_bytes()
    archive = _distributed(tmp_path, "evil.tar", mode="w", members={f"../../escaped/{PLAYS}": plays})
    assert ingest_lastfm(archive).loaded == 9
    assert not (tmp_path / "escaped").exists() and not (tmp_path.parent / "escaped").exists()


def test_the_1k_archive_with_its_header_lined_profiles(tmp_path):
    events = "\n".join([f"user_000001\t2009-05-04T23:08:57Z\t{MB_A}\tDeep Dish\t\tFuck Me Im Famous",
                        f"user_000001\t2009-05-04T13:54:10Z\t{MB_A}\tDeep Dish\t\tAnother",
                        "user_000002\t2009-05-04T13:54:10Z\t\tSaxon\t\tWheels"]).encode() + b"\n"
    profiles = b"#id\tgender\tage\tcountry\tregistered\nuser_000001\tm\t\tJapan\tAug 13, 2006\n"
    archive = _distributed(tmp_path, "lastfm-dataset-1K.tar.gz", members={
        "lastfm-dataset-1K/userid-timestamp-artid-artname-traid-traname.tsv": events,
        "lastfm-dataset-1K/userid-profile.tsv": profiles, "lastfm-dataset-1K/README.txt": b"1K users\n"})
    result = ingest_lastfm(archive)
    assert (result.format, result.lines, result.loaded, result.users, result.artists) == ("1k", 3, 3, 2, 2)
    assert (result.profile_lines, result.profile_loaded, result.profile_rejected) == (2, 1, 1)  # the header line


@pytest.mark.parametrize(("content", "says"), [
    ("cut", r"cut.tar.gz: the archive is truncated or corrupt \(.*\); nothing was stored. Download it again"),
    ("junk", r"junk.tar.gz: the archive is truncated or corrupt \(not a tar archive, or a damaged one\)"),
    ("readme", r"readme.tar: no Last.FM plays file in the archive \(.*\); it holds lastfm-dataset-360K/README.txt$"),
    ("two", r"two.tar: the archive holds 2 plays files \(a/usersha1-artmbid-artname-plays.tsv, b/usersha1-"),
])
def test_an_archive_that_is_not_one_dump_is_one_line_and_nothing_is_stored(tmp_path, content, says):
    if content == "cut":
        whole = _distributed(tmp_path).read_bytes()
        archive = tmp_path / "cut.tar.gz"
        archive.write_bytes(whole[: len(whole) // 2])
    elif content == "junk":
        archive = tmp_path / "junk.tar.gz"
        archive.write_bytes(b"not an archive\n" * 10)
    elif content == "readme":
        archive = _distributed(tmp_path, "readme.tar", mode="w",
                               members={"lastfm-dataset-360K/README.txt": b"Last.fm Dataset\n"})
    else:
        plays = tiny_dump(tmp_path / "src" / PLAYS).read_bytes()
        archive = _distributed(tmp_path, "two.tar", mode="w", members={f"a/{PLAYS}": plays, f"b/{PLAYS}": plays})
    with pytest.raises(IngestError, match=says):
        ingest_lastfm(archive)
    assert set(_tables().values()) == {0}


@pytest.mark.parametrize("fmt", ["360k", "auto"])
def test_an_error_about_a_member_names_the_archive_and_the_member(tmp_path, capsys, fmt):
    """It named the deleted scratch copy: "/tmp/.../archive-19818-2c400258/2/userid-...tsv: all 102 lines..."."""
    events = "userid-timestamp-artid-artname-traid-traname.tsv"
    archive = _distributed(tmp_path, "lastfm-dataset-1K.tar.gz", members={
        f"lastfm-dataset-1K/{events}": b"user_000001\t2009-05-04T23:08:57Z\t\tSaxon\t\tWheels\n" * 3,
        "lastfm-dataset-1K/README.txt": b"1K users\n"})
    assert main(["ingest", "lastfm", str(archive), "--format", fmt]) == (2 if fmt == "360k" else 0)
    err = capsys.readouterr().err
    if fmt == "360k":
        assert err.startswith(f"musim: error: {archive}: lastfm-dataset-1K/{events}: all 3 lines were rejected (")
        assert "archive-" not in err.replace(archive.name, "") and err.count("\n") == 1
    plays = "\n".join([f"{U1}\t{MB_A}\tFoo\t5", f"{U2}\tm\t22\tSweden\tFeb 1, 2007"]).encode() + b"\n"
    archive = _distributed(tmp_path, "profiles-bad.tar", mode="w", members={
        f"d/{PLAYS}": plays, f"d/{PROFILES}": b"nonsense\nmore nonsense\n"})
    with pytest.raises(IngestError, match=rf"^{archive}: d/{PROFILES}: all 2 lines were rejected .*--profiles"):
        ingest_lastfm(archive)


@pytest.mark.parametrize("as_url", [False, True], ids=["folder", "file-url"])
def test_an_archive_dropped_in_the_landing_area_is_ingested_with_its_profiles(tmp_path, monkeypatch, as_url):
    root = tmp_path / "landing"
    root.mkdir()
    archive = _distributed(tmp_path)
    archive.rename(root / archive.name)
    monkeypatch.setenv("MUSIM_LANDING", root.as_uri() if as_url else str(root))
    (ready,) = new_dumps(settle_s=0)
    assert ready.plays.endswith("lastfm-dataset-360K.tar.gz") and ready.profiles is None
    result = ingest_landed(ready)
    assert (result.loaded, result.profile_lines) == (9, 2)
    assert new_dumps(settle_s=0) == []  # remembered: not taken twice


def _zipped(tmp_path: Path, name: str = "archive.zip") -> Path:
    """The dump as a dataset mirror serves it (Kaggle's download is a zip named archive.zip)."""
    import zipfile

    src = tmp_path / "zsrc"
    plays = tiny_dump(src / PLAYS)
    profiles = write_lines(src / PROFILES, [f"{U1}\tm\t22\tSweden\tFeb 1, 2007"])
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(plays, f"lastfm-dataset-360K/{PLAYS}")
        zf.write(profiles, f"lastfm-dataset-360K/{PROFILES}")
        zf.writestr("lastfm-dataset-360K/README.txt", "Last.fm Dataset - 360K users\n")
    return path


def test_a_zip_archive_is_the_dump_it_holds_and_a_cut_one_is_one_line(tmp_path):
    zipped = _zipped(tmp_path)
    result = ingest_lastfm(zipped)
    assert (result.format, result.lines, result.loaded, result.rejected) == ("360k", 9, 9, 0)
    assert (result.profile_lines, result.profile_loaded) == (1, 1)
    assert ingest_lastfm(_zipped(tmp_path / "again")).already_ingested  # the same dump, by content
    cut = tmp_path / "cut.zip"
    cut.write_bytes(zipped.read_bytes()[:200])
    with pytest.raises(IngestError, match=r"cut.zip: the archive is truncated or corrupt .*unzip -t"):
        ingest_lastfm(cut)


def test_an_encrypted_plays_file_in_a_zip_says_what_to_do(tmp_path):
    zipped = _zipped(tmp_path)
    data = bytearray(zipped.read_bytes())
    for signature, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # the plays file is the first member
        data[data.index(signature) + at] |= 0x1
    zipped.write_bytes(bytes(data))
    with pytest.raises(IngestError, match="is encrypted in the archive; extract it with its password"):
        ingest_lastfm(zipped)


def test_a_folder_or_archive_with_two_profiles_files_is_refused_naming_them(tmp_path):
    """The profiles were dropped without a word (no "profiles:" line), and could not be added afterwards."""
    folder = tmp_path / "unpacked"
    tiny_dump(folder / PLAYS)
    write_lines(folder / PROFILES, [f"{U1}\tm\t22\tSweden\tFeb 1, 2007"])
    # two profiles files (a `gzip -k` copy beside its file would be one: tests/ingest/test_profiles_match.py)
    write_lines(folder / f"old-{PROFILES}", [f"{U1}\tf\t30\tChile\t"])
    with pytest.raises(IngestError, match=r"holds 2 profiles files \(old-usersha1-profile.tsv, usersha1-profile.tsv\): "
                                          r"nothing was stored. Pass the plays file with the one to load"):
        ingest_lastfm(folder)
    data = (folder / PROFILES).read_bytes()
    archive = _distributed(tmp_path, members={f"d/{PLAYS}": (folder / PLAYS).read_bytes(), f"d/{PROFILES}": data,
                                              f"old/{PROFILES}": data})
    with pytest.raises(IngestError, match="holds 2 profiles files"):
        ingest_lastfm(archive)
    assert _tables()["lastfm_dump"] == 0
    result = ingest_lastfm(folder, profiles=folder / PROFILES)  # the one named
    assert (result.profile_lines, result.profile_loaded) == (1, 1)


def test_profiles_given_later_are_loaded_into_a_dump_ingested_without_them(tmp_path, capsys):
    from musim.cli import main

    plays = tiny_dump(tmp_path / PLAYS)
    profiles = write_lines(tmp_path / PROFILES, [f"{U1}\tm\t22\tSweden\tFeb 1, 2007", f"{U2}\tf\t\t\t"])
    first = ingest_lastfm(plays)
    assert first.profile_lines == 0
    assert main(["ingest", "lastfm", str(plays), "--profiles", str(profiles)]) == 0
    out = capsys.readouterr().out
    assert "without profiles: its profiles file" in out and "profiles: 2 lines = 2 loaded + 0 rejected" in out
    assert _tables()["lastfm_profile"] == 2
    again = ingest_lastfm(plays, profiles=profiles)  # the same file again: nothing to do
    assert again.already_ingested and not again.profiles_added and _tables()["lastfm_profile"] == 2
    other = write_lines(tmp_path / "other" / PROFILES, [f"{U1}\tf\t30\tChile\t"])
    with pytest.raises(IngestError, match="was ingested with another profiles file .*nothing was changed"):
        ingest_lastfm(plays, profiles=other)
    assert _tables()["lastfm_profile"] == 2


def test_what_a_killed_ingest_extracted_is_removed_by_the_next_one_and_a_live_ones_kept(tmp_path):
    """A killed ingest of a `.tar.gz` left its extracted dump (1.6 GB for the real 360K) in $MUSIM_TMP for good."""
    from musim.config import get_settings
    from tests.scratch_owner import kill, scratch_owner

    tmp = get_settings().tmp_dir
    with scratch_owner(tmp, "archive-") as (live, live_dir), scratch_owner(tmp, "archive-") as (dead, dead_dir):
        kill(dead)  # killed half-way through extracting
        ingest_lastfm(_distributed(tmp_path))
        assert live_dir.exists() and not dead_dir.exists()
        left = sorted(p.name for p in tmp.iterdir() if p.name.startswith(("archive-", "ingest-")))
        assert left == [live_dir.name, live_dir.name + ".lock"]


#: What macOS writes beside each file it copies to a foreign disk, tars (bsdtar) or zips (Finder): an AppleDouble
#: file of the same name with ``._`` before it (under ``__MACOSX/`` in a zip), holding the file's metadata.
APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02"


def test_the_appledouble_files_macos_adds_are_no_second_dump_or_profiles_file(tmp_path, monkeypatch):
    """An archive, folder or landing folder made on a Mac was refused: "the archive holds 2 plays files
    (.../usersha1-artmbid-artname-plays.tsv, __MACOSX/.../._usersha1-artmbid-artname-plays.tsv)", "holds 2 profiles
    files (._usersha1-profile.tsv, usersha1-profile.tsv)"."""
    import zipfile

    plays = tiny_dump(tmp_path / "src" / PLAYS).read_bytes()
    profiles = write_lines(tmp_path / "src" / PROFILES, [f"{U1}\tm\t22\tSweden\tFeb 1, 2007"]).read_bytes()
    files = {PLAYS: plays, PROFILES: profiles}
    tarred = _distributed(tmp_path, "mac.tar.gz", members={
        f"lastfm-dataset-360K/{name}": data for n, d in files.items()
        for name, data in ((f"._{n}", APPLEDOUBLE), (n, d))})
    zipped = tmp_path / "mac.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for name, data in files.items():
            zf.writestr(f"lastfm-dataset-360K/{name}", data)
            zf.writestr(f"__MACOSX/lastfm-dataset-360K/._{name}", APPLEDOUBLE)
    folder = tmp_path / "landing" / "copied-from-a-mac"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
        (folder / f"._{name}").write_bytes(APPLEDOUBLE)
    first = ingest_lastfm(tarred)
    assert (first.loaded, first.rejected, first.profile_lines, first.profile_loaded) == (9, 0, 1, 1)
    for other in (zipped, folder):
        again = ingest_lastfm(other)
        assert again.already_ingested and again.dump_id == first.dump_id
    assert _tables() == {"lastfm_dump": 1, "lastfm_plays": 9, "ingest_rejects": 0, "lastfm_profile": 1}
    monkeypatch.setenv("MUSIM_LANDING", str(tmp_path / "landing"))
    (ready,) = new_dumps(settle_s=0)
    assert (ready.plays, ready.profiles) == (str(folder / PLAYS), str(folder / PROFILES))
    assert (ready.other_dumps, ready.more_profiles) == ((), ())
    assert ingest_landed(ready).dump_id == first.dump_id and new_dumps(settle_s=0) == []


def test_the_folder_a_dump_was_downloaded_into_names_its_archive(tmp_path, capsys):
    """`musim ingest lastfm ~/Downloads/lastfm` with the .tar.gz in it said only "holding no plays file: pass the dump
    file itself, with its profiles file": the archive it holds, which the command reads, went unmentioned."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    _distributed(tmp_path).rename(folder / "lastfm-dataset-360K.tar.gz")
    assert main(["ingest", "lastfm", str(folder)]) == 2
    assert capsys.readouterr().err == (
        f"musim: error: {folder} is a directory holding no plays file but 1 archive (lastfm-dataset-360K.tar.gz): "
        f"pass the archive to load, e.g. musim ingest lastfm {folder / 'lastfm-dataset-360K.tar.gz'}\n")
    assert set(_tables().values()) == {0}
    assert main(["ingest", "lastfm", str(folder / "lastfm-dataset-360K.tar.gz")]) == 0  # as it says
    assert _tables()["lastfm_dump"] == 1


def test_a_full_disk_while_extracting_or_decompressing_is_one_line_naming_the_folder(tmp_path, monkeypatch, capsys):
    """The real 360K archive is extracted into $MUSIM_TMP (1.6 GB): a full disk there ended the ingest with
    "musim: error: OSError: [Errno 28] No space left on device" (exit 1), naming neither the folder nor what to
    do, and the DuckDB engine's decompressed copy of a gzip file it cannot read said the dump "cannot be read"."""
    import errno
    import gzip
    import shutil

    copy = shutil.copyfileobj

    def disk_full(src, dst, length=0):
        if Path(getattr(dst, "name", "")).name in (PLAYS, "decompressed.tsv"):
            dst.write(src.read(10))
            raise OSError(errno.ENOSPC, "No space left on device")
        return copy(src, dst, length)

    tmp = Path(warehouse.get_settings().tmp_dir)
    archive = _distributed(tmp_path)
    events = tmp_path / "userid-timestamp-artid-artname-traid-traname.tsv.gz"
    events.write_bytes(gzip.compress(b"user_000001\t2009-05-04T23:08:57Z\t\tSaxon\t\tWheels\n") + bytes(512))
    with monkeypatch.context() as patch:
        patch.setattr(shutil, "copyfileobj", disk_full)
        assert main(["ingest", "lastfm", str(archive)]) == 2
        assert capsys.readouterr().err == (
            f"musim: error: no space left in {tmp} for lastfm-dataset-360K/{PLAYS} extracted from "
            f"{archive.name} (No space left on device); nothing was stored. Free space there, or set MUSIM_TMP to "
            "a folder with room for it\n")
        assert main(["ingest", "lastfm", str(events)]) == 2  # a gzip file DuckDB's reader refuses: a plain copy
        assert capsys.readouterr().err.endswith(
            f"musim: error: no space left in {tmp} for a decompressed copy of {events.name} (No space left on "
            "device); nothing was stored. Free space there, or set MUSIM_TMP to a folder with room for it\n")
    assert set(_tables().values()) == {0}
    assert not [p for p in tmp.iterdir() if p.name.startswith(("archive-", "ingest-"))]  # nothing left behind
    assert ingest_lastfm(archive).loaded == ingest_lastfm(events).loaded + 8 == 9  # with room: both load


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_a_decompression_bomb_is_refused_before_it_fills_the_disk(tmp_path, monkeypatch, kind):
    """A member expanding a thousand times its archive's size was extracted whole: a few megabytes of archive
    filled $MUSIM_TMP's disk. Extracting stops past BOMB_RATIO times the archive's size (above a floor)."""
    import zipfile

    monkeypatch.setattr("musim.ingest.archive.BOMB_FLOOR_BYTES", 1 << 20)
    plays = f"{U1}\t{MB_A}\tBetty Blue\t3\n".encode() * 200_000  # 13 MB, deflated some 500 times
    if kind == "zip":
        archive = tmp_path / "bomb.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f"d/{PLAYS}", plays)
    else:
        archive = _distributed(tmp_path, "bomb.tar.gz", members={f"d/{PLAYS}": plays})
    with pytest.raises(IngestError, match=rf"bomb.{kind}: d/{PLAYS} decompresses to more than .* nothing was stored"):
        ingest_lastfm(archive)
    assert _tables() == {"lastfm_dump": 0, "lastfm_plays": 0, "ingest_rejects": 0, "lastfm_profile": 0}
    assert not any((Path(warehouse.get_settings().tmp_dir)).glob("archive-*"))


@pytest.mark.parametrize("cut", [0, 100])
def test_a_tar_cut_between_members_is_refused_not_read_as_the_members_before(tmp_path, cut):
    """A .tar cut short right after its plays file (a download or copy not finished) was read as an archive of the
    plays file alone: the dump was ingested without its profiles, nothing said."""
    whole = _distributed(tmp_path, "whole.tar", mode="w").read_bytes()
    second = whole.index(f"lastfm-dataset-360K/{PROFILES}".encode())  # its header's first byte: the name
    path = tmp_path / "cut.tar"
    path.write_bytes(whole[:second + cut])
    with pytest.raises(IngestError, match=r"cut.tar: the archive is truncated or corrupt .*nothing was stored"):
        ingest_lastfm(path)
    assert _tables() == {"lastfm_dump": 0, "lastfm_plays": 0, "ingest_rejects": 0, "lastfm_profile": 0}
    assert ingest_lastfm(_distributed(tmp_path, "whole.tar", mode="w")).profile_loaded == 2
