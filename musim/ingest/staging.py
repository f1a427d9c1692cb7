"""Stage a dump file into the ingest's scratch database: DuckDB reads the file itself, in parallel.

The staging SQL (``sql/ingest/stage_*.sql``) is a ``SELECT`` over ``read_csv`` of the whole file; it is
inserted into a scratch table with ``preserve_insertion_order`` on, so the table's ``rowid`` is the order in
which DuckDB read the rows. While DuckDB reads, the pre-scan (:mod:`musim.ingest.prescan`) hashes the same
file and finds its few irregular lines, the only ones DuckDB may not read as exactly one row.

How many rows DuckDB makes of each irregular line is *measured*, not assumed: each distinct one of those lines
is read again, alone, between sentinel lines, with the same SQL (a line's rows depend on its bytes alone, and a
broken file repeats a few texts millions of times). From that, every row maps to its physical line: the rows
of irregular lines are deleted (the pre-scan rejected or fixed those lines; fixed ones are staged again from
their clean text, after the rest), and :func:`line_map` gives each remaining row its line number as
``rowid + shift`` (the scratch table ``<table>_lines``, joined ``ASOF`` by the loads). The row count must
come out exactly as predicted, or the ingest stops before anything is stored.
"""

from __future__ import annotations

import logging
import shutil
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import duckdb
import numpy as np

from musim import sql, warehouse
from musim.errors import IngestError
from musim.ingest.dump_files import is_gzip, open_dump, reading, writing_into
from musim.ingest.lines import LineTexts, arrow_table
from musim.ingest.prescan import Prescan, prescan

log = logging.getLogger(__name__)

#: Never occurs in a dump: makes DuckDB keep empty fields as '' and pad missing ones with NULL.
NULLSTR = "\x1e\x1f\x1e"
#: Separates the irregular lines when they are read again one by one; its first field is unmistakable.
SENTINEL = b"\x1d\x1e musim line end \x1e\x1d"
def _insert(cur: duckdb.DuckDBPyConnection, table: str, sql_name: str, path: Path, compressed: bool) -> int:
    """Append what ``sql_name`` reads from ``path`` to ``ingest_scratch.<table>`` in read order; the number of
    rows."""
    sql.run(cur, "warehouse/insertion_order.sql", keep=True)
    return int(sql.query(cur, sql_name, table=table, path=str(path), nullstr=NULLSTR,
                         compression="gzip" if compressed else "none").fetchone()[0])


def _stage_in_background(con: duckdb.DuckDBPyConnection, table: str, sql_name: str, path: Path,
                         compressed: bool) -> int:
    cur = con.cursor()
    try:
        return _insert(cur, table, sql_name, path, compressed)
    finally:
        cur.close()


def rows_per_line(con: duckdb.DuckDBPyConnection, lines: LineTexts, table: str, sql_name: str,
                  workdir: Path) -> np.ndarray:
    """How many rows the staging SQL makes of each of ``lines`` (their bytes; each distinct one read alone, between
    sentinel lines).

    Every ``sql/ingest/stage_*.sql`` outputs the line's first field, at most trimmed, as ``user_key``: that is
    how the sentinel rows are told apart (``sql/ingest/probe_counts.sql`` counts the rows between them).
    """
    if not len(lines):
        return np.zeros(0, dtype=np.int64)
    # Each distinct line is read once: how many rows a line makes depends on its bytes alone (it is read alone), and
    # a broken file repeats a few (a file of 40M blank lines made a probe of 40M, which DuckDB did not read back as
    # 40M sentinels).
    distinct: dict[bytes, int] = {}
    which = np.fromiter((distinct.setdefault(raw, len(distinct)) for raw in lines.texts()), dtype=np.int64,
                        count=len(lines))
    probe = workdir / "irregular.tsv"
    with open(probe, "wb") as fh:
        for raw in distinct:
            fh.write(raw + b"\n" + SENTINEL + b"\n")
    sql.run(con, "ingest/probe.sql", table=table)
    _insert(con, "probe", sql_name, probe, compressed=False)
    found = sql.query(con, "ingest/probe_counts.sql", sentinel=SENTINEL.decode()).fetchnumpy()
    sql.run(con, "ingest/drop_probe.sql")
    closed = np.asarray(found["closed"], dtype=bool)
    if int(closed.sum()) != len(distinct) or not closed.all():
        raise IngestError("could not tell how DuckDB reads the irregular lines of this file; nothing was stored. "
                          "This is a musim bug: please report it with the file.")
    return np.asarray(found["rows"], dtype=np.int64)[which]


