import json
import math
import os
import shutil
import subprocess

import duckdb
import pytest

from musim import sandbox, sql, warehouse
from musim.config import get_settings
from musim.errors import StorageError


def test_migrations_apply_once(musim_home):
    con = warehouse.connect()
    names = [r[0] for r in con.execute("SELECT name FROM schema_migrations ORDER BY version").fetchall()]
    assert names == [m[1] for m in warehouse.available_migrations()]
    assert warehouse.migrate(con) == []
    settings = dict(con.execute("""SELECT name, value FROM duckdb_settings()
                                   WHERE name IN ('threads', 'preserve_insertion_order', 'memory_limit')""").fetchall())
    assert settings["threads"] == "2" and settings["preserve_insertion_order"] == "false"
    assert settings["memory_limit"].startswith("1.8") or "GiB" in settings["memory_limit"]


def test_a_failing_migration_leaves_nothing(monkeypatch, tmp_path, musim_home):
    import musim.warehouse as wh

    good = wh.available_migrations()
    bad = tmp_path / "999_broken.sql"
    bad.write_text("CREATE TABLE half_done (x INTEGER);\nTHIS IS NOT SQL;\n")
    monkeypatch.setattr(wh, "available_migrations", lambda: [*good, (999, "999_broken", bad)])
    try:
        wh.connect()
    except Exception as exc:  # noqa: BLE001
        assert "syntax" in str(exc).lower() or "parser" in str(exc).lower()
    monkeypatch.setattr(wh, "available_migrations", lambda: good)
    con = wh.connect()
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'half_done'").fetchone()[0] == 0


def test_the_bulk_load_migration_keeps_every_row(monkeypatch, musim_home):
    """009 rebuilds users, artists and spellings without their key indexes: a warehouse filled under 008
    keeps every row, and the tables no longer carry an index to maintain on each ingest."""
    import musim.warehouse as wh

    every = wh.available_migrations()
    monkeypatch.setattr(wh, "available_migrations", lambda: [m for m in every if m[0] < 9])
    con = wh.connect()
    con.execute("INSERT INTO lastfm_user VALUES (1, 'a'), (2, 'b')")
    con.execute("INSERT INTO artist VALUES (1, 'name:x', NULL, 'X', 'x', false, 'd1'), "
                "(2, 'mbid:00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000001', 'Y', 'y', "
                "false, 'd1')")
    con.execute("INSERT INTO artist_name_variant VALUES (1, 'X', 'd1', 3), (2, 'Y', 'd1', 4)")
    before = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
              for t in ("lastfm_user", "artist", "artist_name_variant")}
    con.close()
    monkeypatch.setattr(wh, "available_migrations", lambda: every)
    con = wh.connect()
    for table, rows in before.items():
        assert con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() == rows
    indexed = con.execute("""SELECT DISTINCT table_name FROM duckdb_constraints()
                             WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE')
                               AND table_name IN ('lastfm_user', 'artist', 'artist_name_variant')""").fetchall()
    assert indexed == []



def test_the_pair_counts_migration_keeps_pairs_in_order_and_listeners(monkeypatch, musim_home):
    """012 keys the pairs by the dump's seq and drops the listeners' key index: a warehouse filled under 011
    keeps every pair, in storage order, behind the artist_pairs view, and every listeners row."""
    import musim.warehouse as wh

    every = wh.available_migrations()
    monkeypatch.setattr(wh, "available_migrations", lambda: [m for m in every if m[0] < 12])
    con = wh.connect()
    for dump_id, seq in (("d1", 1), ("d2", 2)):
        con.execute("INSERT INTO lastfm_dump (dump_id, seq, file_name, format, bytes, lines, loaded, rejected, "
                    "plays_rows, users, artists, started_at, finished_at) VALUES (?, ?, 'x', '360k', 1, 1, 1, 0, 1, "
                    "1, 1, now(), now())", [dump_id, seq])
    pairs = [("d2", 1, 2, 5), ("d2", 1, 7, 3), ("d1", 2, 3, 4), ("d1", 1, 9, 2), ("d2", 4, 5, 2)]
    con.executemany("INSERT INTO artist_pairs VALUES (?, ?, ?, ?)", pairs)
    con.execute("INSERT INTO artist_listeners VALUES ('d1', 1, 10, 20), ('d1', 2, 11, 21), ('d2', 1, 12, 22)")
    listeners = con.execute("SELECT * FROM artist_listeners ORDER BY ALL").fetchall()
    con.close()
    monkeypatch.setattr(wh, "available_migrations", lambda: every)
    con = wh.connect()
    assert con.execute("SELECT * FROM artist_pairs ORDER BY ALL").fetchall() == sorted(pairs)
    with wh.in_order(con):
        stored = con.execute("SELECT * FROM artist_pair_counts").fetchall()
    assert stored == [(1, 1, 9, 2), (1, 2, 3, 4), (2, 1, 2, 5), (2, 1, 7, 3), (2, 4, 5, 2)]  # by dump, in pair order
    assert con.execute("SELECT * FROM artist_listeners ORDER BY ALL").fetchall() == listeners
    keyed = con.execute("SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'artist_listeners' "
                        "AND constraint_type = 'PRIMARY KEY'").fetchone()[0]
    assert keyed == 0


