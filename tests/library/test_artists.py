"""Artist resolution: every rule, placeholders, generic folders, and one key over an artist's spellings."""

from __future__ import annotations

from pathlib import Path

import pytest

from musim.errors import ParameterError
from musim.library.artists import (
    UNKNOWN_ARTIST,
    display_name,
    is_generic_folder,
    is_placeholder,
    primary_artist,
    resolve_artist,
    title_of,
)
from musim.library.tags import Tags
from musim.names import name_key

ROOT = Path("/music")
MBID = "5b11f4ce-a62d-471e-81fc-a69a8278c7da"


def resolve(rel: str, mode: str = "auto", **tags: str):
    r = resolve_artist(Tags(**tags), ROOT / rel, ROOT, artist_from=mode)  # type: ignore[arg-type]
    return r.name, r.rule


def test_tags_first_album_artist_before_artist_and_mbid_recorded():
    assert resolve("X/a.ogg", artist="Solo", albumartist="Band") == ("Band", "albumartist")
    assert resolve("X/a.ogg", artist="Solo") == ("Solo", "artist")
    r = resolve_artist(Tags(artist="Solo", mbid=MBID), ROOT / "a.ogg", ROOT)
    assert (r.name, r.rule, r.mbid) == ("Solo", "mbid", MBID)


@pytest.mark.parametrize("placeholder", ["<Unknown>", "Unknown Artist", "", "Various Artists", "[unknown]", "VA",
                                         "Various Artist", "Varios Artistas", "Verschiedene Interpreten",
                                         "Artistes Variés"])
def test_placeholders_count_as_missing(placeholder):
    assert is_placeholder(placeholder)
    assert resolve("Composer/a.ogg", artist=placeholder, albumartist=placeholder) == ("Composer", "folder")


def test_nearest_folder_not_root_not_generic():
    assert resolve("Music/Composer/Soundtrack/CD1/a.ogg") == ("Composer", "folder")
    assert resolve("Game OST/Composer/a.ogg") == ("Composer", "folder")
    assert resolve("Composer/Disc 2/mp3/a.ogg") == ("Composer", "folder")
    assert resolve("music/a.ogg") == (UNKNOWN_ARTIST, "unknown")  # only generic folders, then the root
    assert resolve("a.ogg") == (UNKNOWN_ARTIST, "unknown")
    for generic in ("music", "MP3", "ogg", "cd1", "Disc 1", "soundtrack", "OST", "CD 2", "01"):
        assert is_generic_folder(generic), generic
    assert not is_generic_folder("Maxstack")


def test_album_folders_are_not_artists():
    assert resolve("Radiohead/OK Computer/01 - Airbag.wav") == ("Radiohead", "folder")
    assert resolve("Radiohead/OK Computer/Airbag.wav", album="OK Computer") == ("Radiohead", "folder")


def test_unnumbered_files_in_an_album_folder_take_the_folder_above_it():
    """Untagged files without track numbers, `Artist/Album/Title.ext`, were the album folder's artist."""
    assert resolve("Radiohead/OK Computer/Airbag.wav") == ("Radiohead", "folder")
    assert resolve("Radiohead/OK Computer/CD2/Airbag.wav") == ("Radiohead", "folder")
    assert resolve("Rock/Radiohead/OK Computer/Airbag.wav") == ("Radiohead", "folder")
    assert resolve("Radiohead/Airbag.wav") == ("Radiohead", "folder")  # an artist folder of loose songs
    assert resolve("Anime Soundtracks/Composer/a.ogg") == ("Composer", "folder")  # a category is no artist
    assert all(is_generic_folder(f) for f in ("Game OST", "Anime Soundtracks", "Movie Music", "Video Game BGM"))


def test_file_name_then_unknown():
    assert resolve("Muse - Uprising.ogg") == ("Muse", "filename")
    assert resolve("03 - Muse - Uprising.ogg") == ("Muse", "filename")
    assert resolve("Nobody.ogg") == (UNKNOWN_ARTIST, "unknown")


def test_artist_from_overrides():
    assert resolve("Composer/a.ogg", "folder", artist="Tagged") == ("Composer", "folder")
    assert resolve("Composer/a.ogg", "tag") == (UNKNOWN_ARTIST, "unknown")
    assert resolve("Composer/a.ogg", "tag", artist="Tagged") == ("Tagged", "artist")
    with pytest.raises(ParameterError):
        resolve("a.ogg", "guess")


