"""DuckDB reads the dump itself, in parallel; every row still maps back to its physical line. The line checks of
a 1K file take shortcuts (sql/ingest/scratch.sql): they load and reject exactly what their plain rules do."""

from __future__ import annotations

import os
import random
import tempfile
import unicodedata
from dataclasses import asdict
from pathlib import Path
from unittest import mock

import duckdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from musim import sql, warehouse
from musim.errors import IngestError
from musim.ingest.lastfm import ingest_lastfm
from musim.ingest.prescan import FixedLine, Prescan
from musim.ingest.staging import line_map
from tests.ingest.corpus import NAMES_1K, QUIRK_EVENTS, TIMES_1K, USERS_1K, events_file
from tests.ingest.engine_tables import TABLES, settings_for
from tests.lastfm_files import MB_A, U1, U2, write_lines


def test_line_map_skips_the_rows_of_irregular_lines_and_shifts_the_rest():
    # lines: 1 ok, 2 empty (0 rows), 3 lone CR (2 rows), 4 ok, 5 bad UTF-8 (0 rows), 6 ok
    scan = _scan([(2, b""), (3, b"a\rb"), (5, b"\xff")], fixed=[FixedLine(3, b"a b")])
    drops, firsts, shifts = line_map(scan, np.array([0, 2, 0]), main_rows=5)
    # DuckDB's rows: 0 = line 1, 1-2 = line 3's pieces, 3 = line 4, 4 = line 6; then line 3 fixed, row 5
    assert drops.tolist() == [1, 2]
    mapped = dict(zip(firsts.tolist(), shifts.tolist(), strict=True))
    line = lambda row: row + mapped[max(k for k in mapped if k <= row)]  # noqa: E731  (the ASOF join)
    assert [line(r) for r in (0, 3, 4, 5)] == [1, 4, 6, 3]


def _scan(irregular: list[tuple[int, bytes]], fixed: list[FixedLine]) -> Prescan:
    scan = Prescan(path=Path("x"), sha256="", bytes=0, lines=0)
    for line in fixed:
        scan.fixed.add(line)
    for line_no, raw in irregular:
        scan.irregular.append(line_no, raw)
    return scan


def _line_map_one_line_at_a_time(irregular_lines, counts, fixed, main_rows):
    """The line map as it was computed before, a line at a time into a dict: the reference."""
    drops, shift, shifts = [], 1, {0: 1}
    for line_no, rows in zip(irregular_lines, counts, strict=True):
        start = line_no - shift
        drops.extend(range(start, start + rows))
        shift += 1 - rows
        shifts[start + rows] = shift
    for k, f in enumerate(fixed):
        shifts[main_rows + k] = f.line_no - (main_rows + k)
    return drops, shifts


@pytest.mark.parametrize("seed", range(20))
def test_the_line_map_over_arrays_is_the_one_a_line_at_a_time(seed):
    """The arrays (a file may hold millions of irregular lines, each a dict entry and list items before) give the
    drops and the map the per-line loop gave: runs of empty lines, lines of several rows, fixed lines at the end."""
    rng = random.Random(seed)
    lines, irregular, counts, fixed, rows = rng.randint(1, 400), [], [], [], 0
    for line_no in range(1, lines + 1):
        if rng.random() < 0.4:
            irregular.append((line_no, b"x"))
            counts.append(rng.choice([0, 0, 0, 1, 2, 3]))
            rows += counts[-1]
            if counts[-1] and rng.random() < 0.3:
                fixed.append(FixedLine(line_no, b"x"))
        else:
            rows += 1
    scan = _scan(irregular, fixed)
    drops, firsts, shifts = line_map(scan, np.array(counts, dtype=np.int64), main_rows=rows)
    want_drops, want = _line_map_one_line_at_a_time([n for n, _ in irregular], counts, fixed, rows)
    assert drops.tolist() == want_drops
    assert dict(zip(firsts.tolist(), shifts.tolist(), strict=True)) == want and len(firsts) == len(want)


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


