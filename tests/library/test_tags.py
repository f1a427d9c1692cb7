"""The one tag reader, over every tag format (written with mutagen)."""

from __future__ import annotations

import pytest

from musim.library.tags import MAX_TEXT, Tags, read_tags, read_tags_of
from tests.library.conftest import FORMATS, write_audio, write_tags

MBID = "5b11f4ce-a62d-471e-81fc-a69a8278c7da"


@pytest.mark.parametrize("fmt", FORMATS)
def test_reads_every_field_in_every_format(tmp_path, fmt):
    path = write_audio(tmp_path / f"a.{fmt}", fmt, seconds=6)
    write_tags(path, fmt, artist="Björk", albumartist="Björk & Friends", title="Jóga", album="Homogenic",
               genre="Electronic", mbid=MBID)
    tags = read_tags_of(str(path))
    assert tags == Tags(artist="Björk", albumartist="Björk & Friends", mbid=MBID, mbids=(MBID,), title="Jóga",
                        album="Homogenic", genre="Electronic")


def test_untagged_broken_and_invalid_mbid(tmp_path):
    assert read_tags_of(str(write_audio(tmp_path / "plain.wav", "wav", seconds=6))) == Tags()
    (tmp_path / "x.mp3").write_bytes(b"junk")
    assert read_tags_of(str(tmp_path / "x.mp3")) == Tags()
    assert read_tags(None) == Tags()
    path = write_audio(tmp_path / "b.ogg", "ogg", seconds=6)
    write_tags(path, "ogg", artist="  ", mbid="not-a-uuid")
    assert read_tags_of(str(path)) == Tags()


def test_invisible_characters_go_and_compatibility_forms_are_plain_letters(tmp_path):
    """`Zeta\u200bWave` (a zero-width space) and right-to-left marks were kept, so the artist could not be typed;
    full-width ``Ｋａｑｕｉｓｈａ`` was not ``Kaquisha``."""
    path = write_audio(tmp_path / "a.flac", "flac", seconds=1)
    write_tags(path, "flac", artist="Zeta\u200bWave", albumartist="\u200fעידן רייכל\u200f", title="Ｋａｑｕｉｓｈａ")
    tags = read_tags_of(str(path))
    assert (tags.artist, tags.albumartist, tags.title) == ("ZetaWave", "עידן רייכל", "Kaquisha")


def test_the_album_artists_id_is_its_own_and_various_artists_is_none(tmp_path):
    path = write_audio(tmp_path / "a.flac", "flac", seconds=1)
    write_tags(path, "flac", artist="Solo", musicbrainz_albumartistid="89ad4ac3-39f7-470e-963a-56509c546377")
    tags = read_tags_of(str(path))
    assert (tags.mbid, tags.albumartist_mbid) == (None, None)  # the compilation's id names no artist
    write_tags(path, "flac", musicbrainz_albumartistid="5b11f4ce-a62d-471e-81fc-a69a8278c7da")
    assert read_tags_of(str(path)).albumartist_mbid == "5b11f4ce-a62d-471e-81fc-a69a8278c7da"
    assert read_tags_of(str(path)).mbid is None


def test_every_artist_and_id_of_a_credit_is_read(tmp_path):
    """Only the first value of each tag was read: a credit of several artists (MusicBrainz Picard's ARTISTS, one
    id per artist) could not be told from a band whose name has a semicolon."""
    import mutagen
    from mutagen.id3 import TPE1, TXXX

    other = "0383dadf-2a4e-4d10-a46a-e9e041da8eb3"
    flac = write_audio(tmp_path / "a.flac", "flac", seconds=1)
    f = mutagen.File(flac)
    f.tags["ARTIST"], f.tags["ARTISTS"] = ["Oaktam; Soljun"], ["Oaktam", "Soljun"]
    f.tags["MUSICBRAINZ_ARTISTID"] = [MBID, other]
    f.save()
    tags = read_tags_of(str(flac))
    assert (tags.artist, tags.artists, tags.mbid, tags.mbids) == ("Oaktam; Soljun", ("Oaktam", "Soljun"), MBID,
                                                                  (MBID, other))
    mp3 = write_audio(tmp_path / "a.mp3", "mp3", seconds=1)
    f = mutagen.File(mp3)
    if f.tags is None:
        f.add_tags()
    f.tags.add(TPE1(encoding=3, text=["Oaktam; Soljun"]))
    f.tags.add(TXXX(encoding=3, desc="MusicBrainz Artist Id", text=[f"{MBID}/{other}"]))  # ID3v2.3 style
    f.save()
    assert read_tags_of(str(mp3)).mbids == (MBID, other)


