"""``musim sql`` as a sandbox, one-line errors, readers without the writer's lock, hostile names on screen; what
``musim similar`` says of its answer (dump, metric, k, shared names, why no neighbours)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from musim import sandbox
from musim.cli import main
from tests.cli.conftest import BAD_LINE, BELL, BIDI, LONG, NUL, RED
from tests.cli_output import run
from tests.test_sandbox import GONE_WITHIN_S, LONG_CALL, in_session, worker_of

# Anything a terminal would act on: C0 controls but the line feed, DEL, C1, bidi and other format controls.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


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
    assert code == 0 and json.loads(out)["rows"][0]["n"] > 30


@pytest.mark.parametrize(("statement", "kind"), [
    ("SELEC name FROM artist", "the query does not parse: Parser Error: syntax error"),
    ("SELECT * FROM no_such_table", "the query failed: Catalog Error: Table with name no_such_table does not "
                                     'exist! (list the tables with `musim sql "SHOW TABLES"`'),
    ("SELECT nope FROM artist", "the query failed: Binder Error"),
    ("SELECT 1/0::INTEGER + 'x'::INTEGER", "the query failed: Conversion Error"),
    ("-- only a comment", "the query is empty"),  # "" or "   ": refused by argparse (tests/cli/test_options.py)
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
        assert column in json.loads(out)["rows"][0]
    code, out, _ = run(capsys, "sql", "SELECT value FROM duckdb_settings() WHERE name = 'enable_external_access'",
                       "--json")
    assert json.loads(out)["rows"] == [{"value": "false"}]


def test_row_limit_and_flag(hostile, capsys):
    code, out, err = run(capsys, "sql", "SELECT range AS i FROM range(5000)", "--json")
    assert code == 0 and len(json.loads(out)["rows"]) == sandbox.DEFAULT_MAX_ROWS and "raise --limit" in err
    code, out, err = run(capsys, "sql", "SELECT range AS i FROM range(5000) ORDER BY i DESC", "--json", "--limit", "7")
    assert [r["i"] for r in json.loads(out)["rows"]] == [4999, 4998, 4997, 4996, 4995, 4994, 4993]
    code, out, err = run(capsys, "sql", "SELECT range AS i FROM range(5000)", "--json", "--limit", "0")
    assert len(json.loads(out)["rows"]) == 5000 and "raise --limit" not in err
    code, out, err = run(capsys, "sql", "SELECT range AS i FROM range(5)", "--limit", "5")
    assert code == 0 and "(5 rows)" in err and "raise --limit" not in err


def test_sql_json_loses_nothing(hostile, capsys):
    """`musim sql --json` collapsed repeated column names (`SELECT 1 AS a, 2 AS a` gave [{"a": 2}]), printed NaN and
    the infinities as null (as SQL NULL prints), and said only on stderr that rows were cut off."""
    code, out, _ = run(capsys, "sql", "SELECT 1 AS a, 2 AS a, 3 AS a_1, NULL AS n, 'nan'::DOUBLE AS x, "
                                      "'inf'::DOUBLE AS y, ['-inf'::DOUBLE, 0.5] AS z", "--json")
    answer = json.loads(out)
    assert code == 0 and answer["columns"] == ["a", "a_2", "a_1", "n", "x", "y", "z"]
    assert answer["rows"] == [{"a": 1, "a_2": 2, "a_1": 3, "n": None, "x": "NaN", "y": "Infinity",
                               "z": ["-Infinity", 0.5]}]
    assert (answer["truncated"], answer["limit"]) == (False, sandbox.DEFAULT_MAX_ROWS)
    code, out, _ = run(capsys, "sql", "SELECT range AS i FROM range(10)", "--json", "--limit", "3")
    answer = json.loads(out)
    assert code == 0 and (len(answer["rows"]), answer["truncated"], answer["limit"]) == (3, True, 3)
    code, out, _ = run(capsys, "sql", "SELECT range AS i FROM range(10)", "--json", "--limit", "0")
    answer = json.loads(out)
    assert code == 0 and (len(answer["rows"]), answer["truncated"], answer["limit"]) == (10, False, None)


def test_time_limit_stops_a_runaway_query(hostile, capsys):
    forever = "SELECT count(*) FROM range(2000000) a, range(2000000) b WHERE a.range + b.range = 7"
    code, _, err = run(capsys, "sql", forever, "--timeout", "0.3")
    assert code == 2 and "ran longer than 0.3 s and was stopped" in one_line_error(err) and "--timeout" in err


def _long_call(*args: str) -> subprocess.Popen:
    """``musim sql`` of one call that runs for minutes (:data:`tests.test_sandbox.LONG_CALL`), in a session of its
    own, Ctrl-C doing what it does at a terminal."""
    return subprocess.Popen([sys.executable, "-m", "musim.cli", "sql", LONG_CALL, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=GONE_WITHIN_S)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert in_session(proc.pid) == []  # the query's worker went with it
    return proc.returncode, out, err


def test_time_limit_stops_a_single_long_call(hostile):
    """`--timeout 2` let `levenshtein` on two 60,000-character strings run 19 s: DuckDB's interrupt is not looked
    at inside one call. Now the same line and status, and nothing left running or spilled."""
    code, out, err = _finish(_long_call("--timeout", "0.5"))
    assert code == 2 and out == ""
    assert "ran longer than 0.5 s and was stopped" in one_line_error(err) and "--timeout" in err
    assert not list((hostile.path / "tmp").glob("duckdb-sandbox-*"))


def test_ctrl_c_stops_a_single_long_call(hostile):
    """Ctrl-C waited for the call to end (minutes); now `musim: interrupted` and 130 at once, the worker gone."""
    proc = _long_call("--timeout", "0")
    worker_of(proc)  # its query is under way (or, if there is no worker, given the time to start)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does: the whole foreground group
    code, out, err = _finish(proc)
    assert (code, out, err) == (130, "", "musim: interrupted\n")
    assert not list((hostile.path / "tmp").glob("duckdb-sandbox-*"))


def test_no_time_limit_still_answers(hostile, capsys):
    code, out, _ = run(capsys, "sql", "SELECT 42 AS x", "--timeout", "0", "--json")
    assert code == 0 and json.loads(out)["rows"] == [{"x": 42}]


def test_similar_k_is_checked_by_argparse(hostile, capsys):
    for bad in ("0", "-3", "10000000000000", "ten"):
        with pytest.raises(SystemExit) as stop:
            main(["similar", "x", "--k", bad])
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert "argument --k" in err and "Traceback" not in err


def test_similar_refuses_an_overlong_name_by_argparse(hostile, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["similar", "(" * 5000 + ")" * 5000])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "10,000 characters long" in err and "at most 300" in err and "Traceback" not in err


def test_an_overlong_name_says_how_to_ask_for_an_artist_with_a_longer_stored_name(tmp_path, capsys):
    """The refusal said only "at most 300": an artist whose stored name is longer could not be asked for, and the
    line did not say that `--id N` does it, nor how to find N."""
    from tests.lastfm_files import write_lines

    long_name = "Long " * 70  # 350 characters, as a dump may hold
    dump = write_lines(tmp_path / "plays.tsv", [f"{u:040x}\t\t{name}\t3" for name in (long_name.strip(), "Other")
                                                for u in range(3)])
    assert run(capsys, "ingest", "lastfm", str(dump))[0] == 0
    _build(capsys, "--min-listeners", "1", "--min-co-listeners", "1", "--skip-quality")
    with pytest.raises(SystemExit) as stop:
        main(["similar", long_name.strip()])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "Traceback" not in err
    err = err.splitlines()[-1]  # argparse's usage, then its one error line
    asked = re.search(r'`--id N` \(`musim sql "(.+?)"`\)', err)
    assert asked and "`--mbid MBID`" in err, err
    code, out, _ = run(capsys, "sql", asked.group(1), "--json")
    assert code == 0, out
    (row,) = json.loads(out)["rows"]
    code, out, err = run(capsys, "similar", "--id", str(row["artist_id"]), "--json")
    assert code == 0 and json.loads(out)["rows"][0]["artist"] == "Other", (out, err)


def test_similar_escapes_hostile_names_and_cuts_long_ones(hostile, capsys):
    code, out, err = run(capsys, "similar", RED, "--k", "10")
    assert code == 0, err
    assert not UNSAFE.search(out)
    assert "\\x1b[31mRed Alert\\x1b[0m" in out  # the title, escaped
    for shown in ("Evil\\u202eReversed", "Nul\\x00Band", "Bell\\x07Del\\x7fC1\\x9b", "L" * 50 + "…"):
        assert shown in out
    assert max(len(line) for line in out.splitlines()) < 150  # the 5,000-character name is cut

    code, out, _ = run(capsys, "similar", RED, "--k", "10", "--json")
    names = {r["artist"] for r in json.loads(out)["rows"]}
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


def test_ingest_escapes_hostile_file_names(tmp_path, capsys):
    """The ingest's summary printed the dump's and the profiles file's names raw: ESC, BEL and OSC sequences in a
    file name (a landed dump's) drove the terminal."""
    from tests.lastfm_files import tiny_dump, write_lines

    plays = tiny_dump(tmp_path / f"plays{RED}.tsv")
    profiles = write_lines(tmp_path / "prof\x1b]0;pwned\x07.tsv", [f"{'e' * 40}\tm\t22\tSweden\tFeb 1, 2007"])
    assert run(capsys, "ingest", "lastfm", str(plays), "--format", "360k")[0] == 0
    code, out, err = run(capsys, "ingest", "lastfm", str(plays), "--format", "360k", "--profiles", str(profiles))
    assert code == 0, err
    assert "already ingested" in out and "only 0 of its 1 profiles" in out  # the lines that name the files
    assert not UNSAFE.search(out.replace("\n", "")), out
    assert "plays\\x1b[31mRed Alert\\x1b[0m.tsv" in out and "prof\\x1b]0;pwned\\x07.tsv" in out


def test_sql_table_is_escaped(hostile, capsys):
    code, out, _ = run(capsys, "sql", "SELECT name FROM artist ORDER BY name")
    assert code == 0 and not UNSAFE.search(out) and "Nul\\x00Band" in out
    code, out, _ = run(capsys, "sql", "SELECT name FROM artist ORDER BY name", "--json")
    assert NUL in {r["name"] for r in json.loads(out)["rows"]}


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


def test_a_writer_meeting_another_writer_gets_one_line(writer_elsewhere, capsys, monkeypatch):
    monkeypatch.setenv("MUSIM_WAREHOUSE_LOCK_WAIT_S", "0.3")
    code, _, err = run(capsys, "publish")
    assert code == 2 and err.splitlines()[-1] == (
        f"musim: error: the warehouse {writer_elsewhere.args[-1]} is held by pid {writer_elsewhere.pid} (reading or "
        "writing); try again when it finishes (a writer waits MUSIM_WAREHOUSE_LOCK_WAIT_S); query the published "
        "snapshot from DuckDB, never the warehouse")


def test_similar_k_in_the_library_is_a_musim_error(hostile):
    import numpy as np

    from musim.errors import ParameterError
    from musim.similarity.query import similar_artists

    con = sandbox.open_sandbox(hostile.snapshot)
    try:
        for bad in (0, -1, 2.5, True):
            with pytest.raises(ParameterError, match="k must be a whole number"):
                similar_artists(con, RED, k=bad)
        assert len(similar_artists(con, RED, k=np.int64(2)).neighbors) == 2
    finally:
        con.close()


def _similar_dump(tmp_path):
    """Artist A (4 listeners), B (3), C (2), D (1, whose listener plays nothing else named), two artists named
    "Same Name" of different MBIDs (2 listeners each, A's and B's) and the placeholder [unknown]."""
    from tests.lastfm_files import write_lines

    mbid = {a: f"{d * 8}-{d * 4}-4{d * 3}-8{d * 3}-{d * 12}" for a, d in zip("ABCDEF", "123456", strict=True)}
    plays = {("A", "Artist A"): [0, 1, 2, 3], ("B", "Artist B"): [0, 1, 2], ("C", "Artist C"): [0, 4],
             ("D", "Artist D"): [5], ("E", "Same Name"): [0, 1], ("F", "Same Name"): [2, 3], (None, "[unknown]"): [5, 6]}
    return write_lines(tmp_path / "plays.tsv", [f"{u:040x}\t{mbid.get(a, '') if a else ''}\t{name}\t3"
                                                 for (a, name), users in plays.items() for u in users])


def _build(capsys, *params: str) -> str:
    code, out, err = run(capsys, "similarity", "build", "--json", *params)
    assert code == 0, err
    return json.loads(out)["dump_id"]


def test_similar_names_the_dump_metric_and_k_that_answered(tmp_path, capsys):
    """The title and --json (a bare list) named neither the dump, the metric nor the build's k, and --k 50 on a
    build with k=2 silently showed 2 rows."""
    assert run(capsys, "ingest", "lastfm", str(_similar_dump(tmp_path)))[0] == 0
    dump = _build(capsys, "--min-listeners", "1", "--min-co-listeners", "1", "--k", "2")
    code, out, err = run(capsys, "similar", "artist a", "--metric", "jaccard", "--json")
    answer = json.loads(out)
    assert code == 0 and (answer["dump_id"], answer["metric"], answer["k"], answer["build_k"]) == (dump, "jaccard", 10, 2)
    assert (answer["artist"], [r["rank"] for r in answer["rows"]], answer["reason"]) == ("Artist A", [1, 2], None)
    assert {"artist", "artist_id", "mbid", "score", "co_listeners", "listeners"} <= answer["rows"][0].keys()
    assert err == (f"the build of dump {dump[:12]} keeps 2 neighbours per artist and metric: 2 shown, not 10 (for more: "
                   f"musim similarity build --dump {dump[:12]} --min-listeners 1 --min-co-listeners 1 --k 5)\n")
    # (6 compared artists: 5 others at most; the build's own thresholds: the defaults compare no artist here)
    code, out, err = run(capsys, "similar", "Artist A", "--k", "1000000")
    assert code == 0 and f"--dump {dump[:12]} --min-listeners 1 --min-co-listeners 1 --k 5)" in err
    assert "1000000" not in err.split("not 1000000")[1]
    code, out, err = run(capsys, "similar", "Artist A", "--k", "2")
    assert code == 0 and err == "" and f"artists most similar to Artist A (seed, dump {dump[:12]}, build k=2)" in out
    code, out, err = run(capsys, "similar", "Artist A", "--k", "50")
    assert code == 0 and "2 shown, not 50" in err and len(out.strip().splitlines()) == 5  # title, header, rule, 2


def test_a_build_keeping_every_other_compared_artist_suggests_no_rebuild(tmp_path, capsys):
    assert run(capsys, "ingest", "lastfm", str(_similar_dump(tmp_path)))[0] == 0
    _build(capsys, "--min-listeners", "2", "--min-co-listeners", "1", "--k", "4")  # A, B, C, 2 x Same Name
    code, out, err = run(capsys, "similar", "Artist A", "--k", "50")  # all 4 other compared artists: nothing cut
    assert code == 0 and err == "" and len(out.strip().splitlines()) == 3 + 4


def test_a_larger_k_is_noted_only_where_the_build_cut_the_artists_list(tmp_path, capsys):
    """An artist with exactly the build's k neighbours was told "2 shown, not 10 (for more: musim similarity build
    ... --k 5)", though a rebuild shows it no more: the note is for a list the build's k cut."""
    assert run(capsys, "ingest", "lastfm", str(_similar_dump(tmp_path)))[0] == 0
    dump = _build(capsys, "--min-listeners", "1", "--min-co-listeners", "1", "--k", "2")
    same_name = json.loads(run(capsys, "similar", "same name", "--json")[1])["namesakes"]
    second = same_name[1]["artist_id"]  # listened by users 2 and 3: co-listened with Artist A and B only
    code, out, err = run(capsys, "similar", "--id", str(second), "--k", "10", "--json")
    assert code == 0 and err == "" and [r["artist"] for r in json.loads(out)["rows"]] == ["Artist A", "Artist B"]
    code, out, err = run(capsys, "similar", "Artist A", "--k", "10")  # 4 co-listened artists, 2 kept
    assert code == 0 and "2 shown, not 10" in err
    rebuild = err.split("(for more: ")[1].rstrip(")\n")
    assert rebuild == f"musim similarity build --dump {dump[:12]} --min-listeners 1 --min-co-listeners 1 --k 5"
    assert run(capsys, *shlex.split(rebuild)[1:])[0] == 0  # the suggestion is the same build with a larger k
    code, out, err = run(capsys, "similar", "Artist A", "--k", "10", "--json")
    assert code == 0 and err == "" and len(json.loads(out)["rows"]) == 4


def test_a_rebuild_suggestion_keeps_the_builds_catalogue_size(tmp_path, capsys):
    assert run(capsys, "ingest", "lastfm", str(_similar_dump(tmp_path)))[0] == 0
    dump = _build(capsys, "--min-listeners", "1", "--min-co-listeners", "1", "--k", "2", "--catalogue-size", "3")
    code, _, err = run(capsys, "similar", "Artist A", "--k", "3")
    assert code == 0 and err.endswith(f"(for more: musim similarity build --dump {dump[:12]} --min-listeners 1 "
                                      "--min-co-listeners 1 --catalogue-size 3 --k 3)\n")


def test_the_commands_an_answer_suggests_ask_for_the_same_artist(tmp_path, capsys):
    """Pointed at an older served dump, an artist sharing its name was asked for by the name (which answers for
    the most listened of them: another artist), and a name starting with a dash was put where argparse reads
    options (`musim similar -M- --dump X`: "unrecognized arguments: -M-")."""
    from tests.lastfm_files import write_lines

    first_file = _similar_dump(tmp_path)
    with first_file.open("a", encoding="utf-8") as fh:
        fh.writelines(f"{u:040x}\t\t-M-\t3\n" for u in (0, 1))
    assert run(capsys, "ingest", "lastfm", str(first_file))[0] == 0
    first = _build(capsys, "--min-listeners", "1", "--min-co-listeners", "1", "--k", "5")
    namesakes = json.loads(run(capsys, "similar", "same name", "--json")[1])["namesakes"]
    second_id = namesakes[1]["artist_id"]  # 2 listeners, as the first: the name answers for the lower id
    second_file = write_lines(tmp_path / "plays2.tsv", [f"{u:040x}\t\t{name}\t2" for name, users in
                                                       (("Artist A", [0, 1, 2]), ("Artist B", [1, 2])) for u in users])
    assert run(capsys, "ingest", "lastfm", str(second_file))[0] == 0
    second = _build(capsys, "--min-listeners", "1", "--min-co-listeners", "1", "--k", "5")
    for asked, artist_id, name in [(["--id", str(second_id)], second_id, "Same Name"), (["--", "-M-"], None, "-M-")]:
        code, out, err = run(capsys, "similar", *asked)
        assert code == 0 and out == "" and f"{name} has no listeners in dump {second[:12]}" in err, err
        pointed = err.split("where it has 2 listeners: ")[1].split(";")[0]
        by_sound = err.split("; by sound: ")[1].rstrip("\n")
        assert shlex.split(pointed)[:2] == ["musim", "similar"]
        code, out, err = run(capsys, "similar", "--json", *shlex.split(pointed)[2:])
        answer = json.loads(out)
        assert code == 0 and answer["dump_id"] == first and answer["rows"], (pointed, err)
        assert answer["artist_id"] == artist_id if artist_id else answer["artist"] == name
        assert shlex.split(by_sound)[:2] == ["musim", "similar"] and "--audio" in by_sound
        if artist_id:
            assert shlex.split(by_sound)[2:] == ["--id", str(artist_id), "--audio"]
        else:
            assert shlex.split(by_sound)[2:] == ["--audio", "--", "-M-"]
    # neither namesake has listeners in the latest dump, nor tracks: the lowest id answers, and the note says so
    code, _, err = run(capsys, "similar", "Same Name")
    assert code == 0 and (f"this answer is for id {namesakes[0]['artist_id']}, the lowest id: none has listeners in "
                          "the dump or tracks;") in err


def test_an_artist_only_in_an_older_served_dump_is_pointed_there(tmp_path, capsys):
    """Artist C listened to in the first dump only: asked without --dump (the latest) the answer said it has no
    listeners and suggested sound, though the snapshot serves the first dump where it has neighbours."""
    from tests.lastfm_files import write_lines

    assert run(capsys, "ingest", "lastfm", str(_similar_dump(tmp_path)))[0] == 0
    first = _build(capsys, "--min-listeners", "1", "--min-co-listeners", "1", "--k", "5")
    second_file = write_lines(tmp_path / "plays2.tsv", [f"{u:040x}\t\t{name}\t2" for name, users in
                                                       (("Artist A", [0, 1, 2]), ("Artist B", [1, 2])) for u in users])
    assert run(capsys, "ingest", "lastfm", str(second_file))[0] == 0
    second = _build(capsys, "--min-listeners", "1", "--min-co-listeners", "1", "--k", "5")
    assert second != first
    code, out, err = run(capsys, "similar", "Artist C")
    assert code == 0 and f"Artist C has no listeners in dump {second[:12]}" in err
    assert f"the snapshot also serves dump {first[:12]}, where it has 2 listeners: musim similar 'Artist C' --dump " \
           f"{first[:12]}" in err
    code, out, err = run(capsys, "similar", "Artist C", "--dump", first[:12], "--json")
    assert code == 0 and json.loads(out)["rows"]


def test_artists_sharing_a_name_are_asked_for_by_id_or_mbid(tmp_path, capsys):
    """Of two artists named "Same Name" only the first could be asked for, and nothing said there was another."""
    assert run(capsys, "ingest", "lastfm", str(_similar_dump(tmp_path)))[0] == 0
    _build(capsys, "--min-listeners", "1", "--min-co-listeners", "1", "--k", "5")
    code, out, err = run(capsys, "similar", "same name", "--json")
    first = json.loads(out)
    ids = [n["artist_id"] for n in first["namesakes"]]
    assert code == 0 and len(ids) == 2 and first["artist_id"] == ids[0]
    assert [n["mbid"] for n in first["namesakes"]] == ["55555555-5555-4555-8555-555555555555",
                                                       "66666666-6666-4666-8666-666666666666"]
    assert (f"2 artists are named 'Same Name'; this answer is for id {ids[0]}, the most listened; the other: id "
            f"{ids[1]} (MBID 66666666-6666-4666-8666-666666666666, 2 listeners). Ask for another with --id N or "
            "--mbid MBID") in err
    second = json.loads(run(capsys, "similar", "--id", str(ids[1]), "--json")[1])
    by_mbid = json.loads(run(capsys, "similar", "--mbid", "66666666-6666-4666-8666-666666666666", "--json")[1])
    assert second == by_mbid and second["artist_id"] == ids[1] and second["rows"] != first["rows"]
    assert [r["artist"] for r in second["rows"]] == ["Artist A", "Artist B"]  # its listeners are A's third and fourth
    code, out, err = run(capsys, "similar", "--id", str(ids[1]))
    assert code == 0 and err == ""  # asked for by id: no note of the other
    assert f"artists most similar to Same Name (id {ids[1]}, MBID 66666666-6666-4666-8666-666666666666)" in out
    code, out, _ = run(capsys, "similar", "Artist A")  # a neighbour's shared name shows its id
    assert f"Same Name (id {ids[0]})" in out and f"Same Name (id {ids[1]})" in out
    for argv, says in [(["--id", "999"], "no artist has the id 999 in the published snapshot"),
                       (["--mbid", "77777777-7777-4777-8777-777777777777"], "no artist has the MBID 7777"),
                       (["--mbid", "not-one"], "'not-one' is not an MBID"),
                       (["x", "--id", "1"], "give the artist as NAME, --id N or --mbid MBID (one of them), not NAME and "
                                            "--id together"),
                       ([], "give the artist as NAME, --id N or --mbid MBID")]:
        code, _, err = run(capsys, "similar", *argv)
        assert code == 2 and says in one_line_error(err), (argv, err)


def test_an_artist_without_neighbours_is_told_why(tmp_path, capsys):
    """Every such artist was "too few or no listeners": the placeholder [unknown] (never compared) and Artist D,
    an eligible artist whose one listener co-listens with no one, too."""
    assert run(capsys, "ingest", "lastfm", str(_similar_dump(tmp_path)))[0] == 0
    dump = _build(capsys, "--min-listeners", "1", "--min-co-listeners", "1")[:12]
    code, out, err = run(capsys, "similar", "[unknown]")
    assert (code, out) == (0, "") and err == ("[unknown] is a placeholder name (Last.FM's for plays of an unknown "
                                              "artist, or of many): it is never compared with other artists\n")
    code, out, err = run(capsys, "similar", "artist d")
    assert (code, out) == (0, "") and err == (f"Artist D has 1 listener in dump {dump} but shares its listener with no "
                                              "other compared artist (>= 1 listeners): it has no co-listened artist; "
                                              "by sound: musim similar 'Artist D' --audio\n")
    dump = _build(capsys, "--min-listeners", "3", "--min-co-listeners", "2")[:12]
    code, out, err = run(capsys, "similar", "artist c", "--json")
    assert json.loads(out)["reason"] == (f"Artist C has 2 listeners in dump {dump}, fewer than the build's "
                                         "min_listeners=3: it was not compared with other artists")
    assert err.startswith(json.loads(out)["reason"] + "; by sound: ")


def test_a_name_that_cannot_be_typed_is_suggested_by_id(tmp_path, capsys):
    """The hint of an artist without neighbours repeated its name: 400 characters, which `musim similar` refuses
    (at most 300), or one shown escaped (a bidi override), which a copy of the hint does not give back."""
    from tests.lastfm_files import write_lines

    long, bidi = "L" * 400, "Evil\u202eReversed"
    plays = write_lines(tmp_path / "plays.tsv", [f"{u:040x}\t\t{name}\t3" for name, users in
                                                 (("Artist A", [0, 1]), ("Artist B", [0, 1]), (long, [2]), (bidi, [3]))
                                                 for u in users])
    assert run(capsys, "ingest", "lastfm", str(plays))[0] == 0
    _build(capsys, "--min-listeners", "1", "--min-co-listeners", "1")
    for name in (long, bidi):
        found = json.loads(run(capsys, "sql", "--json", f"SELECT artist_id FROM artist WHERE name = '{name}'")[1])
        artist_id = found["rows"][0]["artist_id"]
        code, out, err = run(capsys, "similar", "--id", str(artist_id))
        assert code == 0 and out == "" and err.endswith(f"; by sound: musim similar --id {artist_id} --audio\n"), err
    code, out, err = run(capsys, "similar", "Artist A", "--k", "5")
    assert code == 0 and err == ""


def test_dropping_a_build_says_whether_the_current_snapshot_serves_it(tmp_path, capsys):
    """A build made with --no-publish, never served, was dropped with "the current snapshot serves it until then"."""
    assert run(capsys, "ingest", "lastfm", str(_similar_dump(tmp_path)))[0] == 0
    dump = _build(capsys, "--min-listeners", "1", "--min-co-listeners", "1", "--no-publish")[:12]
    code, out, err = run(capsys, "similarity", "drop", "--dump", dump)
    assert (code, err) == (0, "") and out == (f"dropped the similarity build of dump {dump}; the current snapshot does "
                                              "not serve it\n")
    _build(capsys, "--min-listeners", "1", "--min-co-listeners", "1", "--skip-quality")  # published
    code, out, err = run(capsys, "similarity", "drop", "--dump", dump)
    assert (code, err) == (0, "") and out == (f"dropped the similarity build of dump {dump}; the next `musim publish` "
                                              "leaves it out (the current snapshot serves it until then)\n")
    assert run(capsys, "similar", "Artist A")[0] == 0  # as it says
    assert run(capsys, "publish")[0] == 0
    code, _, err = run(capsys, "similar", "Artist A")
    assert code == 2 and "the published snapshot has no similarity build yet" in one_line_error(err)


def test_skip_quality_publishes_its_build_but_not_another_dumps_failed_one(tmp_path, capsys):
    """`similarity build --skip-quality` published with force: another dump's build that had failed its quality
    check, which `musim publish` refused, was served with it, unannounced."""
    from musim import warehouse
    from musim.errors import QualityError
    from musim.quality import gate
    from tests.lastfm_files import write_lines

    assert run(capsys, "ingest", "lastfm", str(_similar_dump(tmp_path)))[0] == 0
    bad = _build(capsys, "--min-listeners", "1", "--min-co-listeners", "1", "--no-publish")
    with warehouse.writer() as con:  # the build's rows broken after it was made: its check fails
        con.execute("UPDATE artist_pair_counts SET co_listeners = 0 WHERE artist_a = (SELECT min(artist_a) FROM "
                    "artist_pair_counts)")
        with pytest.raises(QualityError):
            gate(["similarity"], dump_id=bad, con=con)
    second_file = write_lines(tmp_path / "plays2.tsv", [f"{u:040x}\t\t{name}\t2" for name, users in
                                                       (("Artist A", [0, 1, 2]), ("Artist B", [1, 2])) for u in users])
    assert run(capsys, "ingest", "lastfm", str(second_file))[0] == 0
    code, out, err = run(capsys, "similarity", "build", "--min-listeners", "1", "--min-co-listeners", "1",
                         "--skip-quality")
    assert code == 2 and f"the similarity build of dump {bad[:12]} failed its quality check" in one_line_error(err)
    assert "nothing was published" in err and _served() == []
    assert run(capsys, "similarity", "drop", "--dump", bad[:12])[0] == 0  # the way out it names
    code, out, err = run(capsys, "similarity", "build", "--min-listeners", "1", "--min-co-listeners", "1",
                         "--skip-quality", "--json")
    assert code == 0 and json.loads(out)["served"] and _served() == [json.loads(out)["dump_id"]]


def test_a_dump_that_failed_its_ingest_check_is_not_built(tmp_path, capsys, monkeypatch):
    """After `musim quality check` failed a dump's lastfm_plays, `musim similarity build` built and published it
    anyway: only the lastfm_ingest DAG kept such a dump out."""
    path = _similar_dump(tmp_path)
    path.write_text(path.read_text() + "not a play line\n")  # 1 rejected line of 17: over the 1% allowed
    assert run(capsys, "ingest", "lastfm", str(path))[0] == 0
    params = ["--min-listeners", "1", "--min-co-listeners", "1"]
    assert _build(capsys, *params, "--no-publish")  # never checked: built (the CLI's ingest runs no check)
    code, out, _ = run(capsys, "quality", "check", "--json")
    run_id = json.loads(out)["run_id"]
    dump = json.loads(run(capsys, "dumps", "--json")[1])[0]["dump_id"][:12]
    assert code == 2 and _served() == []
    for extra in ([], ["--no-publish"], ["--skip-quality"]):
        code, out, err = run(capsys, "similarity", "build", *params, *extra)
        assert code == 2 and out == "" and one_line_error(err) == (
            f"musim: error: dump {dump} failed its ingest quality check: lastfm_plays (run {run_id}) (`musim quality "
            f"report --run {run_id}`); nothing was built or published and the previous snapshot keeps serving. Fix "
            f"the cause and check it again (`musim quality check --dataset lastfm_plays --dump {dump}`), then build; "
            f"or build it anyway (`musim similarity build --dump {dump} --force`)\n")
    assert _served() == []
    monkeypatch.setenv("MUSIM_QUALITY_MAX_REJECT_SHARE", "0.1")  # the rejects are acceptable: checked again
    assert run(capsys, "quality", "check", "--dataset", "lastfm_plays", "--dump", dump)[0] == 0
    assert _build(capsys, *params) and _served() != []
    monkeypatch.delenv("MUSIM_QUALITY_MAX_REJECT_SHARE")  # failed again, then built anyway, as the line says
    assert run(capsys, "quality", "check", "--dataset", "lastfm_plays", "--dump", dump)[0] == 2
    assert run(capsys, "similarity", "build", *params, "--force", "--no-publish")[0] == 0


def _served() -> list[str]:
    """The dumps the current snapshot serves a similarity build of ([] when nothing is published)."""
    from musim import serving
    from musim.errors import NotFoundError

    try:
        snap = serving.open_snapshot()
    except NotFoundError:
        return []
    with snap:
        return [r[0] for r in snap.execute("SELECT dump_id FROM similarity_build").fetchall()]


def test_an_artist_with_fewer_listeners_than_a_pair_needs_is_told_so(tmp_path, capsys):
    """Artist D (1 listener) under min_co_listeners=2 was said to share "2 or more of its listeners" with no one."""
    assert run(capsys, "ingest", "lastfm", str(_similar_dump(tmp_path)))[0] == 0
    dump = _build(capsys, "--min-listeners", "1", "--min-co-listeners", "2")[:12]
    code, out, err = run(capsys, "similar", "artist d", "--json")
    assert code == 0 and json.loads(out)["reason"] == (f"Artist D has 1 listener in dump {dump}, fewer than the "
                                                       "build's min_co_listeners=2 that a pair needs: it has no "
                                                       "co-listened artist")
    code, out, err = run(capsys, "similar", "artist c", "--json")  # 2 listeners, sharing 2 with none: as it was
    assert code == 0 and json.loads(out)["reason"].startswith(f"Artist C has 2 listeners in dump {dump} but shares 2 "
                                                              "or more of its listeners")


def test_building_a_dump_again_with_the_same_parameters_is_a_no_op(tmp_path, capsys, musim_home):
    """A rerun of the same night rebuilt, re-checked and republished the same build."""
    import shutil

    from musim import warehouse

    def state():
        with warehouse.writer() as con:
            return con.execute("SELECT (SELECT built_at FROM similarity_build), "
                               "(SELECT count(*) FROM quality_result)").fetchone()

    def snapshots():
        return sorted(p.name for p in (musim_home / "serving" / "snapshots").glob("snapshot-*.duckdb"))

    assert run(capsys, "ingest", "lastfm", str(_similar_dump(tmp_path)))[0] == 0
    params = ["--min-listeners", "1", "--min-co-listeners", "1", "--k", "2"]
    code, out, _ = run(capsys, "similarity", "build", *params)
    assert code == 0 and "published" in out
    built, published = state(), snapshots()
    code, out, err = run(capsys, "similarity", "build", *params)
    dump = json.loads(run(capsys, "dumps", "--json")[1])[0]["dump_id"]
    assert code == 0 and err == "" and len(out.strip().splitlines()) == 1
    assert f"dump {dump[:12]} already has a similarity build with these parameters" in out
    assert "quality check q" in out and "--force rebuilds it" in out and "published" not in out
    assert state() == built and snapshots() == published  # not rebuilt, checked or published again
    code, out, _ = run(capsys, "similarity", "build", "--json", *params, "--catalogue-size", "500")
    answer = json.loads(out)
    assert code == 0 and answer["built_before"] and answer["published"] is None and answer["check_run"]

    shutil.rmtree(musim_home / "serving")  # the publish after the build never happened (killed, deleted)
    code, out, _ = run(capsys, "similarity", "build", *params)
    assert code == 0 and "already has a similarity build" in out and "; published " in out
    assert state() == built and len(snapshots()) == 1

    for again in (["--force"], ["--k", "3"]):  # forced, or other parameters: built, checked and published
        code, out, _ = run(capsys, "similarity", "build", *params, *again)
        assert code == 0 and "already" not in out and "published" in out
        assert state()[0] > built[0] and state()[1] > built[1]
        built = state()


@pytest.mark.parametrize("command", [["publish", "--force"],
                                     ["similarity", "build", "--min-listeners", "1", "--min-co-listeners", "1",
                                      "--skip-quality"]])
def test_publish_moves_the_online_lookup_a_failed_models_publish_left_behind(command, tmp_path, monkeypatch, capsys):
    """`musim models publish` whose snapshot failed (a full disk) leaves its rows committed and the online lookup on
    the previous version, and says `musim publish` finishes the job: it did publish, but left the lookup behind
    until the next `models publish`."""
    import numpy as np

    from musim import serving, warehouse
    from musim.errors import StorageError
    from musim.features import lookup
    from musim.ingest.lastfm import ingest_lastfm
    from musim.models.serve import publish_neighbors
    from tests.lastfm_files import tiny_dump
    from tests.models.test_serve import FULL_DISK, _add_tracks, _artist_vector, _data

    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))  # a dump for `similarity build`, whose publish did not move it
    emb, owner = _data(2)
    ids = [f"x{i}" for i in range(owner.size)]
    real = serving.publish

    def disk_full(con, settings=None, **kw):
        raise duckdb.IOException(FULL_DISK)

    with warehouse.writer() as con:
        _add_tracks(con, owner)
        publish_neighbors(con, "autoencoder", "autoencoder-1", ids, emb, k=2, snapshot=True)
        monkeypatch.setattr(serving, "publish", disk_full)
        with pytest.raises(StorageError):
            publish_neighbors(con, "autoencoder", "autoencoder-2", ids, emb * 2, k=2, snapshot=True)
    monkeypatch.setattr(serving, "publish", real)
    np.testing.assert_allclose(lookup("artist_autoencoder_embedding", 9, refresh_s=0),
                               _artist_vector(emb, owner, 9), rtol=1e-5)
    assert main(command) == 0
    np.testing.assert_allclose(lookup("artist_autoencoder_embedding", 9, refresh_s=0),
                               _artist_vector(emb * 2, owner, 9), rtol=1e-5)
    with serving.open_snapshot() as snap:
        assert snap.execute("SELECT DISTINCT model_version FROM artist_neighbors_audio").fetchall() == [("autoencoder-2",)]


