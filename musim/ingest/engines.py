"""Which engine reads a 360K plays file: the C scanner, or DuckDB alone.

``MUSIM_INGEST_ENGINE``: ``c`` (the C scanner, :mod:`musim.ingest.plays_360k`; needs the extension that
``make install`` builds), ``duckdb`` (DuckDB reads the file itself, :mod:`musim.ingest.staging` with
``sql/ingest/stage_360k.sql``) or unset/``auto``: ``c`` when the extension imports, else ``duckdb`` (said
once in the log). Both follow the same pre-scan rules (:mod:`musim.ingest.prescan_rules`) and SQL checks,
and load identical tables; the C engine is the faster one (see the README). 1K events and profiles files
are always read by DuckDB.
"""

from __future__ import annotations

import functools
import importlib
import logging

from musim.config import get_settings
from musim.errors import ConfigError

log = logging.getLogger(__name__)

ENGINES = ("c", "duckdb")
ENV = "MUSIM_INGEST_ENGINE"


@functools.cache
def c_scanner_missing() -> str | None:
    """Why the C scanner cannot be used here (``None`` when it can)."""
    try:
        importlib.import_module("musim.ingest._scan360k")
    except ImportError as exc:
        return str(exc)
    return None


@functools.cache
def _say_fallback(why: str) -> None:
    log.info("the C scanner is not built (%s): 360K plays files are read by DuckDB (slower; `make install` "
             "builds the scanner, %s=duckdb silences this)", why, ENV)


def choose_engine(requested: str | None = None) -> str:
    """``c`` or ``duckdb``: ``requested``, else ``$MUSIM_INGEST_ENGINE``, else the C scanner when it is built."""
    wanted = (requested or "").strip().lower() or get_settings().ingest.engine
    if wanted not in (*ENGINES, "auto"):
        raise ConfigError(f"engine {wanted!r} is not an ingest engine: use c, duckdb or auto")
    missing = c_scanner_missing()
    if wanted == "c" and missing:
        raise ConfigError(f"{ENV}=c but the C scanner is not built ({missing}); run `make install` (needs a C "
                          f"compiler) or use {ENV}=duckdb")
    if wanted == "auto":
        if missing:
            _say_fallback(missing)
            return "duckdb"
        return "c"
    return wanted