def test_display_name_prefers_the_common_plain_spelling():
    assert display_name(["www.elysis.de", "Elysis", "Elysis"]) == "Elysis"
    assert display_name(["Maxstack (Max McCracken)", "Maxstack"]) == "Maxstack"
    assert display_name(["maxstack", "Maxstack"]) == "Maxstack"
    assert display_name(["http://zhaymusic.com/", "www.zhaymusic.com"]) == "zhaymusic"


def test_titles():
    assert title_of(Tags(title="Tagged"), Path("x/01 - a.ogg")) == "Tagged"
    assert title_of(Tags(), Path("x/01 - Airbag.wav")) == "Airbag"
    assert title_of(Tags(), Path("Muse - Uprising.ogg")) == "Uprising"


def test_each_name_takes_its_own_tags_musicbrainz_id():
    """The album artist's id and the track artist's were one field: "DJ Mixer" (album artist) took Morneo's
    artist id, was joined to Morneo in the catalogue and served as him."""
    other = "0383dadf-2a4e-4d10-a46a-e9e041da8eb3"
    r = resolve_artist(Tags(artist="Morneo", mbid=MBID, albumartist="DJ Mixer"), ROOT / "a.ogg", ROOT)
    assert (r.name, r.rule, r.mbid) == ("DJ Mixer", "albumartist", None)
    r = resolve_artist(Tags(artist="Morneo", mbid=MBID, albumartist="DJ Mixer", albumartist_mbid=other),
                       ROOT / "a.ogg", ROOT)
    assert (r.name, r.rule, r.mbid) == ("DJ Mixer", "mbid", other)
    r = resolve_artist(Tags(artist="Morneo", mbid=MBID, albumartist="Various Artists"), ROOT / "a.ogg", ROOT)
    assert (r.name, r.rule, r.mbid) == ("Morneo", "mbid", MBID)


@pytest.mark.parametrize(("a", "b"), [("ガガ", "カカ"), ("Мумий Тролль", "Мумии Тролль"), ("Ёлка", "Елка")])
def test_the_marks_of_other_scripts_are_letters_not_accents(a, b):
    """Folding every combining mark merged different artists: the kana voicing mark, Cyrillic й and ё."""
    assert name_key(a) != name_key(b)
    assert name_key("Beyoncé") == name_key("BEYONCE") and name_key("Sigur Rós") == name_key("sigur ros")


def test_a_one_word_qualifier_keeps_artists_apart_and_symbols_are_a_name():
    """"Nirvana (UK)" and "Nirvana (US)" were one artist (and `remove --artist "Nirvana (US)"` took the UK
    band's tracks too); "Kaquisha (Japan)" joined Kaquisha's catalogue entry; "!!!" became "Unknown artist"."""
    assert name_key("Nirvana (UK)") != name_key("Nirvana (US)") != name_key("Nirvana")
    assert name_key("Kaquisha (Japan)") != name_key("Kaquisha")
    assert name_key("Maxstack (Max McCracken)") == name_key("Maxstack")  # a real-name gloss still joins
    assert not is_placeholder("!!!") and name_key("!!!") == "!!!"
    assert resolve("x/a.ogg", artist="!!!") == ("!!!", "artist")
    assert is_placeholder("???") and is_placeholder("-")


@pytest.mark.parametrize(("credit", "artist"), [
    ("Oaktam feat. Soljun", "Oaktam"), ("Oaktam ft. Soljun", "Oaktam"), ("Oaktam featuring Soljun & Max", "Oaktam"),
    ("Oaktam (feat. Soljun)", "Oaktam"), ("Oaktam [Ft Soljun]", "Oaktam"), ("Oaktam FEAT.Soljun", "Oaktam"),
    ("Simon & Garfunkel", "Simon & Garfunkel"), ("Little Feat", "Little Feat"), ("The Ft Band", "The Ft Band"),
    ("Little Feat feat. Bonnie Raitt", "Little Feat"), ("Band (Feather)", "Band (Feather)"),
    ("Oaktam; Soljun", "Oaktam; Soljun"),  # nothing says these are two artists
])
def test_a_credit_names_its_first_artist_only_at_an_explicit_featuring_marker(credit, artist):
    """"Oaktam feat. Soljun" was an artist of its own beside "Oaktam", a new artist from one credit."""
    assert primary_artist(credit) == artist
    assert resolve("x/a.ogg", artist=credit) == (artist, "artist")