def test_registered_data_is_a_view_for_the_block_only(musim_home):
    import duckdb
    import numpy as np
    import pytest

    con = duckdb.connect()
    with warehouse.registered(con, "tmp_rows", {"x": np.arange(3, dtype=np.int32)}):
        assert con.execute("SELECT sum(x) FROM tmp_rows").fetchone() == (3,)  # left unfinished
    with pytest.raises(duckdb.CatalogException):
        con.execute("SELECT * FROM tmp_rows")
    con.complete()
    with pytest.raises(ZeroDivisionError), warehouse.registered(con, "tmp_rows", {"x": np.arange(2)}):
        raise ZeroDivisionError
    with pytest.raises(duckdb.CatalogException):
        con.execute("SELECT * FROM tmp_rows")


@pytest.mark.parametrize("block", ["registered", "in_order"])
def test_a_statement_failing_inside_a_transaction_is_the_error_raised(tmp_path, block):
    """A failed statement aborts its transaction, where DuckDB runs nothing more: the block's cleanup (unregister,
    insertion order off) must not replace the statement's error (Ctrl-C's "Query interrupted", a full disk, DuckDB
    out of memory, each told in one line) with "Current transaction is aborted" (exit 1)."""
    import numpy as np

    con = warehouse.connect(tmp_path / "w.duckdb")
    con.execute("CREATE TABLE t (a INTEGER PRIMARY KEY)")
    with pytest.raises(duckdb.ConstraintException):
        with warehouse.transaction(con):
            cm = (warehouse.registered(con, "tmp_rows", {"a": np.arange(2, dtype=np.int32)}) if block == "registered"
                  else warehouse.in_order(con))
            with cm:
                con.execute("INSERT INTO t VALUES (1), (1)")
    assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)  # rolled back; the connection works
    with pytest.raises(duckdb.CatalogException):
        con.execute("SELECT * FROM tmp_rows")
    with warehouse.in_order(con):  # the count of in_order blocks was kept right
        assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchone() == (True,)
    assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchone() == (False,)


def test_insertion_order_stays_on_until_the_last_cursor_block_ends(tmp_path):
    """DuckDB scopes preserve_insertion_order to the database: blocks on two cursors (a publish writing while
    the gate reads) are counted, and the first to end does not turn it off under the other."""
    import threading

    con = warehouse.connect(tmp_path / "w.duckdb")
    other = con.cursor()

    def setting(c):
        return c.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]

    entered, release = threading.Event(), threading.Event()

    def hold():
        with warehouse.in_order(other):
            entered.set()
            release.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    entered.wait(10)
    with warehouse.in_order(con):
        assert setting(con) is True
    assert setting(con) is True  # the other cursor's block is still open
    release.set()
    worker.join(10)
    assert setting(con) is False
    assert warehouse._ORDER_BLOCKS == {}
    con.close()


def test_an_order_block_leaves_no_unfinished_result(tmp_path):
    """Entering a block while another cursor's block is open runs only the lookup of the database's file: its
    result is finished, so that the connection can register data next (the publish does)."""
    import numpy as np

    con = warehouse.connect(tmp_path / "w.duckdb")
    other = con.cursor()
    with warehouse.in_order(other), warehouse.in_order(con), warehouse.registered(con, "x", {"v": np.arange(3)}):
        assert con.execute("SELECT sum(v) FROM x").fetchone()[0] == 3
    con.close()


def test_a_warehouse_path_that_is_a_folder_or_not_a_database_is_one_clear_error(tmp_path, monkeypatch):
    (tmp_path / "junk.duckdb").write_text("not a database\n")
    cases = {tmp_path: "is a folder: set MUSIM_WAREHOUSE", tmp_path / "junk.duckdb": "is not a DuckDB database",
             tmp_path / "a-file" / "wh.duckdb": "cannot create its folder"}
    (tmp_path / "a-file").write_text("")
    for path, says in cases.items():
        monkeypatch.setenv("MUSIM_WAREHOUSE", str(path))
        with pytest.raises(StorageError, match=says):
            warehouse.connect(settings=get_settings())
        with pytest.raises(StorageError, match=says), sandbox.reader(get_settings()) as con:
            con.execute("SELECT 1")  # not reached: opening fails
    assert (tmp_path / "junk.duckdb").read_text() == "not a database\n"  # nothing written over it


