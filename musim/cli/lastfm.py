"""``musim ingest lastfm``, ``rejects``, ``dumps``, ``similarity build``, ``publish``, ``similar``, ``sql``."""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from typing import TYPE_CHECKING

from musim import sandbox, serving, snapshots, sql, warehouse
from musim.cli.options import artist_name, non_negative, number, positive, version
from musim.cli.output import counted, print_json, print_table, printable
from musim.errors import ParameterError, QualityError
from musim.jsonable import exact_floats, unique_names
from musim.params import defaults
from musim.similarity import METRICS
from musim.similarity.fingerprint import short
from musim.similarity.params import SimilarityParams

if TYPE_CHECKING:
    from musim.similarity.query import Namesake, SimilarArtists


#: Rejected lines ``musim rejects`` shows on screen by default (``--json`` lists them all).
REJECTS_SHOWN = 50

#: ``--rollback`` without a value (not a string: argparse would pass a string const through the option's type, which
#: refuses ``--rollback ""``).
PREVIOUS = object()


def register(sub: argparse._SubParsersAction) -> None:
    ingest = sub.add_parser("ingest", help="load data into the warehouse")
    isub = ingest.add_subparsers(dest="source", required=True, metavar="SOURCE")
    p = isub.add_parser("lastfm", help="ingest a Last.FM dump (360K plays or 1K events; plain, .gz, or its .tar.gz)")
    p.add_argument("path", help="usersha1-artmbid-artname-plays.tsv[.gz], the 1K events file, the folder holding "
                   "one, or the dump's archive as distributed (lastfm-dataset-360K.tar.gz); a folder's or an "
                   "archive's profiles file is read too")
    p.add_argument("--profiles", help="the matching usersha1-profile.tsv (optional)")
    p.add_argument("--replace-profiles", action="store_true",
                   help="with --profiles: a dump ingested before with another profiles file gets these in their "
                   "place (and their rejected lines), in one transaction")
    p.add_argument("--format", default="auto", choices=["auto", "360k", "1k"],
                   help="the dump's format (default auto: from the file name, else its lines' field count)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("rejects", help="list rejected dump lines with their reasons")
    p.add_argument("--dump", help="dump id (a unique prefix is enough; default: the latest)")
    p.add_argument("--limit", type=non_negative, default=None, metavar="N",
                   help=f"lines to show (default {REJECTS_SHOWN}, with --json all; 0 = all); a cut list says so on stderr")
    p.add_argument("--json", action="store_true", help="print the lines as a JSON list")
    p.set_defaults(func=cmd_rejects)

    p = sub.add_parser("dumps", help="list ingested dumps")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_dumps)

    sim = sub.add_parser("similarity", help="co-listening similarity")
    ssub = sim.add_subparsers(dest="action", required=True, metavar="ACTION")
    d = defaults(SimilarityParams)
    p = ssub.add_parser("build", help="compute the similarity tables of a dump and publish them")
    p.add_argument("--dump", help="dump id or unique prefix (default: the latest)")
    p.add_argument("--min-listeners", type=positive, default=d["min_listeners"],
                   help=f"artists need this many listeners (default {d['min_listeners']})")
    p.add_argument("--min-co-listeners", type=positive, default=d["min_co_listeners"],
                   help=f"pairs need this many (default {d['min_co_listeners']})")
    p.add_argument("--k", type=positive, default=d["k"], help=f"neighbours kept per artist and metric (default {d['k']})")
    p.add_argument("--catalogue-size", type=positive, default=d["catalogue_size"],
                   help=f"top artists whose full pair table is kept (default {d['catalogue_size']})")
    p.add_argument("--no-publish", action="store_true", help="do not publish a new serving snapshot")
    p.add_argument("--skip-quality", action="store_true",
                   help="publish without running the similarity quality suite first (not recommended)")
    p.add_argument("--force", action="store_true", help="build even if the dump already has a (checked) build of "
                   "these parameters (without it, that is a no-op), or its latest ingest quality check failed")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_similarity_build)

    p = ssub.add_parser("drop", help="remove a dump's similarity build from the warehouse (the next published "
                        "snapshot leaves that dump out)")
    p.add_argument("--dump", required=True, help="dump id or unique prefix")
    p.set_defaults(func=cmd_similarity_drop)

    p = sub.add_parser("publish", help="publish the warehouse's serving tables as a new read-only snapshot; list the "
                       "published snapshots, or serve an earlier one again",
                       description="Publish the warehouse's serving tables as a new read-only snapshot (queries read "
                                   "the current one). The newest snapshot of each of the 3 newest distinct served "
                                   "states is kept: --list shows them, --rollback serves one again and pins it "
                                   "(later publishes write their snapshots without serving them) until --release.")
    p.add_argument("--force", action="store_true", help="publish even if the latest quality check failed")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--list", action="store_true", help="list the published snapshots and what each serves")
    which.add_argument("--rollback", nargs="?", const=PREVIOUS, metavar="SNAPSHOT",
                       help="serve SNAPSHOT (a name --list shows) again, publishing nothing, and pin it: later "
                       "publishes write their snapshots but leave it served until --release; without SNAPSHOT, the "
                       "newest one before the current that serves something else")
    which.add_argument("--release", action="store_true", help="end a rollback's pin and serve the newest snapshot "
                       "(publishes are served again)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("similar", help="artists most similar to NAME (from the published snapshot)",
                       description="Artists most listened alike to NAME (co-listening, by --metric), or with --audio "
                                   "the artists that sound most alike by a published model's embeddings: these "
                                   "include artists without listening data (a music library's, cold start).")
    p.add_argument("name", nargs="?", type=artist_name, help="artist name (case, spacing, punctuation and Latin accents do not "
                   "matter; several artists of one name: the most listened, the others by --id or --mbid)")
    p.add_argument("--id", type=non_negative, metavar="N", help="the artist of this id instead of a NAME (the id "
                   "`--json` and a shared name's note show)")
    p.add_argument("--mbid", metavar="MBID", help="the artist of this MusicBrainz id instead of a NAME")
    p.add_argument("--k", type=positive, default=10, help="neighbours to show (default 10; at most the build's k)")
    p.add_argument("--metric", default="seed", choices=METRICS, help="the co-listening metric ranked by (default seed)")
    p.add_argument("--dump", help="dump id or unique prefix (default: the latest built)")
    p.add_argument("--audio", action="store_true", help="by sound: the published audio neighbours")
    p.add_argument("--model", metavar="VERSION", type=version, help="with --audio: this published version's neighbours "
                   "(default: the champion's, else the version published last)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("sql", help="run one read-only SQL query on the published snapshot (sandboxed)",
                       description="Run ONE statement (SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN, read-only PRAGMA) "
                                   "on the published snapshot, opened read-only with DuckDB's external access "
                                   "off and its configuration locked: no ATTACH, COPY, EXPORT, INSTALL/LOAD, "
                                   "SET/RESET, writes, or file-reading functions (read_csv, read_text, glob...).")
    p.add_argument("query", help="e.g. \"SELECT rank, neighbor, score FROM similar_artists JOIN latest_dump USING "
                   "(dump_id) WHERE artist = 'Radiohead' AND metric = 'seed' ORDER BY rank\" (one artist of the latest "
                   "dump, by one metric)")
    p.add_argument("--limit", type=non_negative, default=sandbox.DEFAULT_MAX_ROWS, metavar="ROWS",
                   help=f"return at most ROWS rows (default {sandbox.DEFAULT_MAX_ROWS}; 0 = no limit)")
    p.add_argument("--timeout", type=number(0.0, sandbox.MAX_TIMEOUT_S), default=sandbox.DEFAULT_TIMEOUT_S,
                   metavar="SECONDS", help=f"stop the query after SECONDS (default {sandbox.DEFAULT_TIMEOUT_S:g}; "
                   f"0 = no limit; at most {sandbox.MAX_TIMEOUT_S:g})")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sql)


