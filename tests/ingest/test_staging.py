"""DuckDB reads the dump itself, in parallel; every row still maps back to its physical line."""

from __future__ import annotations

import random
from pathlib import Path

from musim import warehouse
from musim.ingest.lastfm import ingest_lastfm
from musim.ingest.prescan import FixedLine, Prescan
from musim.ingest.staging import line_map
from tests.lastfm_files import MB_A, U1, U2, write_lines


def test_line_map_skips_the_rows_of_irregular_lines_and_shifts_the_rest():
    # lines: 1 ok, 2 empty (0 rows), 3 lone CR (2 rows), 4 ok, 5 bad UTF-8 (0 rows), 6 ok
    scan = Prescan(path=Path("x"), sha256="", bytes=0, lines=6,
                   irregular=[(2, b""), (3, b"a\rb"), (5, b"\xff")], fixed=[FixedLine(3, b"a b")])
    drops, shifts = line_map(scan, [0, 2, 0], main_rows=5)
    # DuckDB's rows: 0 = line 1, 1-2 = line 3's pieces, 3 = line 4, 4 = line 6; then line 3 fixed, row 5
    assert drops == [1, 2]
    line = lambda row: row + shifts[max(k for k in shifts if k <= row)]  # noqa: E731  (the ASOF join)
    assert [line(r) for r in (0, 3, 4, 5)] == [1, 4, 6, 3]


def _user(i: int) -> str:
    return f"{i:040x}"


def test_rows_keep_their_line_numbers_through_a_parallel_read(tmp_path):
    """A file of several DuckDB read buffers with irregular and rejected lines scattered through it."""
    rng = random.Random(3)
    lines: list[bytes] = []
    expected: dict[int, str] = {}
    for i in range(420_000):  # ~40 MB: DuckDB reads it in several buffers, on every thread
        n = len(lines) + 1
        kind = rng.random()
        if kind < 0.0005:
            lines.append(b"")
            expected[n] = "blank line"
        elif kind < 0.001:
            lines.append(f"{_user(i)}\t{MB_A}\tFoo\r Bar\t{i}".encode())  # lone CR: kept
        elif kind < 0.0015:
            lines.append(f"{_user(i)}\t{MB_A}\tBad\xff".encode("latin-1") + b"\t3")
            expected[n] = "invalid UTF-8"
        elif kind < 0.002:
            lines.append(f"{_user(i)}\t{MB_A}\tFoo\t-{i}".encode())
            expected[n] = "negative plays"
        elif kind < 0.0025:
            lines.append(f"{_user(i)[:-1]}X\t{MB_A}\tFoo\t{i}".encode())  # caught per distinct user
            expected[n] = "user id is not"
        elif kind < 0.003:
            lines.append(f"{_user(i)}\tnot-an-mbid\t  \t{i}".encode())  # caught per distinct spelling
            expected[n] = "empty artist name and no valid MBID"
        elif kind < 0.0035:
            lines.append(f"{_user(i)}\t{MB_A}\tFoo".encode())
            expected[n] = "too few fields"
        else:
            lines.append(f"{_user(i)}\t{MB_A if i % 3 else ''}\tArtist {i % 5000}\t{i % 97}".encode())
    path = write_lines(tmp_path / "d.tsv", lines)
    assert path.stat().st_size > 32 * 1024 * 1024

    r = ingest_lastfm(path)

    assert (r.lines, r.rejected, r.loaded) == (len(lines), len(expected), len(lines) - len(expected))
    with warehouse.writer() as con:
        got = con.execute("SELECT line_no, reason FROM ingest_rejects ORDER BY line_no").fetchall()
        raws = dict(con.execute("SELECT line_no, raw FROM ingest_rejects").fetchall())
    assert [n for n, _ in got] == sorted(expected)
    assert all(reason.startswith(expected[n]) for n, reason in got)
    for n in list(expected)[:50]:  # the raw text is the line's own (rebuilt where the stage kept none)
        if expected[n] not in ("invalid UTF-8", "blank line"):
            assert raws[n] == lines[n - 1].decode()