def test_semicolons_split_a_credit_only_when_the_tags_say_it_is_of_several_artists():
    other = "0383dadf-2a4e-4d10-a46a-e9e041da8eb3"
    assert primary_artist("Oaktam; Soljun", artists=("Oaktam", "Soljun")) == "Oaktam"
    assert primary_artist("Oaktam; Soljun", mbids=(MBID, other)) == "Oaktam"
    assert primary_artist("Oaktam; Soljun", artists=("Oaktam; Soljun",), mbids=(MBID,)) == "Oaktam; Soljun"
    r = resolve_artist(Tags(artist="Oaktam; Soljun feat. Max", mbid=MBID, mbids=(MBID, other)), ROOT / "a.ogg", ROOT)
    assert (r.name, r.rule, r.mbid) == ("Oaktam", "mbid", MBID)
    assert resolve("Oaktam ft. Soljun - Song.ogg") == ("Oaktam", "filename")
    assert resolve("x/a.ogg", artist="Various Artists feat. Max") == ("x", "folder")


def test_a_compilations_track_artist_comes_before_its_album_artist():
    """A DJ mix tagged album artist `DJ Kazoo` and the compilation flag put every track on `DJ Kazoo`."""
    other = "0383dadf-2a4e-4d10-a46a-e9e041da8eb3"
    r = resolve_artist(Tags(artist="Morneo", mbid=MBID, albumartist="DJ Kazoo", albumartist_mbid=other,
                            compilation=True), ROOT / "DJ Kazoo" / "a.ogg", ROOT)
    assert (r.name, r.rule, r.mbid) == ("Morneo", "mbid", MBID)
    assert resolve("x/a.ogg", artist="Morneo", albumartist="DJ Kazoo", compilation=True) == ("Morneo", "artist")
    assert resolve("x/a.ogg", albumartist="DJ Kazoo", compilation=True) == ("DJ Kazoo", "albumartist")  # no other
    assert resolve("x/a.ogg", artist="Morneo", albumartist="DJ Kazoo") == ("DJ Kazoo", "albumartist")  # no flag


def test_display_name_ranks_all_capitals_below_mixed_case_and_keeps_accents_on_ties():
    assert display_name(["ZANIRA EKGUL", "Zanira Ekgul"]) == "Zanira Ekgul"
    assert display_name(["SIGUR RÓS", "Sigur Ros", "Sigur Rós"]) == "Sigur Rós"
    assert display_name(["zanira ekgul", "ZANIRA EKGUL"]) == "ZANIRA EKGUL"
    assert display_name(["ZANIRA EKGUL", "ZANIRA EKGUL", "Zanira Ekgul"]) == "ZANIRA EKGUL"  # the most used first


def test_nested_folders_of_one_name_are_one_level():
    """`Diami Belcro/Live at the Hall.zip` holding `Live at the Hall/` (how most zips are made) gave the album."""
    assert resolve("Diami Belcro/Live at the Hall/Live at the Hall/01 - Z 1.mp3") == ("Diami Belcro", "folder")
    assert resolve("Diami Belcro/Live at the Hall/live at the hall/CD1/a.mp3") == ("Diami Belcro", "folder")


@pytest.mark.parametrize(("rel", "album", "artist"), [
    ("Quilo Rapal - First Album/01.flac", None, "Quilo Rapal"),        # the album folder, nothing named above
    ("music/Quilo Rapal - First Album/CD1/01.flac", None, "Quilo Rapal"),
    ("Quilo Rapal - First Album/First Album/01.flac", None, "Quilo Rapal"),  # a zip's folder of its album's name
    ("Rock/Quilo Rapal - First Album/01.flac", "First Album", "Quilo Rapal"),  # the album tag names the album part
    ("Rock/Quilo Rapal - First Album/01.flac", None, "Rock"),          # as Genre/Artist/Title.ext
    ("Quilo Rapal/Quilo Rapal - First Album/01.flac", None, "Quilo Rapal"),
    ("Quilo Rapal/Live - 1999-05-01/01.flac", None, "Quilo Rapal"),    # under an artist folder: an album's name
    ("Quilo Rapal - Live/Bonus Artist/Some Album/01.flac", None, "Bonus Artist"),  # more below: not split
    ("Various Artists - Summer Hits/01.flac", None, UNKNOWN_ARTIST),   # an album of no artist
    ("2001 - Golden Garden/01.flac", None, UNKNOWN_ARTIST),
])
def test_an_artist_dash_album_folder_names_the_artist(rel, album, artist):
    """`Quilo Rapal - First Album/01.flac` gave `Quilo Rapal - First Album` though `Artist - Album.zip` gave
    `Artist`."""
    tags = {"album": album} if album else {}
    assert resolve(rel, **tags)[0] == artist
