"""The local music library: bring your own music (``musim library``).

:func:`add` scans files and folders and accounts for every file (stored, already stored, or skipped with a
reason from :data:`SKIP_REASONS`), resolves artists from tags and folders, stores each file's analysis
excerpt (16-bit FLAC, read by seeking) content-addressed, and records library tracks as catalogue tracks, so the
feature build and the families that need no listening data follow unchanged. The tag reader
(:mod:`musim.library.tags`) and the format list (:mod:`musim.library.formats`) are the ones the local
acquisition provider uses too.
"""

from __future__ import annotations

from typing import Any

from musim.library.formats import FORMATS, SKIP_REASONS, FileSkipped, probe

__all__ = ["FORMATS", "SKIP_REASONS", "FileSkipped", "add", "list_tracks", "probe", "remove_tracks",
           "show_track", "skipped_files"]


def __getattr__(name: str) -> Any:  # the warehouse-facing parts load on first use
    if name == "add":
        from musim.library.add_files import add

        return add
    if name in ("list_tracks", "remove_tracks", "show_track", "skipped_files"):
        from musim.library import registry

        return getattr(registry, name)
    raise AttributeError(name)