def test_profiles_and_events_map_their_lines_too(tmp_path):
    plays = write_lines(tmp_path / "d.tsv", [f"{U1}\t{MB_A}\tFoo\t1", "", f"{U2}\t{MB_A}\tFoo\t2"])
    profiles = write_lines(tmp_path / "p.tsv", [
        "", f"{U1}\tf\t2\rx\tSweden\tFeb 1, 2007", f"{U1}\tm\t30\tSweden\tFeb 1, 2007", "  ", f"{U2}\tm\t\tX\t"])
    r = ingest_lastfm(plays, profiles=profiles)
    assert (r.lines, r.loaded, r.rejected) == (3, 2, 1)
    assert (r.profile_lines, r.profile_loaded, r.profile_rejected) == (5, 2, 3)
    with warehouse.writer() as con:
        rejects = con.execute("""SELECT file_kind, line_no, split_part(reason, ' (', 1) FROM ingest_rejects
                                 ORDER BY file_kind, line_no""").fetchall()
    # profiles line 2 had a lone CR: kept, and rejected for its age "2 x"; so line 3 is U1's first valid one
    assert rejects == [("plays", 2, "blank line"), ("profiles", 1, "blank line"),
                       ("profiles", 2, "age is not an integer"), ("profiles", 4, "blank line")]


def test_1k_events_with_irregular_lines(tmp_path):
    path = write_lines(tmp_path / "userid-timestamp-artid-artname-traid-traname.tsv", [
        "", "user_000001\t2009-05-04T23:08:57Z\t\tDeep\rDish\t\tSong",
        "user_000001\t2009-05-04T13:54:10Z\t\tDeep Dish\t\tSong", b"user_000002\t2009\xff\t\tX\t\tY",
        "user_000002\tyesterday\t\tSaxon\t\tWheels"])
    r = ingest_lastfm(path)
    assert (r.lines, r.loaded, r.rejected, r.artists) == (5, 2, 3, 1)
    with warehouse.writer() as con:
        assert con.execute("SELECT plays FROM lastfm_plays").fetchall() == [(2,)]
        assert [n for (n,) in con.execute("SELECT line_no FROM ingest_rejects ORDER BY 1").fetchall()] == [1, 4, 5]


def test_huge_play_counts_are_summed_exactly(tmp_path):
    """Plays that could overflow a 64-bit sum take the exact 128-bit path (the common case sums in 64 bits)."""
    big = 999_999_999_999_999_999
    lines = [f"{U1}\t{MB_A}\tFoo\t{big}", f"{U1}\t{MB_A}\tFoo\t{big}"] + [
        f"{_user(i)}\t{MB_A}\tFoo\t1" for i in range(10)]
    r = ingest_lastfm(write_lines(tmp_path / "d.tsv", lines))
    assert (r.loaded, r.plays_rows) == (12, 11)
    with warehouse.writer() as con:
        assert con.execute("SELECT max(plays), sum(plays) FROM lastfm_plays").fetchone() == (2 * big, 2 * big + 10)


def test_a_line_too_long_for_duckdb_is_a_clear_error(tmp_path, monkeypatch):
    import pytest

    from musim.errors import IngestError

    monkeypatch.setattr("musim.ingest.staging.MAX_LINE_BYTES", 100)
    path = write_lines(tmp_path / "d.tsv", [f"{U1}\t{MB_A}\tFoo\t1", f"{U2}\t{MB_A}\t{'x' * 200}\t1"])
    with pytest.raises(IngestError, match=r"line 2 is 2\d\d bytes long"):
        ingest_lastfm(path)


def test_a_key_stored_twice_stops_the_ingest_before_anything_is_stored(tmp_path):
    """The users and artists tables have no key index (migration 009): the ingest checks the keys itself."""
    import duckdb
    import pytest

    with warehouse.writer() as con:  # a warehouse damaged by hand: one user key under two ids
        con.execute("INSERT INTO lastfm_user VALUES (1, ?), (2, ?)", [U2, U2])
    with pytest.raises(duckdb.Error, match="a user or artist key is now stored twice"):
        ingest_lastfm(write_lines(tmp_path / "d.tsv", [f"{U1}\t{MB_A}\tFoo\t3"]))
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM lastfm_dump").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM lastfm_plays").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM artist").fetchone()[0] == 0
