"""``musim acquire`` (download previews for the catalogue) and ``musim previews`` (list what is stored)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

from musim.cli.options import count, non_negative, positive
from musim.cli.output import counted, print_json, print_table, printable
from musim.config import KNOWN_PROVIDERS
from musim.progress import progress_bar


def _providers(text: str) -> list[str]:
    names = [p.strip().lower() for p in text.split(",") if p.strip()]
    unknown = sorted(set(names) - set(KNOWN_PROVIDERS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown provider(s) {unknown}; choose from {', '.join(KNOWN_PROVIDERS)}")
    return names


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "acquire", help="download audio previews of the top artists (resumable; only what is left)",
        description="Match the top artists by listeners (published snapshot) with the providers and store up "
                    "to --per-artist previews each in the object store. A rerun does only what is left. A provider "
                    "down (MUSIM_OUTAGE_AFTER calls in a row, default 5, failing on server errors, rate limits or "
                    "the network) is asked nothing more in the run; the artists it left count no attempt.")
    p.add_argument("--provider", dest="providers", type=_providers, action="extend", metavar="NAME[,NAME]",
                   help=f"provider(s) to ask, in order: {', '.join(KNOWN_PROVIDERS)} (repeatable; default "
                        "MUSIM_ACQUIRE_PROVIDERS; 'local' when only --path is given)")
    p.add_argument("--path", help="local music folder for the local provider (default MUSIM_LOCAL_MUSIC_DIR)")
    p.add_argument("--top", type=positive, default=1000, help="catalogue size: top N artists by listeners (1000)")
    p.add_argument("--per-artist", type=count(1, 1000), default=3, help="previews per artist, most popular first (3)")
    p.add_argument("--concurrency", type=count(1, 256), default=4, help="artists fetched at once (4)")
    p.add_argument("--batch-size", type=positive, default=25, help="artists recorded per batch (25)")
    p.add_argument("--max-attempts", type=count(1, 1000), default=3, help="retry failures while attempts are below this (3)")
    p.add_argument("--match-only", action="store_true", help="match artists with the providers, download nothing")
    p.add_argument("--retry", action="store_true",
                   help="also re-plan the artists given up (matched nothing, no preview, only rejects) or failed past "
                        "--max-attempts, and try their failed and rejected previews again")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    # Ctrl-C records what was done and says it: a second press is ignored meanwhile (musim.terminal.interrupted_once)
    p.set_defaults(func=cmd_acquire, interrupted_once=True)

    p = sub.add_parser("previews", help="list the audio previews stored for the catalogue")
    p.add_argument("--artist", help="only this artist (case-insensitive; else names containing it)")
    p.add_argument("--all", action="store_true", help="also rejected and failed previews, and artists that got "
                   "none (failed, no match, no preview), with the reason")
    p.add_argument("--limit", type=non_negative, default=0, help="at most this many rows (0 = all)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_previews)


def cmd_acquire(args: argparse.Namespace) -> int:
    from musim.acquire.errors import AcquireInterrupted
    from musim.acquire.pipeline import acquire

    providers = args.providers or (["local"] if args.path else None)
    bar: Any = None

    def on_plan(n: int) -> None:
        nonlocal bar
        bar = progress_bar(n, unit="artist", desc="acquire")

    def on_artist(outcome) -> None:
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"{printable(outcome.name, 24)}: {outcome.resolve_status}", refresh=False)

    try:
        summary = acquire(args.top, per_artist=args.per_artist, providers=providers, local_dir=args.path,
                          concurrency=args.concurrency, batch_size=args.batch_size,
                          max_attempts=args.max_attempts, download=not args.match_only, retry=args.retry,
                          on_plan=on_plan, on_artist=on_artist)
    except AcquireInterrupted as stopped:  # Ctrl-C: how far it got and how to go on, one line; 130 as for SIGINT
        if bar is not None:
            bar.close()
            bar = None
        print(f"musim: {stopped}", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    if summary.left:  # a provider down left artists for the next run (not counted against them): one line, exit 2
        from musim.acquire.errors import ProvidersUnavailable

        raise ProvidersUnavailable(summary.unavailable)
    if summary.every_artist_failed:  # a failure as any other (README, Output): nothing on stdout, one line
        from musim.acquire.errors import AcquireFailed

        which = "the one artist" if summary.planned == 1 else f"all {summary.planned:,} artists"
        raise AcquireFailed(f"{which} planned failed ({'; '.join(summary.errors) or 'no reason recorded'}): nothing "
                            "was acquired; `musim previews --all` lists why; a later run tries them again while their "
                            f"attempts are below --max-attempts ({args.max_attempts})")
    if args.json:
        print_json(summary.to_json())
        return 0
    s, cat = summary, summary.catalogue
    if not s.planned and not any(cat["artists"].values()):
        print("nothing to do: the catalogue is empty, as the published snapshot has no artist with listeners yet; "
              "ingest a dump and run `musim similarity build` first (or add your own music: `musim library add`)")
    elif not s.planned:
        print(f"nothing to do: every catalogue artist is done or given up (top {args.top})")
    else:
        print(f"tried {counted(s.planned, 'artist')} in {s.seconds:.1f} s: {counted(s.downloaded, 'preview')} "
              f"downloaded ({s.previews_per_s:.1f} previews/s, {s.bytes / 1e6:.1f} MB)")
        print(f"  artists:  matched {s.matched}, no match {s.no_match}, no preview {s.no_preview}, "
              f"failed {s.artists_failed}")
        print(f"  previews: downloaded {s.downloaded}, already stored {s.reused}, rejected {s.rejected}, "
              f"failed {s.failed}")
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in cat["artists"].items() if v)
    print(f"catalogue: {counts or 'empty'}; {cat['tracks']} tracks of {cat['artists_with_tracks']} artists stored")
    if s.rejected or s.failed or cat["artists"].get("failed"):
        print("see why with: musim previews --all")
    if s.passed_over:  # audio files of the folder offered for no artist: never left out without a word
        kinds = Counter(f["reason"].split(":")[0] for f in s.passed_over)
        first = s.passed_over[0]
        print(printable(f"passed over {counted(len(s.passed_over), 'audio file')} of the music folder ("
                        + ", ".join(f"{n:,} {kind}" for kind, n in kinds.most_common())
                        + f"), e.g. {first['path']}: {first['reason']}; --json lists every one", 0))
    return 0


def cmd_previews(args: argparse.Namespace) -> int:
    from musim.acquire.pipeline import list_previews

    rows = list_previews(args.artist, all_statuses=args.all, limit=args.limit + 1 if args.limit else 0)
    cut = bool(args.limit) and len(rows) > args.limit  # one row past the limit tells that more exist
    rows = rows[:args.limit] if cut else rows
    if args.json:
        print_json(rows)
        return 0
    if not rows and args.artist:
        print(f"no previews of '{printable(args.artist)}'" + ("" if args.all else " (--all also lists failed and "
              "rejected ones, and artists without any)") + "; `musim previews` lists every artist's", file=sys.stderr)
        return 0
    headers = ["artist", "title", "provider", "status", "seconds", "format", "track", "object"]
    table = [(r["artist"], r["title"], r["provider"], r["status"],
              None if r["duration_s"] is None else round(r["duration_s"], 1), r["format"], r["track_id"] or "",
              r["object_key"] or r["last_error"] or "") for r in rows]
    print_table(table, headers)
    artists_only = sum(r["title"] is None for r in rows)  # --all: artists that got no preview, with the reason
    without = f"; {counted(artists_only, 'artist')} without one" if artists_only else ""
    more = "; more exist: --limit 0 for all" if cut else ""
    print(f"({counted(len(rows) - artists_only, 'preview')}{without}{more})", file=sys.stderr)
    return 0
