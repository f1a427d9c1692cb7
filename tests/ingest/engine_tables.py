"""Ingest one file with a given 360K engine into its own warehouse, and read back every table it writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from musim import warehouse
from musim.config import Settings, get_settings
from musim.errors import IngestError
from musim.ingest.engines import c_scanner_missing
from musim.ingest.lastfm import ingest_lastfm

#: For tests of the C engine: skipped where the extension is not built (then DuckDB reads 360K files).
needs_c_scanner = pytest.mark.skipif(c_scanner_missing() is not None,
                                     reason=f"the C scanner is not built here ({c_scanner_missing()})")

#: What each table holds, in an order independent of how it was stored.
TABLES = {
    "lastfm_dump": "SELECT dump_id, format, bytes, lines, loaded, rejected, plays_rows, users, artists "
                   "FROM lastfm_dump ORDER BY ALL",
    "lastfm_plays": "SELECT dump_id, user_id, artist_id, plays, lines FROM lastfm_plays ORDER BY ALL",
    "lastfm_user": "SELECT user_id, user_key FROM lastfm_user ORDER BY ALL",
    "artist": "SELECT artist_id, artist_key, mbid, name, name_norm, is_placeholder, first_dump_id FROM artist "
              "ORDER BY ALL",
    "artist_name_variant": "SELECT artist_id, raw_name, dump_id, lines FROM artist_name_variant ORDER BY ALL",
    "ingest_rejects": "SELECT dump_id, file_kind, line_no, reason, raw FROM ingest_rejects ORDER BY ALL",
}

def settings_for(home: Path) -> Settings:
    return get_settings(dict(os.environ, MUSIM_HOME=str(home)))


def ingest_with(engine: str, path: Path, home: Path) -> tuple[object, dict[str, list]]:
    """``(result or the IngestError's message, {table: rows})`` after ingesting ``path`` with ``engine``."""
    settings = settings_for(home)
    try:
        outcome: object = ingest_lastfm(path, fmt="360k", settings=settings, engine=engine)
    except IngestError as exc:
        outcome = str(exc)
    with warehouse.writer(settings) as con:
        return outcome, {name: con.execute(query).fetchall() for name, query in TABLES.items()}


def physical_lines(data: bytes) -> int:
    """Lines as both engines count them: a UTF-8 byte-order mark before line 1 is not a line of its own."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
