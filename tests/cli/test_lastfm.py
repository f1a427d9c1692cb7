"""``musim sql`` as a sandbox, one-line errors, readers without the writer's lock, hostile names on screen."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import duckdb
import pytest

from musim import sandbox
from musim.cli import main
from tests.cli.conftest import BAD_LINE, BELL, BIDI, LONG, NUL, RED

# Anything a terminal would act on: C0 controls but the line feed, DEL, C1, bidi and other format controls.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    assert err.startswith("musim: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def attacks(home) -> list[tuple[str, str]]:
    """(statement, what the one-line error says) for each attack of issue #15."""
    wh, snap = home.warehouse, home.snapshot
    secret = home.path / "secret.txt"
    return [
        (f"ATTACH '{wh}' AS w (READ_WRITE)", "ATTACH statements are not allowed"),
        (f"ATTACH '{wh}' AS w (READ_WRITE); DROP TABLE w.lastfm_dump", "exactly one SQL statement"),
        (f"ATTACH '{wh}' AS w; DELETE FROM w.lastfm_plays", "exactly one SQL statement"),
        ("DROP TABLE artist", "DROP statements are not allowed"),
        ("DELETE FROM artist", "DELETE statements are not allowed"),
        ("INSERT INTO artist SELECT * FROM artist", "INSERT statements are not allowed"),
        ("UPDATE artist SET name = 'x'", "UPDATE statements are not allowed"),
        ("CREATE TEMP TABLE t AS SELECT 1", "CREATE statements are not allowed"),
        (f"COPY artist TO '{wh}'", "COPY statements are not allowed"),
        (f"COPY artist TO '{snap}' (FORMAT csv)", "COPY statements are not allowed"),
        ("COPY (SELECT * FROM artist) TO 'stolen.csv'", "COPY statements are not allowed"),
        (f"EXPORT DATABASE '{home.path / 'exported'}'", "EXPORT statements are not allowed"),
        (f"SELECT * FROM read_text('{secret}')", "disabled by configuration (the query door reads only"),
        (f"SELECT * FROM read_csv('{secret}')", "disabled by configuration"),
        (f"SELECT * FROM read_blob('{secret}')", "disabled by configuration"),
        (f"SELECT * FROM glob('{home.path}/*')", "disabled by configuration"),
        (f"SELECT * FROM '{secret}'", "secret.txt"),
        ("SELECT 1; SELECT 2", "exactly one SQL statement"),
        ("INSTALL httpfs", "INSTALL statements are not allowed"),
        ("LOAD httpfs", "LOAD statements are not allowed"),
        ("SET enable_external_access = true", "SET statements are not allowed"),
        ("SET threads = 1", "SET statements are not allowed"),
        ("RESET lock_configuration", "RESET statements are not allowed"),
        ("PRAGMA threads = 1", "SET (PRAGMA name = value) statements are not allowed"),
        ("PRAGMA enable_profiling", "only the read-only PRAGMAs"),
        ("CALL checkpoint()", "CALL statements are not allowed"),
        ("EXPLAIN ANALYZE DELETE FROM artist", "only EXPLAIN of a SELECT"),
        ("DETACH snapshot", "DETACH statements are not allowed"),
    ]