def cmd_ingest(args: argparse.Namespace) -> int:
    from musim.ingest.lastfm import ingest_lastfm

    if args.replace_profiles and args.profiles is None:
        raise ParameterError("--replace-profiles needs --profiles PROFILES: the profiles file to load in place of the "
                         "dump's")
    result = ingest_lastfm(args.path, profiles=args.profiles, fmt=args.format, replace_profiles=args.replace_profiles)
    if args.json:
        keys = ["dump_id", "format", "lines", "loaded", "rejected", "users", "artists", "already_ingested"]
        full = result.to_json()
        print_json({k: full[k] for k in keys} | {k: v for k, v in full.items() if k not in keys})
        return 0
    said = []
    if result.profiles_added:
        said.append(f"{args.path}: already ingested as dump {result.dump_id[:12]}, without profiles: its profiles "
                    f"file {args.profiles} is loaded now.")
    elif result.profiles_replaced:
        said.append(f"{args.path}: already ingested as dump {result.dump_id[:12]}: its profiles file "
                    f"{result.profiles_replaced} is replaced by {args.profiles}.")
    elif result.already_ingested:
        said.append(f"{args.path}: already ingested as dump {result.dump_id[:12]}; nothing changed.")
    said.append(f"dump {result.dump_id[:12]} ({result.format}): {result.lines:,} lines = {result.loaded:,} loaded + "
                f"{result.rejected:,} rejected; {result.users:,} users, {result.artists:,} artists, "
                f"{result.plays_rows:,} user-artist rows")
    if result.profile_lines:
        said.append(f"profiles: {result.profile_lines:,} lines = {result.profile_loaded:,} loaded + "
                    f"{result.profile_rejected:,} rejected")
    if result.profiles_warning:
        said.append(f"warning: {result.profiles_warning}")
    if result.rejected or result.profile_rejected:
        said.append(f"see the rejected lines with: musim rejects --dump {result.dump_id[:12]}")
    for line in said:  # file names are whoever named the dump's: a control character (ESC) must not drive the terminal
        print(printable(line, 0))
    return 0