def test_each_distinct_irregular_line_is_probed_once(tmp_path, monkeypatch):
    """Blank lines by the thousand, a lone-CR line twice and two invalid-UTF-8 lines, one of them twice: the probe
    holds the three distinct texts, not every line (before, a file of 20M blank lines made a probe of 20M that
    DuckDB did not read back as 20M sentinels, and the ingest stopped as a musim bug), and every line is still
    loaded or rejected where it is."""
    from musim.ingest import staging

    probed = []

    def insert(cur, table, sql_name, path, compressed, _insert=staging._insert):
        if table == "probe":
            probed.append(path.read_bytes().split(b"\n")[::2][:-1])  # the lines between the sentinels
        return _insert(cur, table, sql_name, path, compressed)

    monkeypatch.setattr(staging, "_insert", insert)
    good = "user_000001\t2009-05-04T13:54:10Z\t\tDeep Dish\t\tSong"
    lines = [good, *[""] * 3000, "user_000001\t2009-05-04T23:08:57Z\t\tDeep\rDish\t\tSong", b"u\xff", b"u\xff",
             "user_000001\t2009-05-04T23:08:57Z\t\tDeep\rDish\t\tSong", good]
    path = write_lines(tmp_path / "userid-timestamp-artid-artname-traid-traname.tsv", lines)
    r = ingest_lastfm(path, engine="duckdb")
    assert probed == [[b"", b"user_000001\t2009-05-04T23:08:57Z\t\tDeep\rDish\t\tSong", b"u\xff"]]
    assert (r.lines, r.loaded, r.rejected) == (3006, 4, 3002)
    with warehouse.writer() as con:
        rejected = [n for (n,) in con.execute("SELECT line_no FROM ingest_rejects ORDER BY 1").fetchall()]
    assert rejected == [*range(2, 3002), 3003, 3004]


def test_huge_play_counts_are_summed_exactly(tmp_path):
    """Plays that could overflow a 64-bit sum take the exact 128-bit path (the common case sums in 64 bits)."""
    big = 999_999_999_999_999_999
    lines = [f"{U1}\t{MB_A}\tFoo\t{big}", f"{U1}\t{MB_A}\tFoo\t{big}"] + [
        f"{_user(i)}\t{MB_A}\tFoo\t1" for i in range(10)]
    r = ingest_lastfm(write_lines(tmp_path / "d.tsv", lines))
    assert (r.loaded, r.plays_rows) == (12, 11)
    with warehouse.writer() as con:
        assert con.execute("SELECT max(plays), sum(plays) FROM lastfm_plays").fetchone() == (2 * big, 2 * big + 10)


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


# The 1K line checks: each shortcut of sql/ingest/scratch.sql (user_reason_1k_fast, event_time_reason_fast,
# spelling_reason_fast) against its plain rule, value by value and through whole ingests.

ISO = "2009-05-04T23:08:57Z"
MBIDS_EDGE = ["", MB_A, f" {MB_A} ", MB_A.upper(), "not-a-uuid", "{" + MB_A + "}"]


def _scratch() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    sql.run(con, "ingest/scratch.sql")
    return con


def _differences(con, table: str, fast: str, plain: str) -> list[tuple]:
    """The values of ``table`` (columns v, m) on which the ``fast`` and ``plain`` expressions differ."""
    return con.execute(f"SELECT v, m, {fast}, {plain} FROM {table} "  # noqa: S608 - the test's own expressions
                       f"WHERE ({fast}) IS DISTINCT FROM ({plain})").fetchall()


