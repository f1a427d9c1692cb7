"""The one tag reader: artist, album artist, MusicBrainz artist id, title, album, genre and track number from
ID3 (mp3), Vorbis comments (ogg, opus, flac), MP4 atoms (m4a) and RIFF/AIFF ID3 chunks, with mutagen."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from musim.names import plain_text

#: Keys per field, across tag formats: easy/Vorbis names, ID3 frames, MP4 atoms (freeform for MusicBrainz).
_KEYS: dict[str, tuple[str, ...]] = {
    "artist": ("artist", "ARTIST", "TPE1", "\xa9ART"),
    "albumartist": ("albumartist", "ALBUMARTIST", "album artist", "TPE2", "aART"),
    "title": ("title", "TITLE", "TIT2", "\xa9nam"),
    "album": ("album", "ALBUM", "TALB", "\xa9alb"),
    "genre": ("genre", "GENRE", "TCON", "\xa9gen"),
    "tracknumber": ("tracknumber", "TRACKNUMBER", "TRCK", "trkn"),
    "mbid": ("musicbrainz_artistid", "MUSICBRAINZ_ARTISTID", "TXXX:MusicBrainz Artist Id",
             "TXXX:MUSICBRAINZ_ARTISTID", "----:com.apple.iTunes:MusicBrainz Artist Id"),
    # the album artist's id is its own: it names the album artist, never the track's artist
    "albumartist_mbid": ("musicbrainz_albumartistid", "MUSICBRAINZ_ALBUMARTISTID", "TXXX:MusicBrainz Album Artist Id",
                         "TXXX:MUSICBRAINZ_ALBUMARTISTID", "----:com.apple.iTunes:MusicBrainz Album Artist Id"),
}
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class Tags:
    """The tags musim uses; every field ``None`` when absent or empty."""

    artist: str | None = None
    albumartist: str | None = None
    mbid: str | None = None  # the track artist's MusicBrainz id
    albumartist_mbid: str | None = None
    title: str | None = None
    album: str | None = None
    genre: str | None = None
    tracknumber: int | None = None


def _text(value: Any) -> str | None:
    value = getattr(value, "text", value)  # ID3 frames
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if isinstance(value, tuple):  # MP4 trkn: (number, total)
        value = value[0]
    if isinstance(value, bytes | bytearray):  # MP4 freeform atoms
        value = bytes(value).decode("utf-8", "replace")
    if value is None:
        return None
    return plain_text(str(value)) or None  # a name a user types must find the stored one


def _get(tags: Any, field: str) -> str | None:
    for key in _KEYS[field]:
        try:
            value = tags.get(key) if hasattr(tags, "get") else None
        except (KeyError, ValueError, TypeError):
            continue
        if field == "tracknumber" and isinstance(value, list) and value and isinstance(value[0], tuple):
            value = value[0][0]
        text = _text(value)
        if text:
            return text
    return None


#: MusicBrainz's special purpose artist "Various Artists": the id of a compilation, of no one artist.
VARIOUS_ARTISTS_MBID = "89ad4ac3-39f7-470e-963a-56509c546377"


def _mbid(text: str | None) -> str | None:
    if not text:
        return None
    try:
        mbid = str(uuid.UUID(text.split("/")[0].strip()))  # several artists: the first
    except ValueError:
        return None
    return None if mbid == VARIOUS_ARTISTS_MBID else mbid


def read_tags(audio: Any) -> Tags:
    """Tags of a parsed file (``mutagen.File(...)`` result, or ``None`` for no tags)."""
    tags = getattr(audio, "tags", None)
    if not tags:
        return Tags()
    number = _get(tags, "tracknumber")
    match = _NUMBER.search(number) if number else None
    return Tags(
        artist=_get(tags, "artist"),
        albumartist=_get(tags, "albumartist"),
        mbid=_mbid(_get(tags, "mbid")),
        albumartist_mbid=_mbid(_get(tags, "albumartist_mbid")),
        title=_get(tags, "title"),
        album=_get(tags, "album"),
        genre=_get(tags, "genre"),
        tracknumber=int(match.group()) if match else None,
    )


def read_tags_of(path: str) -> Tags:
    """Tags of the file at ``path`` (empty :class:`Tags` when the tag library cannot parse it)."""
    import mutagen

    try:
        return read_tags(mutagen.File(path))
    except Exception:  # noqa: BLE001 - mutagen raises many types for broken files
        return Tags()
