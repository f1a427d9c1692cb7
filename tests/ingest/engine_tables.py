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
from tests.lastfm_files import MB_A, MB_B, MB_C, U1, U2, U3

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

#: Every quirk of tests/ingest/test_lastfm_quirks.py, and more, in one file: each line as bytes.
QUIRK_LINES: list[bytes] = [x.encode() if isinstance(x, str) else x for x in [
    f"{U1}\t{MB_A}\tFoo\t3", f'{U1}\t\t"weird al" yankovic\t12', f"{U1}\t{MB_A}\tFoo\rBar\t5",
    f"{U1}\t{MB_B}\tBaz\t1\r", f"{U1}\tFoo\t5", f"{U1}\t{MB_A}\tFoo\t5\textra\tmore", f"{U1}\t{MB_A}\tFoo\t5x",
    f"{U1}\t{MB_A}\tFoo\t2.5", f"{U1}\t{MB_A}\tFoo\t-3", f"{U1}\t\t\t4", f"\t{MB_A}\tFoo\t4",
    f"nothex{'0' * 34}\t{MB_A}\tFoo\t4", "   ", "", "\t\t\t", " \t \r ", f"{U2}\t{MB_A}\tBj".encode() + b"\xf6rk\t3",
    f"{U2}\t{MB_A}\tFoo\t0", f"{U2}\t{MB_A}\t\t4", f"{U2}\t\tfoo\t4", f"{U2}\tnot-a-uuid\tQux Band\t1",
    f"{U3}\t\t qux   band \t2", f"{U3}\t\t[unknown]\t3", f"{U3}\t\tVarious Artists\t3",
    f"  {U3} \t {MB_C} \t  Foo Fighters  \t 7 ", f"{U3}\t{MB_A}\tFOO\t4", f"{U3}\t{MB_A}\tFoo\t+5",
    f"{U3}\t{MB_B}\tBar\t007", f"{U3}\t{MB_B}\tBar\t-0", f"{U3}\t{MB_B}\tBar\t1234567890123456789",
    f"{U3}\t{MB_B}\tBar\t123456789012345678", f"{U3}\t{MB_B}\tBar\t1_000", f"{U3}\t{MB_B}\tBar\t0x10",
    f"{U3}\t{MB_B}\tNul\x00Name\t2", "\ufeff" + f"{U3}\t{MB_B}\tBom\t2", f"{U1}\t{MB_C}\tBack to U1\t9",
    f"{U1.upper()}\t{MB_C}\tUpper\t1", f"{U2}\t{MB_C}\t{'x' * 5000}\t1", b"\xed\xa0\x80\t\t\t1", b"\xc3",
    f"{U2}\t{MB_C}\tend without newline\t8",
]]


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
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
