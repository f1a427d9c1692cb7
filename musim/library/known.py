"""What the library already holds, and what ``musim library add`` knows of a file before examining it.

:func:`load_state` reads the stored tracks, the recorded skips, the library's artists and the acquired previews once,
at the start of an add; :func:`decide` tells, from a hashed file and that state, whether it is already stored,
skipped (a duplicate, or a skip recorded before) or to be examined; :func:`artist_at_new_path` and :func:`stale_excerpt`
decide what a stored file found again needs (:mod:`musim.library.add_files`), :func:`checked_whole` what a file stored
whole by an older reader does.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from musim import sql, warehouse
from musim.audio.window import READ_WINDOW_VERSION
from musim.config import Settings
from musim.errors import StorageError
from musim.filenames import path_text
from musim.library.artists import FOLDER_RULES, ArtistFrom, Resolved, resolve_artist
from musim.library.formats import FileSkipped, chained, probe
from musim.library.scan import MEMBER_SCRATCH, Examined, entry_key
from musim.library.tags import Tags
from musim.library.zips import holds
from musim.scratch import temp_file
from musim.storage import ObjectStore

__all__ = ["CHAINABLE", "FIRST_STREAM_ONLY", "RECORDED", "Known", "artist_at_new_path", "decide",
           "checked_whole", "length_to_check", "load_state", "recorded_detail", "same_entry", "stale_excerpt",
           "stale_length"]

log = logging.getLogger(__name__)


@dataclass
class Known:
    """What the library holds when an add starts (read once, :func:`load_state`)."""

    tracks: dict[str, dict[str, Any]]        # source sha256 -> stored track
    skips: dict[str, dict[str, Any]]         # path -> recorded skip
    artists: list[dict[str, Any]]            # the library artists
    acquired: dict[str, dict[str, Any]]      # sha256 -> an acquired (not library) preview of the same bytes


def load_state(settings: Settings) -> Known:
    with warehouse.writer(settings) as con:
        return Known({r["source_sha256"]: r for r in sql.rows(con, "library/known_tracks.sql")},
                      {r["source_path"]: r for r in sql.rows(con, "library/known_skips.sql")},
                      sql.rows(con, "library/known_artists.sql"),
                      {r["sha256"]: r for r in sql.rows(con, "library/acquired_previews.sql")})


def decide(item: Examined, state: Known, seen: dict[str, Path], retry: bool,
            content_at: dict[str, str | None] | None = None) -> tuple[str, Any] | None:
    """The outcome known before examining the file: ``("already_stored", artist_id)``, ``("skipped",
    reason)`` or ``None`` (examine it). ``content_at``: the content hash this scan found at each path it found (by
    :func:`~musim.library.scan.entry_key`), so that a stored path holding other content now (two files whose names
    were swapped) no longer holds its track."""
    if item.skip is not None:
        return "skipped", item.skip.reason
    assert item.sha256 is not None
    path = path_text(item.path)
    if item.sha256 in seen:
        item.skip = FileSkipped("duplicate_content", f"same content as {seen[item.sha256]}")
        return "skipped", "duplicate_content"
    known = state.tracks.get(item.sha256)
    if known is not None:
        if same_entry(known["source_path"], path) or not _still_holds(known["source_path"], item.sha256,
                                                                        content_at or {}):
            return "already_stored", known["artist_id"]
        item.skip = FileSkipped("duplicate_content", f"same content as {known['source_path']} (stored)")
        return "skipped", "duplicate_content"
    acquired = state.acquired.get(item.sha256)
    if acquired is not None:  # the very file an acquire run stored (the local provider keeps files as they are)
        item.skip = FileSkipped("duplicate_content", f"same content as track {acquired['track_id']} by "
                                f"{acquired['artist']}, acquired from {acquired['provider']} "
                                f"({acquired['source_url'] or 'its preview'})")
        return "skipped", "duplicate_content"
    recorded = state.skips.get(path)
    if not retry and recorded and recorded["source_sha256"] == item.sha256 and recorded["reason"] != "duplicate_content":
        item.skip = FileSkipped(recorded["reason"], recorded_detail(recorded["detail"]))
        item.recorded = True
        return "skipped", recorded["reason"]
    return None


def _still_holds(stored: str, sha256: str, content_at: dict[str, str | None]) -> bool:
    """Whether the stored path ``stored`` still holds the content ``sha256``: what this scan found there when it
    found that path (``content_at``), else whether something is there at all (a path outside the folders given, or
    a file it could not read)."""
    found = content_at.get(entry_key(stored))
    return found == sha256 if found is not None else holds(stored)


def same_entry(stored: str, path: str) -> bool:
    """Whether ``path`` is the stored path, or names the same file through a link to its folder."""
    return stored == path or entry_key(stored) == entry_key(path)


#: What the summary adds to the detail of a skip told from the record, not by examining the file (never stored).
RECORDED = " (recorded; --retry examines it again)"


def recorded_detail(detail: str | None) -> str:
    """A recorded skip's detail without the :data:`RECORDED` note (runs before migration 026 stored it, once more
    each run)."""
    detail = detail or ""
    at = detail.find(" (recorded; --retry")  # what the 1,000 characters stored kept of the first
    return detail[:at] if at >= 0 else detail


def artist_at_new_path(known: dict[str, Any], item: Examined, artist_from: ArtistFrom) -> Resolved | None:
    """The artist a stored file found at a new path gets there, when its folder or file name named it (rules
    ``folder``, ``filename``, ``unknown``: the folder rules again, with the album tag it was stored with); ``None``
    when its tags named it (they moved with it) or the same artist comes again."""
    if known["artist_rule"] not in FOLDER_RULES or artist_from == "tag":
        return None
    found = resolve_artist(Tags(album=known["album"]), item.rule_path or item.path, item.root, artist_from="folder")
    return None if (found.name, found.rule) == (known["artist_spelling"], known["artist_rule"]) else found


#: The reader version that read only the first stream of a chained file (:func:`musim.audio.window.chained_stream`):
#: its excerpts of other files are what the current reader cuts (migration 038).
FIRST_STREAM_ONLY = 2
#: The formats whose files can hold streams one after the other.
CHAINABLE = ("mp3", "ogg", "opus")


def stale_excerpt(track: dict[str, Any], path: str | os.PathLike | None = None) -> bool | None:
    """Whether a stored track's excerpt was cut by an older reader (a whole stored file has no excerpt): ``True``,
    ``False``, or ``None`` for an excerpt of version :data:`FIRST_STREAM_ONLY` whose file (at ``path``) is not
    chained: the current reader cuts the same one (recorded as current, not read again). Such an excerpt's file is
    read for its page or frame headers only (no decoding); ``path=None`` (a zip's member, not at hand) takes it for
    stale (read again: the reading tells)."""
    if track["stored"] != "excerpt" or track["excerpt_reader"] >= READ_WINDOW_VERSION:
        return False
    if track["excerpt_reader"] < FIRST_STREAM_ONLY or path is None:
        return True
    if track["excerpt_reader"] == FIRST_STREAM_ONLY and track["source_format"] not in CHAINABLE:
        return None
    return True if chained(path) else None


def length_to_check(track: dict[str, Any]) -> bool:
    """Whether a stored track is a file stored whole (``--keep-whole``) of a chainable format whose length version
    :data:`FIRST_STREAM_ONLY` measured, in its first stream only if it is chained (migration 039)."""
    return (track["stored"] == "whole" and track["excerpt_reader"] <= FIRST_STREAM_ONLY
            and track["source_format"] in CHAINABLE)


def stale_length(track: dict[str, Any], path: str | os.PathLike) -> bool | None:
    """Whether a file stored whole may have the length version :data:`FIRST_STREAM_ONLY` measured in its first stream
    recorded (:func:`length_to_check`): ``True`` for a chained file at ``path`` (its length is measured again),
    ``None`` for one that is not (marked current as it is), ``False`` for any other track. Reads page or frame headers
    only; ``path`` is the file, or a copy of its stored object (stored whole, it holds the same bytes)."""
    if not length_to_check(track):
        return False
    return True if chained(path) else None


def whole_length(path: Path, shown: Path) -> float | None:
    """The length of a chained file stored whole, decoded to its end (:func:`~musim.library.formats.probe`); ``None``
    (logged, naming ``shown``; the next add measures it again) where it cannot be read now."""
    try:
        return probe(path, min_seconds=0.0).duration_s
    except (FileSkipped, OSError) as exc:
        log.warning("library add: %s: its length could not be measured again (%s); the next add tries again",
                    path_text(shown), exc.why if isinstance(exc, FileSkipped) else exc)
        return None


def checked_whole(track: dict[str, Any], item: Examined, member: bool, store: ObjectStore,
                   tmp_dir: Path) -> tuple[bool | None, float | None]:
    """:func:`~musim.library.known.stale_length` of a stored track and, for a chained file, its whole length measured
    again (:func:`whole_length`). A zip's member is not at hand to read: its stored object is (stored whole, it is
    the member's bytes), copied to a scratch file for the reading; ``(False, None)`` (logged; the next add tries
    again) where that object cannot be read now."""
    if not member:
        whole = stale_length(track, item.path)
        return whole, whole_length(item.path, item.path) if whole else None
    if not length_to_check(track):  # nothing to read
        return False, None
    with temp_file(tmp_dir, MEMBER_SCRATCH) as local:
        try:
            store.download(track["object_key"], local)
        except StorageError as exc:
            log.warning("library add: %s: its stored file could not be read to check its length (%s); the next add "
                        "tries again", path_text(item.path), exc)
            return False, None
        whole = stale_length(track, local)
        return whole, whole_length(local, item.path) if whole else None