def test_a_folder_at_the_published_snapshot_is_one_line_saying_what_to_do(musim_home, capsys):
    """A folder at serving/current.duckdb (where musim keeps the link to the snapshot it serves): opening it said "set
    the path to a file, e.g. .../current.duckdb/warehouse.duckdb", and `musim publish` "musim: error:
    .../.current-link-123-abcd -> .../current.duckdb: Is a directory", a file the user never named."""
    from musim import serving
    from musim.cli import main

    current = get_settings().serving_dir / "current.duckdb"
    current.mkdir(parents=True)
    says = (f"the published snapshot {current} is a folder, not a DuckDB file (musim keeps a link to the snapshot it "
            "serves there): move that folder out of MUSIM_SERVING_DIR, then serve the newest snapshot again with "
            "`musim publish`")
    with pytest.raises(StorageError) as raised:
        serving.open_snapshot()
    assert str(raised.value) == says
    assert main(["publish"]) == 2
    assert capsys.readouterr().err == f"musim: error: {says}\n"
    assert current.is_dir() and list(current.iterdir()) == []  # left as it was
    # refused before a snapshot was written: each publish used to leave a whole snapshot that nothing serves
    assert not list(get_settings().serving_dir.glob("snapshots/snapshot-*"))
    other = musim_home / "elsewhere.duckdb"
    other.mkdir()
    with pytest.raises(StorageError, match=f"^DuckDB file {other} is a folder: give the path of a DuckDB file$"):
        warehouse.connect(other, read_only=True)


def test_the_library_artist_migration_makes_one_row_per_catalogue_artist(monkeypatch, musim_home):
    """019 keys library artists by catalogue artist: the rows one MBID had under two spellings' keys become one,
    with both spellings and keys, and every other row stays as it was."""
    import musim.warehouse as wh

    every = wh.available_migrations()
    monkeypatch.setattr(wh, "available_migrations", lambda: [m for m in every if m[0] < 19])
    con = wh.connect()
    mbid = "5b11f4ce-a62d-471e-81fc-a69a8278c7da"
    con.execute("""INSERT INTO library_artist (name_key, artist_id, name, mbid, lastfm_match, spellings) VALUES
                   ('samcooke', 7, 'Sam Cooke', ?, 'none', ['Sam Cooke', 'sam cooke']),
                   ('samuelcook', 7, 'Samuel Cook', ?, 'none', ['Samuel Cook']),
                   ('elysis', 3, 'Elysis', NULL, 'name', ['Elysis', 'www.elysis.de'])""", [mbid, mbid])
    con.close()
    monkeypatch.setattr(wh, "available_migrations", lambda: every)
    con = wh.connect()
    got = con.execute("SELECT artist_id, name, CAST(mbid AS VARCHAR), lastfm_match, spellings, name_keys "
                      "FROM library_artist ORDER BY artist_id").fetchall()
    assert got == [(3, "Elysis", None, "name", ["Elysis", "www.elysis.de"], ["elysis"]),
                   (7, "Sam Cooke", mbid, "none", ["Sam Cooke", "Samuel Cook", "sam cooke"], ["samcooke", "samuelcook"])]


#: The metric macros of sql/similarity/views.sql before the scores became one correctly rounded operation (as a
#: build then created them in the warehouse).
_OLD_MACROS = """
CREATE OR REPLACE MACRO sim_seed_raw(co, la, lb) AS (co / la + co / lb) / 2.0;
CREATE OR REPLACE MACRO sim_score(metric, co, la, lb, users, seed_raw_max) AS CASE metric
    WHEN 'seed' THEN sim_seed_raw(co, la, lb) / seed_raw_max
    WHEN 'jaccard' THEN co / (la::DOUBLE + lb::DOUBLE - co)
    WHEN 'cosine' THEN co / sqrt(la::DOUBLE * lb::DOUBLE)
    WHEN 'lift' THEN co::DOUBLE * users / (la::DOUBLE * lb::DOUBLE)
    WHEN 'pmi' THEN ln(co::DOUBLE * users / (la::DOUBLE * lb::DOUBLE)) END;
"""
#: What a build before them recorded, by those macros: the seed scale over its pairs and its catalogue's, then
#: the catalogue's scores on that scale.
_OLD_BUILD = """
UPDATE similarity_build AS b SET seed_raw_max = (
    SELECT max(sim_seed_raw(p.co_listeners, la.listeners, lb.listeners))
    FROM (SELECT dump_id, artist_a, artist_b, co_listeners FROM artist_pairs
          UNION ALL SELECT dump_id, artist_a, artist_b, co_listeners FROM artist_pair_similarity) p
    JOIN artist_listeners la ON la.dump_id = p.dump_id AND la.artist_id = p.artist_a
    JOIN artist_listeners lb ON lb.dump_id = p.dump_id AND lb.artist_id = p.artist_b
    WHERE p.dump_id = b.dump_id);
UPDATE artist_pair_similarity AS c
SET seed = sim_score('seed', c.co_listeners, la.listeners, lb.listeners, b.users, b.seed_raw_max),
    jaccard = sim_score('jaccard', c.co_listeners, la.listeners, lb.listeners, b.users, b.seed_raw_max),
    cosine = sim_score('cosine', c.co_listeners, la.listeners, lb.listeners, b.users, b.seed_raw_max),
    lift = sim_score('lift', c.co_listeners, la.listeners, lb.listeners, b.users, b.seed_raw_max),
    pmi = sim_score('pmi', c.co_listeners, la.listeners, lb.listeners, b.users, b.seed_raw_max)
FROM similarity_build b, artist_listeners la, artist_listeners lb
WHERE b.dump_id = c.dump_id AND la.dump_id = c.dump_id AND la.artist_id = c.artist_a
  AND lb.dump_id = c.dump_id AND lb.artist_id = c.artist_b;
"""


