"""``python -m musim.config --markdown``: the README's table of variables; without it, the current values."""

from __future__ import annotations

import argparse

from musim.config import get_settings, markdown_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m musim.config", description=__doc__)
    parser.add_argument("--markdown", action="store_true", help="print the table of every variable (Markdown)")
    args = parser.parse_args(argv)
    print(markdown_table() if args.markdown else get_settings().model_dump_json(indent=1), end="" if args.markdown else "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