def cmd_rejects(args: argparse.Namespace) -> int:
    from musim.similarity.build import resolve_dump

    limit = args.limit if args.limit is not None else 0 if args.json else REJECTS_SHOWN
    with sandbox.reader() as con:
        dump = resolve_dump(con, args.dump)
        rows = sql.query(con, "cli/rejects.sql", dump_id=dump, limit=limit or None).fetchall()
        summary = sql.query(con, "cli/reject_summary.sql", dump_id=dump).fetchall()
    if args.json:
        print_json([{"dump_id": dump, "file_kind": f, "line_no": n, "reason": r, "raw": raw, "raw_escaped": escaped}
                    for f, n, r, raw, escaped in rows])
    elif not summary:
        print(f"dump {dump[:12]} has no rejected line: every line of its files was loaded")
    else:
        print_table(summary, ["file", "reason", "lines"], title=f"rejected lines of dump {dump[:12]}")
        print()
        print_table([(f, n, r, raw) for f, n, r, raw, _ in rows], ["file", "line", "reason", "raw"])
    total = sum(n for _, _, n in summary)
    if len(rows) < total:  # a list cut by --limit says so, as `musim sql` does
        print(f"({len(rows):,} of {total:,} rejected lines; --limit 0 for all)", file=sys.stderr)
    return 0


def cmd_dumps(args: argparse.Namespace) -> int:
    with sandbox.reader() as con:
        rows = sql.query(con, "cli/dumps.sql").fetchall()
    keys = ["dump_id", "seq", "file_name", "format", "lines", "loaded", "rejected", "users", "artists",
            "ingested_at", "similarity_built_at", "similarity_code"]
    if args.json:
        print_json([dict(zip(keys, r, strict=True)) for r in rows])
    elif not rows:  # a line saying so and what to do, not the header of an empty table
        print("no dump has been ingested yet: run `musim ingest lastfm PATH` first")
    else:  # the similarity build's code: its fingerprint's first digits (musim.similarity.fingerprint)
        print_table([(r[0][:12], *r[1:9], _build_code(r[10], r[11])) for r in rows], [*keys[:9], "similarity_code"])
    return 0


def _build_code(built_at: object, code: str | None) -> str:
    """What `musim dumps` shows of a dump's similarity build: the fingerprint of the code that made it."""
    return "" if built_at is None else short(code)