def test_a_build_made_by_other_code_is_rebuilt_and_dumps_shows_its_code(tmp_path, capsys, monkeypatch):
    """After an upgrade the same build stood (the no-op compared parameters only); now the build says which code
    made the one it replaces, and `musim dumps` shows the fingerprint of the code of each dump's build."""
    from musim.similarity import fingerprint

    assert run(capsys, "ingest", "lastfm", str(_similar_dump(tmp_path)))[0] == 0
    code, out, _ = run(capsys, "dumps")
    assert code == 0 and "similarity_code" in out and fingerprint.code_fingerprint()[:12] not in out  # no build
    params = ["--min-listeners", "1", "--min-co-listeners", "1", "--k", "2", "--no-publish"]
    today = fingerprint.code_fingerprint()
    assert run(capsys, "similarity", "build", *params)[0] == 0
    dumps = json.loads(run(capsys, "dumps", "--json")[1])
    assert dumps[0]["similarity_code"] == today and dumps[0]["similarity_built_at"]
    assert today[:12] in run(capsys, "dumps")[1]
    code, out, _ = run(capsys, "similarity", "build", *params)
    assert code == 0 and "already has a similarity build" in out and f"(fingerprint {today[:12]})" in out

    monkeypatch.setattr(fingerprint, "code_fingerprint", lambda: "0123456789ab" + "c" * 52)
    code, out, _ = run(capsys, "similarity", "build", *params)
    first, *rest = out.splitlines()
    assert code == 0 and first == (f"dump {dumps[0]['dump_id'][:12]}: its similarity build with these parameters was "
                                   f"built by other code (fingerprint {today[:12]}… vs 0123456789ab…): rebuilding")
    assert rest and "pairs with >= 1 co-listeners" in rest[0]
    assert "0123456789ab" in run(capsys, "dumps")[1]
    code, out, _ = run(capsys, "similarity", "build", *params)
    assert code == 0 and "already has a similarity build" in out


