"""``musim library add|list|show|remove|skipped``: bring your own music."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from musim.cli.options import count
from musim.cli.output import counted, print_json, print_table, printable
from musim.progress import progress_bar


def register(sub: argparse._SubParsersAction) -> None:
    lib = sub.add_parser("library", help="your own music: add files and folders, list, show, remove",
                         description="A local music library as a source: every file is stored (its 30-s "
                                     "analysis excerpt), already stored, or skipped with a reason.")
    cmds = lib.add_subparsers(dest="library_command", required=True, metavar="ACTION")

    p = cmds.add_parser("add", help="scan files and folders and store every usable file not stored yet")
    p.add_argument("paths", nargs="+", metavar="PATH", help="audio files, folders (searched recursively) or zip archives of albums "
                                                         "(read as the folder they extract into)")
    p.add_argument("--artist-from", choices=("auto", "tag", "folder"), default="auto",
                   help="where artists come from: tags then folders (auto, default), only tags, only folders")
    p.add_argument("--keep-whole", action="store_true", help="store whole files instead of the analysis excerpt")
    p.add_argument("--retry", action="store_true", help="examine files skipped before again, even if unchanged")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--workers", type=count(1, 1024), help="processes that decode new files (default: every CPU)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_add)

    p = cmds.add_parser("list", help="library tracks, with the rule that named each artist")
    p.add_argument("--artist", help="only this artist (any spelling, up to case and punctuation, its MBID or its id: "
                   "the table shows the id where artists share a name; id:N is the id alone, where a number is "
                   "also a name)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = cmds.add_parser("show", help="everything recorded of one track")
    p.add_argument("track", metavar="TRACK", help="track id (or 6+ leading characters) or source path")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = cmds.add_parser("remove", help="remove tracks (and their stored excerpts) from the library")
    p.add_argument("tracks", nargs="*", metavar="TRACK", help="track ids, prefixes or source paths")
    p.add_argument("--artist", help="every track of this artist (name, MBID, id, or id:N for the id alone; a name "
                   "of several artists is refused, listing them with their ids)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_remove)

    p = cmds.add_parser("skipped", help="files the scans skipped, with the reason")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_skipped)


def cmd_add(args: argparse.Namespace) -> int:
    from musim.library import add
    from musim.library.registry import gone_hint, stale_hint

    bar: Any = None

    def on_plan(n: int) -> None:
        nonlocal bar
        bar = progress_bar(n, unit="file", desc="library add", enabled=False if args.no_progress else None)

    def on_file(path: Path, outcome: str) -> None:
        bar.update(1)
        bar.set_postfix_str(f"{printable(path.name, 24)}: {outcome}", refresh=False)

    try:
        summary = add(args.paths, artist_from=args.artist_from, keep_whole=args.keep_whole, retry=args.retry,
                      on_plan=on_plan, on_file=on_file, workers=args.workers)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print_json(summary.to_json())
        return 0
    replacing = f" ({summary.replaced:,} replacing an earlier version at the same path)" if summary.replaced else ""
    recut = (f", {summary.recut:,} of them re-cut in the whole length of a chained file (an older reader read its "
             "first stream only)" if summary.recut else "")
    reread = f" (re-read {counted(summary.reread, 'excerpt')} cut by an older reader{recut})" if summary.reread else ""
    restored = (f" (stored again {counted(summary.restored, 'excerpt')} missing from the object store)"
                if summary.restored else "")
    lengthened = (f" (corrected the recorded length of {counted(summary.length_corrected, 'chained file')} stored "
                  "whole, measured in its first stream by an older reader)" if summary.length_corrected else "")
    first_part = (f" ({len(summary.first_part_only):,} of them from their first part only: see the warnings)"
                  if summary.first_part_only else "")
    print(f"{counted(summary.files, 'file')}: {summary.stored:,} stored{replacing}{first_part}, "
          f"{summary.already_stored:,} already stored{reread}{restored}{lengthened}, {len(summary.skipped):,} skipped; {counted(summary.artists, 'artist')}")
    for part in summary.first_part_only:  # stored, but from the first of its parts only
        print(f"warning: {printable(part['path'], 0)}: {part['detail']}", file=sys.stderr)
    if summary.stale:
        print(f"note: {counted(summary.stale, 'stored excerpt')} cut by an older reader, not read again here (their "
              f"files were not among the paths given, or could not be read): {stale_hint(summary.stale_paths)}",
              file=sys.stderr)
    if summary.gone_total:  # every one; those an earlier scan reported are told apart, not named again
        ids = [t["track_id"] for t in summary.gone_tracks]
        have = "has" if summary.gone_total == 1 else "have"
        since = ("" if summary.gone == summary.gone_total else f" ({summary.gone:,} since the last scan)"
                 if summary.gone else " (reported by an earlier scan; none went since)")
        print(f"note: {counted(summary.gone_total, 'stored track')} from under the folders given {have} no file any "
              f"more{since} (deleted, moved away, on a disk not mounted"
              + (f", or {counted(changed, 'file')} changed to content skipped below" if (changed := sum(
                  t.get("changed", False) for t in summary.gone_tracks)) else "") + f"): {gone_hint(ids)}; "
              + ("listed below" if args.verbose else "-v lists them, `musim library list` marks them gone"),
              file=sys.stderr)
        if args.verbose:
            print_table([(t["track_id"], t["source_path"], "now" if t["new"] else "before")
                         for t in summary.gone_tracks], ["track", "path", "went"],
                        title="gone (no file at the path stored; went: found gone by this scan or before)",
                        path_columns=["path"])
    if summary.moved:
        print(f"{counted(summary.moved, 'stored file')} found at a new path"
              + (f" ({summary.named_again:,} named by their new folder or file name)" if summary.named_again else ""))
    if summary.regrouped:
        print(f"{counted(summary.regrouped, 'untagged file')} stored before moved to their name's artist without an "
              "MBID: the name has several MusicBrainz ids now (tag the files to place them)")
    if summary.skipped:
        print_table([(s["reason"], s["path"], summary.details.get(s["path"], "")) for s in summary.skipped],
                    ["reason", "path", "detail"], title="skipped", path_columns=["path"])
    if summary.tracks_by_artist:
        print_table(sorted(summary.tracks_by_artist.items()), ["artist", "tracks"], title="tracks by artist")
    given = [o for o, on in (("--keep-whole", args.keep_whole), (f"--artist-from {args.artist_from}",
                                                               args.artist_from != "auto")) if on]
    if given and summary.already_stored:  # a stored file is not examined again
        print(f"note: {' and '.join(given)} applied to the files stored now, not to the "
              f"{counted(summary.already_stored, 'file')} stored before (they keep their artist and excerpt): "
              "`musim library remove` them and add them again to apply it", file=sys.stderr)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from musim.library import list_tracks
    from musim.library.registry import check_hint, gone_hint, stale_hint

    rows = list_tracks(args.artist)
    stale = [r["source_path"] for r in rows if r["excerpt_stale"]]
    if stale:
        print(f"note: {counted(len(stale), 'stored excerpt')} of these cut by an older reader: {stale_hint(stale)}",
              file=sys.stderr)
    to_check = [r["source_path"] for r in rows if r["excerpt_to_check"]]
    if to_check:
        print(f"note: {counted(len(to_check), 'stored excerpt')} of these may be re-cut in the whole length of a chained "
              f"file (cut before chained files were read whole; their files not checked since): {check_hint(to_check)}",
              file=sys.stderr)
    gone = [r["track_id"] for r in rows if r["source_gone"]]
    if gone:
        have = "has" if len(gone) == 1 else "have"
        print(f"note: {counted(len(gone), 'track')} of these {have} no file at the path stored (marked gone): "
              f"{gone_hint(gone)}", file=sys.stderr)
    if args.json:
        print_json(rows)
    elif not rows:
        print("no library tracks" + (f" of {args.artist!r}" if args.artist else "") + "; add some with "
              "`musim library add PATH`", file=sys.stderr)
    else:
        shown = artist_labels(rows)
        print_table([(shown[r["artist_id"]], r["title"], r["artist_rule"], r["artist_spelling"], r["lastfm_match"],
                      r["source_format"], r["duration_s"], r["track_id"], "gone" if r["source_gone"] else "")
                     for r in rows],
                    ["artist", "title", "rule", "spelling", "last.fm", "format", "seconds", "track", "file"])
    return 0


def artist_labels(rows: list[dict[str, Any]]) -> dict[int, str]:
    """Each listed artist's name, with its id (what ``library remove --artist ID`` takes) and its MBID's first 8
    characters (``--json`` has it whole) where several listed artists share the name (two bands called
    "Nirvana", or a name's untagged files beside its tagged ones)."""
    ids_of: dict[str, set[int]] = {}
    for r in rows:
        ids_of.setdefault(r["artist"], set()).add(r["artist_id"])
    labels = {}
    for r in rows:
        mbid = f"MBID {r['mbid'][:8]}…" if r["mbid"] else "no MBID"
        labels[r["artist_id"]] = (r["artist"] if len(ids_of[r["artist"]]) == 1
                                  else f"{r['artist']} (id {r['artist_id']}, {mbid})")
    return labels


#: The fields of ``library show`` that hold paths or object keys, whose end (the file name) tells them apart.
_PATH_FIELDS = ("source_path", "object_key")


def cmd_show(args: argparse.Namespace) -> int:
    from musim.library import show_track

    row = show_track(args.track)
    if args.json:
        print_json(row)
    else:
        # a path cut at its start, as a path column is (its file name kept): the table cuts every other cell at its end
        print_table([(k, printable(v, keep_end=True) if k in _PATH_FIELDS and isinstance(v, str) else v)
                     for k, v in row.items()], ["field", "value"])
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from musim.library import remove_tracks

    ids = remove_tracks(args.tracks, artist=args.artist)
    unserved = _unserve(ids)
    published = unserved.written
    if args.json:
        print_json({"removed": ids, "published": published, "served": unserved.served,
                    "still_served_by": unserved.still_served_by})
    else:
        print(f"removed {counted(len(ids), 'library track')}" + (f"; published {Path(published).name} without them"
                                                                   if published else ""))
    if unserved.note:
        print(unserved.note, file=sys.stderr)
    if ids and not args.json:
        print(f"note: a removed file still under a folder you add again comes back with the next `musim library add` "
              f"of that folder: move or delete {'it' if len(ids) == 1 else 'them'} first", file=sys.stderr)
    return 0


@dataclass(frozen=True)
class _Unserved:
    """What ``library remove`` did to the published snapshots: the snapshot ``written`` without the removed tracks
    (``None``: none was needed, or it failed), whether it is ``served`` (``None``: none written), the snapshot a
    rollback pin keeps serving with them (``still_served_by``: ``{"snapshot", "pin"}``, ``None``: none does), and a
    ``note`` for stderr (why it failed, or what a rollback pin keeps served)."""

    written: str | None = None
    served: bool | None = None
    still_served_by: dict | None = None
    note: str | None = None


def _unserve(ids: list[str]) -> _Unserved:
    """Publish the served snapshot again without the removed tracks ``ids`` where it still serves them (a snapshot
    is a file of its own: removing from the warehouse does not change it), derived from that snapshot alone, so that
    nothing else it serves changes (:func:`musim.serving.publish_without_tracks`; under a rollback pin, the newest
    snapshot, what a release serves, and the pinned snapshot stays as it is: a rollback serves what it served)."""
    import duckdb

    from musim import serving, snapshots
    from musim.errors import MusimError

    try:
        path, pinned_serves = serving.publish_without_tracks(ids)
    except (MusimError, OSError, duckdb.Error) as exc:
        return _Unserved(note=f"note: the published snapshot may still serve the removed tracks: publishing it again "
                              f"without them failed ({exc}); `musim publish` (of what the warehouse holds now) once "
                              "that is fixed")
    written = str(path) if path is not None else None
    served = snapshots.served(path) if path is not None else None
    it = "it" if len(ids) == 1 else "them"
    if pinned_serves:
        pin, current = snapshots.read_pin(), snapshots.current_target()
        name = current.name if current is not None else pin.snapshot if pin is not None else "the pinned snapshot"
        since = (f"pinned by a rollback since {pin.pinned_at:%Y-%m-%d %H:%M:%S} UTC" if pin and not pin.problem
                 else pin.describe() if pin else "pinned by a rollback")
        newest = f"{path.name}, without {it}" if path is not None else f"which does not serve {it}"
        return _Unserved(written, served, {"snapshot": name, "pin": pin.to_json() if pin else None},
                         f"note: removed from the library, but {name}, {since}, still serves {it} until the pin is "
                         f"released: `musim publish --release` serves the newest snapshot, {newest}")
    if path is not None and not served:
        pin = snapshots.read_pin()
        held = (f"holds {pin.snapshot} (pinned since {pin.pinned_at:%Y-%m-%d %H:%M:%S} UTC; it does not serve {it} "
                "either)" if pin and not pin.problem else "holds the current snapshot")
        return _Unserved(written, served, None,
                         f"note: {path.name}, written without {it}, is not served while the rollback pin {held}: "
                         "`musim publish --release` serves the new one")
    return _Unserved(written, served)


def cmd_skipped(args: argparse.Namespace) -> int:
    from musim.library import skipped_files

    rows = skipped_files()
    if args.json:
        print_json(rows)
    elif not rows:
        print("no skipped files: every file the scans found is stored", file=sys.stderr)
    else:
        print_table([(r["reason"], r["source_path"], r["detail"] or "") for r in rows],
                    ["reason", "path", "detail"], path_columns=["path"])
    return 0