def _build_record(con) -> tuple[list, list]:
    """What a similarity build stored that the metrics' arithmetic decides: the seed scale, the catalogue's scores."""
    return (con.execute("SELECT dump_id, seed_raw_max FROM similarity_build ORDER BY ALL").fetchall(),
            con.execute("SELECT * FROM artist_pair_similarity ORDER BY ALL").fetchall())


def test_the_exact_scores_migration_brings_older_builds_to_todays_arithmetic(monkeypatch, tmp_path, musim_home, capsys):
    """022 recomputes what builds stored by the older roundings from their stored counts: an upgraded warehouse
    holds, bit for bit, the scale and catalogue scores a build records now, and its macros are today's.
    Alpha (2 listeners) and Beta (3) share 2: r = 2 (2 + 3) / 12 = 0.8333333333333334, the build's largest, which
    (2/2 + 2/3) / 2 rounded to 0.8333333333333333: an older build's scale, an ulp below, put the pair's seed at
    1.0000000000000002 under today's arithmetic (in `musim similar` and in every snapshot published after the
    upgrade). Their cosine 2/sqrt(6) and Beta-Gamma's 1/sqrt(3) were rounded differently too."""
    import musim.warehouse as wh
    from musim import serving
    from musim.cli import main
    from musim.ingest.lastfm import ingest_lastfm
    from musim.quality import check
    from musim.similarity.build import SimilarityParams, build_similarity
    from tests.lastfm_files import write_lines

    every = wh.available_migrations()
    # before 022, with 024's similarity_build.code_fingerprint, which today's build records
    monkeypatch.setattr(wh, "available_migrations", lambda: [m for m in every if m[0] < 22 or m[0] >= 24])
    listeners = {"Alpha": [1, 2], "Beta": [1, 2, 3], "Gamma": [3]}
    lines = [f"{u:040x}\t\t{name}\t7" for name, users in listeners.items() for u in users]
    dump_id = ingest_lastfm(write_lines(tmp_path / "d.tsv", lines)).dump_id
    with wh.writer() as con:
        build_similarity(con, dump_id, SimilarityParams(min_listeners=1, min_co_listeners=1, k=5))
        fresh = _build_record(con)
        for stmt in sql.statements(_OLD_MACROS + _OLD_BUILD):
            con.execute(stmt)
        old = _build_record(con)
    (scale,), (old_scale,) = [s for _, s in fresh[0]], [s for _, s in old[0]]
    assert scale == 0.8333333333333334 and old_scale == math.nextafter(scale, 0)
    assert {r[:4] for r in old[1]} == {r[:4] for r in fresh[1]} and old[1] != fresh[1]  # seeds, cosines apart

    monkeypatch.setattr(wh, "available_migrations", lambda: every)
    with wh.writer() as con:  # migrates
        assert _build_record(con) == fresh
        seeds = con.execute("SELECT score FROM artist_neighbors WHERE metric = 'seed'").fetchall()
        assert max(seeds) == (1.0,)
        serving.publish(con)
    result = check(["similarity"], dump_id=dump_id, docs=False).results[0]
    assert result.status == "passed", result.describe()
    snap = serving.open_snapshot()
    assert snap.execute("SELECT max(score) FROM similar_artists WHERE metric = 'seed'").fetchone() == (1.0,)
    assert main(["similar", "Alpha", "--metric", "seed", "--json"]) == 0
    assert [row["score"] for row in json.loads(capsys.readouterr().out)["rows"]] == [1.0]