def test_similar_by_audio_tells_artists_sharing_a_name_apart(tmp_path, capsys):
    """`--audio` answered a shared name for its lowest id (3 tracks, not the 8 of another), with no note of the others
    and no `namesakes` in --json, and its table showed "Fenloven" twice and "Nirvana" without an id."""
    from tests.audio_catalogue import MB_F, publish_audio_catalogue
    from tests.lastfm_files import MB_A, MB_C

    ids = publish_audio_catalogue(tmp_path)
    most, fewer, one = ids[("Fenloven", MB_C)], ids[("Fenloven", MB_F)], ids[("Fenloven", None)]
    code, out, err = run(capsys, "similar", "Fenloven", "--audio", "--json")
    answer = json.loads(out)
    assert code == 0 and (answer["artist_id"], answer["mbid"], answer["reason"]) == (most, MB_C, None)
    assert [(n["artist_id"], n["tracks"]) for n in answer["namesakes"]] == [(most, 8), (fewer, 3), (one, 1)]
    assert err == (f"3 artists are named 'Fenloven'; this answer is for id {most}, the one with the most tracks; the "
                   f"others: id {fewer} (MBID {MB_F}, 3 tracks), id {one} (1 track). Ask for another with --id N or "
                   "--mbid MBID\n")
    shared = {r["artist_id"]: r["shared_name"] for r in answer["rows"]}
    assert shared[fewer] and shared[ids[("Nirvana", None)]] and not shared[ids[("DJ Ka", None)]]
    code, out, err = run(capsys, "similar", "Fenloven", "--audio")
    assert f"artists that sound most like Fenloven (id {most}, MBID {MB_C}) (contrastive-1)" in out
    for label in (f"Fenloven (id {fewer})", f"Fenloven (id {one})", f"Nirvana (id {ids[('Nirvana', None)]})"):
        assert label in out
    assert "DJ Ka (id" not in out
    # the dump's Nirvana has listeners: it answers its name, by sound too, with the library's as the other
    code, out, err = run(capsys, "similar", "nirvana", "--audio", "--json")
    assert json.loads(out)["artist_id"] == ids[("Nirvana", MB_A)]
    assert f"this answer is for id {ids[('Nirvana', MB_A)]}, the most listened; the other: id " in err
    code, out, err = run(capsys, "similar", "--id", str(one), "--audio")
    assert code == 0 and err == "" and f"sound most like Fenloven (id {one}) (contrastive-1)" in out


