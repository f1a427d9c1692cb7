"""Reading and removing library tracks: ``musim library list|show|remove``."""

from __future__ import annotations

import os
import shlex
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb

from musim import sql, warehouse
from musim.config import Settings
from musim.errors import NotFoundError, ParameterError
from musim.filenames import path_text
from musim.library.formats import FileSkipped
from musim.library.known import CHAINABLE, FIRST_STREAM_ONLY
from musim.library.scan import content_sha256
from musim.library.zips import holds
from musim.names import name_key
from musim.params import whole_number
from musim.storage import ObjectStore, open_store

#: ``--artist id:N``: the library artist of id N, never an artist named N.
ID_FORM = "id:"


def list_tracks(artist: str | None = None, *, settings: Settings | None = None) -> list[dict[str, Any]]:
    """Library tracks (of ``artist``: any of its spellings, up to case and punctuation, its MBID or its id; or
    ``id:N``, the artist of id N alone, where a number is also a name); ``excerpt_stale``: the stored excerpt was
    cut by an older reader (:data:`musim.audio.window.READ_WINDOW_VERSION`), read again by the next ``library add`` of
    its file; ``excerpt_to_check``: cut by version :data:`~musim.library.known.FIRST_STREAM_ONLY` of a file that can be
    chained (:data:`~musim.library.known.CHAINABLE`): the next ``library add`` of its folder reads its headers and
    re-cuts it if the file is chained (which is known only by reading it); ``source_gone``: no file is at its source path any more (deleted, moved away, or on a disk not
    mounted): it stays until ``library remove`` takes it out."""
    artist_id = whole_number(artist, max_digits=9) if artist else None
    if artist and artist.strip().lower().startswith(ID_FORM):
        artist_id = whole_number(artist.strip()[len(ID_FORM):], max_digits=9)
        if artist_id is None:
            raise ParameterError(f"{artist!r}: an artist id is a whole number (--artist id:3); `musim library list` "
                                 "shows the ids where artists share a name")
        artist = None  # the id alone
    with warehouse.writer(settings) as con:
        rows = sql.rows(con, "library/list.sql", artist=artist, artist_id=artist_id,
                        artist_key=name_key(artist) if artist else None, reader=FIRST_STREAM_ONLY,
                        chainable=list(CHAINABLE))
    listed: dict[Path, set[str]] = {}
    return [{k: v for k, v in r.items() if k not in ("marked_gone", "source_sha256")}
            | {"source_gone": not holds(r["source_path"], listed) or (r["marked_gone"] and _changed(r))} for r in rows]


def _changed(track: dict[str, Any]) -> bool:
    """Whether the file at a track's source path holds other content than the one stored (a scan found it changed
    and skipped it; a member of a zip archive is not read again here)."""
    path = Path(track["source_path"])
    if not path.is_file():
        return False
    try:
        return content_sha256(path)[1] != track["source_sha256"]
    except FileSkipped:  # emptied, or unreadable now
        return True


