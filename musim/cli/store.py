"""``musim store gc``: the object store's objects that no warehouse row refers to any more (:mod:`musim.storage_gc`)."""

from __future__ import annotations

import argparse
import datetime as dt
import re

from musim.cli.output import print_json

_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def duration(text: str) -> dt.timedelta:
    """``--older-than``: a number and a unit, ``s``, ``m``, ``h``, ``d`` or ``w`` (``24h``, ``7d``, ``90m``)."""
    m = _DURATION.fullmatch(text.strip().lower())
    if m is None:
        raise argparse.ArgumentTypeError(f"{text!r} is no duration: give a number and a unit, s, m, h, d or w "
                                         "(24h, 7d, 90m)")
    try:
        return dt.timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})
    except OverflowError:
        raise argparse.ArgumentTypeError(f"{text!r} is too long a duration") from None


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("store", help="the object store: garbage collection")
    cmds = s.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = cmds.add_parser(
        "gc", help="find (and with --delete, delete) the objects no warehouse row refers to",
        description="List the store's objects under musim's prefixes (audio/previews/, features/mel/, "
                    "features/slices/, models/, quality/docs/, and the DAG runs' staging features/runs/ and "
                    "models/runs/), subtract every object a warehouse row refers to (superseded feature values "
                    "included: point-in-time reads need them) and report the rest older than the grace period "
                    "(a run's staging: once its newest object is older than the staging grace period). A dry run "
                    "unless --delete.")
    p.add_argument("--older-than", type=duration, default=None, metavar="DURATION",
                   help="the grace period: unreferenced objects younger than this are kept, as a build in flight "
                        "writes its objects before its rows (default 24h; e.g. 7d, 90m)")
    p.add_argument("--staging-older-than", type=duration, default=None, metavar="DURATION",
                   help="the staging grace period: a DAG run's staging folder (features/runs/<run>/, "
                        "models/runs/<run>/), which a retried or cleared task of the run reads back, goes once its "
                        "newest object is older than this (default 7d)")
    p.add_argument("--delete", action="store_true", help="delete the unreferenced objects (default: only report them)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print one JSON object (with every unreferenced key)")
    p.set_defaults(func=cmd_gc)


def cmd_gc(args: argparse.Namespace) -> int:
    from musim.storage import open_store
    from musim.storage_gc import DEFAULT_OLDER_THAN, DEFAULT_STAGING_OLDER_THAN, collect_garbage

    older_than = DEFAULT_OLDER_THAN if args.older_than is None else args.older_than
    staging = DEFAULT_STAGING_OLDER_THAN if args.staging_older_than is None else args.staging_older_than
    result = collect_garbage(open_store(), older_than=older_than, staging_older_than=staging, delete=args.delete,
                             progress=False if args.no_progress else None)
    if args.json:  # the keys written as they come (print_json streams an iterator): a million keys is no text held
        doc = result.to_json()
        print_json({**doc, "keys": iter(doc["keys"])})
    else:
        print(result.summary())
    return 0