def cmd_similarity_build(args: argparse.Namespace) -> int:
    from musim.similarity.build import build_similarity

    params = SimilarityParams(min_listeners=args.min_listeners, min_co_listeners=args.min_co_listeners,
                              k=args.k, catalogue_size=args.catalogue_size)
    gating = not args.no_publish and not args.skip_quality
    if gating:
        from musim.quality import preload

        preload()  # Great Expectations' import overlaps the build
    checked = None
    with warehouse.writer() as con:
        result = build_similarity(con, args.dump, params, gated=gating, force=args.force)
        if gating and not result.built_before:  # a build standing already passed its check
            from musim.quality import gate

            checked = gate(["similarity"], dump_id=result.dump_id, con=con)  # QualityError: nothing is published
            result = dataclasses.replace(result, check_run=checked.run_id)
        # a build standing already is published only where the current snapshot does not serve it (a publish cut short)
        publishing = not args.no_publish and not (result.built_before and serving.serves_build(con, result.dump_id))
        if publishing:
            from musim.models.serve import publish_snapshot

            # not forced: --skip-quality leaves this build unchecked (so servable), while another dump's build that
            # failed its check still keeps the publish back, as `musim publish` is (it was served with this one)
            try:
                published = publish_snapshot(con)  # and the online pointers it now serves
            except QualityError as exc:  # the build is stored (--force past its ingest check; --skip-quality): say so
                if result.built_before:
                    raise
                raise QualityError(f"built the similarity build of dump {result.dump_id[:12]} "
                                   f"({result.neighbors:,} neighbour rows), not published: {exc}",
                                   run_id=exc.run_id, failed=exc.failed) from exc
        else:
            published = None
    served = published is not None and snapshots.served(published)  # else a rollback's pin holds: a warning said so
    if args.json:
        print_json(result.to_json() | {"published": str(published) if published else None, "served": served})
    elif result.built_before:
        print(result.describe_existing() + (f"; published {published}" if served else ""))
    else:
        if result.rebuilt_because:  # a build of these parameters stood, made by other code
            print(result.rebuilt_because)
        print(f"dump {result.dump_id[:12]}: {result.artists:,} artists with >= {params.min_listeners} listeners, "
              f"{result.pairs:,} pairs with >= {params.min_co_listeners} co-listeners, "
              f"{result.neighbors:,} neighbour rows, {result.catalogue_pairs:,} catalogue pairs "
              f"in {result.seconds:.1f} s")
        if checked is not None:  # as `musim features build` says it
            print(f"quality gate passed ({', '.join(f'{r.dataset} {r.status}' for r in checked.results)}; run "
                  f"{checked.run_id})" + (f": {checked.docs_url}" if checked.docs_url else ""))
        if served:
            print(f"published {published}")
    return 0


def cmd_similarity_drop(args: argparse.Namespace) -> int:
    from musim.similarity.build import drop_build

    with warehouse.writer() as con:
        dump_id = drop_build(con, args.dump)
    if _snapshot_serves_dump(dump_id):
        print(f"dropped the similarity build of dump {dump_id[:12]}; the next `musim publish` leaves it out (the "
              "current snapshot serves it until then)")
    else:  # built but never published (--no-publish), or published before and left out since
        print(f"dropped the similarity build of dump {dump_id[:12]}; the current snapshot does not serve it")
    return 0


def _snapshot_serves_dump(dump_id: str) -> bool:
    """Whether the current published snapshot serves a similarity build of ``dump_id`` (False: nothing published)."""
    from musim.errors import NotFoundError, StorageError

    try:
        snap = serving.open_snapshot()
    except (NotFoundError, StorageError):
        return False
    try:
        return sql.query(snap, "similarity/built_at.sql", dump_id=dump_id).fetchone() is not None
    finally:
        snap.close()


def cmd_publish(args: argparse.Namespace) -> int:
    other = "--list" if args.list else "--release" if args.release else "--rollback" if args.rollback is not None else None
    if args.force and other:  # it was ignored without a word: a user who gave it expected it to do something
        raise ParameterError(f"--force publishes despite a failed quality check; {other} publishes nothing and "
                             f"checks no quality: leave --force out (or {other} out, to publish)")
    if args.list:
        return _list_snapshots(args)
    if args.rollback is not None or args.release:
        from musim.models.serve import align_online_pointers

        if args.release:
            now, pin = snapshots.release()
        else:
            now, pin = snapshots.rollback(None if args.rollback is PREVIOUS else args.rollback), snapshots.read_pin()
        align_online_pointers()  # the online lookup follows the snapshot served now
        if args.json:
            print_json(now.to_json() | {"pinned": not args.release, "pin": pin.to_json() if pin else None})
        elif args.release:
            ended = f"released the rollback pin of {pin.snapshot}" if pin and not pin.problem else (
                f"removed the damaged rollback pin {pin.path}" if pin else "no rollback pin was held")
            print(f"{ended}; serving the newest snapshot {now.name} (published {now.published_at:%Y-%m-%d %H:%M:%S} "
                  f"UTC): {now.serves()}; publishes are served again")
        else:
            print(f"rolled back: {now.name} (published {now.published_at:%Y-%m-%d %H:%M:%S} UTC) is current again, "
                  f"serving {now.serves()}; pinned: publishes write new snapshots without serving them until "
                  "`musim publish --release`")
        return 0
    from musim.models.serve import publish_snapshot

    with warehouse.writer() as con:
        path = publish_snapshot(con, force=args.force)  # and the online pointers move to what it serves
    served = snapshots.served(path)
    if args.json:
        pin = snapshots.read_pin()
        print_json({"published": str(path), "served": served, "pin": pin.to_json() if pin and not served else None})
    elif served:  # else a rollback's pin holds: the warning said so, in one line
        print(f"published {path}")
    return 0