@pytest.mark.parametrize("fmt", ["mp3", "m4a", "flac", "ogg", "wav"])
def test_the_compilation_flag_is_read(tmp_path, fmt):
    """ID3 TCMP, MP4 cpil and Vorbis COMPILATION were never read: a DJ mix's album artist took every track."""
    import mutagen
    from mutagen.id3 import TCMP

    path = write_audio(tmp_path / f"a.{fmt}", fmt, seconds=1)
    write_tags(path, fmt, artist="Morneo", albumartist="DJ Kazoo")
    assert read_tags_of(str(path)).compilation is False
    f = mutagen.File(path)
    if fmt == "m4a":
        f.tags["cpil"] = True
    elif fmt in ("flac", "ogg"):
        f.tags["COMPILATION"] = ["1"]
    else:
        f.tags.add(TCMP(encoding=3, text=["1"]))
    f.save()
    tags = read_tags_of(str(path))
    assert (tags.artist, tags.albumartist, tags.compilation) == ("Morneo", "DJ Kazoo", True)


@pytest.mark.parametrize(("fmt", "named"), [("ogg", "flac"), ("opus", "flac"), ("flac", "ogg"), ("ogg", "m4a"),
                                            ("wav", "flac")])
def test_tags_are_read_whatever_the_name_says(tmp_path, fmt, named):
    """An Ogg file named .flac (a download renamed by hand): mutagen.File chose its parser by the extension and
    raised; the error was swallowed and the file was stored untagged, its artist from the folder."""
    from musim.library import add, list_tracks
    from musim.library.formats import probe

    path = write_audio(tmp_path / "Downloads" / f"a.{fmt}", fmt, seconds=6)
    write_tags(path, fmt, artist="Corvid Lane", title="Corvid Lane song 2")
    misnamed = path.rename(path.with_suffix(f".{named}"))
    expected = Tags(artist="Corvid Lane", title="Corvid Lane song 2")
    assert read_tags_of(str(misnamed)) == expected
    assert read_tags(probe(misnamed).mutagen) == expected
    assert read_tags(probe(misnamed.read_bytes()).mutagen) == expected
    assert add([misnamed.parent]).stored == 1
    (track,) = list_tracks()
    assert (track["artist"], track["title"], track["artist_rule"]) == ("Corvid Lane", "Corvid Lane song 2", "artist")


def test_control_characters_in_a_tag_are_spaces_and_a_huge_value_is_cut(tmp_path):
    """A terminal's escape, a bell and a line break in a tag were stored as they were (only NULs and invisible format
    characters went), and a title of 200,000 characters was stored, listed and published whole."""
    path = write_audio(tmp_path / "a.flac", "flac", seconds=1)
    write_tags(path, "flac", artist="Evil\x1b[31mBand\x07", album="Side A\r\nSide B\x85", title="T" * 200_000)
    tags = read_tags_of(str(path))
    assert (tags.artist, tags.album) == ("Evil [31mBand", "Side A Side B")
    assert tags.title == "T" * MAX_TEXT


def test_a_folder_or_file_name_names_an_artist_and_title_as_a_tag_would(tmp_path):
    """Names taken from folders and file names kept their control and bidi characters (a tag's lost them): the artist
    ``Evil\u202eArtist\x07`` could not be typed, nor found by the same name tagged."""
    from musim.library.artists import resolve_artist, title_of

    root = tmp_path / "music"
    path = root / "Evil\u202eArtist\x07\x1b[0m" / "01 \x1b[2Jtitle\u202egpj.ogg"
    assert (resolve_artist(Tags(), path, root).name, title_of(Tags(), path)) == ("EvilArtist [0m", "[2Jtitlegpj")
    path = root / "Named - Real\u200b Song\x1b.ogg"
    assert (resolve_artist(Tags(), path, root).name, title_of(Tags(), path)) == ("Named", "Real Song")
    path = root / "Real Name" / "\x07\x1b" / "track.ogg"  # a folder of control characters names nothing
    assert resolve_artist(Tags(), path, root).name == "Real Name"