HOLD_READ_ONLY = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("holding", flush=True)
sys.stdin.readline()
"""


def _hold_read_only(path):
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", HOLD_READ_ONLY, str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_a_writer_waits_for_a_reader_holding_the_warehouse(musim_home, monkeypatch, capsys):
    """A notebook holding the warehouse read-only made every musim writer fail at once ("being written by another
    process": it was reading): a writer now waits up to MUSIM_WAREHOUSE_LOCK_WAIT_S for it to let go."""
    import threading

    settings = get_settings()
    warehouse.connect(settings=settings).close()
    proc = _hold_read_only(settings.warehouse.path)
    try:
        release = threading.Timer(1.0, lambda: (proc.stdin.write("done\n"), proc.stdin.flush()))
        release.start()
        con = warehouse.connect(settings=settings)  # default wait: the reader lets go after ~1 s
        assert con.execute("SELECT count(*) > 0 FROM schema_migrations").fetchone() == (True,)
        con.close()
        release.join()
    finally:
        proc.kill()
        proc.wait()
    err = capsys.readouterr().err
    assert f"is held by another process (pid {proc.pid}, reading or writing); waiting up to 30 s" in err


def test_a_writer_gives_up_on_a_reader_past_the_wait_with_one_line(musim_home, monkeypatch, capsys):
    from musim.cli import main

    settings = get_settings()
    warehouse.connect(settings=settings).close()
    monkeypatch.setenv("MUSIM_WAREHOUSE_LOCK_WAIT_S", "0.5")
    proc = _hold_read_only(settings.warehouse.path)
    try:
        assert main(["publish"]) == 2
    finally:
        proc.kill()
        proc.wait()
    last = capsys.readouterr().err.splitlines()[-1]
    assert last == (f"musim: error: the warehouse {settings.warehouse.path} is held by pid {proc.pid} (reading or "
                    "writing); try again when it finishes (a writer waits MUSIM_WAREHOUSE_LOCK_WAIT_S); query the "
                    "published snapshot from DuckDB, never the warehouse")


def test_the_space_keys_migration_rekeys_names_with_unicode_spaces_but_merges_no_artists(monkeypatch, musim_home):
    """023 brings stored name keys to the new whitespace rule (every str.isspace() character collapses): a key
    that becomes unique is changed, two artists that would share a key are both left as they were."""
    import musim.warehouse as wh

    every = wh.available_migrations()
    monkeypatch.setattr(wh, "available_migrations", lambda: [m for m in every if m[0] < 23])
    con = wh.connect()
    mbid = "5b11f4ce-a62d-471e-81fc-a69a8278c7da"
    rows = [(1, "name:sigur\u00a0rós", None, "Sigur\u00a0Rós", "sigur\u00a0rós"),
            (2, "name:foo\u3000\u2003bar", None, "Foo\u3000\u2003Bar", "foo\u3000\u2003bar"),
            (3, "name:foo bar", None, "Foo Bar", "foo bar"),
            (4, f"mbid:{mbid}", mbid, "Múm\u202fband", "múm\u202fband"),
            (5, "name:abba", None, "ABBA", "abba")]
    con.executemany("INSERT INTO artist (artist_id, artist_key, mbid, name, name_norm, first_dump_id) "
                    "VALUES (?, ?, ?, ?, ?, 'd')", rows)
    con.close()
    monkeypatch.setattr(wh, "available_migrations", lambda: every)
    con = wh.connect()
    got = con.execute("SELECT artist_id, artist_key, name, name_norm FROM artist ORDER BY artist_id").fetchall()
    assert got == [(1, "name:sigur rós", "Sigur\u00a0Rós", "sigur rós"), (2, *rows[1][1:2], *rows[1][3:]),
                   (3, *rows[2][1:2], *rows[2][3:]), (4, f"mbid:{mbid}", "Múm\u202fband", "múm band"),
                   (5, *rows[4][1:2], *rows[4][3:])]


class _CommitFindsTheDiskFull:
    """A warehouse connection whose commit fails as DuckDB's does on a full disk: DuckDB ends the transaction
    (nothing of it is stored), then raises the error naming the WAL it could not write."""

    def __init__(self, con, wal):
        self._con, self.wal = con, wal

    def __getattr__(self, name):
        return getattr(self._con, name)

    def commit(self):
        self._con.execute("ROLLBACK")
        raise duckdb.TransactionException(
            f'TransactionContext Error: Failed to commit: Could not write file "{self.wal}": No space left on device')


def test_a_commit_that_finds_the_disk_full_reports_the_full_disk(tmp_path):
    """It was "TransactionException: ... cannot rollback - no transaction is active": the rollback after the
    failed commit raised and replaced the error that said why."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE TABLE t (a INTEGER)")
    full = _CommitFindsTheDiskFull(con, tmp_path / "w.duckdb.wal")
    with pytest.raises(duckdb.TransactionException, match="No space left on device"):
        with warehouse.transaction(full):
            con.execute("INSERT INTO t VALUES (1)")
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 0  # nothing stored, the connection works
    with warehouse.transaction(con):
        con.execute("INSERT INTO t VALUES (2)")
    assert con.execute("SELECT a FROM t").fetchall() == [(2,)]


def test_a_failing_block_is_still_rolled_back(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE TABLE t (a INTEGER)")
    with pytest.raises(ValueError, match="stop"):
        with warehouse.transaction(con):
            con.execute("INSERT INTO t VALUES (1)")
            raise ValueError("stop")
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 0


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_commit_on_a_really_full_disk_reports_the_full_disk(tmp_path):
    """The same on a real full disk (a 2 MB tmpfs), as the reviewer found it."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2M", "tmpfs", str(disk)], check=False).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        con = duckdb.connect(str(disk / "w.duckdb"))
        try:
            con.execute("CREATE TABLE t (a VARCHAR)")
            with pytest.raises(duckdb.Error) as raised:
                with warehouse.transaction(con):
                    con.execute("INSERT INTO t SELECT repeat('x', 1000) || i FROM range(100000) r(i)")
            assert warehouse.full_disk(raised.value) == str(disk / "w.duckdb.wal")
            assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 0
        finally:
            con.close()
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_a_full_disk_is_explained_in_one_line(tmp_path):
    exc = duckdb.TransactionException(
        f'TransactionContext Error: Failed to commit: Could not write file "{tmp_path}/w.duckdb.wal": '
        "No space left on device")
    assert str(warehouse.explain(exc)) == (f"cannot write {tmp_path}/w.duckdb.wal: No space left on device; nothing "
                                           "was stored: free space and rerun")
    assert warehouse.explain(duckdb.TransactionException("TransactionContext Error: Failed to commit: conflict")) is None


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_read_only_home_is_one_line_naming_the_setting(tmp_path, monkeypatch, capsys):
    """A MUSIM_HOME on a read-only disk was an unexpected crash: `IOException: IO Error: Cannot open file ...:
    Read-only file system (run with -v for the traceback)`, exit 1 (publish, similarity build, features list...)."""
    from musim.cli import main

    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64M", "tmpfs", str(disk)], check=False).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        monkeypatch.setenv("MUSIM_HOME", str(disk))
        for var in ("MUSIM_WAREHOUSE", "MUSIM_SERVING_DIR", "MUSIM_OBJECT_STORE", "MUSIM_LANDING", "MUSIM_TMP"):
            monkeypatch.delenv(var, raising=False)
        warehouse.connect(settings=get_settings()).close()
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        for argv in (["publish"], ["similarity", "build"], ["features", "list"]):
            assert main(argv) == 2, argv
            out, err = capsys.readouterr()
            assert (out, err) == ("", f"musim: error: cannot open {disk}/warehouse.duckdb: Read-only file system: "
                                      "musim writes its DuckDB files there; point MUSIM_WAREHOUSE (or MUSIM_HOME) at a "
                                      "folder it may write\n"), argv
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_a_folder_duckdb_may_not_write_is_named_with_its_setting(musim_home):
    """The same for Permission denied (sysfs refuses new files even to root), and a spill file under MUSIM_TMP."""
    settings = get_settings()
    if not os.path.isdir("/sys/kernel"):
        pytest.skip("no sysfs here")
    with pytest.raises(duckdb.IOException) as raised:
        duckdb.connect("/sys/kernel/w.duckdb")
    assert str(warehouse.explain(raised.value, settings)) == (
        "cannot open /sys/kernel/w.duckdb: Permission denied: musim writes its DuckDB files there; point MUSIM_HOME "
        "at a folder it may write")
    spill = settings.tmp_dir / "duckdb" / "duckdb_temp_storage-0.tmp"
    exc = duckdb.IOException(f'IO Error: Cannot open file "{spill}": Read-only file system')
    assert "point MUSIM_TMP (or MUSIM_HOME) at a folder" in str(warehouse.explain(exc, settings))
    assert warehouse.explain(duckdb.PermissionException("Permission Error: File system LocalFileSystem has been "
                                                        "disabled by configuration")) is None


