"""Native libraries' writes to stderr kept off it where they are noise, not errors.

Some C libraries print to file descriptor 2 directly, past Python's ``sys.stderr``: TensorFlow's start-up lines
(:mod:`musim.cli.quiet`), and libmpg123 under libsndfile, which prints "error: part2_3_length (960) too large for
available bit count (936)" whenever an MP3 is read from a seek point (the bit reservoir of the frame before it is
not there yet; the samples it returns are those of a whole decode, checked in ``tests/test_quiet.py``):
one line per file of every ``musim library add``, ``features build`` or ``embed`` of MP3s, and "Warning: Xing
stream size off by more than 1%, fuzzy seeking may be even more fuzzy than by design!" when it opens an MP3 whose
header declares more than the file holds (a cut download). A command's stderr is for its one-line errors, so such
calls run inside :func:`native_stderr_muted`; audio is opened with :func:`sound_file`.

A command whose reader went away (``musim dumps | head -1``, ``python -m musim.config | head -1``) ends quietly
too, as a filter does: :func:`reader_gone`, called on the ``BrokenPipeError``.

The mute is of the process's file descriptor 2 for the length of the block, so it is used around short native
calls only (a seek and a read), in one thread at a time (a lock), with Python's streams flushed first.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

_LOCK = threading.RLock()


@contextlib.contextmanager
def native_stderr_muted(when: bool = True) -> Iterator[None]:
    """File descriptor 2 points at the null device inside the block (writes of native code go nowhere);
    ``when=False``: nothing changes."""
    if not when:
        yield
        return
    for stream in (sys.stderr, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    with _LOCK:
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)


def libmpg123_muted(sound_file: object) -> contextlib.AbstractContextManager[None]:
    """:func:`native_stderr_muted` while ``sound_file`` (an open ``soundfile.SoundFile``) is MPEG audio, whose
    decoder, libmpg123, prints a line at every seek; nothing changes for other formats."""
    return native_stderr_muted(when=str(getattr(sound_file, "subtype", "")).startswith("MPEG_LAYER"))


@contextlib.contextmanager
def sound_file(source: Any) -> Iterator[Any]:
    """``soundfile.SoundFile(source)`` for reading, opened with file descriptor 2 muted (libmpg123 prints while it
    parses an MP3's header) and used inside :func:`libmpg123_muted`. The one way musim opens audio with
    libsndfile; its errors are raised as soundfile raises them."""
    import soundfile

    with native_stderr_muted():
        opened = soundfile.SoundFile(source)
    with opened as f, libmpg123_muted(f):
        yield f


#: Exit status of a command whose reader went away: 128 + SIGPIPE, what a shell reports for a filter killed by it.
READER_GONE = 141


def reader_gone() -> int:
    """After a ``BrokenPipeError`` on stdout (the reader went away: ``… | head``): nothing to report, as for any
    filter. Standard output is pointed at the null device, so that Python's flush at exit raises no second error
    (no "Exception ignored … BrokenPipeError" on stderr); returns :data:`READER_GONE`, the status to exit with."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return READER_GONE
