"""The query door (musim.sandbox): statement rules, DuckDB's own sandbox underneath, limits, readers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from musim import sandbox, warehouse
from musim.config import get_settings
from musim.errors import BusyError, NotFoundError, QueryError


@pytest.fixture
def snapshot_file(tmp_path):
    path = tmp_path / "snap.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE artist AS SELECT range AS artist_id, 'a' || range AS name FROM range(50)")
    return path


@pytest.mark.parametrize("statement", [
    "SELECT 1", "  select 1 ;", "FROM artist", "WITH x AS (SELECT 1) SELECT * FROM x", "DESCRIBE artist",
    "SHOW TABLES", "SUMMARIZE artist", "EXPLAIN SELECT 1", "EXPLAIN ANALYZE SELECT 1", "PRAGMA show_tables",
    "PRAGMA table_info('artist')", "VALUES (1), (2)", "-- a comment\nSELECT 2",
])
def test_reading_statements_are_let_through(statement):
    assert sandbox.check_statement(statement).query


@pytest.mark.parametrize(("statement", "why"), [
    ("SELECT 1; SELECT 2", "exactly one"), ("", "the query is empty"), ("ATTACH 'x.duckdb'", "ATTACH"),
    ("COPY artist TO 'x.csv'", "COPY"), ("INSTALL httpfs", "^INSTALL statements"), ("SET threads = 1", "SET"),
    ("RESET threads", "^RESET statements"), ("USE memory", "^USE statements"), ("SET VARIABLE v = 1", "SET"),
    ("PRAGMA threads = 1", r"^SET \(PRAGMA name = value\) statements"),
    ("PRAGMA disable_checkpoint_on_shutdown", "read-only PRAGMAs"), ("CALL pragma_version()", "CALL"),
    ("EXPLAIN DELETE FROM artist", "EXPLAIN of a SELECT"), ("CREATE MACRO m() AS 1", "CREATE"),
    ("CHECKPOINT", "^CHECKPOINT statements"),
    ("/* c */ -- d\n load httpfs", "^LOAD statements"),
    ("WITH t AS (SELECT 1) INSERT INTO x SELECT * FROM t", "^INSERT statements"), ("VACUUM", "VACUUM"),
    ("DETACH snapshot", "DETACH"), ("SELEC 1", "does not parse"),
    ("UPDATE EXTENSIONS", "^UPDATE statements are not allowed"),  # a type DuckDB's Python enum does not name
])
def test_everything_else_is_refused(statement, why):
    with pytest.raises(QueryError, match=why):
        sandbox.check_statement(statement)


def test_duckdb_itself_refuses_files_attach_and_settings(snapshot_file, tmp_path):
    """Below the statement rules: the connection cannot read files, attach, or change settings at all."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    con = sandbox.open_sandbox(snapshot_file)
    try:
        for sql in (f"SELECT * FROM read_text('{secret}')", f"SELECT * FROM read_csv('{secret}')",
                    f"ATTACH '{tmp_path / 'other.duckdb'}' AS o", f"COPY artist TO '{tmp_path / 'out.csv'}'"):
            with pytest.raises(duckdb.PermissionException, match="disabled by configuration"):
                con.execute(sql)
        for sql in ("SET enable_external_access = true", "RESET lock_configuration", "SET memory_limit = '1TB'"):
            with pytest.raises(duckdb.InvalidInputException, match="configuration has been locked"):
                con.execute(sql)
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("DELETE FROM artist")
        cur = sandbox.cursor(con)  # cursors share the sandbox and see the snapshot
        assert cur.execute("SELECT count(*) FROM artist").fetchone() == (50,)
        with pytest.raises(duckdb.PermissionException):
            cur.execute(f"SELECT * FROM read_text('{secret}')")
    finally:
        con.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.txt", "snap.duckdb"]


def test_the_shared_spill_folder_is_out_of_reach(snapshot_file, musim_home, monkeypatch):
    """`musim sql "SELECT * FROM glob('$MUSIM_HOME/tmp/duckdb/**')"` listed (and read_text read) what writers spilled
    there: DuckDB lets a locked-down connection at its temp_directory, which was the shared one."""
    monkeypatch.setenv("MUSIM_DUCKDB_MEMORY", "30MB")
    monkeypatch.setenv("MUSIM_DUCKDB_THREADS", "1")
    spill = get_settings().tmp_dir / "duckdb"
    spill.mkdir(parents=True, exist_ok=True)
    (spill / "spilled.tmp").write_text("SPILLED-ROWS")
    con = sandbox.open_sandbox(snapshot_file)
    try:
        for sql in (f"SELECT * FROM glob('{spill}/**')", f"SELECT * FROM read_text('{spill}/spilled.tmp')",
                    f"SELECT * FROM read_blob('{spill}/*')"):
            with pytest.raises(duckdb.PermissionException, match="disabled by configuration"):
                con.execute(sql)
        own = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
        assert own.startswith(str(get_settings().tmp_dir / "duckdb-sandbox-"))
        # a query larger than memory still spills: to the sandbox's own folder, which goes with it
        con.execute("SELECT i, repeat('x', 100) || i AS s FROM range(1000000) r(i) ORDER BY s DESC").fetchmany(1)
        assert any(Path(own).iterdir())
    finally:
        con.close()
    assert not Path(own).exists()