def line_map(scan: Prescan, counts: np.ndarray, main_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows to delete (those DuckDB made of irregular lines), and first rowids with their shifts: a row's line is
    ``rowid + shift`` of the last first rowid at or below its rowid. The fixed lines follow the main rows, in order.

    Irregular line ``j`` (line ``L[j]``, ``R[j]`` rows) starts at rowid ``L[j] - shift[j]``, where ``shift[j] = 1 + j -
    (R[0] + ... + R[j-1])``; its rows are dropped, and from the rowid after them the shift is ``shift[j] + 1 - R[j]``.
    Those rowids never decrease, so where several are equal (lines of no rows in a row) the last one holds.
    """
    lines = scan.irregular.line_nos()
    rows = np.asarray(counts, dtype=np.int64)
    before = np.concatenate(([0], np.cumsum(rows)))
    shift = 1 + np.arange(len(lines), dtype=np.int64) - before[:-1]
    start = lines - shift
    drops = np.repeat(start - before[:-1], rows) + np.arange(int(before[-1]), dtype=np.int64)
    fixed_first = main_rows + np.arange(len(scan.fixed), dtype=np.int64)
    fixed_lines = scan.fixed.line_nos()
    firsts = np.concatenate(([0], start + rows, fixed_first))
    shifts = np.concatenate(([1], shift + 1 - rows, fixed_lines - fixed_first))
    last = np.append(firsts[1:] != firsts[:-1], True)
    return drops, firsts[last], shifts[last]


def scan_and_stage(con: duckdb.DuckDBPyConnection, path: Path, table: str, sql_name: str,
                   workdir: Path) -> Prescan:
    """Pre-scan ``path`` while DuckDB stages it into ``ingest_scratch.<table>``; map rows to lines.

    Afterwards the table holds one row per line that is not an irregular line the pre-scan rejected, and
    ``ingest_scratch.<table>_lines`` maps its rowids to line numbers.
    """
    compressed = is_gzip(path)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="musim-stage") as pool:
        staged = pool.submit(_stage_in_background, con, table, sql_name, path, compressed)
        try:
            scan = prescan(path)
        except BaseException:
            wait([staged])  # the pre-scan's error (one line) is the one to report
            raise
        try:
            main_rows = staged.result()
        except duckdb.IOException as exc:
            if not compressed:
                first = str(exc).strip().splitlines()[0]
                raise IngestError(f"{path}: DuckDB could not read it ({first}); nothing was stored. "
                                  "Download the file again.") from exc
            main_rows = _stage_decompressed(con, path, table, sql_name, workdir, exc)
    scan.staged_rows = main_rows
    try:
        counts = rows_per_line(con, scan.irregular, table, sql_name, workdir)
        expected = scan.lines - len(scan.irregular) + int(counts.sum())
        if main_rows != expected:
            raise IngestError(
                f"{path}: DuckDB read {main_rows} rows where {expected} were expected from its {scan.lines} "
                "lines; nothing was stored. This is a musim bug: please report it with the file.")
        drops, firsts, shifts = line_map(scan, counts, main_rows)
        _apply(con, path, table, sql_name, workdir, scan, drops, firsts, shifts)
    finally:
        sql.run(con, "warehouse/insertion_order.sql", keep=False)
    log.debug("%s: %d rows staged, %d irregular lines (%d rows dropped, %d fixed)", path.name, main_rows,
              len(scan.irregular), len(drops), len(scan.fixed))
    return scan


def _stage_decompressed(con: duckdb.DuckDBPyConnection, path: Path, table: str, sql_name: str, workdir: Path,
                        exc: duckdb.IOException) -> int:
    """Stage a gzip file that the pre-scan read whole and DuckDB's reader did not, from a decompressed copy in
    ``workdir``: the rows. Python's reader, like ``gunzip``, skips the zero bytes that pad a gzip file after its
    last member (a block-padded copy or download) and reads a header with a comment or a header CRC; DuckDB's
    refuses such a file ("Input is not a GZIP stream", "Unsupported GZIP archive"), so the DuckDB engine refused a
    dump the C engine loads."""
    log.warning("%s: DuckDB could not read the gzip file (%s); staging a decompressed copy instead", path.name,
                str(exc).strip().splitlines()[0])
    plain = workdir / "decompressed.tsv"
    with writing_into(workdir.parent, f"a decompressed copy of {path.name}"), reading(path), open_dump(path) as source, \
            open(plain, "wb") as sink:
        shutil.copyfileobj(source, sink, 1 << 20)
    try:
        return _insert(con, table, sql_name, plain, compressed=False)
    finally:
        plain.unlink()


def _apply(con: duckdb.DuckDBPyConnection, path: Path, table: str, sql_name: str, workdir: Path, scan: Prescan,
           drops: np.ndarray, firsts: np.ndarray, shifts: np.ndarray) -> None:
    """Drop the rows of irregular lines, stage the fixed lines after the rest, and write the line map (the arrays go
    to DuckDB as Arrow tables, not as lists: a file may hold millions of irregular lines)."""
    if len(drops):
        with warehouse.registered(con, "staged_drops", arrow_table(row_id=drops)):
            sql.run(con, "ingest/drop_rows.sql", table=table)
    if scan.fixed:
        fixed = workdir / "fixed.tsv"
        with open(fixed, "wb") as fh:
            for text in scan.fixed.texts():
                fh.write(text + b"\n")
        added = _insert(con, table, sql_name, fixed, compressed=False)
        if added != len(scan.fixed):
            raise IngestError(f"{path}: {len(scan.fixed)} lines with a lone carriage return made {added} rows; "
                              "nothing was stored. This is a musim bug: please report it with the file.")
    with warehouse.registered(con, "staged_line_map", arrow_table(first_rowid=firsts, shift=shifts)):
        sql.run(con, "ingest/line_map.sql", lines=f"{table}_lines")