def test_an_immutable_home_is_one_line_naming_the_setting(tmp_path, monkeypatch, capsys):
    """`chattr +i` on MUSIM_HOME: `musim dumps` was `IOException: IO Error: Cannot open file ...: Operation not
    permitted (run with -v for the traceback)`, exit 1."""
    from musim.cli import main

    home = tmp_path / "imm"
    home.mkdir()
    if subprocess.run(["chattr", "+i", str(home)], check=False, capture_output=True).returncode:
        pytest.skip("chattr +i is not permitted here")
    try:
        monkeypatch.setenv("MUSIM_HOME", str(home))
        for var in ("MUSIM_WAREHOUSE", "MUSIM_SERVING_DIR", "MUSIM_OBJECT_STORE", "MUSIM_LANDING", "MUSIM_TMP"):
            monkeypatch.delenv(var, raising=False)
        assert main(["dumps"]) == 2
        out, err = capsys.readouterr()
        assert (out, err) == ("", f"musim: error: cannot open {home}/warehouse.duckdb: Operation not permitted: musim "
                                  "writes its DuckDB files there; point MUSIM_WAREHOUSE (or MUSIM_HOME) at a folder it "
                                  "may write\n")
    finally:
        subprocess.run(["chattr", "-i", str(home)], check=True)