def test_similar_by_audio_says_why_an_artist_has_no_audio_neighbours(tmp_path, capsys):
    """The library's placeholder (with tracks and features: never compared) and an artist without a track were both
    said to have had "no tracks with audio features" when the version was published."""
    from tests.audio_catalogue import publish_audio_catalogue

    publish_audio_catalogue(tmp_path)
    code, out, err = run(capsys, "similar", "Unknown artist", "--audio", "--json")
    assert code == 0 and json.loads(out)["rows"] == []
    assert err == ("Unknown artist has no audio neighbours in contrastive-1: it is a placeholder name (the library's "
                   "for files whose artist it cannot tell, Last.FM's for plays of an unknown artist or of many): it "
                   "is never compared with other artists; tag its 2 tracks to give them their artist (`musim library "
                   "list --artist 'Unknown artist'` lists them)\n") == json.loads(out)["reason"] + "\n"
    code, out, err = run(capsys, "similar", "Quiet One", "--audio")
    assert code == 0 and err.startswith("Quiet One has no audio neighbours in contrastive-1: it has no tracks (no "
                                        "music of the library, no acquired previews): add its music")


def test_rejects_say_when_the_list_is_cut_and_json_lists_them_all(tmp_path, capsys):
    """`musim rejects` stopped at 50 lines without a word, and `--json` handed a consumer 50 of 274 lines."""
    from musim.ingest.lastfm import ingest_lastfm
    from tests.lastfm_files import write_lines

    good = [f"{u:040x}\t\tArtist {a}\t{1 + a}" for u in range(20) for a in range(10)]
    bad = [f"not a line {i}" for i in range(60)]
    ingest_lastfm(write_lines(tmp_path / "d.tsv", good + bad))
    code, out, err = run(capsys, "rejects")
    assert code == 0 and out.count("not a line") == 50
    assert err == "(50 of 60 rejected lines; --limit 0 for all)\n"
    code, out, err = run(capsys, "rejects", "--json")
    assert code == 0 and len(json.loads(out)) == 60 and err == ""
    code, out, err = run(capsys, "rejects", "--limit", "0")
    assert code == 0 and out.count("not a line") == 60 and err == ""
    code, out, err = run(capsys, "rejects", "--json", "--limit", "7")
    assert len(json.loads(out)) == 7 and err == "(7 of 60 rejected lines; --limit 0 for all)\n"