def _under(con: duckdb.DuckDBPyConnection, folders: list[str], found: set[str],
           changed: set[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The tracks stored from under ``folders`` or at the paths ``changed``: those whose file is gone (or changed),
    and the others."""
    if not folders and not changed:
        return [], []
    listed: dict[Path, set[str]] = {}
    gone: list[dict[str, Any]] = []
    there: list[dict[str, Any]] = []
    for r in sql.rows(con, "library/tracks_under.sql", folders=folders, paths=sorted(changed)):
        path = r["source_path"]
        (gone if path in changed or (path not in found and not holds(path, listed)) else there).append(r)
    return gone, there


def record_gone(con: duckdb.DuckDBPyConnection, folders: list[str], found: set[str],
                changed: set[str] = frozenset()) -> list[dict[str, Any]]:
    """What a scan of ``folders`` (the paths it ``found``) tells of files that went: the library tracks
    (``track_id``, ``source_path``) stored from under ``folders`` whose file is gone (not among the paths ``found``
    and not there: deleted, moved away, or on a disk not mounted), each with ``new`` (first found gone by this scan; ``False``: an earlier scan reported it), recorded (``gone_at``,
    migration 028) so that a track is reported once, when its file goes; a track whose file is there again (at its
    path, or found at a new one) is not gone any more, and is reported again if it goes again. A track whose path
    is among ``changed`` (its file holds other content now, which was skipped: a duplicate of another file, cut short)
    is gone too: its audio is nowhere any more."""
    gone, there = _under(con, folders, found, set(changed))
    back = {r["track_id"] for r in there if r["gone_at"] is not None}
    if found:
        back |= {r["track_id"] for r in sql.rows(con, "library/gone_again_of.sql", paths=sorted(found - set(changed)))}
    back -= {r["track_id"] for r in gone}
    sql.run(con, "library/mark_gone.sql", gone=[r["track_id"] for r in gone if r["gone_at"] is None],
            back=sorted(back))
    return [{"track_id": r["track_id"], "source_path": r["source_path"], "new": r["gone_at"] is None,
             "changed": r["source_path"] in changed} for r in gone]


def forget_skips(con: duckdb.DuckDBPyConnection, folders: list[str], found: set[str]) -> int:
    """Forget the skips recorded under ``folders`` whose file a scan of them did not find (not among the paths
    ``found``) and that is not there (deleted, moved away), or is a folder (one that could not be listed then, and
    can now: its files were found): ``musim library skipped`` listed them for ever. Returns how many went."""
    if not folders:
        return 0
    listed: dict[Path, set[str]] = {}
    gone = [path for r in sql.rows(con, "library/skips_under.sql", folders=folders)
            if (path := r["source_path"]) not in found and (os.path.isdir(path) or not holds(path, listed))]
    if gone:
        sql.run(con, "library/forget_skips.sql", paths=gone)
    return len(gone)


def gone_hint(ids: list[str], limit: int = 3) -> str:
    """What to do about tracks whose file is gone: remove them (the first ``limit`` ids named), unless the disk they
    were on is only not mounted."""
    named = " ".join(ids[:limit]) + (" …" if len(ids) > limit else "")
    they = "it stays" if len(ids) == 1 else "they stay"
    return (f"{they} in the library, its features and models until `musim library remove {named}` takes "
            f"{'it' if len(ids) == 1 else 'them'} out (nothing is removed for you: a disk that is not mounted looks "
            "the same)")


def stale_excerpts(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The library tracks (``track_id``, ``source_path``) whose stored excerpt an older reader cut
    (:data:`musim.audio.window.READ_WINDOW_VERSION`): ``musim library add`` of their files reads them again. Those
    version :data:`~musim.library.known.FIRST_STREAM_ONLY` cut are not listed: only the few of chained files need it,
    which is known by reading them (the next ``library add`` of them does)."""
    return sql.rows(con, "library/stale_excerpts.sql", reader=FIRST_STREAM_ONLY)


def check_hint(paths: list[str], limit: int = 3) -> str:
    """What to do about excerpts to be checked (``excerpt_to_check``) of the files at ``paths``: add their folders
    again (named, the first ``limit``)."""
    return (f"`musim library add {_folders(paths, limit)}` checks them (their headers only, no decoding) and re-cuts "
            "those of chained files (`musim library list --json` marks them excerpt_to_check)")


def _folders(paths: list[str], limit: int) -> str:
    """The folders of ``paths``, quoted for a shell, the first ``limit`` of them."""
    folders = sorted({os.path.dirname(p) or p for p in paths})
    return " ".join(shlex.quote(f) for f in folders[:limit]) + (" …" if len(folders) > limit else "")


def stale_hint(paths: list[str], limit: int = 3) -> str:
    """What to do about stale excerpts of the files at ``paths``: add their folders again (named, the first
    ``limit``)."""
    return (f"`musim library add {_folders(paths, limit)}` reads them again (a file that is gone keeps the excerpt it has; "
            "`musim library list --json` marks them excerpt_stale)")


def skipped_files(*, settings: Settings | None = None) -> list[dict[str, Any]]:
    """Every file the scans skipped, with its reason."""
    with warehouse.writer(settings) as con:
        return sql.rows(con, "library/skips.sql")


def absolute_path(path: str | os.PathLike) -> str:
    """A path as the library records it: absolute, ``..`` and ``.`` resolved by name (links are not followed:
    a file is known by the path it was added from)."""
    return path_text(os.path.abspath(os.path.expanduser(os.fspath(path))))


def show_track(track: str, *, settings: Settings | None = None) -> dict[str, Any]:
    """Everything recorded of one library track, by id, id prefix (6+ characters; either in any case, blanks around
    them ignored, as copied from a terminal) or source path; the track whose id or path it is, where it is also a
    prefix of other tracks' ids (a file named ``deadbeef`` in the current folder).

    Raises NotFoundError when nothing matches, ParameterError when a prefix matches several tracks (naming the first
    three).
    """
    with warehouse.writer(settings) as con:
        rows = sql.rows(con, "library/show.sql", track=str(track), id=str(track).strip().lower(),
                        path=absolute_path(track))
    if not rows:
        raise NotFoundError(f"no library track {track!r}; `musim library list` shows the tracks")
    exact = [r for r in rows if r["track_id"] == str(track).strip().lower()
             or r["source_path"] in (str(track), absolute_path(track))]
    if len(rows) > 1 and len(exact) != 1:
        named = ", ".join(f"{r['track_id']} ({r['source_path']!r})" for r in rows[:3]) + (", …" if len(rows) > 3 else "")
        raise ParameterError(f"{track!r} matches {len(rows)} library tracks: {named}; give more of the track id")
    return exact[0] if len(rows) > 1 else rows[0]


def remove_tracks(tracks: list[str] | None = None, *, artist: str | None = None, settings: Settings | None = None,
                  store: ObjectStore | None = None) -> list[str]:
    """Remove library tracks (by id/prefix/path, or every track of ``artist``); return their ids.

    Their stored objects are deleted unless another track still points at the same object.
    """
    if not tracks and not artist:
        raise ParameterError("name the tracks to remove, or --artist NAME")
    ids = [show_track(t, settings=settings)["track_id"] for t in tracks or ()]
    if artist:
        found = list_tracks(artist, settings=settings)
        if not found:
            raise NotFoundError(f"no library artist {artist!r}; `musim library list` shows the artists")
        _one_artist(artist, found)
        ids += [r["track_id"] for r in found]
    ids = sorted(set(ids))
    with warehouse.writer(settings) as con:
        with warehouse.transaction(con):
            keys = delete_tracks(con, ids)
        delete_unused(con, keys, store or open_store((settings or _settings()).storage.object_store))
    return ids


def still_served(ids: list[str], *, settings: Settings | None = None) -> bool:
    """Whether the published snapshot (what ``similar-tracks``, ``similar-audio`` and the web page read: a file of
    its own, never the warehouse) still serves one of the tracks ``ids``, as a track or as a track's neighbour;
    ``False`` when nothing is published. After ``library remove`` a new snapshot must be published for them to go
    (the command line's ``library remove`` does it)."""
    from musim import serving

    if not ids:
        return False
    try:
        path = serving.current_path(settings)
    except serving.NothingPublished:
        return False
    return serving.serves_tracks(path, ids, settings)


def _one_artist(artist: str, tracks: list[dict[str, Any]]) -> None:
    """Refuse a name that is several library artists (two bands called "Nirvana", with their own MusicBrainz
    ids), listing them: removing one must not take the other's tracks."""
    artists = Counter((r["artist_id"], r["artist"], r["mbid"]) for r in tracks)
    if len(artists) > 1:
        listed = "; ".join(f"{name} (id {i}, {f'MBID {mbid}' if mbid else 'no MBID'}, {n} track{'s' * (n != 1)})"
                           for (i, name, mbid), n in sorted(artists.items()))
        first = min(i for i, _, _ in artists)
        raise ParameterError(f"{artist!r} names {len(artists)} library artists: {listed}; give the id of the one to "
                             f"remove (--artist id:ID, e.g. --artist id:{first}) or its MusicBrainz id (--artist "
                             f"MBID), or its tracks (`musim library list --artist {shlex.quote(artist)}` shows them)")


def delete_tracks(con: duckdb.DuckDBPyConnection, ids: list[str]) -> list[str]:
    """Delete the library tracks ``ids`` (with their features; in the caller's transaction); return the keys of
    the objects they pointed at, for :func:`delete_unused` once committed."""
    keys = [r[0] for r in sql.query(con, "library/object_keys.sql", ids=ids).fetchall()]
    sql.run(con, "library/remove.sql", ids=ids)
    return keys


def delete_unused(con: duckdb.DuckDBPyConnection, keys: list[str], store: ObjectStore) -> None:
    """Delete the objects of ``keys`` that no track points at any more."""
    still = {r[0] for r in sql.query(con, "library/objects_in_use.sql", keys=keys).fetchall()}
    for key in keys:
        if key not in still:
            store.delete(key)


def _settings() -> Settings:
    from musim.config import get_settings

    return get_settings()