def test_a_full_spill_directory_is_not_called_out_of_memory(monkeypatch):
    """It was "DuckDB ran out of memory within its limit of 40MB (MUSIM_DUCKDB_MEMORY): raise it ...": DuckDB
    raises its out-of-memory error when it cannot offload to a full temp directory, here capped by DuckDB's own
    max_temp_directory_size."""
    settings = get_settings()
    con = warehouse.configure(duckdb.connect(), settings)
    con.execute("SET memory_limit = '20MB'; SET threads = 1; SET max_temp_directory_size = '1MB'")
    with pytest.raises(duckdb.OutOfMemoryException, match="failed to offload") as raised:
        con.execute("CREATE TABLE t AS SELECT i, repeat('x', 100) || i AS s FROM range(2000000) r(i) ORDER BY s DESC")
    monkeypatch.setattr(warehouse.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10 << 30, 0, 1536 << 10))
    assert str(warehouse.explain(raised.value, settings)) == (
        f"DuckDB's spill directory {settings.tmp_dir / 'duckdb'} (MUSIM_TMP) is full (1.5 MiB free): free space "
        "there or point MUSIM_TMP at a larger disk")


def test_running_out_of_memory_still_names_the_memory_limit():
    exc = duckdb.OutOfMemoryException("Out of Memory Error: failed to pin block of size 256.0 KiB (19.0 MiB/19.0 MiB "
                                      "used)")
    assert str(warehouse.explain(exc)).startswith("DuckDB ran out of memory within its limit of 2GB (MUSIM_DUCKDB")


def test_the_code_fingerprint_migration_keeps_builds_and_their_next_build_is_made_once(tmp_path, musim_home):
    """024 adds similarity_build.code_fingerprint; a build recorded before it keeps every column and no fingerprint
    (the code that made it is unknown), so the next build asked of its dump is made once, then stands."""
    from musim.ingest.lastfm import ingest_lastfm
    from musim.similarity.build import SimilarityParams, build_similarity
    from musim.similarity.fingerprint import code_fingerprint
    from tests.lastfm_files import tiny_dump

    dump_id = ingest_lastfm(tiny_dump(tmp_path / "d.tsv")).dump_id
    p = SimilarityParams(min_listeners=1, min_co_listeners=1, k=5)
    with warehouse.writer() as con:
        build_similarity(con, dump_id, p)
        # the warehouse as it was before 024: the same build, without the column
        con.execute("ALTER TABLE similarity_build DROP COLUMN code_fingerprint")
        con.execute("DELETE FROM schema_migrations WHERE version = 24")
        before = con.execute("SELECT * FROM similarity_build").fetchall()
    with warehouse.writer() as con:  # migrates
        after = con.execute("SELECT * EXCLUDE (code_fingerprint) FROM similarity_build").fetchall()
        assert after == before and len(before) == 1
        assert con.execute("SELECT code_fingerprint FROM similarity_build").fetchall() == [(None,)]
        rebuilt = build_similarity(con, dump_id, p)
        assert rebuilt.built_before is None and "recorded before builds recorded their code" in rebuilt.rebuilt_because
        assert con.execute("SELECT code_fingerprint FROM similarity_build").fetchall() == [(code_fingerprint(),)]
        assert build_similarity(con, dump_id, p).built_before is not None


def test_a_warehouse_from_a_newer_musim_is_refused_in_one_line_and_left_as_it_is(musim_home, capsys):
    """A warehouse that records a migration this musim does not have (written by a newer musim) was opened and
    written as if it were current: older code storing rows into a schema it does not know."""
    from musim import cli

    warehouse.connect().close()
    path = get_settings().warehouse.path
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_migrations (version, name) VALUES (998, '998_from_the_future')")
    con.execute("CREATE TABLE future_table (x INTEGER)")
    con.close()
    with pytest.raises(StorageError) as err:
        warehouse.connect()
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "998_from_the_future" in message
    assert "newer musim" in message and "MUSIM_WAREHOUSE" in message
    assert cli.main(["publish"]) == 2
    assert "998_from_the_future" in capsys.readouterr().err
    con = duckdb.connect(str(path))  # the refusing process closed its connection: the file is free
    assert con.execute("SELECT max(version) FROM schema_migrations").fetchone() == (998,)
    con.execute("DELETE FROM schema_migrations WHERE version = 998")
    con.close()
    warehouse.connect().close()  # back to what this musim knows: it opens again


