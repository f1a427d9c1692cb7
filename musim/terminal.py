"""What every musim entry point shows a person at a terminal: text with its control characters escaped
(:func:`escaped`), an error of musim's as one such line (:func:`error_line`), and :class:`Parser`, the argument
parser whose usage errors are one such line.

One of each for every entry point (``musim``, ``python -m musim.demo [--real]``, ``python -m musim.up``,
``python -m musim.ui.standalone``, ``python -m musim.config``, ``python -m musim.ingest.prescan_rules``): this module is of the foundation layer, so
the command line and the page's runner, which may not import each other, both use it. :mod:`musim.cli.output`
builds its table cells (:func:`musim.cli.output.printable`: escaped, then cut to a width) on :func:`escaped`.
Their streams are :class:`Messages` while they run: a stderr that cannot take a message (``2>/dev/full``, ``2>&-``)
makes the status 2, never Python's 120 at exit nor a line on stdout; :func:`run_entry_point` runs every entry point
but ``musim`` (whose :func:`musim.cli.main` does the same with its ``-v``) that way.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any, NoReturn

from musim import redact
from musim.errors import MusimError
from musim.quiet import reader_gone

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


class Messages:
    """``sys.stderr`` while an entry point runs: a message that cannot be written there (``2>/dev/full``, a reader
    gone) is dropped, not raised (there is nowhere to say more, and an error raised while reporting an error would
    end the command with a traceback it cannot print either), and remembered: :meth:`flushed` says it. The stream is
    pointed at the null device then, so that what is left in its buffer fails no flush at exit (Python's 120). No
    stream at all (``2>&-``: Python's ``sys.stderr`` is None) loses every message, where ``print`` would have written
    them to stdout, among the command's output."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._failed = False

    def write(self, text: str) -> int:
        try:
            if self._stream is None:
                raise OSError("no stderr")
            return self._stream.write(text)
        except OSError:
            self._lost()
            return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            if self._stream is not None:
                self._stream.flush()
        except OSError:
            self._lost()

    def isatty(self) -> bool:
        return self._stream is not None and self._stream.isatty()

    def flushed(self) -> bool:
        """Whether every message so far reached the stream (flushing it now)."""
        self.flush()
        return not self._failed

    def _lost(self) -> None:
        self._failed = True
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class OutputError(OSError):
    """Standard output could not be written (a full disk: ``musim dumps > /dev/full``), not a file of the command."""


class Output:
    """``sys.stdout`` while a command or entry point runs: everything goes to the stream it stands for, and a write or flush that
    fails there (not a reader gone, a ``BrokenPipeError``: that one stays what it is) is an :class:`OutputError`,
    told apart from the OSErrors of the files the command reads and writes."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputError(exc.errno, exc.strerror or str(exc)) from exc

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputError(exc.errno, exc.strerror or str(exc)) from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def interrupted_once(*, process_ends: bool = False) -> Iterator[None]:
    """The block's first Ctrl-C (SIGINT) raises ``KeyboardInterrupt`` as Python's own handler does; the presses after
    it are ignored, so that the interrupt is handled to its end: what was done recorded, its one line said, exit 130.
    Pressed twice, the second press landed in that handling (a line cut short, a bare ``musim: interrupted``) or as
    the interpreter exited, where Python has put its handler back to the system's default: the process was killed by
    the signal (-2) instead. The handler before is put back after the block; ``process_ends``: the process exits
    after it (the console script), so after an interrupt SIGINT stays ignored through the exit.

    Only where Python's own handler is SIGINT's, in the main thread (a process started with SIGINT ignored, as a
    background job, keeps ignoring it; another handler is left alone)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    taken: list[bool] = []

    def ignored(signum: int, frame: Any) -> None:  # a Python handler: a press already pending finds it, not SIG_IGN
        pass

    def first(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, ignored)
        taken.append(True)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield
    finally:
        # the system's own ignoring outlives the interpreter's exit, which resets a Python handler to the default
        signal.signal(signal.SIGINT, signal.SIG_IGN if taken and process_ends else previous)


def run_entry_point(prog: str, main: Callable[[], int | None]) -> int:
    """The exit status of ``main``, an entry point's work (``python -m musim.up``: ``raise
    SystemExit(run_entry_point("musim up", lambda: main(sys.argv[1:])))``), each way it can end said as ``musim``
    says it: an error of musim's, or a file it could not read or write, in one line (:func:`error_line`), exit 2;
    Ctrl-C ``PROG: interrupted``, 130; its output flushed here, where a full disk is one line and 2 and a reader
    gone (``| head``) quiet, 141; and its messages in :class:`Messages`: a stderr that cannot take them makes a
    success or an error's status 2."""
    stderr, stdout = sys.stderr, sys.stdout
    messages = sys.stderr = Messages(stderr)
    sys.stdout = Output(stdout) if stdout is not None else None
    try:
        code = output_flushed(prog, _status(prog, main))
    finally:
        sys.stderr, sys.stdout = stderr, stdout
    return 2 if not messages.flushed() and code in (0, 1, None) else code


def _status(prog: str, main: Callable[[], int | None]) -> int:
    """:func:`run_entry_point`'s work, its streams aside."""
    try:
        return int(main() or 0)
    except SystemExit as stop:  # the parser's --help or usage error; the status main() chose
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0
        print(escaped(stop.code), file=sys.stderr)  # a message, as Python prints it at exit: status 1
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except MusimError as exc:
        print(error_line(prog, exc), file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away: nothing to report, as for any filter
        return reader_gone()
    except OutputError as exc:  # standard output on a full disk (> /dev/full)
        return output_failed(prog, exc)
    except OSError as exc:
        if exc.filename is None:
            raise
        where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
        print(error_line(prog, f"{where}: {exc.strerror or exc}"), file=sys.stderr)
        return 2


def output_flushed(prog: str, code: int) -> int:
    """``code``, once standard output is out of Python's buffers: a full disk (``> /dev/full``) is one line and 2,
    a reader gone quiet; stdout is pointed at the null device then, so that no flush at exit fails again."""
    if sys.stdout is None:
        return code
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return reader_gone() if code == 0 else code
    except OSError as exc:
        return output_failed(prog, exc) if code == 0 else code
    return code


def output_failed(prog: str, exc: OSError) -> int:
    """After standard output could not be written: one line on stderr, and stdout pointed at the null device so
    that Python's flush at exit raises no second error; the exit status, 2."""
    print(f"{prog}: could not write the output: {exc.strerror or exc}", file=sys.stderr)
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 2