def _list_snapshots(args: argparse.Namespace) -> int:
    """``musim publish --list``: the snapshots, which is current, and the rollback pin that holds it."""
    found, strays, pin = snapshots.list_snapshots(), snapshots.strays(), snapshots.read_pin()
    older = snapshots.older_layout()  # a plain current.duckdb, served: listed first, with what to do
    found = [older, *found] if older is not None else found

    def pinned(s: snapshots.Snapshot) -> bool:
        return pin is not None and (s.name == pin.snapshot or (pin.problem is not None and s.current))

    if args.json:
        print_json([s.to_json() | {"pinned": pinned(s), "pin": pin.to_json() if pinned(s) else None} for s in found]
                   + [{"snapshot": p.name, "path": str(p), "published_at": None, "current": False, "state": None,
                       "older_layout": False, "problem": why, "held_by": None, "builds": [], "models": [],
                       "pinned": False, "pin": None}
                      for p, why in strays])
        return 0
    if pin is not None:  # one line, before the table: the pin holds current, or is damaged
        print(printable(f"{pin.describe()}: publishes write new snapshots without serving them; `musim publish "
                        "--release` serves the newest", 0), file=sys.stderr if pin.problem else sys.stdout)
    if not found and not strays:
        print("no snapshot has been published yet: `musim similarity build` publishes one")
    else:
        if older is not None:
            print(printable(f"{older.path} is a plain file, the older layout (before the snapshots folder): it is "
                            "served as it is; `musim publish` moves it to the current layout", 0))
        print_table([(("*" if s.current else "") + (" pinned" if pinned(s) else "")
                      + (" older layout" if s is older else ""), s.name,
                      s.state[:12] if s.state else "", s.serves())
                     for s in found] + [("", p.name, "", why) for p, why in strays],
                    ["current", "snapshot", "state", "serves"])
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    from musim.similarity.query import similar_artists

    asked = [flag for flag, value in (("NAME", args.name), ("--id", args.id), ("--mbid", args.mbid)) if value is not None]
    if len(asked) != 1:
        together = f", not {' and '.join(asked)} together" if asked else ""
        raise ParameterError(f"give the artist as NAME, --id N or --mbid MBID (one of them){together}")
    if args.audio:
        return _similar_by_audio(args)
    if args.model:
        raise ParameterError("--model chooses the audio neighbours of a version: give it with --audio")
    con = sandbox.open_sandbox(serving.current_path())
    try:
        answer = similar_artists(con, args.name, artist_id=args.id, mbid=args.mbid, k=args.k, metric=args.metric,
                                 dump_id=args.dump)
    finally:
        con.close()
    for note in _notes(answer, by_name=args.name is not None):
        print(printable(note, 0), file=sys.stderr)
    if args.json:
        print_json(answer.to_json())
    elif answer.neighbors:
        print_table([(n.rank, _label(n.artist, n.artist_id, n.shared_name), n.score, n.co_listeners, n.listeners)
                     for n in answer.neighbors],
                    ["rank", "artist", args.metric, "co-listeners", "listeners"],
                    title=f"artists most similar to "
                          f"{printable(_who(answer.artist, answer.artist_id, answer.mbid, answer.namesakes))} "
                          f"({answer.metric}, dump "
                          f"{answer.dump_id[:12]}, build k={answer.build_k})")
    return 0


def _label(name: str | None, artist_id: int, shared: bool) -> str:
    """A neighbour's name in a table: with its id where another artist has the name."""
    return f"{name} (id {artist_id})" if shared else str(name if name is not None else artist_id)


def _who(artist: str, artist_id: int, mbid: str | None, namesakes: list[Namesake]) -> str:
    """The artist's name, with its id and MBID where other artists share the name."""
    if not namesakes:
        return artist
    return f"{artist} (id {artist_id}{f', MBID {mbid}' if mbid else ''})"


