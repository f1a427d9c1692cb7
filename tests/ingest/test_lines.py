"""musim.ingest.lines: lines in flat buffers, read back as they were appended and as the Arrow table SQL reads."""

from __future__ import annotations

import duckdb
import numpy as np

from musim.ingest.lines import LineTexts, arrow_table
from musim.ingest.prescan import FixedLine, FixedLines, IrregularLine, RejectedLines


def test_labels_are_kept_once_in_the_order_they_first_come_and_sql_reads_them_back():
    lines = LineTexts(labelled=True)
    for line_no, raw, label in ((3, "ä b".encode(), "blank line"), (7, b"", "too long"), (9, b"x", "blank line")):
        lines.append(line_no, raw, label)
    assert lines.labels == ("blank line", "too long") and len(lines) == 3
    assert list(lines) == [(3, "blank line", "ä b"), (7, "too long", ""), (9, "blank line", "x")]
    assert lines[-1] == (9, "blank line", "x") and lines.line_nos().tolist() == [3, 7, 9]
    con = duckdb.connect()
    con.register("lines", lines.arrow())
    rows = con.execute("SELECT row_id, list_extract($labels::VARCHAR[], label + 1), raw FROM lines ORDER BY row_id",
                       {"labels": list(lines.labels)}).fetchall()
    assert rows == [(3, "blank line", "ä b"), (7, "too long", ""), (9, "blank line", "x")]


def test_binary_lines_keep_bytes_that_are_no_utf8():
    lines = LineTexts(binary=True)
    lines.append(2, b"\xff\xfe")
    lines.append(5, b"")
    assert list(lines) == [(2, b"\xff\xfe"), (5, b"")] and list(lines.texts()) == [b"\xff\xfe", b""]
    assert lines.arrow().column("raw").to_pylist() == [b"\xff\xfe", b""]
    assert len(LineTexts().line_nos()) == 0


def test_rejected_lines_read_back_as_irregular_lines():
    rejected = RejectedLines()
    rejected.add(IrregularLine(4, "bad\\xff", "invalid UTF-8 (byte 0xff at column 4)"))
    rejected.add(IrregularLine(6, "", "blank line"))
    assert list(rejected) == [IrregularLine(4, "bad\\xff", "invalid UTF-8 (byte 0xff at column 4)"),
                              IrregularLine(6, "", "blank line")]
    assert rejected[1] == IrregularLine(6, "", "blank line") and bool(rejected)
    fixed = FixedLines()
    fixed.add(FixedLine(8, b"a b\xff"))
    assert list(fixed) == [FixedLine(8, b"a b\xff")] and fixed[0].line_no == 8 and fixed.line_nos().tolist() == [8]


def test_arrow_table_is_the_arrays_without_a_copy():
    ids, shifts = np.arange(5, dtype=np.int64), np.array([1, 0, -2, 3, 1], dtype=np.int64)
    table = arrow_table(first_rowid=ids, shift=shifts[::-1])  # a strided view is made contiguous first
    assert table.column_names == ["first_rowid", "shift"]
    assert table.column("shift").to_pylist() == [1, 3, -2, 0, 1]
    assert np.shares_memory(np.frombuffer(table.column("first_rowid").chunk(0).buffers()[1], dtype=np.int64), ids)
