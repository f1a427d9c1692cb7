"""The ``musim`` command line: thin wrappers over the library.

Each area registers its subcommands from its own module (``musim/cli/<area>.py``, a ``register``
function); errors musim raises on purpose print one clear line and exit with status 2; any other error
prints one line naming its type and exits 1 (``-v`` shows the traceback); Ctrl-C, at any moment from the parser's
construction on, prints ``musim: interrupted`` and exits 130; an output that cannot be written (stdout on a full
disk) prints ``musim: could not write the output: ...`` and exits 2, and a reader gone (``| head``) ends it quietly
with 141; a stderr that cannot take its messages (``2>/dev/full``) makes its status 2 too. No argument takes an
empty value (:func:`musim.cli.options.refuse_empty_values`). Its parser is every entry point's, :class:`musim.terminal.Parser`:
a usage error is one line. TensorFlow's C++ start-up lines are kept off stderr unless ``-v``
(:mod:`musim.cli.quiet`), and so are its later log lines (``TF_CPP_MIN_LOG_LEVEL=3`` unless set). Messages are
printed with their control characters escaped (:func:`musim.cli.output.printable`; a report's line breaks kept:
:func:`musim.cli.output.safe_line`).

This module imports only what a Ctrl-C in the first moments can be caught around: the console script imports it
before :func:`main` runs, and :func:`main` imports the rest.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys

from musim import redact
from musim.cli.quiet import quiet_tensorflow_start
from musim.errors import MusimError
from musim.quiet import reader_gone
from musim.terminal import Messages as _Messages
from musim.terminal import Output as _Output
from musim.terminal import OutputError, Parser, error_line, interrupted_once, output_failed, output_flushed

#: Modules that add subcommands, in help order.
AREAS = ["musim.cli.lastfm", "musim.cli.synth", "musim.cli.acquire", "musim.cli.features", "musim.cli.quality",
         "musim.cli.models", "musim.cli.audio", "musim.cli.library",
         "musim.cli.store"]


def _add_global_options(parser: argparse.ArgumentParser, *, default: object) -> None:
    from musim.cli import output
    from musim.cli.options import non_negative

    parser.add_argument("-v", "--verbose", action="store_true", default=default,
                        help="log progress details to stderr; show the traceback of an unexpected error")
    parser.add_argument("--width", type=non_negative, default=default, metavar="COLUMNS",
                        help=f"cut table cells to COLUMNS terminal columns (default {output.DEFAULT_CELL_WIDTH}; 0 = never)")


def _subcommands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every parser below ``parser`` (each subcommand, at any depth)."""
    found = []
    for action in parser._actions:  # noqa: SLF001 - argparse keeps its subparsers there, and nowhere public
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for child in dict.fromkeys(action.choices.values()):
                found += [child, *_subcommands(child)]
    return found