def test_a_build_forced_past_its_failed_ingest_check_says_it_is_built_and_not_published(tmp_path, capsys):
    """`similarity build --force` builds a dump whose ingest check failed; its publish is then refused by the same
    rule, and the error line said only 'nothing was published', not that the build was made and is stored."""
    path = _similar_dump(tmp_path)
    path.write_text(path.read_text() + "not a play line\n")  # 1 rejected line of 17: over the 1% allowed
    assert run(capsys, "ingest", "lastfm", str(path))[0] == 0
    assert run(capsys, "quality", "check", "--dataset", "lastfm_plays")[0] == 2
    dump = json.loads(run(capsys, "dumps", "--json")[1])[0]["dump_id"][:12]
    code, out, err = run(capsys, "similarity", "build", "--min-listeners", "1", "--min-co-listeners", "1", "--force")
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert line.startswith(f"musim: error: built the similarity build of dump {dump} (")
    assert f"neighbour rows), not published: the Last.FM data of dump {dump} failed its ingest quality check" in line
    assert line.endswith("or publish it anyway (`musim publish --force`).\n") and _served() == []
    built = json.loads(run(capsys, "dumps", "--json")[1])[0]["similarity_built_at"]
    assert built is not None  # stored, as the line says
    assert run(capsys, "publish", "--force")[0] == 0 and _served() != []


