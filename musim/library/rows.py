"""The warehouse rows ``musim library add`` stages for what it stored: a new track (:func:`track_row`) and an excerpt
read again (:func:`reread_row`), and a library track's stable id (:func:`track_id_of`)."""

from __future__ import annotations

import hashlib
from typing import Any

from musim.audio.window import READ_WINDOW_VERSION
from musim.filenames import path_text
from musim.library.artists import UNKNOWN_ARTIST
from musim.library.scan import Examined
from musim.names import name_key
from musim.storage import ObjectInfo

#: The provider name in a library track's id (``sha256("library|" + the file's sha256)``).
PROVIDER = "library"


def track_id_of(source_sha256: str) -> str:
    """The stable id of a library track: 16 hex of sha256('library|' + the file's content sha256)."""
    return hashlib.sha256(f"{PROVIDER}|{source_sha256}".encode()).hexdigest()[:16]


def reread_row(item: Examined, obj: ObjectInfo, stored_as: dict[str, Any]) -> dict[str, Any]:
    """The staged row (``lib_reread``) of a stored file's excerpt read again: its new object and window, and the file's
    length (measured again where the window was chosen again: a chained file)."""
    offset, window = item.window
    return {"track_id": stored_as["track_id"], "object_key": obj.key, "sha256": obj.sha256, "object_bytes": obj.size,
            "excerpt_reader": READ_WINDOW_VERSION, "duration_s": stored_as["duration_s"] if item.recut is None
            else item.recut, "excerpt_offset_s": offset, "excerpt_duration_s": window}


def track_row(item: Examined, obj: ObjectInfo, artist_id: int, keep_whole: bool) -> dict[str, Any]:
    """The staged row (``lib_track``) of a file stored now: the track, its artist's spelling, the file and its object."""
    info = item.info
    assert info is not None and item.artist is not None and item.sha256 is not None
    offset, window = item.window
    key = name_key(item.artist.name) or name_key(UNKNOWN_ARTIST)
    return {
        "track_id": track_id_of(item.sha256), "artist_id": artist_id, "name_key": key,
        "artist_spelling": item.artist.name, "artist_rule": item.artist.rule, "title": item.title,
        "album": item.tags.album, "genre": item.tags.genre, "tracknumber": item.tags.tracknumber,
        "source_path": path_text(item.path), "source_sha256": item.sha256, "source_bytes": item.bytes,
        "source_format": info.format, "duration_s": info.duration_s, "excerpt_offset_s": offset,
        "excerpt_duration_s": window, "stored": "whole" if keep_whole else "excerpt", "object_key": obj.key,
        "sha256": obj.sha256, "object_bytes": obj.size, "object_format": item.stored_format,
        "object_duration_s": info.duration_s if keep_whole else window,
        "object_offset_s": offset if keep_whole else 0.0, "object_window_s": window,
        "sample_rate": info.sample_rate, "channels": info.channels, "excerpt_reader": READ_WINDOW_VERSION,
    }
