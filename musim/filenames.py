"""File names as text: what musim stores and prints for a path whose name is not valid UTF-8.

Linux file names are bytes; Python decodes one in a legacy encoding (a Latin-1 ``café.mp3`` from an old rip)
with lone surrogates, which DuckDB, JSON parsers and terminals refuse. :func:`path_text` is the one readable,
storable spelling of any path; :func:`is_text` says whether a path needs it; :func:`refuse_empty` stops a path
given as an empty string (``Path("")`` is the working folder: an unset variable would be read as it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from musim.errors import ParameterError


def path_text(path: str | os.PathLike) -> str:
    """``path`` as text that can be stored and printed: itself when it is valid UTF-8, else with each byte
    that is not as ``\\xNN`` (``caf\\xe9.mp3``)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def is_text(path: str | os.PathLike) -> bool:
    """Whether ``path`` is valid UTF-8, so that it and the names taken from it can be stored as they are."""
    return path_text(path) == os.fspath(path)


def refuse_empty(paths: Iterable[str | os.PathLike], give: str) -> None:
    """:class:`ParameterError` when one of ``paths`` is empty or blank, saying to ``give`` what is wanted."""
    if any(not str(p).strip() for p in paths):
        raise ParameterError(f"an empty path was given (an unset variable?): give {give}")