def build_parser() -> argparse.ArgumentParser:
    from musim.cli.options import refuse_empty_values

    parser = Parser(
        prog="musim", description="Content-based music similarity: ingest, similarity, audio, models.")
    _add_global_options(parser, default=None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in AREAS:
        importlib.import_module(name).register(sub)
    for child in _subcommands(parser):  # `musim library add X -v`, as the error messages suggest, works too
        _add_global_options(child, default=argparse.SUPPRESS)
    for each in [parser, *_subcommands(parser)]:  # `--dump "$DUMP"` with DUMP unset: refused, not the default
        refuse_empty_values(each)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit status. Ctrl-C at any point (building the parser and importing the commands'
    modules take a second) ends it with ``musim: interrupted`` and 130, as a shell reports SIGINT. Its output is
    flushed here, where an output that cannot be written is caught (:func:`musim.terminal.output_flushed`), not at exit; so are
    its messages: a stderr that cannot take them (``2>/dev/full``) makes a success or an error's status 2
    (:class:`musim.terminal.Messages`), never Python's 120 at exit or an error about the error."""
    stderr = sys.stderr
    messages = sys.stderr = _Messages(stderr)
    try:
        code = _exit_status(argv)
    except SystemExit as stop:  # argparse's --help, a usage error
        if not messages.flushed() and stop.code in (0, 1, None):
            raise SystemExit(2) from None
        raise
    finally:
        sys.stderr = stderr
    return 2 if not messages.flushed() and code in (0, 1) else code


def _exit_status(argv: list[str] | None) -> int:
    """:func:`main`'s work, its messages' stream aside."""
    try:
        code = _main(argv, process_ends=argv is None)  # argv None: the console script's, `python -m musim.cli`'s
    except KeyboardInterrupt:
        print("musim: interrupted", file=sys.stderr)
        code = 130
    except SystemExit as stop:  # argparse's --help, a usage error: its exit, once the help is out (> /dev/full)
        if stop.code in (0, None) and (flushed := output_flushed("musim", 0)) != 0:
            raise SystemExit(flushed) from None
        raise
    except BrokenPipeError:  # the help to a reader gone (`musim --help | head -1`, stdout unbuffered): quiet
        code = reader_gone()
    except OSError as exc:  # what reaches here is the help written to stdout (terminal.Parser); the commands' own
        code = output_failed("musim", exc)  # OSErrors are said by _main
    return output_flushed("musim", code)


def _main(argv: list[str] | None, *, process_ends: bool = False) -> int:
    """The command ``argv`` asks for; ``process_ends``: the process exits after it (see
    :func:`musim.terminal.interrupted_once`, which a command whose Ctrl-C has work to do asks for)."""
    from musim.cli import output

    parser = build_parser()
    args = parser.parse_args(argv)
    args.verbose = bool(args.verbose)
    args.width = output.DEFAULT_CELL_WIDTH if args.width is None else args.width
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        # TensorFlow's C++ log lines after its start-up ("oneDNN supports DT_HALF only on platforms with AVX-512" at
        # the first float16 op of a successful `models train`): its level is read once, when TensorFlow loads
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        quiet_tensorflow_start()  # its C++ start-up lines, which come whatever the level says; -v shows them
    previous_width = output.set_cell_width(args.width)
    stdout, sys.stdout = sys.stdout, _Output(sys.stdout) if sys.stdout is not None else None
    try:
        with interrupted_once(process_ends=process_ends) if getattr(args, "interrupted_once", False) \
                else contextlib.nullcontext():
            code = int(args.func(args) or 0)
        sys.stdout.flush()  # here, where a full disk or a reader gone is caught, not at exit
        return code
    except OutputError as exc:  # stdout is a full disk (`musim dumps > /dev/full`): one line, no traceback
        sys.stdout = stdout
        if args.verbose:
            sys.stderr.write(redact.format_exception(exc))
        return output_failed("musim", exc)
    except MusimError as exc:
        if args.verbose:
            sys.stderr.write(redact.format_exception(exc))
        # redacted: a URL with a password given where a path, a name or an id was expected
        print(error_line("musim", exc), file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`musim ... | head`): nothing to report, as for any filter
        return reader_gone()
    except OSError as exc:
        if exc.filename is None:
            return _unexpected(exc, args.verbose)
        from musim.config import unwritable_folder

        explained = unwritable_folder(exc.filename, exc, only=("MUSIM_TMP",))  # what musim alone writes there
        if isinstance(exc, IsADirectoryError) and exc.filename2 is not None:  # a file renamed onto a folder
            explained = _folder_in_the_way(exc.filename2)
        if explained is not None:  # a scratch file under MUSIM_TMP on a read-only disk: the setting, not the file
            if args.verbose:
                sys.stderr.write(redact.format_exception(exc))
            print(error_line("musim", explained), file=sys.stderr)
            return 2
        if args.verbose:  # a path the command could not create, read or write: the path and why, one line
            sys.stderr.write(redact.format_exception(exc))
        where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
        why = "exists and is not a folder" if isinstance(exc, FileExistsError) else exc.strerror or str(exc)
        print(f"musim: error: {output.printable(redact.redact(f'{where}: {why}'), 0)}", file=sys.stderr)
        return 2
    except Exception as exc:
        return _unexpected(exc, args.verbose)
    finally:
        sys.stdout = stdout
        output.set_cell_width(previous_width)


def _folder_in_the_way(path: str) -> MusimError:
    """The error for a folder where musim moves a file it wrote into place (``os.replace``): the published snapshot
    link ``current.duckdb`` (:func:`musim.warehouse.folder_at`), or any other file."""
    from pathlib import Path

    from musim.config import get_settings
    from musim.errors import StorageError
    from musim.warehouse import folder_at

    try:
        settings = get_settings()
    except MusimError:  # settings that cannot be read: the path alone
        settings = None
    if settings is not None and (settings.folder_setting(Path(path)) or ("",))[0] == "MUSIM_SERVING_DIR":
        return folder_at(Path(path), settings)
    return StorageError(f"{path} is a folder where musim writes a file: move it away and rerun")


def _unexpected(exc: Exception, verbose: bool) -> int:
    """An error musim did not expect: one line naming its type (the traceback with ``-v``); exit 1."""
    from musim.cli import output

    if verbose:
        sys.stderr.write(redact.format_exception(exc))
    if "Query interrupted" in str(exc) or type(exc).__name__ == "InterruptException":  # Ctrl-C inside DuckDB
        print("musim: interrupted", file=sys.stderr)
        return 130
    from musim.warehouse import explain, lock_holder

    holder = lock_holder(exc)
    if holder is not None:  # a DuckDB file that musim.warehouse did not open (it names the file it opened)
        print(f"musim: error: a DuckDB file is held by another process ({holder}, reading or writing); try again "
              "when it finishes (run with -v to see which)", file=sys.stderr)
        return 2
    explained = explain(exc)
    if explained is not None:  # a DuckDB file cut short, found where it was read; a full disk; DuckDB out of memory
        print(f"musim: error: {output.safe_line(explained)}", file=sys.stderr)
        return 2
    first = next((line.strip() for line in redact.redact(exc).splitlines() if line.strip()), "")
    print(f"musim: error: {type(exc).__name__}: {output.printable(first, 0)} (run with -v for the traceback)",
          file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