def test_the_declared_compression_migration_keeps_every_pair_in_storage_order(monkeypatch, tmp_path, musim_home):
    """034 names the compression of artist_pair_counts' columns (DuckDB tried every method on each segment of a
    build's ~20M pairs before writing them in the one it picks): a warehouse built under 033 keeps every pair in its
    storage order (pair order, which the quality gate reads), behind the artist_pairs view, and builds again."""
    import musim.warehouse as wh
    from musim.ingest.lastfm import ingest_lastfm
    from musim.similarity.build import SimilarityParams, build_similarity
    from musim.synth.lastfm import write_lastfm_dump

    every = wh.available_migrations()
    monkeypatch.setattr(wh, "available_migrations", lambda: [m for m in every if m[0] < 34])
    ingest_lastfm(write_lastfm_dump(tmp_path / "synth", users=300, artists=90, communities=3, seed=1).plays_path)
    params = SimilarityParams(min_listeners=3, min_co_listeners=2, k=5)
    with wh.writer() as con:
        build_similarity(con, None, params)
        assert "COMPRESSION" not in _table_sql(con, "artist_pair_counts")
        stored, viewed = _pairs_in_storage_order(con)
    monkeypatch.setattr(wh, "available_migrations", lambda: every)
    with wh.writer() as con:
        assert (34,) in sql.query(con, "warehouse/applied_migrations.sql").fetchall()
        declared = _table_sql(con, "artist_pair_counts")
        for column, method in (("dump_seq", "RLE"), ("artist_a", "RLE"), ("artist_b", "BitPacking"),
                               ("co_listeners", "BitPacking")):
            assert f"{column} INTEGER USING COMPRESSION {method} NOT NULL" in declared, declared
        assert _pairs_in_storage_order(con) == (stored, viewed) and len(stored) > 100
        assert stored == sorted(stored)
        build_similarity(con, None, params, force=True)  # a build after it stores the same pairs in the same order
        assert _pairs_in_storage_order(con) == (stored, viewed)
        con.execute("CHECKPOINT")
        methods = {m for (m,) in con.execute("""SELECT DISTINCT compression FROM pragma_storage_info('artist_pair_counts')
                                                WHERE segment_type <> 'VALIDITY'""").fetchall()}
    assert methods <= {"RLE", "BitPacking", "Constant"}, methods


def _table_sql(con, table):
    return con.execute("SELECT sql FROM duckdb_tables() WHERE table_name = ?", [table]).fetchone()[0]


def _pairs_in_storage_order(con):
    with warehouse.in_order(con):
        stored = con.execute("SELECT * FROM artist_pair_counts").fetchall()
    return stored, con.execute("SELECT * FROM artist_pairs ORDER BY ALL").fetchall()


def test_every_connection_musim_opens_has_the_name_norm_macro(musim_home, tmp_path):
    """The SQL files call name_norm() (sql/warehouse/macros.sql): the writer, a read-only connection, a reader of the
    warehouse and a sandbox on a snapshot (`musim sql`, `musim similar-tracks`) each have it."""
    probe = "SELECT name_norm(' The\u00a0 Beatles ')"
    with warehouse.writer() as con:
        assert con.execute(probe).fetchone() == ("the beatles",)
    con = warehouse.connect(read_only=True)
    assert con.execute(probe).fetchone() == ("the beatles",)
    con.close()
    with sandbox.reader() as con:
        assert con.execute(probe).fetchone() == ("the beatles",)
    snapshot = tmp_path / "snap.duckdb"
    duckdb.connect(str(snapshot)).close()
    con = sandbox.open_sandbox(snapshot)
    assert con.execute(probe).fetchone() == ("the beatles",)
    con.close()


def test_a_path_with_a_question_mark_is_refused_before_duckdb_writes_anything(tmp_path, monkeypatch):
    """MUSIM_HOME=/tmp/q?home: DuckDB names the write-ahead log by cutting the path at '?' (/tmp/q.wal?home/...), so
    every commit of the warehouse and of a publish failed with a TransactionException naming a file no one chose."""
    from musim import serving

    home = tmp_path / "q?home"
    monkeypatch.setenv("MUSIM_HOME", str(home))
    with pytest.raises(StorageError, match=r"holds '\?'.*set MUSIM_WAREHOUSE \(or MUSIM_HOME\) to a path without '\?'$"):
        warehouse.connect()
    assert not (home / "warehouse.duckdb").exists()
    monkeypatch.setenv("MUSIM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MUSIM_SERVING_DIR", str(tmp_path / "q?serving"))
    with warehouse.writer() as con, pytest.raises(StorageError, match=r"set MUSIM_SERVING_DIR \(or MUSIM_HOME\)"):
        serving.publish(con, force=True)
    assert not list((tmp_path / "q?serving").glob("snapshots/*"))
