"""What every musim entry point shows a person at a terminal: text with its control characters escaped
(:func:`escaped`), an error of musim's as one such line (:func:`error_line`), and :class:`Parser`, the argument
parser whose usage errors are one such line.

One of each for every entry point (``musim``, ``python -m musim.demo [--real]``, ``python -m musim.up``,
``python -m musim.ui.standalone``, ``python -m musim.config``, ``python -m musim.ingest.prescan_rules``): this module is of the foundation layer, so
the command line and the page's runner, which may not import each other, both use it. :mod:`musim.cli.output`
builds its table cells (:func:`musim.cli.output.printable`: escaped, then cut to a width) on :func:`escaped`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Sequence
from typing import IO, Any, NoReturn

from musim import redact

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: C0, DEL, C1, and the format characters that reorder or hide text (bidi embeddings, overrides, isolates, marks,
#: zero-width joiners, the BOM, the soft hyphen, interlinear annotations, tags); lone surrogates (the bytes of a
#: file name that is not UTF-8).
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
                    "\ud800-\udfff\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]")


def _escape(m: re.Match[str]) -> str:
    c = m.group(0)
    if c in _SHORT:
        return _SHORT[c]
    code = ord(c)
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a file name that is not UTF-8 (Python's surrogateescape)
        code -= 0xDC00
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escaped(text: Any) -> str:
    """``text`` safe for a terminal, whole: its :data:`UNSAFE` characters shown escaped (``\\x1b``, ``\\r``,
    ``\\u202e``), so a hostile name cannot move the cursor, recolour or rewrite the terminal."""
    return UNSAFE.sub(_escape, str(text))


def error_line(prog: str, exc: BaseException | str) -> str:
    """How every entry point reports an error of musim's: ``PROG: error: MESSAGE``, redacted (a URL's password, a
    registered secret), its control characters escaped; the line breaks of a report of several lines (an error whose
    ``multiline`` is true: a failed Airflow command with its log's tail) kept, each line escaped."""
    message = redact.redact(exc)
    if getattr(exc, "multiline", False):
        return f"{prog}: error: " + "\n".join(escaped(line) for line in message.split("\n"))
    return f"{prog}: error: {escaped(message)}"


#: Where :class:`Parser` notes the ``prog`` of the deepest (sub)command parsed, for an error found after it returned.
_PROG = "_musim_prog"


class Parser(argparse.ArgumentParser):
    """argparse's parser, its usage errors one line (exit 2), as every other error of musim: what is wrong and
    ``see `PROG --help```, without argparse's usage block (``--help`` shows it). Redacted: they quote the argument
    they refused (`musim ingest https://user:pass@host/plays.tsv`, `lastfm` left out: `invalid choice: '…'`), and
    with its control characters escaped. Subcommands' parsers are of this class too (``add_subparsers`` makes them
    of their parent's)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{error_line(self.prog, message)}; see `{self.prog} --help`\n")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        """As argparse's, its message flushed first: a usage error to a stderr that cannot take it (``2>/dev/full``)
        exits 2, not 120 (Python's status when its flush at exit fails)."""
        if message:
            self._print_message(message, sys.stderr)
        try:
            if sys.stderr is not None:
                sys.stderr.flush()
        except OSError:  # nowhere to say it: the stream pointed at the null device, so no flush at exit fails
            with contextlib.suppress(OSError, ValueError, AttributeError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stderr.fileno())
        sys.exit(status)

    def _print_message(self, message: str, file: IO[str] | None = None) -> None:
        """As argparse's, but a help that cannot be written (``musim --help > /dev/full``, stdout unbuffered) is
        raised, not dropped with exit 0: the CLI says it in one line (``musim.cli``)."""
        target = file or sys.stderr
        if not message or target is None:
            return
        try:
            target.write(message)
        except OSError:
            if target is sys.stdout:
                raise
            # a usage error to a stderr that cannot take it: nowhere to say more (argparse's own behaviour)

    def parse_known_args(self, args: Sequence[str] | None = None,
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if not hasattr(parsed, _PROG):  # the innermost subcommand's parser returns first; its parents copy it up
            setattr(parsed, _PROG, self.prog)
        return parsed, extras

    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: argparse.Namespace | None = None) -> argparse.Namespace:
        """As argparse's, an unrecognised argument reported by the subcommand it was given to (`musim publish:
        error: unrecognized arguments: --bogus; see `musim publish --help``), not by ``musim``."""
        parsed, extras = self.parse_known_args(args, namespace)
        prog = vars(parsed).pop(_PROG, self.prog)
        if extras:
            Parser(prog=prog, add_help=False).error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed
