"""Who made a file: artist resolution from tags and folders, and one key per artist over its spellings.

Rules, in order (the one used is recorded per track):

``mbid``          the MusicBrainz artist id tag (the name from the album-artist or artist tag);
``albumartist``   the album-artist tag;
``artist``        the artist tag (before the album-artist tag when the compilation flag is set: the album artist
                  of a DJ mix or a label's sampler compiled it, the track's artist made the track);
``folder``        the nearest folder above the file that is not the scanned root, not a generic name
                  (``music``, ``mp3``, ``cd1``, ``disc 1``, ``soundtrack``, ``Game OST``, ...) and not the
                  album tag; with two such folders above the file, the nearer is its album and the
                  upper one names the artist (``Artist/Album/01 - Title.ext``, ``Artist/Album/Title.ext``:
                  ``Artist``; so ``Genre/Artist/Title.ext`` without tags gives ``Genre``). Nested folders of
                  one name (``Album/Album/``, a zip's folder inside it) are one. A folder ``Artist - Album``
                  names ``Artist`` when ``Album`` is the album tag (wherever it is), and
                  where no named folder is above it and it holds the tracks (directly, in disc folders or in a
                  folder ``Album``): ``Artist - Album/01.ext``, ``Artist - Album/CD1/01.ext`` give ``Artist``;
                  there, ``Various - Hits`` and ``2001 - Album`` are albums that name no artist;
``filename``      ``Artist - Title.ext`` for a file directly in the root (``A feat. B - Title.ext``: ``A``);
``unknown``       nothing named an artist: the placeholder artist :data:`UNKNOWN_ARTIST`.

Placeholder tags (``<Unknown>``, ``Unknown Artist``, ``Various Artists``, empty) count as missing. A tag that
credits several artists names its first (:func:`primary_artist`): the featured artists of ``A feat. B`` are not
made artists from that credit.
``--artist-from tag`` uses only the tag rules, ``--artist-from folder`` only the folder rules.
Spellings of one artist share a :func:`musim.names.name_key` (the rule ``musim similar`` finds names by too).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from musim.errors import ParameterError
from musim.library.tags import Tags, library_text
from musim.names import fold, name_key, url_name

ArtistFrom = Literal["auto", "tag", "folder"]
RULES = ("mbid", "albumartist", "artist", "folder", "filename", "unknown")
#: The rules that read the file's path, not its tags (a moved file's artist by these is resolved again).
FOLDER_RULES = ("folder", "filename", "unknown")
UNKNOWN_ARTIST = "Unknown artist"

_PLACEHOLDERS = {"", "unknown", "unknown artist", "unknownartist", "various artists", "various", "va", "v a",
                 "no artist", "artist", "none", "null", "n a", "na", "untitled", "track",
                 # a compilation's album artist, as taggers and shops write it in several languages
                 "various artist", "various interprets", "various performers", "varios artistas", "varios",
                 "verschiedene interpreten", "verschiedene kunstler", "artistes divers", "artistes varies",
                 "artisti vari", "artisti varii", "varios interpretes", "diverse artiesten",
                 "diverse artister", "diverse", "compilation", "sampler"}
_GENERIC = re.compile(
    r"^(?:music|my music|musik|musique|audio|sound|sounds|songs?|tracks?|mp3s?|oggs?|opus|flac|wav|m4a|aac|aiff"
    r"|ogg vorbis|data|media|files?|downloads?|albums?|singles?|misc|various|various artists|unknown"
    r"|unknown artist|compilations?|soundtracks?|ost|original soundtrack|game music|bgm|bonus|extras?"
    r"|(?:cd|disc|disk|side|part|vol|volume)\s*\.?\s*\d*[a-z]?|\d+|music \d+|share|usr|games?"
    # a category of soundtracks ("Game OST", "Anime Soundtracks", "Movie Music"), not an artist
    r"|(?:video )?(?:games?|anime|movies?|films?|tv|series) (?:osts?|soundtracks?|music|bgm))$")
#: ``A feat. B``, ``A ft. B``, ``A featuring B``, ``A (feat B)``: what comes before the marker is the artist (a
#: bare ``feat``/``ft`` word is a marker only in brackets: ``Little Feat``, ``The Ft Band`` are names).
_FEATURING = re.compile(r"^(.*?\S)(?:\s*[(\[]\s*(?:featuring|feat|ft)\b\.?\s*|\s+(?:featuring\s+|feat\.\s*|ft\.\s*))\S",
                        re.IGNORECASE)
#: Names that say "unknown" in symbols only (a name of symbols alone is a real one: "!!!", "†††").
_UNKNOWN_SYMBOLS = {"?", "??", "???", "-", "--", "...", "_", "*"}


@dataclass(frozen=True)
class Resolved:
    """The artist name a file gives, the rule that gave it, and the MusicBrainz id when tagged."""

    name: str
    rule: str
    mbid: str | None = None


def is_placeholder(name: str | None) -> bool:
    """Whether a tag value names no real artist (``<Unknown>``, ``Various Artists``, empty, ...)."""
    if name is None:
        return True
    folded = fold(name)
    words = re.sub(r"[\W_]+", " ", folded).strip()
    if not words and folded:  # symbols only: a name ("!!!"), unless they are the usual marks of no name
        return folded.replace(" ", "") in _UNKNOWN_SYMBOLS
    return words in _PLACEHOLDERS


def is_generic_folder(name: str) -> bool:
    """Whether a folder name says nothing about the artist (``music``, ``mp3``, ``CD1``, ``Disc 1``, ...)."""
    words = re.sub(r"[\W_]+", " ", fold(name)).strip()
    return not words or bool(_GENERIC.match(words))


def primary_artist(credit: str, *, artists: tuple[str, ...] = (), mbids: tuple[str, ...] = ()) -> str:
    """The first artist of a credit: before an explicit featuring marker (``A feat. B``, ``A ft. B``, ``A
    featuring B``, ``A (feat. B)``), and the first of ``;``-separated names when the tags say the credit is of
    several artists (an ARTISTS tag, or a MusicBrainz id each). ``&``, ``and``, ``,`` and ``/`` never split:
    ``Simon & Garfunkel`` is one artist."""
    featuring = _FEATURING.match(credit)
    name = featuring.group(1) if featuring else credit
    parts = [p for p in re.split(r"\s*;\s*", name) if p.strip()]
    if len(parts) > 1 and (len(artists) > 1 or len(mbids) > 1):
        name = parts[0]
    return name.strip() or credit


def _from_tags(tags: Tags) -> Resolved | None:
    rules = [("albumartist", tags.albumartist, tags.albumartist_mbid, (), ()),
             ("artist", tags.artist, tags.mbid, tags.mbids, tags.artists)]  # each name with its own id, never the other's
    if tags.compilation:  # a DJ mix, a sampler: the album artist compiled it, the track artist made the track
        rules.reverse()
    for rule, value, mbid, mbids, artists in rules:
        name = primary_artist(value, artists=artists, mbids=mbids) if value else None
        if not is_placeholder(name):
            assert name is not None
            return Resolved(name, "mbid" if mbid else rule, mbid)
    return None


def _artist_album(folder: str) -> tuple[str, str] | None:
    """``(artist, album)`` of a folder named ``Artist - Album``; ``None`` for another name."""
    artist, dash, album = folder.partition(" - ")
    return (artist.strip(), album.strip()) if dash and artist.strip() and album.strip() else None


def _names_something(folder: str) -> bool:
    return not (is_generic_folder(folder) or is_placeholder(folder))


def _one_level_per_name(folders: list[str]) -> list[str]:
    """``Album/Album`` (an album's zip holding a folder of its name) is one level."""
    out: list[str] = []
    for f in folders:
        if not out or name_key(f) != name_key(out[-1]):
            out.append(f)
    return out


def _named(levels: list[str], album_key: str | None) -> list[str]:
    """The folders of ``levels`` that may name an artist: not generic, no placeholder, not the album tag."""
    return _one_level_per_name([f for f in levels if _names_something(f) and name_key(f) != album_key])


def _from_folders(path: Path, root: Path, album: str | None = None) -> Resolved | None:
    try:
        rel = path.relative_to(root)
    except ValueError:
        return None
    album_key = name_key(album) if album else None
    levels = _one_level_per_name([library_text(f) for f in rel.parts[:-1]])  # top first
    for folder in reversed(levels):  # `Artist - Album` of the file's album tag names its artist wherever it is
        split = _artist_album(folder)
        if split and album_key and name_key(split[1]) == album_key and _names_something(split[0]):
            return Resolved(split[0], "folder")
    named = _named(levels, album_key)
    if named and (split := _artist_album(named[0])):  # `Artist - Album` with no named folder above it
        if not _names_something(split[0]):  # `Various - Hits`, `2001 - Album`: an album of no artist
            named = named[1:]
        elif len(two := _named([*split, *named[1:]], album_key)) <= 2:  # holding the album's tracks: two levels
            named = two
    if len(named) >= 2:
        named = named[:-1]  # the nearest sits in an album folder: Artist/Album/01 - Title.ext, Artist/Album/Title.ext
    return Resolved(named[-1].strip(), "folder") if named else None


def _from_filename(path: Path, root: Path) -> Resolved | None:
    stem = re.sub(r"^\s*\d{1,3}(?:\s*[-._)]\s*|\s+)(?=\S)", "", library_text(path.stem))
    if path.parent != root or " - " not in stem:
        return None
    artist = primary_artist(stem.split(" - ", 1)[0].strip())
    return None if is_placeholder(artist) else Resolved(artist, "filename")


def resolve_artist(tags: Tags, path: Path, root: Path, *, artist_from: ArtistFrom = "auto") -> Resolved:
    """The artist of the file at ``path`` found under the scanned folder ``root``."""
    if artist_from not in ("auto", "tag", "folder"):
        raise ParameterError(f"artist_from must be 'auto', 'tag' or 'folder', got {artist_from!r}")
    found = _from_tags(tags) if artist_from in ("auto", "tag") else None
    if found is None and artist_from in ("auto", "folder"):
        found = _from_folders(path, root, tags.album) or _from_filename(path, root)
    return found or Resolved(UNKNOWN_ARTIST, "unknown")


def title_of(tags: Tags, path: Path) -> str:
    """The title tag, else the file name without a leading track number or ``Artist -`` part (as a tag is read:
    :func:`~musim.library.tags.library_text`)."""
    if tags.title:
        return tags.title
    name = library_text(path.stem)
    stem = re.sub(r"^\s*\d{1,3}(?:\s*[-._)]\s*|\s+)(?=\S)", "", name).strip() or name
    return stem.split(" - ", 1)[1].strip() if " - " in stem else stem


def display_name(spellings: Iterable[str]) -> str:
    """The name shown for merged spellings (one per track: a spelling counts as often as it names a track): the most
    used, then one without decoration, then in mixed case (``Zanira Ekgul``, then ``ZANIRA EKGUL``, then ``zanira
    ekgul``), then with its accents (``Sigur Rós`` before ``Sigur Ros``), then the shortest."""
    counts = Counter(spellings)

    def rank(s: str) -> tuple:
        plain = fold(s) == re.sub(r"\s+", " ", fold(s)) and name_key(s) == re.sub(r"[\W_]+", "", fold(s))
        casing = 2 if s == s.lower() != s.upper() else 1 if s == s.upper() != s.lower() else 0
        return (-counts[s], not plain, casing, -sum(not c.isascii() for c in s), len(s), s)

    best = min(counts, key=rank)
    return url_name(best) or best  # only URL spellings: the name inside