_SPILLER = """
import sys
from musim import sandbox
con = sandbox.open_sandbox(sys.argv[1])
own = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
con.execute("SELECT i, repeat('x', 100) || i AS s FROM range(1000000) r(i) ORDER BY s DESC").fetchmany(1)
print(own, flush=True)
sys.stdin.read()
"""


def test_what_a_killed_sandbox_spilled_goes_with_the_next_sandbox(snapshot_file, musim_home, monkeypatch):
    """`musim sql` killed while its query spilled (kill -9, the OOM killer) left its spill folder in MUSIM_TMP for
    good (hundreds of MB in a minute): nothing ever removed it. Another process's live sandbox keeps its own."""
    monkeypatch.setenv("MUSIM_DUCKDB_MEMORY", "30MB")
    monkeypatch.setenv("MUSIM_DUCKDB_THREADS", "1")
    procs = [subprocess.Popen([sys.executable, "-c", _SPILLER, str(snapshot_file)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        killed, alive = (Path(p.stdout.readline().strip()) for p in procs)
        assert any(killed.iterdir()) and any(alive.iterdir())  # both spilled
        procs[0].kill()
        procs[0].wait(timeout=30)
        assert killed.exists()  # left behind
        sandbox.open_sandbox(snapshot_file).close()
        assert not killed.exists() and any(alive.iterdir())
    finally:
        for p in procs:
            p.kill()
            p.wait(timeout=30)


def test_the_lock_stays_inside_the_sandbox(snapshot_file):
    """Other connections of this process to the same file keep their own settings (no shared instance)."""
    con = sandbox.open_sandbox(snapshot_file)
    try:
        other = warehouse.connect(snapshot_file, read_only=True)  # sets memory_limit, threads...
        assert other.execute("SELECT count(*) FROM artist").fetchone() == (50,)
        other.close()
    finally:
        con.close()


def test_run_query_limits_rows_and_reports_errors_in_one_line(snapshot_file):
    res = sandbox.query_file(snapshot_file, "SELECT * FROM artist ORDER BY artist_id", max_rows=10)
    assert res.columns == ["artist_id", "name"] and len(res.rows) == 10 and res.truncated
    assert res.rows[0] == (0, "a0")
    res = sandbox.query_file(snapshot_file, "SELECT * FROM artist", max_rows=50)
    assert len(res.rows) == 50 and not res.truncated
    with pytest.raises(QueryError) as err:
        sandbox.query_file(snapshot_file, "SELECT nope FROM artist")
    assert "\n" not in str(err.value) and "the query failed: Binder Error" in str(err.value)


def test_a_function_of_an_extension_is_one_line_saying_the_door_loads_none(snapshot_file):
    """`musim sql "FROM iceberg_scan('x')"` printed DuckDB's first line, cut in the middle: "the query failed: An
    error occurred while trying to automatically install the required extension 'iceberg:"."""
    with pytest.raises(QueryError) as err:
        sandbox.query_file(snapshot_file, "SELECT * FROM iceberg_scan('x')")
    assert str(err.value) == ("the query failed: it needs DuckDB's iceberg extension, which the query door does not "
                              "install or load")
    with pytest.raises(QueryError) as err:
        sandbox.query_file(snapshot_file, "SELECT st_point(1, 2)")
    assert "\n" not in str(err.value) and str(err.value).endswith(
        "exists in the spatial extension. (the query door loads no extension: the snapshot's tables and DuckDB's "
        "built-in functions only)")


def test_run_query_interrupts_a_query_past_its_time(snapshot_file):
    forever = "SELECT count(*) FROM range(3000000) a, range(3000000) b WHERE a.range + b.range = 7"
    with pytest.raises(QueryError, match="ran longer than 0.2 s"):
        sandbox.query_file(snapshot_file, forever, timeout_s=0.2)


#: One call of a scalar function that runs for minutes (levenshtein on two 400,000-character strings), inside which
#: DuckDB never looks at an interrupt (whether it runs as the plan's one row or is folded while planning).
LONG_CALL = "SELECT levenshtein(repeat('ab', 200000), repeat('ba', 200000)) AS d"
#: Seconds a stopped query is given to be gone: far less than LONG_CALL takes, far more than a stop needs.
GONE_WITHIN_S = 90


def in_session(sid: int) -> list[str]:
    """The processes still alive in session ``sid`` (the process started with start_new_session, and all it
    started, children of a killed parent included): ``pid state command`` each."""
    alive = []
    for proc in Path("/proc").iterdir():
        try:
            stat = (proc / "stat").read_text()
        except OSError:  # not a process, or gone meanwhile
            continue
        state, _ppid, _pgrp, session = stat[stat.rindex(")") + 2:].split()[:4]
        if proc.name.isdigit() and int(session) == sid and state != "Z":
            alive.append(f"{proc.name} {state} {stat[stat.index('(') + 1:stat.rindex(')')]}")
    return alive


def worker_of(proc: subprocess.Popen, wait_s: float = 30.0) -> int | None:
    """The pid of the first child ``proc`` starts (the query's worker), once it has one; ``None`` if it starts none
    within ``wait_s`` (the query then runs in ``proc`` itself)."""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError):
            if kids := children.read_text().split():
                return int(kids[0])
        time.sleep(0.02)
    return None


_STOPPED = """
import sys
from musim import sandbox
from musim.errors import QueryError
try:
    sandbox.query_file(sys.argv[1], sys.argv[2], timeout_s=float(sys.argv[3]))
except QueryError as exc:
    print(exc, flush=True)
print(sorted(str(p) for p in sandbox.get_settings().tmp_dir.glob("duckdb-sandbox-*/*")), flush=True)
"""


def _stop(snapshot_file: Path, timeout: str, kill_worker: bool = False) -> list[str]:
    proc = subprocess.Popen([sys.executable, "-c", _STOPPED, str(snapshot_file), LONG_CALL, timeout],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        if kill_worker:  # as the OOM killer would
            worker = worker_of(proc)
            assert worker is not None, "the query ran in the calling process"
            os.kill(worker, signal.SIGKILL)
        out, err = proc.communicate(timeout=GONE_WITHIN_S)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == 0, err
    assert in_session(proc.pid) == []
    return out.splitlines()


def test_a_long_single_call_is_stopped_for_sure(snapshot_file, musim_home):
    """DuckDB looks at an interrupt only between chunks of rows: `levenshtein` on two 60,000-character strings ran
    19 s past `--timeout 2`. Now the query runs in a worker process killed a grace period past its time, which
    leaves no process and no spill folder behind."""
    message, spilled = _stop(snapshot_file, "0.5")
    assert message.startswith("the query ran longer than 0.5 s and was stopped: narrow it, or raise the limit "
                              "with --timeout SECONDS")
    assert spilled == "[]"
    assert not list(get_settings().tmp_dir.glob("duckdb-sandbox-*"))


def test_a_worker_that_dies_is_one_line_and_leaves_nothing(snapshot_file, musim_home):
    """A worker killed from outside (the OOM killer) while the query ran, no time limit set: one line saying so."""
    message, spilled = _stop(snapshot_file, "0", kill_worker=True)
    assert message.startswith("the query's worker process died (signal SIGKILL) before it answered")
    assert spilled == "[]"


def test_what_a_worker_spilled_goes_when_it_answers(snapshot_file, musim_home, monkeypatch):
    """The worker exits without closing DuckDB (which would remove its spill folder): the parent removes it."""
    monkeypatch.setenv("MUSIM_DUCKDB_MEMORY", "30MB")
    monkeypatch.setenv("MUSIM_DUCKDB_THREADS", "1")
    res = sandbox.query_file(snapshot_file, "SELECT i, repeat('x', 100) || i AS s FROM range(1000000) r(i) "
                             "ORDER BY s DESC", max_rows=1)
    assert res.rows == [(999999, "x" * 100 + "999999")] and res.truncated
    assert not list(get_settings().tmp_dir.glob("duckdb-sandbox-*/*"))


def test_query_file_in_a_worker_returns_what_runs_here(snapshot_file, monkeypatch):
    """The worker's answer (rows of every DuckDB type, a cut-off result, each error) is the in-process one."""
    forks = []
    fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or fork())
    monkeypatch.setattr(sandbox.threading, "active_count", lambda: 1)  # threads an earlier test of this process left
    query = ("SELECT artist_id, name, 1.5::DECIMAL(4, 2) AS d, DATE '2024-01-02' AS day, INTERVAL 3 DAY AS span, "
             "[artist_id, 2] AS l, {'k': name} AS s, NULL AS n, 'nan'::DOUBLE AS x, uuid() IS NOT NULL AS u "
             "FROM artist ORDER BY artist_id")
    res = sandbox.query_file(snapshot_file, query, max_rows=3, timeout_s=0)
    con = sandbox.open_sandbox(snapshot_file)
    try:
        here = sandbox.run_query(con, query, max_rows=3)
    finally:
        con.close()
    assert (res.columns, str(res.rows), res.truncated) == (here.columns, str(here.rows), here.truncated) == (
        here.columns, str(here.rows), True)
    for bad, kind in (("SELECT nope FROM artist", QueryError), ("DROP TABLE artist", QueryError)):
        with pytest.raises(kind):
            sandbox.query_file(snapshot_file, bad)
    with pytest.raises(NotFoundError, match="no snapshot file"):
        sandbox.query_file(snapshot_file.with_name("missing.duckdb"), "SELECT 1")
    assert len(forks) == 3  # the refused DROP needs no worker


HOLD = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.readline()
"""


def test_reader_waits_for_a_writer_then_reads(capsys):
    settings = get_settings()
    warehouse.connect(settings=settings).close()
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(settings.warehouse.path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "holding"
        with pytest.raises(BusyError, match=f"pid {proc.pid}"):
            with sandbox.reader(wait_s=0.2):
                pass
        release = threading.Timer(0.5, lambda: (proc.stdin.write("done\n"), proc.stdin.flush()))
        release.start()
        with sandbox.reader(wait_s=60) as con:  # the writer lets go while the reader waits
            assert con.execute("SELECT count(*) > 0 FROM schema_migrations").fetchone() == (True,)
        release.join()
    finally:
        proc.kill()
        proc.wait()
    assert "being written by another process" in capsys.readouterr().err


def test_reader_creates_a_missing_warehouse_and_is_locked_down(tmp_path):
    settings = get_settings()
    assert not settings.warehouse.path.exists()
    with sandbox.reader() as con:
        assert con.execute("SELECT count(*) FROM lastfm_dump").fetchone() == (0,)
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"COPY lastfm_dump TO '{tmp_path / 'x.csv'}'")
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("DELETE FROM lastfm_dump")


def test_duckdb_advice_to_set_a_setting_is_not_passed_on(snapshot_file):
    """A deeply nested expression was refused with DuckDB's 'Use "SET max_expression_depth TO x" to increase the
    maximum expression depth.', a statement the door itself refuses."""
    deep = "SELECT " + "(" * 1100 + "1" + ")" * 1100
    with pytest.raises(QueryError) as refused:
        sandbox.check_statement(deep)
    assert str(refused.value) == ("the query does not parse: Parser Error: Max expression depth limit of 1000 "
                                  "exceeded. (settings cannot be changed through the query door: simplify the query)")
    with pytest.raises(QueryError, match=r"^the query failed: Conversion Error: Could not convert string 'x' to "
                                         r"INT32$"):  # other errors as they were
        sandbox.query_file(snapshot_file, "SELECT 'x'::INTEGER")


def test_a_leftover_the_sweep_cannot_open_leaves_each_sandbox_its_owned_spill_folder(snapshot_file, musim_home,
                                                                                       monkeypatch):
    """A leftover the sweep fails on (here a folder at a lock's name; another user's lock does the same) made the
    first sandbox of every process spill into an unowned folder of MUSIM_TMP, which the next process's sweep removed
    under the live query once the leftover was gone."""
    import shutil

    monkeypatch.setenv("MUSIM_DUCKDB_MEMORY", "30MB")
    monkeypatch.setenv("MUSIM_DUCKDB_THREADS", "1")
    tmp = get_settings().tmp_dir
    stale = tmp / f"{sandbox.SPILL_PREFIX}1-deadbeef.lock"
    stale.mkdir(parents=True)
    proc = subprocess.Popen([sys.executable, "-c", _SPILLER, str(snapshot_file)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        own = Path(proc.stdout.readline().strip())
        assert any(own.iterdir())  # it spilled
        assert own.parent != tmp and own.parent.with_name(own.parent.name + ".lock").is_file()  # owned
        shutil.rmtree(stale)
        sandbox.open_sandbox(snapshot_file).close()  # this process's first sandbox sweeps
        assert any(own.iterdir())  # the live query's spill is kept
    finally:
        proc.kill()
        proc.wait(timeout=30)
