"""Scan a Last.FM 360K plays file in one pass, in C, into integer rows for the load.

The scanner (``musim/ingest/_scan360k.c``) reads the file in blocks of whole lines beside the sha256
thread (:func:`musim.ingest.prescan.read_blocks`). Per line it does only what must be done line by line:
irregular bytes, the field count and the plays. A good line becomes one row of integers: its user id's
index and its artist spelling's index (each distinct value stored once, exactly as in the file), its plays
and its line number. The rare other lines come back as events:

- blank lines and lines with invalid UTF-8, rejected here as the pre-scan rejects them
  (:func:`musim.ingest.prescan.classify_line`); a line with a lone carriage return is not one of them: the
  scanner reads it with each lone CR as a space, in its place;
- lines with the wrong number of fields or plays that are not a non-negative integer: their reason is
  given in SQL (``sql/ingest/group_360k.sql``), with the same checks in the same order as every other line;
- good lines whose plays are not written as a plain integer: their raw text is kept, in case a later
  per-distinct check rejects them.

:func:`register` hands the result to DuckDB (numpy arrays, no copy) for ``sql/ingest/group_360k.sql``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from musim import sql
from musim.errors import IngestError
from musim.ingest import _scan360k
from musim.ingest.lines import LineTexts, arrow_table
from musim.ingest.prescan import BLANK_REASON, Prescan, classify_line, read_blocks
from musim.ingest.prescan_rules import MAX_LINE_BYTES

#: The events whose reason ``sql/ingest/group_360k.sql`` gives.
LINE_EVENTS = {_scan360k.TOO_FEW: "too few fields", _scan360k.TOO_MANY: "too many fields",
               _scan360k.NOT_INTEGER: "plays is not an integer of at most 18 digits", _scan360k.NEGATIVE: "negative plays"}


@dataclass
class Scanned360k:
    """The rows and distinct values of a scanned plays file (indices into ``users`` and the spellings)."""

    users: pa.Array
    #: the line each user id first appears on
    user_first_line: np.ndarray
    names: pa.Array
    mbids: pa.Array
    row_user: np.ndarray
    row_spelling: np.ndarray
    row_plays: np.ndarray
    row_line: np.ndarray
    #: ``(line_no, event, raw)`` of lines rejected for their fields or plays (reason given in SQL).
    line_events: LineTexts
    #: ``(line_no, raw)`` of good lines whose plays are not written as a plain integer.
    kept_raw: LineTexts


def keep_events(kind: np.ndarray, line_no: np.ndarray, stop: np.ndarray, text: bytes | memoryview, *, scan: Prescan,
                rows_events: LineTexts, kept_raw: LineTexts) -> None:
    """Keep the scanner's events (:meth:`Scanner.take_events`: each one's kind, line number and the end of its text
    in ``text``, the texts one after another), in order: raw plays of good lines in ``kept_raw``, irregular lines
    classified into ``scan`` (:func:`~musim.ingest.prescan.classify_line`: rejected as blank or invalid UTF-8), the
    others in ``rows_events`` with their event. A run of empty lines (nothing, or a carriage return the scanner took
    off before the newline) is rejected as ``blank line`` in one go, as ``classify_line`` rejects each: a block of
    nothing but newlines is millions of them."""
    text = memoryview(text)
    start = np.concatenate(([0], stop[:-1])).astype(np.int64)
    empty = (kind == _scan360k.IRREGULAR) & (stop == start)
    cuts = (np.flatnonzero(np.diff(empty.astype(np.int8))) + 1).tolist()
    for lo, hi in zip([0, *cuts], [*cuts, len(kind)], strict=True):
        if lo == hi:
            continue
        if empty[lo]:
            none = np.zeros(hi - lo, dtype=np.int64)
            if scan.irregular is not None:
                scan.irregular.extend(line_no[lo:hi], none, b"")
            scan.rejected.extend(line_no[lo:hi], none, b"", BLANK_REASON)
            continue
        for i in range(lo, hi):
            k, n, raw = int(kind[i]), int(line_no[i]), bytes(text[int(start[i]):int(stop[i])])
            if k == _scan360k.NOT_CANONICAL:
                kept_raw.append(n, raw)
            elif k == _scan360k.IRREGULAR:
                classify_line(raw, n, scan)  # rejected: blank, or invalid UTF-8
            else:
                rows_events.append(n, raw, LINE_EVENTS[k])


def scan_360k(path: str | Path) -> tuple[Prescan, Scanned360k]:
    """Hash, count, check and scan ``path`` (plain or gzip): what the pre-scan finds, and the rows."""
    scan = Prescan(path=Path(path), sha256="", bytes=0, lines=0, irregular=None)  # nothing stages it: no line map
    scanner = _scan360k.Scanner()

    rows_events = LineTexts(tuple(LINE_EVENTS.values()))
    kept_raw = LineTexts()

    def take_events() -> None:  # after each block: what the scanner found is kept compactly
        kinds, line_nos, ends, text = scanner.take_events()
        keep_events(np.frombuffer(kinds, dtype=np.int32), np.frombuffer(line_nos, dtype=np.int64),
                    np.frombuffer(ends, dtype=np.int64), memoryview(text), scan=scan, rows_events=rows_events,
                    kept_raw=kept_raw)

    def check(block: memoryview) -> None:
        scan.lines += scanner.feed(block, scan.lines + 1)
        take_events()

    read_blocks(path, scan, check)
    take_events()
    result = scanner.result()
    rows = Scanned360k(
        users=_strings(result["users"]), user_first_line=np.frombuffer(result["user_first_line"], dtype=np.int64),
        names=_strings(result["names"]), mbids=_strings(result["mbids"]),
        row_user=np.frombuffer(result["row_user"], dtype=np.int32),
        row_spelling=np.frombuffer(result["row_spelling"], dtype=np.int32),
        row_plays=np.frombuffer(result["row_plays"], dtype=np.int64),
        row_line=np.frombuffer(result["row_line"], dtype=np.int64), line_events=rows_events, kept_raw=kept_raw)
    if scan.fixed:  # the scanner reads lines with a lone CR itself, as the lines they are meant to be
        raise IngestError(f"{path}: line {scan.fixed[0].line_no} was left to fix; nothing was stored. This is a "
                          "musim bug: please report it with the file.")
    scan.longest_line = (result["longest"], result["longest_line"])
    width, line_no = scan.longest_line
    if width > MAX_LINE_BYTES and not (scan.rejected.line_nos() == line_no).any():
        raise IngestError(f"{path}: line {line_no} is {width:,} bytes long and the C scanner did not reject it: it "
                          "was built from an older musim/ingest/_scan360k.c; nothing was stored. Run `make install` "
                          "(or set MUSIM_INGEST_ENGINE=duckdb)")
    return scan, rows


def _strings(buffers: tuple) -> pa.Array:
    """The scanner's (data, int64 offsets) buffers as an Arrow string array (no copy, no Python strings)."""
    data, offsets = buffers
    n = len(memoryview(offsets)) // 8 - 1
    return pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def register(con: duckdb.DuckDBPyConnection, rows: Scanned360k) -> None:
    """Make the scan visible to SQL as ``scan_users``, ``scan_spellings`` and ``scan_rows`` (views on this
    connection, over the arrays: no copy), ``scan_events`` and ``scan_kept_raw`` (small temp tables,
    ``sql/ingest/scan_events.sql``)."""
    user_lines = np.bincount(rows.row_user, minlength=len(rows.users))
    spelling_lines = np.bincount(rows.row_spelling, minlength=len(rows.names))
    con.register("scan_users", arrow_table(user_ref=np.arange(len(rows.users), dtype=np.int32), user_raw=rows.users,
                                      first_line=rows.user_first_line, lines=user_lines))
    con.register("scan_spellings", arrow_table(spelling_ref=np.arange(len(rows.names), dtype=np.int32),
                                          name_raw=rows.names, mbid_text=rows.mbids, lines=spelling_lines))
    con.register("scan_rows", arrow_table(row_id=rows.row_line, user_ref=rows.row_user, spelling_ref=rows.row_spelling,
                                     plays=rows.row_plays))
    con.register("scan_event_lines", rows.line_events.arrow())
    con.register("scan_kept_lines", rows.kept_raw.arrow())
    sql.run(con, "ingest/scan_events.sql", events=list(rows.line_events.labels))
    con.unregister("scan_event_lines")
    con.unregister("scan_kept_lines")