def test_each_shortened_1k_check_gives_its_plain_rules_result_value_by_value():
    """Every code point of the BMP (surrogates aside) where a shortcut looks: first in a name, in each place of a
    user id, and a few in each place of a timestamp; as fields come (around spaces) and alone."""
    con = _scratch()
    con.execute("CREATE TABLE chars AS SELECT chr(i::INTEGER) AS c FROM range(0, 65536) t(i) "
                "WHERE i NOT BETWEEN 55296 AND 57343")
    mbids = con.execute("SELECT unnest(?::VARCHAR[]) AS m", [MBIDS_EDGE]).fetchall()
    con.execute("CREATE TABLE mbids (m VARCHAR)")
    con.executemany("INSERT INTO mbids (m) VALUES (?)", mbids)
    con.execute("""CREATE TABLE names AS
                   SELECT v, m FROM (SELECT unnest([c, c || 'x', c || ' ', 'x' || c, c || c, ' ' || c]) AS v FROM chars)
                   CROSS JOIN mbids""")
    con.execute("""CREATE TABLE users AS
                   SELECT v, NULL::VARCHAR AS m FROM (
                       SELECT left('user_000001', k) || c || substr('user_000001', k + 2) AS v
                       FROM chars, range(0, 11) t(k)
                       UNION ALL SELECT unnest(?::VARCHAR[])
                   )""", [["user_000001", " user_000001", "user_000001 ", "\u00a0user_000001", "user_0000001",
                           "user_00001", "", " ", "USER_000001", "user_999999", "user_000000"]])
    odd = "0123456789-:TtZz +./\u00a0\u0661\uff10\x00"
    con.execute("""CREATE TABLE times AS
                   SELECT v, NULL::VARCHAR AS m FROM (
                       SELECT left(base, k) || c || substr(base, k + 2) AS v
                       FROM (SELECT unnest(?::VARCHAR[]) AS base), (SELECT unnest(string_split(?, '')) AS c),
                            range(0, 25) t(k)
                       UNION ALL SELECT base FROM (SELECT unnest(?::VARCHAR[]) AS base)
                   )""", [[ISO, "2009-02-28T23:59:59Z", "2008-02-29T00:00:00Z", "9999-12-31T23:59:59Z",
                           "2009-05-04T23:08:57+14:00", "2009-05-04 23:08-12:00", "20090504T230857+0530"], odd,
                          [ISO, f" {ISO}", f"{ISO} ", "2009-02-29T10:00:00Z", "2008-02-29T10:00:00Z", "2009-13-01T00:00:00Z",
                           "2009-12-32T00:00:00Z", "2009-05-04T24:00:00Z", "2009-05-04T23:60:00Z", "2009-05-04T23:59:60Z",
                           "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "2009-05-04 23:08:57Z", "20090504T230857Z",
                           "2009-05-04T23:08:57.5Z", "2009/05/04 23:08:57", "", " ", "2009-05-04T23:08:57+99:00",
                           "2009-05-04T23:08:57+05:60", "2009-05-04T23:08:57-12:30", "20090504T230857+1401"]])
    assert con.execute("SELECT count(*) FROM names").fetchone()[0] > 2_000_000
    assert _differences(con, "names", "ingest_scratch.spelling_reason_fast(v, m)",
                        "ingest_scratch.spelling_reason(v, m)") == []
    assert _differences(con, "users", "ingest_scratch.user_reason_1k_fast(v)",
                        "ingest_scratch.user_reason(v, '1k')") == []
    assert _differences(con, "times", "ingest_scratch.event_time_reason_fast(v)",
                        "ingest_scratch.event_time_reason(v)") == []
    # the line check of a 1K artist gives the plain rule's result, but for the control characters it leaves to
    # the check per spelling (sql/ingest/group_staged.sql)
    assert _differences(con, "names", "ingest_scratch.spelling_reason_1k_line(v, m)",
                        "ingest_scratch.spelling_reason(v, m)") == \
        con.execute("SELECT v, m, NULL, ingest_scratch.spelling_reason(v, m) FROM names "
                    "WHERE ascii(v) BETWEEN 33 AND 126 AND regexp_matches(v, '[\\x{00}-\\x{08}\\x{0A}-\\x{1F}\\x{7F}-\\x{9F}]')"
                    ).fetchall()
    # and each shortcut's own values pass (were they never taken, the above would prove nothing)
    assert con.execute("SELECT ingest_scratch.spelling_reason_fast('Foo', ''), ingest_scratch.user_reason_1k_fast("
                       "'user_000001'), ingest_scratch.event_time_reason_fast(?)", [ISO]).fetchone() == (None,) * 3


def _ingest_1k(path: Path, home: Path, *, plain: bool) -> tuple[object, dict[str, list]]:
    """``(result without its time, or the refusal, {table: rows})`` of a 1K ingest of ``path`` into a new
    warehouse at ``home``: with the shortened checks, or (``plain``) with their plain rules."""
    settings = settings_for(home)
    run, plain_applied = sql.run, []

    def run_plain(con, name, /, **params):
        run(con, name, **params)
        if name == "ingest/scratch.sql":
            run(con, "ingest/plain_line_checks.sql")
            plain_applied.append(name)

    with mock.patch.object(sql, "run", run_plain if plain else run):
        try:
            outcome: object = {k: v for k, v in asdict(ingest_lastfm(path, fmt="1k", settings=settings)).items()
                               if k != "seconds"}
        except IngestError as exc:
            outcome = str(exc)
    assert bool(plain_applied) == plain
    with warehouse.writer(settings) as con:
        return outcome, {name: con.execute(query).fetchall() for name, query in TABLES.items()}


