"""``musim library add``: every file under the paths given ends in exactly one outcome.

``stored`` (its analysis excerpt, or with ``keep_whole`` the whole file, is in the object store and it is a
track; a file whose content changed since it was stored replaces its earlier track), ``already_stored`` (the
same content was stored from this path before) or ``skipped`` with one of
:data:`musim.library.formats.SKIP_REASONS`. The warehouse is read once at the start and written once at the
end (one transaction); the work between holds no lock. Each file's excerpt is stored as soon as it is read (memory
holds one file's, not the library's). Objects are content-addressed, so a run killed between storing and
recording leaves nothing half-written; each file examined is noted as its outcome is known (:mod:`musim.library.resume`:
its excerpt stored, its skip, its stale excerpt read again), and the next run takes the files noted from their notes
instead of decoding them again, and records them.

A stored file found at a new path (its old one gone) keeps its track, at the new path; where its folder or file name
named its artist (not a tag), the folder rules name it again there. Tracks stored from under a folder given whose file
is gone are reported (``gone``) by the scan that finds them gone, once (``library_track.gone_at``; a later scan
counts them in ``gone_total``, and a file found again is reported again when it goes), never removed here: a folder
on a disk that is not mounted looks the same, and ``musim library remove`` takes them out.

Every stored excerpt records the version of the reader that cut it (``library_track.excerpt_reader``,
:data:`musim.audio.window.READ_WINDOW_VERSION`). An unchanged file whose excerpt an older reader cut is read again (the
same window; a chained file's, which version 2 cut in its first stream, at the window chosen in its whole length: a
version-2 excerpt of any other file is marked current without decoding, :func:`~musim.library.known.stale_excerpt`)
and stored beside the old object; the track points at the new one in the same transaction, and the old
one goes after. The old audio's features stay, as the values a feature service pinned before then was trained on
(``track_audio_history``); the next feature build adds the new audio's as newer values. A run that fails midway
leaves the old excerpt recorded and stored.

A chained file whose parts change codec, rate or channel count (which FFmpeg cannot decode whole) is stored from its
first part, with a warning (``AddSummary.first_part_only``), not skipped: :mod:`musim.library.chains` says why.
"""

from __future__ import annotations

import functools
import logging
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from musim import sql, warehouse
from musim.audio.batch import default_workers, imap_surviving
from musim.audio.formats import MIN_DURATION_S
from musim.audio.window import READ_WINDOW_VERSION
from musim.config import Settings, get_settings
from musim.filenames import path_text
from musim.library.artists import UNKNOWN_ARTIST, ArtistFrom, Resolved
from musim.library.formats import FileSkipped
from musim.library.identity import group_files, library_artists, match_catalogue, stranded, without
from musim.library.known import (
    RECORDED,
    artist_at_new_path,
    checked_whole,
    decide,
    load_state,
    same_entry,
    stale_excerpt,
)
from musim.library.registry import delete_tracks, delete_unused, forget_skips, record_gone, stale_excerpts
from musim.library.resume import PREFIX as NOTES
from musim.library.resume import drop_notes, list_notes, note, note_key, options_of, resume
from musim.library.rows import reread_row, track_row
from musim.library.scan import (
    MEMBER_SCRATCH,
    Examined,
    FoundFile,
    entry_key,
    examine_found,
    find_files,
    hashed,
)
from musim.names import name_key
from musim.scratch import sweep
from musim.storage import ObjectInfo, ObjectStore, open_store

log = logging.getLogger(__name__)
OBJECT_PREFIX = "audio/previews"


