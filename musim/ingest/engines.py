"""Which engine reads a 360K plays file: the C scanner, or DuckDB alone.

``MUSIM_INGEST_ENGINE``: ``c`` (the C scanner, :mod:`musim.ingest.plays_360k`; needs the extension that
``make install`` builds), ``duckdb`` (DuckDB reads the file itself, :mod:`musim.ingest.staging` with
``sql/ingest/stage_360k.sql``) or unset/``auto``: ``c`` when the extension imports, else ``duckdb`` (said
once in the log). Both follow the same pre-scan rules (:mod:`musim.ingest.prescan_rules`) and SQL checks,
and load identical tables; the C engine is the faster one (see benchmarks/RESULTS.md). 1K events and profiles files
are always read by DuckDB.
"""

from __future__ import annotations

from musim.config import get_settings
from musim.native import NativeEngine

__all__ = ["ENV", "SCANNER", "c_scanner_missing", "choose_engine"]

ENV = "MUSIM_INGEST_ENGINE"
SCANNER = NativeEngine(module="musim.ingest._scan360k", what="the C scanner", variable=ENV, step="an ingest engine",
                       fallback="360K plays files are read by DuckDB", logger=__name__)


def c_scanner_missing() -> str | None:
    """Why the C scanner cannot be used here (``None`` when it can)."""
    return SCANNER.missing()


def choose_engine(requested: str | None = None) -> str:
    """``c`` or ``duckdb``: ``requested``, else ``$MUSIM_INGEST_ENGINE``, else the C scanner when it is built."""
    return SCANNER.choose(requested, lambda: get_settings().ingest.engine)
