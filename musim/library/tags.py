"""The one tag reader: artist, album artist, MusicBrainz artist ids, the artists of a credit, title, album, genre,
track number and the compilation flag from ID3 (mp3), Vorbis comments (ogg, opus, flac), MP4 atoms (m4a) and
RIFF/AIFF ID3 chunks, with mutagen."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from musim.names import plain_text

#: The most characters of a name or title the library keeps (a tag value may be megabytes: each copy of it, in the
#: warehouse, the catalogue and every snapshot and listing, was kept whole).
MAX_TEXT = 1000

#: Control characters (C0, DEL, C1): a terminal's escapes, a bell, line breaks in a tag or a file name.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def library_text(text: str) -> str:
    """A name or title as the library keeps it, from a tag, a folder or a file name: :func:`musim.names.plain_text`
    with each run of control characters one space, at most :data:`MAX_TEXT` characters."""
    return plain_text(_CONTROL.sub(" ", text[:4 * MAX_TEXT]))[:MAX_TEXT].strip()


#: Keys per field, across tag formats: easy/Vorbis names, ID3 frames, MP4 atoms (freeform for MusicBrainz).
_KEYS: dict[str, tuple[str, ...]] = {
    "artist": ("artist", "ARTIST", "TPE1", "\xa9ART"),
    "albumartist": ("albumartist", "ALBUMARTIST", "album artist", "TPE2", "aART"),
    # each artist of a credit on its own (MusicBrainz Picard's ARTISTS: "A; B" is the credit, ["A", "B"] these)
    "artists": ("artists", "ARTISTS", "TXXX:ARTISTS", "TXXX:Artists", "----:com.apple.iTunes:ARTISTS"),
    "title": ("title", "TITLE", "TIT2", "\xa9nam"),
    "album": ("album", "ALBUM", "TALB", "\xa9alb"),
    "genre": ("genre", "GENRE", "TCON", "\xa9gen"),
    "tracknumber": ("tracknumber", "TRACKNUMBER", "TRCK", "trkn"),
    "mbid": ("musicbrainz_artistid", "MUSICBRAINZ_ARTISTID", "TXXX:MusicBrainz Artist Id",
             "TXXX:MUSICBRAINZ_ARTISTID", "----:com.apple.iTunes:MusicBrainz Artist Id"),
    # the album artist's id is its own: it names the album artist, never the track's artist
    # a compilation (a DJ mix, a label's sampler): its album artist names the compiler, not the track's artist
    "compilation": ("compilation", "COMPILATION", "TCMP", "TXXX:COMPILATION", "cpil"),
    "albumartist_mbid": ("musicbrainz_albumartistid", "MUSICBRAINZ_ALBUMARTISTID", "TXXX:MusicBrainz Album Artist Id",
                         "TXXX:MUSICBRAINZ_ALBUMARTISTID", "----:com.apple.iTunes:MusicBrainz Album Artist Id"),
}
_NUMBER = re.compile(r"\d+")
#: The largest track number kept (the warehouse's INTEGER); a tag holding a larger one is no track number.
MAX_TRACKNUMBER = 2**31 - 1


@dataclass(frozen=True)
class Tags:
    """The tags musim uses; every field ``None`` when absent or empty."""

    artist: str | None = None
    albumartist: str | None = None
    mbid: str | None = None  # the track artist's MusicBrainz id (the first credited artist's)
    mbids: tuple[str, ...] = ()  # every MusicBrainz id the track artist tag credits, in order
    artists: tuple[str, ...] = ()  # each artist of the track's credit (an ARTISTS tag), in order
    albumartist_mbid: str | None = None
    title: str | None = None
    album: str | None = None
    genre: str | None = None
    tracknumber: int | None = None
    compilation: bool = False  # the compilation flag (ID3 TCMP, MP4 cpil, Vorbis COMPILATION) is set


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
    return library_text(str(value)) or None  # a name a user types must find the stored one


def _get_all(tags: Any, field: str) -> tuple[str, ...]:
    """Every value of the first key of ``field`` that has one (several ARTIST fields, a multi-valued frame)."""
    for key in _KEYS[field]:
        try:
            value = tags.get(key) if hasattr(tags, "get") else None
        except (KeyError, ValueError, TypeError):
            continue
        value = getattr(value, "text", value)  # ID3 frames
        values = value if isinstance(value, list | tuple) else [value]
        found = tuple(text for v in values if (text := _text(v)))
        if found:
            return found
    return ()


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


def _mbids(values: tuple[str, ...]) -> tuple[str, ...]:
    """The valid MusicBrainz ids among tag values, in order (one value may hold several: ``id1/id2``,
    ``id1; id2``)."""
    found = []
    for value in values:
        for part in re.split(r"[/;,\s]+", value):
            try:
                found.append(str(uuid.UUID(part)))
            except ValueError:
                continue
    return tuple(found)


def _mbid(mbids: tuple[str, ...]) -> str | None:
    """The first credited artist's id; none for the Various Artists id (a compilation names no one artist)."""
    return None if not mbids or mbids[0] == VARIOUS_ARTISTS_MBID else mbids[0]