@dataclass
class AddSummary:
    """What one run did: the ``--json`` object; ``files = stored + already_stored + len(skipped)``."""

    files: int = 0
    stored: int = 0
    already_stored: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    artists: int = 0
    tracks_by_artist: dict[str, int] = field(default_factory=dict)
    replaced: int = 0  # stored files that replace the track of an earlier version at the same path
    regrouped: int = 0  # stored untagged files moved to their name's artist without an MBID (a second id came)
    moved: int = 0  # already stored files found at a new path (their old one gone)
    named_again: int = 0  # ... whose new folder (or file name) gives another name than their old one did
    reread: int = 0  # already stored files whose excerpt, cut by an older reader, was read again
    recut: int = 0  # ... of them, chained files (streams one after the other) whose window was chosen again in their
    # whole length (the older reader read their first stream only)
    length_corrected: int = 0  # already stored chained files stored whole whose recorded length (version 2 measured
    # their first stream) was measured again and corrected
    restored: int = 0  # already stored files whose excerpt was missing from the object store, read again and stored
    stale: int = 0  # stored excerpts an older reader cut left in the library after this run (files not given or gone)
    gone: int = 0  # stored tracks from under the folders given whose file went since the last scan (kept: `library
    # remove` takes them); a track is counted here once, by the scan that finds it gone
    gone_total: int = 0  # ... whose file is gone, in all (those reported by an earlier scan too)
    details: dict[str, str] = field(default_factory=dict)  # path -> detail of its skip (not in the JSON)
    stale_paths: list[str] = field(default_factory=list)  # the source paths of the ``stale`` ones (not in the JSON)
    gone_tracks: list[dict[str, Any]] = field(default_factory=list)  # ``track_id``, ``source_path``, ``new`` of the
    # ``gone_total`` (``new``: one of the ``gone``)
    first_part_only: list[dict[str, str]] = field(default_factory=list)  # ``path`` and ``detail`` of the stored chained
    # files whose parts differ in codec, rate or channels, read from their first part (musim.library.chains)

    def to_json(self) -> dict[str, Any]:
        return {"files": self.files, "stored": self.stored, "already_stored": self.already_stored,
                "skipped": self.skipped, "artists": self.artists, "tracks_by_artist": self.tracks_by_artist,
                "replaced": self.replaced, "regrouped": self.regrouped, "reread": self.reread, "recut": self.recut,
                "length_corrected": self.length_corrected,
                "restored": self.restored,
                "stale": self.stale,
                "moved": self.moved, "named_again": self.named_again, "gone": self.gone,
                "gone_total": self.gone_total, "first_part_only": self.first_part_only}



#: Why a file whose worker process died reading it, twice, is skipped (``musim library skipped`` shows it).
WORKER_DIED = ("the process reading it died abruptly, alone with it (a decoder crash on this file, or killed for "
               "memory); `musim library add --retry` examines it again")


def _worker_died(job: tuple[FoundFile, Examined]) -> Examined:
    """The outcome of a file whose worker process died with it, and again alone (:func:`imap_surviving`): skipped as
    ``undecodable``, with the reason, instead of the whole run stopping on ``BrokenProcessPool``."""
    _, item = job
    log.warning("library add: %s: the process reading it died again: skipped", path_text(item.path))
    item.skip = FileSkipped("undecodable", WORKER_DIED)
    item.payload = b""
    return item


def _not_read_again(item: Examined, skip: FileSkipped, restoring: bool) -> None:
    """Say that the excerpt of a stored file could not be read again (``skip`` says why); the track stays as it was."""
    if restoring:
        log.warning("library add: %s: its excerpt, missing from the object store, could not be read again (%s)",
                    path_text(item.path), skip.why)
    else:
        log.warning("library add: %s: its excerpt, cut by an older reader, could not be read again (%s); it stays as "
                    "it was", path_text(item.path), skip.why)


def _own_paths(settings: Settings, store: ObjectStore) -> list[Path]:
    """musim's own folders and files, which a folder added that holds them (``musim library add ~``) does not scan:
    the object store's folder (the excerpts stored), the scratch and published folders, the warehouse and its log."""
    warehouse_file = Path(settings.warehouse.path)
    own = [settings.tmp_dir, settings.serving_dir, warehouse_file, warehouse_file.with_name(warehouse_file.name + ".wal")]
    root = getattr(store, "root", None)  # a local store's folder
    return [Path(p) for p in own] + ([root] if isinstance(root, Path) else [])