def _namesake_note(artist: str, artist_id: int, namesakes: list[Namesake], dump_id: str | None = None) -> str:
    """The note of an answer by a name several artists share: which one answered, why, and the others."""
    chosen = next((n for n in namesakes if n.artist_id == artist_id), None)
    if chosen is None or chosen.listeners:
        why = "the most listened"
    elif chosen.tracks:
        why = "the one with the most tracks"
    elif artist_id == min(n.artist_id for n in namesakes):
        why = "the lowest id: none has listeners in the dump or tracks"
    else:  # sql/serving/find_artist.sql: the most listened in the other dumps the snapshot has a build of
        asked = f"dump {dump_id[:12]}" if dump_id else "the dump"
        why = f"the most listened in the other dumps the snapshot serves (none has listeners in {asked} or tracks)"
    others = [n for n in namesakes if n.artist_id != artist_id]
    # found by its name key, the artists' names differ ("Motley Crue", "Mötley Crüe"): each is named, with its --id
    by_key = any(n.name is not None and n.name != artist for n in namesakes)
    said = ", ".join(f"{f'{n.name!r}: ' if by_key and n.name else ''}id {n.artist_id} "
                     f"({f'MBID {n.mbid}, ' if n.mbid else ''}{n.heard})"
                     f"{f', picked by --id {n.artist_id}' if by_key else ''}" for n in others)
    which = (f"{len(namesakes)} artists match this name by its key (case, accents and punctuation aside); this "
             f"answer is for id {artist_id} ({artist!r})" if by_key
             else f"{len(namesakes)} artists are named {artist!r}; this answer is for id {artist_id}")
    return (f"{which}, {why}; the other{'s' if len(others) > 1 else ''}: {said}. Ask for another with --id N or "
            "--mbid MBID")


def _notes(answer: SimilarArtists, *, by_name: bool) -> list[str]:
    """What stderr says beside the neighbours: why there are none, a shared name, a --k above the build's."""
    from musim.similarity.query import similar_command

    notes = []
    if answer.reason:
        hint = "" if answer.reason.endswith("never compared with other artists") else (
            f"; by sound: {similar_command(answer.artist, answer.artist_id, bool(answer.namesakes), '--audio')}")
        notes.append(answer.reason + hint)
    if answer.namesakes and by_name:
        notes.append(_namesake_note(answer.artist, answer.artist_id, answer.namesakes, answer.dump_id))
    if answer.cut:  # the artist has more neighbours than the build keeps: the same build with a larger k shows them
        most = min(answer.k, answer.compared - 1)  # an artist's neighbours are the other compared artists
        rebuild = shlex.join(["musim", "similarity", "build", "--dump", answer.dump_id[:12], *answer.build_options,
                              "--k", str(most)])
        notes.append(f"the build of dump {answer.dump_id[:12]} keeps {answer.build_k} neighbours per artist and "
                     f"metric: {answer.build_k} shown, not {answer.k} (for more: {rebuild})")
    return notes


def _similar_by_audio(args: argparse.Namespace) -> int:
    from musim import queries
    from musim.similarity.query import Namesake

    if args.dump or args.metric != "seed":
        raise ParameterError("--metric and --dump choose co-listening neighbours; --audio ranks by sound")
    result = queries.ask(queries.audio_neighbors, args.name, artist_id=args.id, mbid=args.mbid, k=args.k,
                         model=args.model)
    namesakes = [Namesake(**n) for n in result["namesakes"]]
    if result["reason"]:  # a placeholder, no tracks, or none with features when the version was published
        print(printable(result["reason"], 0), file=sys.stderr)
    if namesakes and args.name is not None:
        print(printable(_namesake_note(result["artist"], result["artist_id"], namesakes), 0), file=sys.stderr)
    if args.json:
        print_json(result)
        return 0
    print_table([(r["rank"], _label(r["artist"], r["artist_id"], r["shared_name"]), r["score"],
                  "" if r["listeners"] is None else r["listeners"]) for r in result["rows"]],
                ["rank", "artist", "score", "listeners"],
                title=f"artists that sound most like "
                      f"{printable(_who(result['artist'], result['artist_id'], result['mbid'], namesakes))} "
                      f"({result['model']})")
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    result = sandbox.query_file(serving.current_path(), args.query, max_rows=args.limit, timeout_s=args.timeout)
    if args.json:
        names = unique_names(result.columns)
        # the rows streamed: the JSON text of a million rows is never held whole (print_json)
        print_json({"columns": names, "rows": (dict(zip(names, exact_floats(list(r)), strict=True))
                                               for r in result.rows),
                    "truncated": result.truncated, "limit": args.limit or None})
    else:
        print_table(result.rows, result.columns)
    more = "; more exist: raise --limit (0 = no limit) or add LIMIT/WHERE" if result.truncated else ""
    print(f"({counted(len(result.rows), 'row')}{more})", file=sys.stderr)
    return 0