def _same_as_plain(path: Path, workdir: Path) -> tuple[object, dict[str, list]]:
    fast = _ingest_1k(path, workdir / "fast", plain=False)
    assert fast == _ingest_1k(path, workdir / "plain", plain=True)
    return fast


def _edge_lines() -> list[str]:
    """Lines at the edges of the shortcuts: names that start with a space, a no-break space, a control character
    or nothing, names like a UUID, ids and times just off the dump's form; one bad id among many good lines."""
    names = [" Foo", "  ", " ", "", "\u00a0Foo", "\u00a0", "\x01Foo", "\x0b", "\x0c", "\x1c", "\x1f\x1e", "\x7fFoo",
             "\x7f", "\x85", "\u2028", "\u2029", "\u3000", "\u200b", "\u200bFoo", "\u1680", "\u202f", "!", "~", "!Foo",
             "~Foo", " ~", MB_A, f" {MB_A}", "Foo"]
    lines = [f"user_000001\t{ISO}\t{m}\t{n}\t\tTrack" for n in names for m in MBIDS_EDGE]
    users = [" user_000002", "user_000002 ", "\u00a0user_000002", "user_0000002", "user_00002", "USER_000002",
             "user_00000\u0662", "user_00000\uff12", "user_00000a", "user_000002\x0b"]
    lines += [f"{u}\t{ISO}\t\tFoo\t\tTrack" for u in users]
    times = [f" {ISO}", f"{ISO} ", f"{ISO}\u00a0", "2009-02-29T10:00:00Z", "2008-02-29T10:00:00Z", "2009-05-04T24:00:00Z",
             "2009-05-04T23:59:60Z", "0000-01-01T00:00:00Z", "2009-05-04t23:08:57Z", "2009-05-04T23:08:57z",
             "2009-05-04 23:08:57Z", "\uff12009-05-04T23:08:57Z", "2009-05-04T23:08:57", "2009-05-04T23:08:57+00:00",
             "2009-05-04T23:08:57+14:00", "2009-05-04T23:08:57+99:00", "20090504T230857-1230"]
    lines += [f"user_000003\t{t}\t\tFoo\t\tTrack" for t in times]
    many = [f"user_000004\t2009-05-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{i % 59:02d}Z\t\tArtist {i % 7}\t\tT"
            for i in range(3000)]
    return lines + many[:1700] + ["user_00004\t2009-05-04T23:08:57Z\t\tArtist 1\t\tT"] + many[1700:]


@pytest.mark.parametrize("lines", [pytest.param(QUIRK_EVENTS, id="quirk-file"), pytest.param(_edge_lines(), id="edges")])
def test_the_shortened_1k_checks_load_and_reject_what_the_plain_rules_do(tmp_path, lines):
    outcome, tables = _same_as_plain(write_lines(tmp_path / "events.tsv", lines), tmp_path)
    assert outcome["rejected"] and outcome["loaded"]  # both sides of every check were taken


def test_the_shortened_1k_checks_load_a_generated_dump_as_the_plain_rules_do(tmp_path):
    from musim.synth.lastfm import write_lastfm_1k_dump

    s = write_lastfm_1k_dump(tmp_path / "synth", users=12, events=30_000, quirks=0.02, seed=11)
    outcome, _ = _same_as_plain(Path(s.events_path), tmp_path)
    assert (outcome["lines"], outcome["loaded"], outcome["rejected"]) == \
        (s.lines, s.expected_loaded, s.expected_rejected)


def _names_line(user: str, name: str, *, mbid: str = "", track: str = "Track", time: str = ISO) -> str:
    return f"{user}\t{time}\t{mbid}\t{name}\t\t{track}"