def test_every_attack_fails_in_one_line_and_changes_nothing(hostile, capsys):
    (hostile.path / "secret.txt").write_text("TOP-SECRET-VALUE\n")
    before = hostile.fingerprint()
    for statement, message in attacks(hostile):
        code, out, err = run(capsys, "sql", statement)
        assert code == 2, statement
        assert message in one_line_error(err), (statement, err)
        assert "TOP-SECRET-VALUE" not in out + err
    assert hostile.fingerprint() == before
    assert list(hostile.path.parent.joinpath("cwd").iterdir()) == []  # COPY ... TO 'stolen.csv' wrote nothing
    # both databases still open and answer
    with duckdb.connect(str(hostile.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM lastfm_dump").fetchone()[0] == 1
    code, out, _ = run(capsys, "sql", "SELECT count(*) AS n FROM artist", "--json")
    assert code == 0 and json.loads(out)[0]["n"] > 30


@pytest.mark.parametrize(("statement", "kind"), [
    ("SELEC name FROM artist", "the query does not parse: Parser Error: syntax error"),
    ("SELECT * FROM no_such_table", "the query failed: Catalog Error: Table with name no_such_table does not "
                                     'exist! (list the tables with `musim sql "SHOW TABLES"`'),
    ("SELECT nope FROM artist", "the query failed: Binder Error"),
    ("SELECT 1/0::INTEGER + 'x'::INTEGER", "the query failed: Conversion Error"),
    ("   ", "the query is empty"),
])
def test_sql_errors_are_one_clear_line(hostile, capsys, statement, kind):
    code, _, err = run(capsys, "sql", statement)
    assert code == 2 and kind in one_line_error(err)


def test_reading_statements_pass_the_door(hostile, capsys):
    for statement, column in (("DESCRIBE artist", "column_name"), ("SHOW TABLES", "name"),
                              ("PRAGMA table_info('artist')", "name"), ("EXPLAIN SELECT * FROM artist", "explain_key"),
                              ("FROM artist_neighbors LIMIT 3", "metric"), ("SUMMARIZE artist", "column_name"),
                              ("SELECT * FROM duckdb_settings() WHERE name = 'enable_external_access'", "value")):
        code, out, err = run(capsys, "sql", statement, "--json")
        assert code == 0, (statement, err)
        assert column in json.loads(out)[0]
    code, out, _ = run(capsys, "sql", "SELECT value FROM duckdb_settings() WHERE name = 'enable_external_access'",
                       "--json")
    assert json.loads(out) == [{"value": "false"}]


def test_row_limit_and_flag(hostile, capsys):
    code, out, err = run(capsys, "sql", "SELECT range AS i FROM range(5000)", "--json")
    assert code == 0 and len(json.loads(out)) == sandbox.DEFAULT_MAX_ROWS and "raise --limit" in err
    code, out, err = run(capsys, "sql", "SELECT range AS i FROM range(5000) ORDER BY i DESC", "--json", "--limit", "7")
    assert [r["i"] for r in json.loads(out)] == [4999, 4998, 4997, 4996, 4995, 4994, 4993]
    code, out, err = run(capsys, "sql", "SELECT range AS i FROM range(5000)", "--json", "--limit", "0")
    assert len(json.loads(out)) == 5000 and "raise --limit" not in err
    code, out, err = run(capsys, "sql", "SELECT range AS i FROM range(5)", "--limit", "5")
    assert code == 0 and "(5 rows)" in err and "raise --limit" not in err


def test_time_limit_stops_a_runaway_query(hostile, capsys):
    forever = "SELECT count(*) FROM range(2000000) a, range(2000000) b WHERE a.range + b.range = 7"
    code, _, err = run(capsys, "sql", forever, "--timeout", "0.3")
    assert code == 2 and "ran longer than 0.3 s and was stopped" in one_line_error(err) and "--timeout" in err


def test_similar_k_is_checked_by_argparse(hostile, capsys):
    for bad in ("0", "-3", "10000000000000", "ten"):
        with pytest.raises(SystemExit) as stop:
            main(["similar", "x", "--k", bad])
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert "argument --k" in err and "Traceback" not in err


def test_similar_escapes_hostile_names_and_cuts_long_ones(hostile, capsys):
    code, out, err = run(capsys, "similar", RED, "--k", "10")
    assert code == 0, err
    assert not UNSAFE.search(out)
    assert "\\x1b[31mRed Alert\\x1b[0m" in out  # the title, escaped
    for shown in ("Evil\\u202eReversed", "Nul\\x00Band", "Bell\\x07Del\\x7fC1\\x9b", "L" * 50 + "…"):
        assert shown in out
    assert max(len(line) for line in out.splitlines()) < 150  # the 5,000-character name is cut

    code, out, _ = run(capsys, "similar", RED, "--k", "10", "--json")
    names = {r["artist"] for r in json.loads(out)}
    assert {BIDI, NUL, BELL, LONG} <= names  # JSON keeps the exact strings
    assert "\u202e" not in out and "\x9b" not in out and "\x00" not in out  # ... written as JSON escapes

    code, out, _ = run(capsys, "--width", "0", "similar", RED, "--k", "10")
    assert LONG in out


def test_did_you_mean_is_escaped(hostile, capsys):
    code, _, err = run(capsys, "similar", RED + "z")
    assert code == 2 and "did you mean" in one_line_error(err)
    assert not UNSAFE.search(err[:-1]) and "\\x1b[31mRed Alert" in err


def test_rejects_escape_the_raw_line_and_json_keeps_it(hostile, capsys):
    code, out, err = run(capsys, "rejects")
    assert code == 0 and not UNSAFE.search(out) and "garbage\\x1b]0;pwned\\x07 line" in out
    code, out, _ = run(capsys, "rejects", "--json")
    assert [r["raw"] for r in json.loads(out)] == [BAD_LINE]


def test_sql_table_is_escaped(hostile, capsys):
    code, out, _ = run(capsys, "sql", "SELECT name FROM artist ORDER BY name")
    assert code == 0 and not UNSAFE.search(out) and "Nul\\x00Band" in out
    code, out, _ = run(capsys, "sql", "SELECT name FROM artist ORDER BY name", "--json")
    assert NUL in {r["name"] for r in json.loads(out)}


HOLD_WRITER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def writer_elsewhere(hostile):
    """Another process holding the warehouse open for writing (as a build would) until the test ends."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD_WRITER, str(hostile.warehouse)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding"
    yield proc
    proc.stdin.close()
    proc.wait(timeout=30)


@pytest.mark.parametrize("argv", [["dumps"], ["rejects"], ["quality", "report"], ["models", "list"]])
def test_readers_say_who_holds_the_warehouse(writer_elsewhere, capsys, monkeypatch, argv):
    monkeypatch.setattr(sandbox, "LOCK_WAIT_S", 0.3)
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "waiting up to 0.3 s" in err
    last = err.splitlines()[-1]
    assert last == (f"musim: error: the warehouse {writer_elsewhere.args[-1]} is being written by another process "
                    f"(pid {writer_elsewhere.pid}); try again when it finishes")


def test_readers_do_not_take_the_writers_lock(hostile, capsys):
    code, out, _ = run(capsys, "dumps", "--json")
    assert code == 0 and len(json.loads(out)) == 1
    with sandbox.reader() as con:  # a reader open: another reader still gets in
        code, out, _ = run(capsys, "rejects", "--json")
        assert code == 0 and json.loads(out)[0]["raw"] == BAD_LINE
        assert con.execute("SELECT count(*) FROM lastfm_dump").fetchone()[0] == 1


def test_a_writer_meeting_another_writer_gets_one_line(writer_elsewhere, capsys):
    code, _, err = run(capsys, "publish")
    assert code == 2 and one_line_error(err) == ("musim: error: the warehouse is being written by another process "
                                                 f"(pid {writer_elsewhere.pid}); try again when it finishes\n")


def test_similar_k_in_the_library_is_a_musim_error(hostile):
    import numpy as np

    from musim.errors import ParameterError
    from musim.similarity.query import similar_artists

    con = sandbox.open_sandbox(hostile.snapshot)
    try:
        for bad in (0, -1, 2.5, True):
            with pytest.raises(ParameterError, match="k must be a whole number"):
                similar_artists(con, RED, k=bad)
        assert len(similar_artists(con, RED, k=np.int64(2))[1]) == 2
    finally:
        con.close()