def _labels(names: dict[int, tuple[str, str | None]]) -> dict[int, str]:
    """Each artist's name, with its MusicBrainz id where two artists share a name (two bands called
    "Nirvana")."""
    shared = Counter(name for name, _ in names.values())
    return {i: name if shared[name] == 1 else f"{name} ({f'MBID {mbid}' if mbid else 'no MBID'})"
            for i, (name, mbid) in names.items()}


def add(
    paths: Iterable[str | os.PathLike],
    *,
    artist_from: ArtistFrom = "auto",
    keep_whole: bool = False,
    retry: bool = False,
    excerpt_s: float | None = None,
    anchor: str | float | None = None,
    min_seconds: float = MIN_DURATION_S,
    settings: Settings | None = None,
    store: ObjectStore | None = None,
    on_plan: Callable[[int], None] | None = None,
    on_file: Callable[[Path, str], None] | None = None,
    workers: int | None = None,
) -> AddSummary:
    """Scan ``paths`` (files or folders) and store every usable file not stored yet; see the module doc.

    ``excerpt_s`` and ``anchor`` default to the acquisition settings (``MUSIM_EXCERPT_S``, the middle);
    ``on_plan(n_files)`` and ``on_file(path, outcome)`` report progress (the CLI's progress bar). New files are
    decoded across the audio pool (``workers`` processes, default one per CPU).
    """
    settings = settings or get_settings()
    acq = settings.acquire
    excerpt_s = acq.excerpt_s if excerpt_s is None else excerpt_s
    anchor = acq.excerpt_anchor if anchor is None else anchor
    paths = list(paths)
    store = store or open_store(settings.storage.object_store)
    found = find_files(paths, own=_own_paths(settings, store))
    folders = [path_text(os.path.abspath(p)) for p in (Path(raw).expanduser() for raw in paths) if p.is_dir()]
    store.cleanup_incomplete(OBJECT_PREFIX)  # partial excerpts of a killed run
    store.cleanup_incomplete(NOTES)  # ... and its partial notes
    sweep(settings.tmp_dir, MEMBER_SCRATCH)  # ... and its scratch copies of zip members (up to 4 GiB each)
    state = load_state(settings)
    notes = list_notes(store)  # what a run killed before it recorded examined and stored (musim.library.resume)
    noted: set[str] = set()  # ... and the notes this run wrote
    options = {"excerpt_s": excerpt_s, "anchor": anchor, "artist_from": artist_from, "keep_whole": keep_whole,
               "min_seconds": min_seconds}
    noting = options_of(**options)  # what a note must have been written with to be used
    summary = AddSummary(files=len(found))
    if on_plan:
        on_plan(len(found))
    seen: dict[str, Path] = {}
    by_index: dict[int, tuple[Examined, ObjectInfo]] = {}  # usable files by their place in ``found``
    rereading: dict[int, tuple[str, Any]] = {}  # stored files whose stale excerpt is read again, and their outcome
    reread: dict[int, tuple[Examined, ObjectInfo]] = {}  # ... read and stored again
    restoring: set[int] = set()  # ... of them, the stored files whose excerpt is missing from the object store
    current: list[str] = []  # stored tracks whose excerpt an older reader cut as the current one does (not chained)
    lengths: list[dict[str, Any]] = []  # chained files stored whole, their length measured again (version 2's was
    # their first stream's)
    present: set[str] | None = None  # the keys under OBJECT_PREFIX, listed once, when a stored file is first found
    skipped_at: dict[int, Examined] = {}
    skipped_first: dict[str, Examined] = {}  # the files skipped by their note (a run killed), by content: their copies
    moved: list[dict[str, Any]] = []  # stored files found at a new path (the old one is gone)
    found_at: list[str] = []  # the paths of the files found already stored (a skip recorded there before goes)
    named_again: dict[str, Resolved] = {}  # ... whose folder or file name named their artist: its rules at the new path
    by_artist: Counter[int] = Counter()  # tracks by artist id
    names = {t["artist_id"]: (t["artist"], t["mbid"]) for t in state.tracks.values()}

    def missing(track: dict[str, Any]) -> bool:
        """Whether a stored track's excerpt is missing from the object store."""
        nonlocal present
        if track["stored"] != "excerpt":
            return False
        if present is None:
            present = {o.key for o in store.list(f"{OBJECT_PREFIX}/")}  # one listing, not a request per file
        return track["object_key"] not in present

    def account(i: int, item: Examined, decided: tuple[str, Any], obj: ObjectInfo | None = None) -> None:
        if decided[0] == "already_stored":
            summary.already_stored += 1
            by_artist[decided[1]] += 1
            known = state.tracks[item.sha256]  # type: ignore[index]
            found_at.append(path_text(item.path))
            if not same_entry(known["source_path"], path_text(item.path)):  # not the same file through a link
                moved.append({"source_sha256": item.sha256, "source_path": path_text(item.path), "artist_spelling": None,
                              "artist_rule": None, "name_key": None})
                if (again := artist_at_new_path(known, item, artist_from)) is not None:
                    named_again[item.sha256] = again  # type: ignore[index]
        elif decided[0] == "skipped":
            skipped_at[i] = item
        elif obj is not None:  # examined and stored by a run killed before it recorded it: its note read back
            by_index[i] = (item, obj)
        else:  # stored now, so that memory holds a few files' excerpts, not the library's
            obj = store.put_content_addressed(item.payload, prefix=OBJECT_PREFIX, ext=item.stored_format)
            item.payload = b""
            by_index[i] = (item, obj)
            note(store, item, obj, noting)  # after its excerpt is whole in the store
            noted.add(note_key(item.sha256))  # type: ignore[arg-type]
        if on_file:
            on_file(item.path, decided[0])

    # 1. every file's content hash, in order: what is known, or a copy of an earlier file, needs no decoding
    to_examine: list[tuple[int, FoundFile, Examined]] = []
    copies: dict[str, list[int]] = defaultdict(list)  # a file being examined -> the later copies of it
    examining: set[str] = set()  # content of the files to examine
    items = [hashed(f, settings.tmp_dir) for f in found]  # all first: what each path holds now, before deciding
    content_at = {entry_key(path_text(item.path)): item.sha256 for item in items}
    for i, (f, item) in enumerate(zip(found, items, strict=True)):
        decided = decide(item, state, seen, retry, content_at)
        if item.sha256 and (decided is None or decided[0] != "skipped"):
            seen[item.sha256] = item.path
        if decided is None and (resumed := resume(store, notes, item, noting, OBJECT_PREFIX,
                                                  skips=not retry)) is not None:
            if isinstance(resumed, FileSkipped):  # skipped by the run killed: the same skip, not decoded again
                item.skip = resumed
                skipped_first[item.sha256] = item  # type: ignore[index]
                account(i, item, ("skipped", resumed.reason))
            else:
                account(i, item, ("stored", ""), resumed)  # its later copies are told apart as any stored file's
        elif decided == ("skipped", "duplicate_content") and item.sha256 in skipped_first:
            first = skipped_first[item.sha256].skip  # type: ignore[index]
            item.skip = FileSkipped(first.reason, first.detail)  # type: ignore[union-attr]
            account(i, item, ("skipped", item.skip.reason))  # as the copies of a file examined now (below)
        elif decided is None:
            examining.add(item.sha256)  # type: ignore[arg-type]
            to_examine.append((i, f, item))
        elif decided[0] == "already_stored" and ((outdated := stale_excerpt(
                stored_as := state.tracks[item.sha256], None if f.member is not None else item.path)) or missing(stored_as)):  # type: ignore[index]
            # cut by an older reader, or its excerpt gone from the store (deleted, a store restored from an older
            # backup): the same window read again, from the file that is right here (a chained file's chosen again)
            if not outdated:
                restoring.add(i)
                log.info("library add: %s: its stored excerpt %s is missing from the object store: reading it again",
                         path_text(item.path), stored_as["object_key"])
            item.reread = (stored_as["excerpt_offset_s"], stored_as["excerpt_duration_s"])
            item.stale = bool(outdated)
            if (resumed := resume(store, notes, item, noting, OBJECT_PREFIX)) is None:
                rereading[i] = decided  # accounted once read again
                to_examine.append((i, f, item))
            else:  # read again by the run killed: its note
                if isinstance(resumed, FileSkipped):
                    _not_read_again(item, resumed, i in restoring)
                else:
                    reread[i] = (item, resumed)
                account(i, item, decided)
        elif decided == ("skipped", "duplicate_content") and item.sha256 in examining:
            copies[item.sha256].append(i)
            skipped_at[i] = item  # its outcome follows the first copy's (below)
        else:
            if decided[0] == "already_stored" and outdated is None:  # the current reader cuts the same excerpt
                current.append(state.tracks[item.sha256]["track_id"])  # type: ignore[index]
            elif decided[0] == "already_stored" and (checked := checked_whole(
                    stored_as := state.tracks[item.sha256], item, f.member is not None, store,  # type: ignore[index]
                    settings.tmp_dir))[0] is not False:
                whole, length = checked
                if whole is None or length is not None:  # measured (or not chained)
                    current.append(stored_as["track_id"])
                if whole and length is not None and abs(length - stored_as["duration_s"]) > 0.01:
                    lengths.append({"track_id": stored_as["track_id"], "duration_s": length})
            account(i, item, decided)
    # 2. the new files (and the stale excerpts of stored ones) decoded and checked across the audio pool, each stored
    # as it comes back
    work = functools.partial(examine_found, tmp_dir=settings.tmp_dir, **options)
    for j, _, item in imap_surviving(work, ((f, it) for _, f, it in to_examine), died=_worker_died,
                                     workers=min(workers or default_workers(), max(1, len(to_examine))),
                                     what="audio file"):
        i = to_examine[j][0]
        if i in rereading:  # stored beside the old excerpt, which stays recorded until this run records the new one
            obj = None
            if item.skip is None:
                obj = store.put_content_addressed(item.payload, prefix=OBJECT_PREFIX, ext=item.stored_format)
                reread[i] = (item, obj)
            else:
                _not_read_again(item, item.skip, i in restoring)
            note(store, item, obj, noting)  # after the excerpt is whole in the store
            noted.add(note_key(item.sha256))  # type: ignore[arg-type]
            item.payload, item.skip = b"", None
            account(i, item, rereading.pop(i))
            continue
        if item.skip is not None:  # noted as a stored file is (in account), so that a resumed run skips it the same
            note(store, item, None, noting)
            noted.add(note_key(item.sha256))  # type: ignore[arg-type]
        account(i, item, ("skipped", item.skip.reason) if item.skip else ("stored", ""))
        for c in copies.pop(item.sha256, ()):  # type: ignore[arg-type]
            copy = skipped_at[c]
            if item.skip is not None:  # the same content fails the same checks
                copy.skip = FileSkipped(item.skip.reason, item.skip.detail)
            if on_file:
                on_file(copy.path, "skipped")
    rows: list[dict[str, Any]] = []
    with warehouse.writer(settings) as con:
        # 3. a run beside this one may have recorded some of the same files since the state was read
        meanwhile = {r["source_sha256"]: r for r in sql.rows(con, "library/known_tracks.sql")}
        orphans: list[str] = []
        for i in [i for i in sorted(by_index) if by_index[i][0].sha256 in meanwhile]:
            item, obj = by_index.pop(i)
            known = meanwhile[item.sha256]  # type: ignore[index]
            orphans.append(obj.key)
            if known["source_path"] == path_text(item.path):
                summary.already_stored += 1
                by_artist[known["artist_id"]] += 1
                names[known["artist_id"]] = (known["artist"], known["mbid"])
            else:
                item.skip = FileSkipped("duplicate_content", f"same content as {known['source_path']} (stored by a "
                                        "run beside this one)")
                skipped_at[i] = item
        usable = [by_index[i][0] for i in sorted(by_index)]
        objects = [by_index[i][1] for i in sorted(by_index)]
        skipped = [skipped_at[i] for i in sorted(skipped_at)]
        new_artists = [(i.artist.name, i.artist.mbid) for i in usable]  # type: ignore[union-attr]
        # the stored untagged files of a name that gains a second MBID now, and the moved files their folder named:
        # grouped again, as if added now
        stored = list({**state.tracks, **meanwhile}.values())
        again = stranded(new_artists, state.artists, stored)
        stranded_ids = {t["track_id"] for t in again}
        again += [t for t in stored if t["source_sha256"] in named_again and t["track_id"] not in stranded_ids]
        spelled = [named_again[t["source_sha256"]].name if t["source_sha256"] in named_again else t["artist_spelling"]
                   for t in again]
        groups, group_of = group_files(new_artists + [(name, None) for name in spelled], state.artists)
        match_catalogue(con, groups, state.artists)
        moving = [(t, groups[ident].artist_id) for t, ident in zip(again, group_of[len(usable):], strict=True)
                  if groups[ident].artist_id != t["artist_id"]]
        known, left = without(state.artists, [t for t, _ in moving], stored)
        # its artist's name: each stored track counts its spelling once (those grouped again, in their group)
        replacing = {path_text(i.path) for i in usable}
        grouped = {t["track_id"] for t in again}
        counts: dict[int, Counter[str]] = defaultdict(Counter)
        for t in stored:
            if t["track_id"] not in grouped and t["source_path"] not in replacing:
                counts[t["artist_id"]][t["artist_spelling"]] += 1
        artists = library_artists(groups, known, counts)
        artists += [a for a in left if a["artist_id"] not in {b["artist_id"] for b in artists}]
        names.update({a["artist_id"]: (a["name"], a["mbid"]) for a in artists})
        for t, artist_id in moving:  # a moved file of this run counted under the artist it had
            if t["source_sha256"] in named_again and by_artist[t["artist_id"]] > 0:
                by_artist[t["artist_id"]] -= 1
                by_artist[artist_id] += 1
        by_artist += Counter()  # drops the artists left with no file of this run
        for m in moved:
            if (named := named_again.get(m["source_sha256"])) is not None:
                m |= {"artist_spelling": named.name, "artist_rule": named.rule,
                      "name_key": name_key(named.name) or name_key(UNKNOWN_ARTIST)}
        for item, obj, ident in zip(usable, objects, group_of[:len(usable)], strict=True):
            rows.append(track_row(item, obj, groups[ident].artist_id, keep_whole))  # type: ignore[arg-type]
            by_artist[groups[ident].artist_id] += 1  # type: ignore[index]
        regrouped = [{"track_id": t["track_id"], "artist_id": artist_id} for t, artist_id in moving]
        skip_rows = [{"source_path": path_text(i.path), "source_sha256": i.sha256, "reason": i.skip.reason,  # type: ignore[union-attr]
                      "detail": (i.skip.detail or "")[:1000]} for i in skipped]  # type: ignore[union-attr]
        reread_rows = [reread_row(item, obj, state.tracks[item.sha256]) for item, obj in  # type: ignore[index]
                       (reread[i] for i in sorted(reread))]
        sql.run(con, "library/stage.sql")
        warehouse.fill(con, "lib_artists", artists)
        warehouse.fill(con, "lib_tracks", rows)
        warehouse.fill(con, "lib_skips", skip_rows)
        warehouse.fill(con, "lib_moved", moved)
        warehouse.fill(con, "lib_regrouped", regrouped)
        warehouse.fill(con, "lib_reread", reread_rows)
        warehouse.fill(con, "lib_current", [{"track_id": t, "excerpt_reader": READ_WINDOW_VERSION} for t in current])
        warehouse.fill(con, "lib_length", lengths)
        warehouse.fill(con, "lib_unskipped", [{"source_path": p} for p in found_at])
        stored_at = {t["source_path"]: t["track_id"] for t in state.tracks.values()}
        replaced = sorted({stored_at[r["source_path"]] for r in rows
                           if stored_at.get(r["source_path"], r["track_id"]) != r["track_id"]})
        with warehouse.transaction(con):
            stale_keys = [r[0] for r in sql.query(con, "library/reread_keys.sql").fetchall()]  # before the swap
            sql.run(con, "library/record.sql")
            keys = delete_tracks(con, replaced) if replaced else []  # the earlier version of a changed file
        new_keys = [r["object_key"] for r in reread_rows]  # unused where a `library remove` beside took the track
        delete_unused(con, keys + orphans + stale_keys + new_keys, store)
        in_use = {r[0] for r in sql.query(con, "library/objects_in_use.sql", keys=new_keys).fetchall()}
        # 4. a `library remove` beside this run deletes the objects no recorded track used when it looked, which
        # may be this run's, stored before their tracks were recorded: store those again (still holding the
        # writer, so no remove can look in between)
        for i, (item, obj) in sorted([*by_index.items(), *((i, r) for i, r in reread.items() if r[1].key in in_use)]):
            if not store.exists(obj.key):
                again = hashed(found[i], settings.tmp_dir)
                again.reread, again.stale = item.reread, item.stale
                again = work((found[i], again))
                if again.skip is None and again.sha256 == item.sha256:
                    store.put_content_addressed(again.payload, prefix=OBJECT_PREFIX, ext=again.stored_format)
                else:
                    log.warning("library add: %s changed while it was added; add it again", path_text(found[i].path))
        stale = stale_excerpts(con)
        # a stored file whose content changed to one skipped (a copy of another file, cut short): its track's audio
        # is nowhere any more, so it is gone (reported once, as a file deleted), not kept as if it were there
        stored_sha = {t["source_path"]: t["source_sha256"] for t in {**state.tracks, **meanwhile}.values()}
        changed = {path_text(i.path) for i in skipped if path_text(i.path) in stored_sha
                   and (i.sha256 or "") != stored_sha[path_text(i.path)] and i.skip.reason != "unreadable"}  # type: ignore[union-attr]
        summary.gone_tracks = record_gone(con, folders, {path_text(f.path) for f in found}, changed)
        forget_skips(con, folders, {path_text(f.path) for f in found})
    # the notes of the files this run accounted for (recorded, already stored or skipped) are done with
    drop_notes(store, (notes | noted) & {note_key(item.sha256) for item in items if item.sha256})
    summary.gone = sum(t["new"] for t in summary.gone_tracks)
    summary.gone_total = len(summary.gone_tracks)
    # an excerpt read again into the very object it had (a zip's member of version 2, not chained: the reading told)
    # is no new audio
    renewed = [(item, obj) for i, (item, obj) in reread.items() if i not in restoring and obj.key in in_use
               and obj.key != state.tracks[item.sha256]["object_key"]]  # type: ignore[index]
    summary.reread = len(renewed)
    summary.recut = sum(item.recut is not None for item, _ in renewed)
    summary.restored = sum(obj.key in in_use for i, (_, obj) in reread.items() if i in restoring)
    summary.stale, summary.stale_paths = len(stale), [r["source_path"] for r in stale]
    summary.stored = len(rows)
    summary.length_corrected = len(lengths)
    summary.first_part_only = [{"path": path_text(item.path), "detail": item.info.first_part_only}  # type: ignore[union-attr]
                               for item, _ in (by_index[i] for i in sorted(by_index)) if item.info.first_part_only]  # type: ignore[union-attr]
    summary.replaced = len(replaced)
    summary.regrouped = sum(t["source_sha256"] not in named_again for t, _ in moving)
    summary.moved, summary.named_again = len(moved), len(named_again)
    summary.skipped = [{"path": path_text(i.path), "reason": i.skip.reason} for i in skipped]  # type: ignore[union-attr]
    summary.details = {path_text(i.path): i.skip.detail + (RECORDED if i.recorded else "")  # type: ignore[union-attr]
                       for i in skipped}
    labels = _labels({i: names[i] for i in by_artist})
    summary.tracks_by_artist = dict(sorted((labels[i], n) for i, n in by_artist.items()))
    summary.artists = len(by_artist)
    log.info("library add: %d files, %d stored, %d already stored (%d excerpts read again), %d skipped; %d excerpts "
             "cut by an older reader left; %d stored tracks whose file went since the last scan (%d gone in all)",
             summary.files, summary.stored, summary.already_stored, summary.reread, len(summary.skipped), summary.stale,
             summary.gone, summary.gone_total)
    return summary