def _control_character_lines() -> list[str]:
    """Artist names with NUL, C0 control characters, DEL and C1 ones: on the first and the last line, many times
    over, of an artist (MBID) also written clean, beside a clean spelling that differs only by the character, on
    lines rejected for their user or time first; control characters in track names (not checked)."""
    clean = [_names_line(f"user_00000{1 + i % 5}", f"Artist {i % 9}", track=f"T{i}") for i in range(2500)]
    odd = [
        _names_line("user_000001", "Foo\x01", mbid=MB_A),  # MB_A is also "Foo", clean, below
        _names_line("user_000002", "Foo", mbid=MB_A),
        _names_line("user_000003", "Bar\x1f Baz"),
        _names_line("user_000003", "Bar\x1f Baz"),
        _names_line("user_000004", "Bar Baz"),
        _names_line("user_00004", "Nul\x00Name"),  # the user's reason comes first
        _names_line("user_000004", "Tab\x0bName", time="2009-02-30T00:00:00Z"),  # the time's reason comes first
        _names_line("user_000005", "Clean", track="Track\x01\x02"),
        _names_line("user_000005", "Del\x7f"),
        _names_line("user_000005", " \x1cLeading space"),  # checked per line already
        _names_line("user_000005", "Line\x1e", mbid=MB_A),
        _names_line("user_000005", "Lone\rCR\x02"),
        _names_line("user_000005", "Guns N\x92 Roses", mbid=MB_A),
        _names_line("user_000005", "Guns N\u2019 Roses", track="Track\x92"),
    ]
    lines = clean[:1200] + odd + clean[1200:]
    return [_names_line("user_000009", "First\x08")] + lines + [_names_line("user_000009", "Last\x1a")]


def _runs(path: Path, home: Path) -> tuple[tuple[object, dict[str, list]], list[str]]:
    """``_ingest_1k(path, home, plain=False)`` and the SQL files it ran, in order."""
    with mock.patch.object(sql, "run", wraps=sql.run) as spy:
        outcome = _ingest_1k(path, home, plain=False)
    return outcome, [c.args[1] for c in spy.call_args_list]


def test_1k_artist_names_checked_per_spelling_reject_the_lines_the_plain_rule_does(tmp_path):
    lines = _control_character_lines()
    path = write_lines(tmp_path / "events.tsv", lines)
    (outcome, tables), ran = _runs(path, tmp_path / "fast")
    assert (outcome, tables) == _ingest_1k(path, tmp_path / "plain", plain=True)
    # a spelling failed its check per spelling: the file was staged again, with the artist checked per line
    assert ran.count("ingest/names_per_line.sql") == 1
    assert ran.count("ingest/group_staged.sql") == 2
    control = "control character in artist name"
    c1 = "C1 control character in artist name (U+0080-U+009F: Windows-1252 text read as Latin-1?)"
    odd = 1 + 1200 + 1  # the first line of the odd ones
    assert [(r[2], r[3]) for r in tables["ingest_rejects"]] == [
        (1, control), (odd, control), (odd + 2, control), (odd + 3, control),
        (odd + 5, "user id is not like user_000001 (the 1K dump's ids)"), (odd + 6, "timestamp is not an ISO-8601 time"),
        (odd + 8, control), (odd + 9, control), (odd + 10, control), (odd + 11, control), (odd + 12, c1),
        (len(lines), control)]
    raws = {r[2]: r[4] for r in tables["ingest_rejects"]}
    assert [raws[n] for n in (1, odd, odd + 5, odd + 12, len(lines))] == \
        [lines[0], lines[odd - 1], lines[odd + 4], lines[odd + 11], lines[-1]]
    assert raws[odd + 11] == lines[odd + 10].replace("\r", " ")  # the lone CR's line, fixed by the pre-scan
    assert (outcome["lines"], outcome["loaded"], outcome["rejected"]) == (len(lines), len(lines) - 12, 12)


def test_a_1k_file_whose_names_pass_is_staged_once(tmp_path):
    lines = [x for x in _control_character_lines() if not any(unicodedata.category(c) == "Cc" and c != "\t" for c in
                                                             x.split("\t")[3])]
    path = write_lines(tmp_path / "events.tsv", lines)
    (outcome, tables), ran = _runs(path, tmp_path / "fast")
    assert (outcome, tables) == _ingest_1k(path, tmp_path / "plain", plain=True)
    assert "ingest/names_per_line.sql" not in ran and ran.count("ingest/group_staged.sql") == 1
    assert (outcome["rejected"], outcome["loaded"]) == (0, len(lines))


EXAMPLES = int(os.environ.get("MUSIM_FUZZ_EXAMPLES", "20"))


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=events_file() | events_file(users=USERS_1K, times=TIMES_1K, names=NAMES_1K))
def test_the_shortened_1k_checks_ingest_fuzzed_files_as_the_plain_rules_do(data):
    """The fuzz corpus's 1K files (tests/ingest/test_fuzz.py), and the same with ids, times and names near the
    shortcuts' edges."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.tsv"
        path.write_bytes(data)
        _same_as_plain(path, Path(tmp))