def merge_plays(con: duckdb.DuckDBPyConnection, rows: Scanned360k) -> pa.Table | None:
    """The rows as plays (``user_id, artist_id, plays, lines``) with duplicate user-artist lines merged, once
    ``sql/ingest/load_dump.sql`` has given users and spellings their ids (``stage_user_map``,
    ``stage_spelling_map``; a row whose user or spelling is not there was rejected, and so was a row of
    ``stage_overflow``, a user and artist whose plays sum past 2^63-1).

    In a Last.FM dump each user's lines are contiguous, and users are numbered in the order they first
    appear, so duplicates are merged per user's run of lines in one sequential pass in C, and come out in
    (user, artist) order. ``None`` when the file is not like that (or a sum overflows 64 bits): then
    ``sql/ingest/insert_plays.sql`` groups them instead.
    """
    users = sql.query(con, "ingest/user_map.sql").fetchnumpy()
    spellings = sql.query(con, "ingest/spelling_map.sql").fetchnumpy()
    user_of = np.full(len(rows.users), -1, dtype=np.int32)
    user_of[users["user_ref"]] = users["user_id"]
    artist_of = np.full(len(rows.names), -1, dtype=np.int32)
    artist_of[spellings["spelling_ref"]] = spellings["artist_id"]
    row_users = user_of[rows.row_user]
    overflow = sql.query(con, "ingest/overflow_rows.sql").fetchnumpy()["row_id"]
    if len(overflow):  # lines rejected for a user-artist sum past 2^63-1 (load_dump.sql): dropped like the others
        row_users[np.isin(rows.row_line, overflow)] = -1
    merged = _scan360k.merge_runs(row_users, artist_of[rows.row_spelling], rows.row_plays)
    if merged is None:
        return None
    return arrow_table(**{name: np.frombuffer(merged[name], dtype=dtype) for name, dtype in
                     (("user_id", np.int32), ("artist_id", np.int32), ("plays", np.int64), ("lines", np.int32))})
