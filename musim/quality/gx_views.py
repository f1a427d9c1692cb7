"""Data Docs views that compile Great Expectations' page templates once per user, not once per page build.

GX's Jinja views make an ``Environment`` of their own for every site build and compile the ~34 templates of a
validation page and the index again each time (0.1-0.15 s of the ~0.2 s of CPU a similarity gate's Data Docs
took). These views are GX's own with Jinja's bytecode cache set: the compiled templates are kept in Jinja's
per-user folder in the system's temp dir (created 0700 and refused if another user owns it; each file is keyed by
the template's name and source checksum and checked against the Python version), so the next build, in this
process or another, loads them instead. Where no such folder can be made, the views compile as GX's do.

Imported by GX's site builder when :func:`musim.quality.gx.new_context` names these classes (never before GX).
"""

from __future__ import annotations

import contextlib
import functools

import jinja2
import jinja2.bccache
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView


class _FileCache(jinja2.FileSystemBytecodeCache):
    """Jinja's file cache, whose writes may fail (a full or read-only disk): the template is then compiled again
    next time, and the Data Docs are built all the same."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


@functools.cache
def bytecode_cache() -> jinja2.BytecodeCache | None:
    """Jinja's file cache in its per-user temp folder, or None where that folder is missing or unsafe."""
    try:
        return _FileCache()
    except (RuntimeError, OSError):  # Jinja refuses a folder another user owns, or cannot make one
        return None


class CachedPageView(DefaultJinjaPageView):
    """GX's validation page view, its templates compiled once (:func:`bytecode_cache`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = bytecode_cache()


class CachedIndexPageView(DefaultJinjaIndexPageView):
    """GX's index page view, its templates compiled once (:func:`bytecode_cache`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = bytecode_cache()
