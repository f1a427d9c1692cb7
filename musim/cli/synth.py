"""``musim synth lastfm``: synthetic Last.FM dumps with known community structure."""

from __future__ import annotations

import argparse
import dataclasses

from musim.cli.options import count, positive, seed, share
from musim.cli.output import print_json, printable


def register(sub: argparse._SubParsersAction) -> None:
    synth = sub.add_parser("synth", help="generate synthetic data with known structure")
    ssub = synth.add_subparsers(dest="kind", required=True, metavar="KIND")
    p = ssub.add_parser("lastfm", help="a Last.FM 360K-format dump (plays + profiles + truth)")
    p.add_argument("out", help="output folder")
    p.add_argument("--users", type=positive, default=2000, help="users of the dump (default 2000)")
    p.add_argument("--artists", type=positive, default=400, help="artists of the dump (default 400)")
    p.add_argument("--communities", type=positive, default=None, help="taste communities (default: by size, <= 12)")
    p.add_argument("--quirks", type=share, default=0.0, help="share of lines given a real-dump quirk (default 0: none; e.g. 0.01)")
    p.add_argument("--max-artists-per-user", type=count(1, 100_000), default=50, help="artists listed per user (default 50: the real dump lists each user's top 50)")
    p.add_argument("--home-share", type=share, default=0.85,
                   help="share of a user's artists drawn from their own taste community (default 0.85)")
    p.add_argument("--seed", type=seed, default=0, help="seeds the generator (default 0)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_synth_lastfm)


def cmd_synth_lastfm(args: argparse.Namespace) -> int:
    from musim.synth.lastfm import write_lastfm_dump

    summary = write_lastfm_dump(args.out, users=args.users, artists=args.artists, communities=args.communities,
                                quirks=args.quirks, seed=args.seed,
                                max_artists_per_user=args.max_artists_per_user, home_share=args.home_share)
    if args.json:
        print_json(dataclasses.asdict(summary))
    else:
        print(printable(f"wrote {summary.lines:,} lines for {summary.users:,} users and {summary.artists:,} artists "
                        f"in {summary.communities} communities to {summary.plays_path}", 0))  # OUT may hold an ESC
        if summary.quirk_counts:
            print("quirks: " + ", ".join(f"{k}={v}" for k, v in sorted(summary.quirk_counts.items())))
    return 0