@pytest.mark.parametrize("typed", ["Artist A\x85", "Artist\x85A", "Artist\x92 A", "\x81Artist A"])
def test_a_name_with_a_c1_control_character_is_refused_not_matched(tmp_path, capsys, typed):
    """Ingest rejects an artist name holding a C1 control character (U+0080-U+009F), but `musim similar` matched one
    silently as the name without it: NEL (U+0085) is whitespace to the normalised name, and the name key drops every
    control character, so "Artist\\x92 A" (Windows-1252's "Artist’ A" read as Latin-1) answered for Artist A. Now it
    is refused in one line naming the character and what the name reads as in Windows-1252, by the CLI and by the
    web page's questions alike, and nothing is answered."""
    from musim import queries, sandbox, serving
    from musim.errors import ParameterError

    assert run(capsys, "ingest", "lastfm", str(_similar_dump(tmp_path)))[0] == 0
    _build(capsys, "--min-listeners", "1", "--min-co-listeners", "1", "--skip-quality")
    assert run(capsys, "similar", "Artist A", "--json")[0] == 0
    before = sorted(p.name for p in serving.current_path().parent.iterdir())
    char = next(c for c in typed if "\x80" <= c <= "\x9f")
    for extra in ([], ["--json"], ["--audio"]):
        with pytest.raises(SystemExit) as stop:
            main(["similar", typed, *extra])
        out, err = capsys.readouterr()
        assert stop.value.code == 2 and out == "" and "Traceback" not in err
        line = err.splitlines()[-1]  # argparse's usage, then its one error line
        assert line.startswith(f"musim similar: error: argument name: holds U+{ord(char):04X}, a C1 control character")
        assert not UNSAFE.search(line) and "`--id N`" in line
    if char == "\x92":
        assert "(in Windows-1252: 'Artist’ A')" in line
    con = sandbox.open_sandbox(serving.current_path())
    try:
        snap = queries.inspect(con)
        for question in (queries.similar_artists, queries.audio_neighbors):
            with pytest.raises(ParameterError, match=rf"^the artist name holds U\+{ord(char):04X}, a C1 control"):
                question(con, snap, typed)
    finally:
        con.close()
    assert sorted(p.name for p in serving.current_path().parent.iterdir()) == before