def _tracknumber(digits: str) -> int | None:
    """The track number ``digits`` give; ``None`` past :data:`MAX_TRACKNUMBER` (a tag of thousands of digits, or one
    past the warehouse's INTEGER, once stopped the whole add: Python refuses to convert over 4,300 digits, and the
    warehouse refused the row)."""
    digits = digits.lstrip("0") or "0"
    if len(digits) > len(str(MAX_TRACKNUMBER)):
        return None
    value = int(digits)
    return value if value <= MAX_TRACKNUMBER else None


def read_tags(audio: Any) -> Tags:
    """Tags of a parsed file (``mutagen.File(...)`` result, or ``None`` for no tags)."""
    tags = getattr(audio, "tags", None)
    if not tags:
        return Tags()
    number = _get(tags, "tracknumber")
    match = _NUMBER.search(number) if number else None
    mbids = _mbids(_get_all(tags, "mbid"))
    return Tags(
        artist=_get(tags, "artist"),
        albumartist=_get(tags, "albumartist"),
        mbid=_mbid(mbids),
        mbids=mbids if _mbid(mbids) else (),
        artists=_get_all(tags, "artists"),
        albumartist_mbid=_mbid(_mbids(_get_all(tags, "albumartist_mbid"))),
        title=_get(tags, "title"),
        album=_get(tags, "album"),
        genre=_get(tags, "genre"),
        tracknumber=_tracknumber(match.group()) if match else None,
        compilation=(_get(tags, "compilation") or "").strip().lower() in ("1", "true", "yes"),
    )


#: The tag library's classes for each container the magic bytes tell (:func:`musim.audio.io.sniff_format`), tried in
#: order where the name's extension misled ``mutagen.File`` (an Ogg file named ``.flac``).
_CLASSES = {"mp3": ("mutagen.mp3:MP3",), "ogg": ("mutagen.oggvorbis:OggVorbis", "mutagen.oggopus:OggOpus",
                                               "mutagen.oggflac:OggFLAC"),
            "flac": ("mutagen.flac:FLAC",), "wav": ("mutagen.wave:WAVE",), "aiff": ("mutagen.aiff:AIFF",),
            "mp4": ("mutagen.mp4:MP4",), "aac": ("mutagen.aac:AAC",)}


def parse_file(src: str | bytes, sniffed: str | None = None) -> tuple[Any, str | None]:
    """The tag library's object of a file (its path, or its bytes) and ``None``, or ``None`` and why it could not
    parse it. ``mutagen.File`` chooses its parser by the name's extension first, and raises where the name misleads it
    (an Ogg file named ``.flac``); then the parsers of the container the magic bytes tell (``sniffed``, a
    :func:`musim.audio.io.sniff_format` answer) are tried."""
    import importlib
    import io

    import mutagen

    def opened() -> Any:
        return io.BytesIO(src) if isinstance(src, bytes) else src

    error = None
    try:
        found = mutagen.File(opened())
        if found is not None:
            return found, None
    except Exception as exc:  # noqa: BLE001 - mutagen raises many types for broken files
        error = f"{type(exc).__name__}: {exc}"
    for ref in _CLASSES.get(sniffed or "", ()):
        module, _, name = ref.partition(":")
        try:
            return getattr(importlib.import_module(module), name)(opened()), None
        except Exception:  # noqa: BLE001, S112 - not this parser: the next, else the first error
            continue
    return None, error


def read_tags_of(path: str) -> Tags:
    """Tags of the file at ``path`` (empty :class:`Tags` when the tag library cannot parse it)."""
    from musim.audio.io import sniff_format

    try:
        with open(path, "rb") as fh:
            header = fh.read(12)
    except OSError:
        return Tags()
    try:
        return read_tags(parse_file(path, sniff_format(header))[0])
    except Exception:  # noqa: BLE001 - mutagen raises many types for broken files
        return Tags()
