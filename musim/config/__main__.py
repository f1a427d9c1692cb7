"""``python -m musim.config --markdown``: the README's table of variables; without it, the current values."""

from __future__ import annotations

import sys

from musim.config import get_settings, markdown_table
from musim.errors import ConfigError
from musim.redact import redact
from musim.terminal import Parser, error_line, run_entry_point


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m musim.config", description=__doc__)
    parser.add_argument("--markdown", action="store_true", help="print the table of every variable (Markdown)")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown_table(), end="")
        return 0
    try:
        settings = get_settings()
    except ConfigError as exc:  # a bad value: one line naming the variable, as every musim command says it
        print(error_line(parser.prog, exc), file=sys.stderr)
        return 2
    print(redact(settings.model_dump_json(indent=1)))  # URLs may carry a key or password
    return 0  # flushed by run_entry_point, where a reader gone (`| head -1`) or a full disk is caught


if __name__ == "__main__":
    raise SystemExit(run_entry_point("python -m musim.config", main))