def test_text_that_is_not_utf8_is_one_line_naming_the_byte(hostile, capsys):
    """A name, dump id, version or query typed in a terminal of another encoding (Latin-1: `é` is the byte 0xE9)
    reaches Python as a lone surrogate, which DuckDB refuses: `musim similar NAME`, `--dump`, `rejects --dump`,
    `models show` ended with "InvalidInputException: … Python Conversion Failure" and `musim sql` with a TypeError of
    extract_statements(), exit 1 ("run with -v for the traceback"). Each is one line naming the byte now, exit 2,
    and nothing stored changes; a real process given the bytes says the same."""
    before = hostile.fingerprint()
    for argv, said in ((["similar", "Caf\udce9"], "argument name: 'Caf\\xe9' is not UTF-8 text (byte 0xE9 at "
                                                  "character 4"),
                       (["similar", RED, "--dump", "\udcff"], "'\\xff' is not UTF-8 text (byte 0xFF at character 1"),
                       (["rejects", "--dump", "ab\udcff"], "'ab\\xff' is not UTF-8 text (byte 0xFF at character 3"),
                       (["models", "show", "x\udcff"], "'x\\xff' is not UTF-8 text (byte 0xFF"),
                       (["sql", "SELECT 'caf\udce9'"], "the query is not UTF-8 text (byte 0xE9 at character 12")):
        if argv[0] == "similar" and len(argv) == 2:  # argparse's usage line, then its error
            with pytest.raises(SystemExit) as stop:
                main(argv)
            code, err = stop.value.code, capsys.readouterr().err.splitlines()[-1] + "\n"
        else:
            code, _, err = run(capsys, *argv)
            one_line_error(err)
        assert code == 2 and said in err and "Traceback" not in err and not UNSAFE.search(err[:-1]), (argv, err)
    assert hostile.fingerprint() == before
    proc = subprocess.run([sys.executable, "-m", "musim.cli", "sql", b"SELECT 'caf\xe9'"], capture_output=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert proc.returncode == 2 and proc.stderr.decode().startswith("musim: error: the query is not UTF-8"), proc.stderr


def test_a_name_found_by_its_key_names_each_artist_it_could_mean_and_its_id(tmp_path, capsys):
    """"Motley-Crue" is the key of the stored "Motley Crue" and "Mötley Crüe": the note said "2 artists are named
    'Motley Crue'" (the other is not) and did not say which name the other id has."""
    from tests.lastfm_files import write_lines

    users = [f"{i:040x}" for i in range(8)]
    heard = {"Motley Crue": 5, "Mötley Crüe": 4, "Poison": 6}
    dump = write_lines(tmp_path / "d.tsv", [f"{u}\t\t{a}\t2" for a, n in heard.items() for u in users[:n]])
    assert run(capsys, "ingest", "lastfm", str(dump))[0] == 0
    _build(capsys, "--min-listeners", "1", "--min-co-listeners", "1", "--k", "5")
    answer = json.loads(run(capsys, "similar", "Motley-Crue", "--json")[1])
    ids = {n["name"]: n["artist_id"] for n in answer["namesakes"]}
    code, _, err = run(capsys, "similar", "Motley-Crue")
    assert code == 0 and "are named" not in err, err
    assert (f"2 artists match this name by its key (case, accents and punctuation aside); this answer is for "
            f"id {ids['Motley Crue']} ('Motley Crue'), the most listened; the other: 'Mötley Crüe': id "
            f"{ids['Mötley Crüe']} (4 listeners), picked by --id {ids['Mötley Crüe']}.") in err
    other = json.loads(run(capsys, "similar", "--id", str(ids["Mötley Crüe"]), "--json")[1])
    assert other["artist"] == "Mötley Crüe"


def test_dumps_on_an_empty_warehouse_says_so_and_what_to_do_not_an_empty_table(capsys):
    """`musim dumps` before any ingest printed the header of an empty table and nothing else."""
    assert main(["dumps"]) == 0
    assert capsys.readouterr().out == "no dump has been ingested yet: run `musim ingest lastfm PATH` first\n"
    assert main(["dumps", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
