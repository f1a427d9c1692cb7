"""The ``musim`` command line: thin wrappers over the library.

Each area registers its subcommands from its own module (``musim/cli/<area>.py``, a ``register``
function); errors musim raises on purpose print one clear line and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from musim.errors import MusimError

#: Modules that add subcommands, in help order.
AREAS = ["musim.cli.lastfm", "musim.cli.synth", "musim.cli.acquire", "musim.cli.features", "musim.cli.quality",
         "musim.cli.models", "musim.cli.audio", "musim.cli.library"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="musim", description="Content-based music similarity: ingest, similarity, audio, models.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in AREAS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except MusimError as exc:
        print(f"musim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover - interactive
        print("musim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
