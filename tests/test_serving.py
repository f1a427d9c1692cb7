"""Published snapshots: atomic switch, readers never blocked or shown half a build; `similar` lookups."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from musim import serving, sql, warehouse
from musim.config import get_settings
from musim.errors import NotFoundError, ParameterError, StorageError
from musim.ingest.lastfm import ingest_lastfm
from musim.similarity.build import SimilarityParams, build_similarity
from musim.similarity.query import ArtistNotFound, similar_artists
from tests.lastfm_files import U1, tiny_dump, write_lines
from tests.scratch_owner import kill
from tests.test_cooccurrence import needs_c_kernels

REPO = Path(__file__).resolve().parents[1]
P = SimilarityParams(min_listeners=1, min_co_listeners=1, k=5)


def _build_and_publish(*, force: bool = False):
    with warehouse.writer() as con:
        build_similarity(con, None, P, force=force)
        return serving.publish(con)


def test_nothing_published_is_explained():
    with pytest.raises(NotFoundError, match="nothing has been published"):
        serving.open_snapshot()


def test_similar_by_name_is_case_and_space_insensitive(tmp_path):
    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    _build_and_publish()
    con = serving.open_snapshot()
    answer = similar_artists(con, "  artist   b ", k=2)
    rows = answer.neighbors
    assert answer.artist == "Artist B" and [r.artist for r in rows] == ["Artist C", "Artist A"]
    assert rows[0].score == pytest.approx(1.0) and rows[0].co_listeners == 2
    with pytest.raises(ArtistNotFound, match="did you mean: 'Artist") as err:
        similar_artists(con, "Artist Q")
    assert err.value.suggestions[0].startswith("Artist")
    for blank in ("", "  \t "):  # not answered with five arbitrary suggestions
        with pytest.raises(ParameterError, match="the artist name is empty"):
            similar_artists(con, blank)


def test_similar_finds_a_name_typed_as_a_music_library_keys_it(tmp_path, capsys):
    """`musim similar OaktamSoljun` did not find "Oaktam Soljun" (missing spaces, punctuation and accents
    mattered), though the music library counts those spellings as one artist."""
    from musim.cli import main
    from musim.similarity.query import find_artist

    users = [f"{i:040x}" for i in range(4)]
    lines = [f"{u}\t\t{name}\t3" for u in users[:3] for name in ("Oaktam Soljun", "AC/DC", "Björk")]
    lines += [f"{users[3]}\t\tACDC\t2", f"{users[3]}\t\tBjörk\t1"]
    dump_id = ingest_lastfm(write_lines(tmp_path / "d.tsv", lines)).dump_id
    _build_and_publish()
    con = serving.open_snapshot()
    for typed in ("OaktamSoljun", "oaktam-soljun", " OAKTAM_SOLJUN "):
        answer = similar_artists(con, typed, k=2)
        assert answer.artist == "Oaktam Soljun" and {r.artist for r in answer.neighbors} == {"AC/DC", "Björk"}
    assert similar_artists(con, "bjork").artist == "Björk"
    # the name as typed (up to case and spaces) wins; a key several artists share: the most listened
    assert similar_artists(con, "acdc").artist == "ACDC" and find_artist(con, "acdc", dump_id)[1] == "ACDC"
    assert similar_artists(con, "ac dc").artist == "AC/DC" and find_artist(con, "ac dc", dump_id)[1] == "AC/DC"
    with pytest.raises(ArtistNotFound, match="did you mean: 'Oaktam Soljun'"):
        similar_artists(con, "OaktamSoljunx")
    assert main(["similar", "OaktamSoljun", "--k", "1"]) == 0
    assert "artists most similar to Oaktam Soljun" in capsys.readouterr().out


def test_a_snapshot_without_name_keys_asks_for_a_new_publish(tmp_path):
    import duckdb

    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    path = _build_and_publish()
    path.chmod(0o644)  # writable, as an older musim left it
    with duckdb.connect(str(path)) as con:  # as published before the name keys
        con.execute("DROP INDEX artist_name_key_idx")
        con.execute("DROP INDEX artist_name_norm_idx")
        con.execute("ALTER TABLE artist DROP COLUMN name_key")
    with serving.open_snapshot() as con, pytest.raises(StorageError, match=r"earlier version.*`musim publish`"):
        similar_artists(con, "artistb")


def test_a_snapshot_of_an_earlier_layout_asks_for_a_new_publish(tmp_path):
    import duckdb

    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    path = _build_and_publish()
    path.chmod(0o644)  # writable, as an older musim left it
    with duckdb.connect(str(path)) as con:  # as published before the lookup's dump ranges
        con.execute("DROP VIEW artist_pairs")
        con.execute("DROP VIEW artist_pair_lookup")
        con.execute("DROP TABLE pair_lookup_dumps")
    with serving.open_snapshot() as con, pytest.raises(StorageError, match=r"earlier version.*`musim publish`"):
        similar_artists(con, "Artist B")


def _every_door_says(capsys, says: str):
    """`musim similar` and `musim sql` (exit 2) and the API (503) each answer with ``says``, in one line (the query
    door and the API showed DuckDB's own error); returns the web app's test client."""
    from fastapi.testclient import TestClient

    from musim.cli import main
    from musim.ui.app import create_app

    assert main(["similar", "Artist B"]) == 2
    assert capsys.readouterr().err == f"musim: error: {says}\n"
    for query in ("SELECT * FROM artist_neighbors", "SELECT * FROM similar_artists"):
        assert main(["sql", query]) == 2, query
        assert capsys.readouterr().err == f"musim: error: {says}\n", query
    client = TestClient(create_app(), raise_server_exceptions=False)
    answer = client.get("/api/similar", params={"artist": "Artist B"})
    assert answer.status_code == 503 and answer.json() == {"detail": says}
    return client


@pytest.mark.parametrize("damage", ["cut", "overwritten"])
def test_a_damaged_snapshot_says_to_publish_again_and_the_warehouse_one_how_to_recover(tmp_path, capsys, damage):
    """A snapshot cut short (a disk that filled under a copy) was "musim: error: IOException: IO Error: Could not
    read enough bytes from file ..." with no word of what to do, and the web app answered 500."""
    from musim.cli import main

    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    path = _build_and_publish()
    size = path.stat().st_size
    if damage == "cut":
        os.truncate(path, size // 3)
    else:
        path.write_bytes(os.urandom(4096))
    why = "cut short" if damage == "cut" else "not a DuckDB database"
    says = f"the published snapshot {path} is damaged ({why}): publish a new one from the warehouse with `musim publish`"
    client = _every_door_says(capsys, says)
    page = client.get("/", params={"artist": "Artist B"})  # the page shows it where "not published" would be
    assert page.status_code == 503 and f"is damaged ({why}): publish a new one" in page.text
    assert "The published snapshot cannot be read." in page.text and "Nothing to show yet" not in page.text
    assert main(["publish"]) == 0 and main(["similar", "Artist B"]) == 0  # the advice works
    capsys.readouterr()
    wh = get_settings().warehouse.path
    os.truncate(wh, wh.stat().st_size // 2)
    assert main(["dumps"]) == 2
    assert capsys.readouterr().err == (f"musim: error: the warehouse {wh} is damaged (cut short): restore it from a "
                                       "backup, or move it away and load the dumps again (`musim ingest`)\n")


def test_duckdb_out_of_memory_names_the_limit_and_the_settings(tmp_path, capsys, monkeypatch):
    """It was "musim: error: OutOfMemoryException: Out of Memory Error: failed to pin block ..." (exit 1)."""
    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    _build_and_publish()
    monkeypatch.setenv("MUSIM_DUCKDB_MEMORY", "1KB")
    says = ("DuckDB ran out of memory within its limit of 1KB (MUSIM_DUCKDB_MEMORY): raise it (e.g. "
            "MUSIM_DUCKDB_MEMORY=80%), give it fewer threads (MUSIM_DUCKDB_THREADS), or ask less of it at once")
    _every_door_says(capsys, says)


def test_old_readers_keep_their_snapshot_and_new_ones_see_the_new_build(tmp_path):
    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    first = _build_and_publish()
    old = serving.open_snapshot()
    ingest_lastfm(write_lines(tmp_path / "d2.tsv", [f"{U1}\t\tSolo\t1", f"{U1}\t\tDuo\t1", f"{'e' * 40}\t\tSolo\t2"]))
    second = _build_and_publish()
    assert first != second and serving.current_path() == second
    assert old.execute("SELECT count(*) FROM lastfm_dump").fetchone()[0] == 1
    assert serving.open_snapshot().execute("SELECT count(*) FROM lastfm_dump").fetchone()[0] == 2


def test_queries_during_rebuilds_always_see_a_whole_build(tmp_path):
    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    _build_and_publish()
    errors: list[BaseException] = []
    seen: set[int] = set()
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                con = serving.open_snapshot()
                seen.add(con.execute("SELECT count(*) FROM artist_neighbors").fetchone()[0])
                con.close()
            except BaseException as exc:  # noqa: BLE001 - the test reports any failure
                errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(4):
            _build_and_publish(force=True)
    finally:
        stop.set()
        thread.join()
    assert not errors and seen == {30}  # 3 pairs x 2 directions x 5 metrics, never a partial count


def test_old_snapshots_are_pruned(tmp_path, musim_home):
    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    for _ in range(5):
        _build_and_publish(force=True)  # five builds: five distinct served states
    assert len(list((musim_home / "serving" / "snapshots").glob("snapshot-*.duckdb"))) == 3


_SLOW_PUBLISH = """
import sys, time
from pathlib import Path
from musim import serving, warehouse
from musim.config import get_settings

def stuck(con):  # the partial snapshot is written: stop here until killed
    Path(sys.argv[1]).write_text("ready")
    time.sleep(600)

serving._publish_extras = stuck
with warehouse.writer() as con:
    serving.publish(con)
"""


def test_a_publish_killed_half_way_leaves_nothing_the_next_publish_keeps(tmp_path, musim_home):
    """kill -9 during a publish: the previous snapshot serves on; the next publish removes the partial files."""
    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    first = _build_and_publish()
    snapshots, serving_dir = musim_home / "serving" / "snapshots", musim_home / "serving"
    (snapshots / "snapshot-20200101T000000000000Z.partial").write_bytes(b"x")  # an older version's leftovers
    (snapshots / "snapshot-20200101T000000000000Z.partial.wal").write_bytes(b"x")
    os.symlink("snapshots/nowhere", serving_dir / ".current.duckdb.999999")
    ready = tmp_path / "ready"
    child = subprocess.Popen([sys.executable, "-c", _SLOW_PUBLISH, str(ready)], cwd=REPO,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        for _ in range(600):
            if ready.exists() or child.poll() is not None:
                break
            time.sleep(0.1)
        assert ready.exists(), "the child publish did not reach its pause"
        partial = [p.name for p in snapshots.glob("publish-*.partial*")]
        assert partial and all(p.startswith(f"publish-{child.pid}-") for p in partial)
        serving.clean_leftovers()  # while its writer lives, the partial snapshot stays ...
        assert [p.name for p in snapshots.glob("publish-*.partial*")] == partial
    finally:
        kill(child)
    assert [p.name for p in snapshots.glob("publish-*.partial*")] == partial  # ... and a kill leaves it behind
    assert serving.current_path() == first  # the previous snapshot still serves
    assert serving.open_snapshot().execute("SELECT count(*) FROM artist_neighbors").fetchone()[0] == 30
    second = _build_and_publish(force=True)
    assert serving.current_path() == second
    assert sorted(p.name for p in snapshots.iterdir()) == sorted([first.name, second.name])
    assert sorted(p.name for p in serving_dir.iterdir()) == ["current.duckdb", "snapshots"]


def test_a_failed_publish_removes_its_partial_snapshot(tmp_path, musim_home, monkeypatch):
    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    first = _build_and_publish()

    def broken(con):
        raise RuntimeError("disk full")

    monkeypatch.setattr(serving, "_publish_extras", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        _build_and_publish()
    assert [p.name for p in (musim_home / "serving" / "snapshots").iterdir()] == [first.name]


class _DetachCannotCheckpoint:
    """musim.sql whose DETACH of the partial snapshot fails as DuckDB's does on a full disk: detached, but its
    checkpoint failed."""

    def __getattr__(self, name):
        return getattr(sql, name)

    def run(self, con, name, **params):
        done = sql.run(con, name, **params)
        if name == "serving/detach.sql":
            raise duckdb.IOException("IO Error: Detached database 'snap', but CHECKPOINT during DETACH failed.")
        return done


def test_a_publish_that_finds_the_disk_full_says_so_and_the_old_snapshot_serves(tmp_path, musim_home, monkeypatch,
                                                                                capsys):
    """It was "IOException: IO Error: Detached database 'snap', but CHECKPOINT during DETACH failed." (exit 1):
    the failed DETACH in the finally replaced the full-disk error."""
    from musim.cli import main

    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    first = _build_and_publish()
    wal, extras = [], serving._publish_extras

    def disk_full(con):
        wal.append(con.execute("SELECT path FROM duckdb_databases() WHERE database_name = 'snap'").fetchone()[0]
                   + ".wal")
        raise duckdb.TransactionException(
            f'TransactionContext Error: Failed to commit: Could not write file "{wal[0]}": No space left on device')

    monkeypatch.setattr(serving, "_publish_extras", disk_full)
    monkeypatch.setattr(serving, "sql", _DetachCannotCheckpoint())
    assert main(["publish", "--force"]) == 2
    assert capsys.readouterr().err == (f"musim: error: cannot write {wal[0]}: No space left on device; the previous "
                                       "snapshot keeps serving; free space in MUSIM_SERVING_DIR and rerun musim "
                                       "publish\n")
    assert [p.name for p in (musim_home / "serving" / "snapshots").iterdir()] == [first.name]
    assert serving.current_path() == first
    monkeypatch.setattr(serving, "_publish_extras", extras)  # space freed: the next publish goes through
    monkeypatch.setattr(serving, "sql", sql)
    second = _build_and_publish(force=True)
    assert serving.current_path() == second != first


def test_a_first_publish_whose_views_find_the_disk_full_says_so_in_one_line(tmp_path, musim_home, monkeypatch,
                                                                           capsys):
    """A full disk while the views and served state were written (after the tables) gave the generic "nothing was
    stored: free space and rerun"; one while the tables were written said "the previous snapshot keeps serving"
    when nothing had ever been published."""
    from musim import snapshots
    from musim.cli import main

    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    with warehouse.writer() as con:
        build_similarity(con, None, P)
    wal, record = [], snapshots.record_state

    def disk_full(con):
        wal.append(con.execute("SELECT path FROM duckdb_databases() WHERE path IS NOT NULL").fetchone()[0] + ".wal")
        raise duckdb.IOException(f'IO Error: Could not write file "{wal[0]}": No space left on device')

    monkeypatch.setattr(snapshots, "record_state", disk_full)
    assert main(["publish", "--force"]) == 2
    assert capsys.readouterr().err == (f"musim: error: cannot write {wal[0]}: No space left on device; nothing is "
                                       "served yet; free space in MUSIM_SERVING_DIR and rerun musim publish\n")
    assert list((musim_home / "serving" / "snapshots").iterdir()) == []  # the partial snapshot went
    monkeypatch.setattr(snapshots, "record_state", record)
    assert main(["publish", "--force"]) == 0
    assert serving.current_path().exists()


def test_a_failed_detach_never_replaces_the_error_that_stopped_the_publish(tmp_path, musim_home, monkeypatch):
    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    first = _build_and_publish()

    def broken(con):
        raise RuntimeError("the lookup is wrong")

    monkeypatch.setattr(serving, "_publish_extras", broken)
    monkeypatch.setattr(serving, "sql", _DetachCannotCheckpoint())
    with pytest.raises(RuntimeError, match="the lookup is wrong") as raised:
        _build_and_publish()
    assert raised.value.__notes__ == ["then detaching the partial snapshot failed too: IOException: IO Error: "
                                      "Detached database 'snap', but CHECKPOINT during DETACH failed."]
    assert [p.name for p in (musim_home / "serving" / "snapshots").iterdir()] == [first.name]


@needs_c_kernels
def test_both_engines_publish_the_same_pair_lookup(tmp_path, monkeypatch):
    """The pairs laid out in C and sorted by DuckDB: the same rows in the same order (grouped by artist,
    neighbours ascending), and the snapshot's artist_pairs view equals the warehouse's pairs."""
    from musim.synth.lastfm import write_lastfm_dump

    for seed in (1, 2):  # two dumps: the lookup holds both, each under its own seq
        ingest_lastfm(write_lastfm_dump(tmp_path / f"synth{seed}", users=300, artists=90, communities=3,
                                        seed=seed).plays_path)
        with warehouse.writer() as con:
            build_similarity(con, None, SimilarityParams(min_listeners=3, min_co_listeners=2, k=5))
    lookups = {}
    for engine in ("c", "duckdb"):
        monkeypatch.setenv("MUSIM_SIMILARITY_ENGINE", engine)
        with warehouse.writer() as con:
            serving.publish(con)
            pairs = con.execute("SELECT * FROM artist_pairs ORDER BY ALL").fetchall()
        with serving.open_snapshot() as snap, warehouse.in_order(snap):
            lookups[engine] = (snap.execute("SELECT rowid, * FROM pair_lookup").fetchall(),
                               snap.execute("SELECT * FROM pair_lookup_dumps ORDER BY dump_seq").fetchall())
            assert snap.execute("SELECT * FROM artist_pairs ORDER BY ALL").fetchall() == pairs
    assert lookups["c"] == lookups["duckdb"]
    rows, dumps = lookups["c"]
    assert [r[0] for r in rows] == list(range(len(rows))) == list(range(len(pairs) * 2)) and len(rows) > 200
    assert len(dumps) == 2 and dumps[0][1] == 0 and dumps[0][1] + dumps[0][2] == dumps[1][1]  # one after the other
    assert dumps[1][1] + dumps[1][2] == len(rows)
    for _, first, count in dumps:  # each dump's rows grouped by artist, neighbours ascending
        one_dump = [r[1:3] for r in rows[first:first + count]]
        assert one_dump == sorted(one_dump) and count > 100


def test_the_pair_lookup_is_written_in_the_compression_it_names(tmp_path):
    """DuckDB tried every compression method on each segment of the 40M lookup rows before it wrote them in the
    one it picks for such rows, a fifth of the insert's CPU: the snapshot's pair_lookup names its columns'
    compression (runs of one artist: RLE; neighbours and counts: bit-packing), is stored in it, and holds the
    warehouse's pairs in both directions."""
    from musim.synth.lastfm import write_lastfm_dump

    ingest_lastfm(write_lastfm_dump(tmp_path / "synth", users=300, artists=90, communities=3, seed=1).plays_path)
    with warehouse.writer() as con:
        build_similarity(con, None, SimilarityParams(min_listeners=3, min_co_listeners=2, k=5))
        path = serving.publish(con)
        pairs = con.execute("SELECT artist_a, artist_b, co_listeners FROM artist_pairs ORDER BY ALL").fetchall()
    with duckdb.connect(str(path), read_only=True) as snap:
        declared = snap.execute("SELECT sql FROM duckdb_tables() WHERE table_name = 'pair_lookup'").fetchone()[0]
        stored = dict(snap.execute("""SELECT column_name, list(DISTINCT compression ORDER BY compression)
                                      FROM pragma_storage_info('pair_lookup') WHERE segment_type <> 'VALIDITY'
                                      GROUP BY ALL""").fetchall())
        both = snap.execute("""SELECT artist_id, neighbor_id, co_listeners FROM pair_lookup
                               WHERE artist_id < neighbor_id ORDER BY ALL""").fetchall()
        rows = snap.execute("SELECT count(*) FROM pair_lookup").fetchone()[0]
    for column, method in (("artist_id", "RLE"), ("neighbor_id", "BitPacking"), ("co_listeners", "BitPacking")):
        assert f"{column} INTEGER USING COMPRESSION {method}" in declared, declared
        assert set(stored[column]) <= {method, "Constant"}, stored
    assert both == pairs and rows == 2 * len(pairs) > 200


def test_a_damaged_block_in_the_snapshot_is_named_with_what_to_do(tmp_path):
    """DuckDB names no file for a block whose checksum does not match: it was "musim: error: Error: Corrupt database
    file: computed checksum ... (run with -v for the traceback)" (exit 1), and the web app answered 500."""
    import subprocess
    import sys

    from fastapi.testclient import TestClient

    from musim.ui.app import create_app

    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    path = _build_and_publish()
    with open(path, "r+b") as fh:
        fh.seek(8192)
        fh.write(b"\xff" * 4096)
    says = (f"the published snapshot {path} is damaged (a block's checksum does not match): publish a new one from "
            "the warehouse with `musim publish`")
    cli = subprocess.run([sys.executable, "-m", "musim.cli", "sql", "SELECT count(*) FROM artist"], capture_output=True,
                         text=True, timeout=120)
    assert (cli.returncode, cli.stderr) == (2, f"musim: error: {says}\n"), cli.stderr
    client = TestClient(create_app(), raise_server_exceptions=False)
    answer = client.get("/api/similar", params={"artist": "Artist B"})
    assert answer.status_code == 503 and answer.json() == {"detail": says}


def test_a_current_link_to_a_missing_snapshot_says_so(tmp_path, capsys):
    """It said "nothing has been published ... yet" while the link was there, pointing at a deleted file."""
    from musim.cli import main

    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    path = _build_and_publish()
    path.unlink()
    assert main(["sql", "SELECT 1"]) == 2
    link = get_settings().serving_dir / "current.duckdb"
    assert capsys.readouterr().err == (f"musim: error: the published snapshot {link} points to "
                                       f"{link.parent / os.readlink(link)}, which is missing (deleted by hand?): "
                                       "publish a new one from the warehouse with `musim publish`\n")
    from fastapi.testclient import TestClient

    from musim.ui.app import create_app

    client = TestClient(create_app(), raise_server_exceptions=False)
    assert client.get("/api/similar", params={"artist": "Artist B"}).status_code == 503
    page = client.get("/")
    assert page.status_code == 503 and "which is missing (deleted by hand?)" in page.text
    assert main(["publish"]) == 0 and main(["sql", "SELECT 1"]) == 0


def test_a_running_app_sees_its_snapshot_damaged_in_place(tmp_path):
    """/api/status kept answering 200 from the connection opened before the file was cut (the other routes 503)."""
    from fastapi.testclient import TestClient

    from musim.ui.app import create_app

    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    path = _build_and_publish()
    client = TestClient(create_app(), raise_server_exceptions=False)
    assert client.get("/api/status").json()["available"] is True
    os.truncate(path, path.stat().st_size // 3)
    answer = client.get("/api/status")
    assert answer.status_code == 503 and "is damaged (cut short)" in answer.json()["detail"]


def test_a_snapshot_flags_cold_start_artists_against_the_dump_it_serves(tmp_path):
    """The audio neighbours' cold_start was frozen when their model was published: after a new dump in which an
    artist has no listening line left, the snapshot still said it had co-listening neighbours."""
    ingest_lastfm(tiny_dump(tmp_path / "d1.tsv"))
    with warehouse.writer() as con:
        build_similarity(con, None, P)
        ids = dict(con.execute("SELECT name, artist_id FROM artist").fetchall())
        a, b, c = ids["Artist A"], ids["Artist B"], ids["Artist C"]
        con.executemany("INSERT INTO artist_neighbors_audio VALUES ('autoencoder', 'autoencoder-1', ?, 1, ?, 0.5, "
                        "false, now())", [(a, b), (b, c), (c, a)])  # as published on the first dump
        serving.publish(con)
    lines = [line for line in (tmp_path / "d1.tsv").read_text().splitlines() if "Artist C" not in line]
    ingest_lastfm(write_lines(tmp_path / "d2.tsv", [*lines, f"{U1}\tx\tArtist D\t3"]))  # another dump, no Artist C
    _build_and_publish()
    snap = serving.open_snapshot()
    try:
        cold = dict(snap.execute("SELECT artist, cold_start FROM similar_artists_audio").fetchall())
    finally:
        snap.close()
    assert cold == {"Artist A": False, "Artist B": False, "Artist C": True}


def test_a_publish_keys_only_the_artists_new_or_renamed_since_the_last(tmp_path, monkeypatch):
    """Every publish keyed every artist's name (290K at the full dump, and every model publish publishes a
    snapshot); the keys are kept with the name they were made from and the rule's version."""
    import musim.names
    import musim.serving as serving_module

    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    with warehouse.writer() as con:
        build_similarity(con, None, P)
        assert serving_module.key_artist_names(con) == 3  # Artist A, B and C
        assert serving_module.key_artist_names(con) == 0  # nothing new
        con.execute("UPDATE artist SET name = 'Artíst-B!' WHERE name = 'Artist B'")  # a new display name
        assert serving_module.key_artist_names(con) == 1
        serving.publish(con)
        monkeypatch.setattr(serving_module, "NAME_KEY_RULE", musim.names.NAME_KEY_RULE + 1)  # another rule
        assert serving_module.key_artist_names(con) == 3
    snap = serving.open_snapshot()
    try:
        keys = dict(snap.execute("SELECT name, name_key FROM artist").fetchall())
    finally:
        snap.close()
    assert keys == {"Artist A": "artista", "Artíst-B!": "artistb", "Artist C": "artistc"}
    assert similar_artists(serving.open_snapshot(), "artist b").artist == "Artíst-B!"


def test_the_names_keyed_in_sql_get_the_name_rules_keys():
    """Plain ASCII names are keyed in SQL for speed (sql/serving/stale_name_keys.sql); every key equals
    musim.names.name_key's, on generated names of the plain marks and of every other kind."""
    import random

    import musim.serving as serving_module
    from musim.names import name_key

    rng = random.Random(11)
    alphabets = ["abcXYZ09 '&,!/+-", "abcXYZ09 '&,!/+-.()[]:_\t\x1fé\u00a0Ａ"]
    names = list(dict.fromkeys("".join(rng.choice(alphabets[i % 2]) for _ in range(rng.randint(1, 12)))
                               for i in range(4000)))
    names += ["!!!", " - ", "A (B C)", "www.x.de", "Simon & Garfunkel", "AC/DC", "Guns N' Roses"]
    with warehouse.writer() as con:
        con.executemany("INSERT INTO artist (artist_id, artist_key, name, name_norm, first_dump_id) "
                        "VALUES (?, ?, ?, ?, 'd')", [(i + 1, f"name:{i}", n, n.lower()) for i, n in enumerate(names)])
        assert serving_module.key_artist_names(con) == len(names)
        stored = dict(con.execute("SELECT name, name_key FROM artist_name_key").fetchall())
        in_sql = con.execute("SELECT count(*) FROM artist_name_key k JOIN artist a USING (artist_id) WHERE "
                             "regexp_full_match(a.name, '[A-Za-z0-9 ''&,!/+-]*[A-Za-z0-9][A-Za-z0-9 ''&,!/+-]*')"
                             ).fetchone()[0]
    assert in_sql > 1000  # both paths are exercised
    assert {n: stored[n] for n in names} == {n: name_key(n) for n in names}


def test_a_snapshot_is_written_in_a_storage_format_duckdb_1_5_reads(tmp_path):
    """Snapshots were written in DuckDB 2.0's format: a 1.5 client (PyPI's duckdb-cli, JDBC drivers) failed with
    `Trying to read a database file with version number ...`, though the README promised any DuckDB client. The
    storage version is recorded in the file (a 1.5 client cannot run here: no network to install one)."""
    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    path = _build_and_publish()
    con = duckdb.connect(str(path), read_only=True)
    try:
        tags = con.execute("SELECT tags FROM duckdb_databases() WHERE NOT internal").fetchone()[0]
    finally:
        con.close()
    assert tags["storage_version"].startswith("v1.5."), tags
    assert "DuckDB client of version 1.5 or later" in (REPO / "README.md").read_text()


HOLD_SNAPSHOT = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.readline()
"""


def test_a_snapshot_held_read_write_elsewhere_is_named_with_what_to_do(tmp_path, capsys):
    """A user holding the snapshot read-write stopped `musim similar` and `musim sql` with "the warehouse is being
    written by another process": it names the snapshot now, and the file is read-only on disk."""
    from musim.cli import main

    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    path = _build_and_publish()
    assert path.stat().st_mode & 0o777 == serving.SNAPSHOT_MODE == 0o444
    path.chmod(0o644)  # as root can, or as an older musim left it
    proc = subprocess.Popen([sys.executable, "-c", HOLD_SNAPSHOT, str(get_settings().serving_dir / serving.CURRENT)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "holding"
        for argv in (["similar", "Artist B"], ["sql", "SELECT 1"]):
            assert main(argv) == 2
            err = capsys.readouterr().err
            assert err == (f"musim: error: the published snapshot {path} is open read-write in pid {proc.pid}; open "
                           "it with read_only=True (duckdb.connect(path, read_only=True), duckdb -readonly): musim "
                           "never changes a snapshot, and a read-write connection shuts every other reader out\n")
    finally:
        proc.kill()
        proc.wait()


#: What a user queries in a snapshot (README, Serving and Models), and what is musim's own.
USER_FACING = {"lastfm_dump", "similarity_build", "artist", "artist_listeners", "artist_pair_similarity", "track",
               "artist_neighbors_audio", "track_neighbors", "model_registry", "quality_result", "latest_dump",
               "artist_pair_lookup", "artist_pairs", "artist_neighbors", "similar_artists", "similar_artists_audio",
               "similar_tracks"}
INTERNAL = {"pair_lookup", "pair_lookup_dumps", "served_state", "served_online", "served_manifest"}


def test_a_snapshot_describes_itself(tmp_path):
    """Nothing in a snapshot said what it was (no COMMENT ON): internal tables sat beside the views, and the audio
    score meant a model output for siamese and a cosine for the others, said only in a migration's comment."""
    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    path = _build_and_publish()
    con = duckdb.connect(str(path), read_only=True)
    try:
        comments = dict(con.execute("SELECT table_name, comment FROM duckdb_tables() UNION ALL "
                                    "SELECT view_name, comment FROM duckdb_views() WHERE NOT internal").fetchall())
        views = {v for (v,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        columns = {(t, c): comment for t, c, comment in con.execute(
            "SELECT table_name, column_name, comment FROM duckdb_columns()").fetchall()}
    finally:
        con.close()
    assert set(comments) == USER_FACING | INTERNAL
    assert all(comments[r] and comments[r].strip() for r in comments), {r for r in comments if not comments[r]}
    assert all(comments[r].startswith("Internal") for r in INTERNAL)
    assert not any(comments[r].startswith("Internal") for r in USER_FACING)
    assert [k for k in columns if k[0] in views and not (columns[k] or "").strip()] == []
    for table in ("artist_neighbors_audio", "similar_artists_audio", "similar_tracks"):
        assert "siamese" in columns[(table, "score")] and "cosine" in columns[(table, "score")]
    assert "no co-listened pair" in columns[("similar_artists_audio", "cold_start")]
    # the registry's statuses as migration 007 allows them (it said "registered, champion, published, archived")
    from musim.models.constants import STATUSES

    said = set(re.findall(r"\b[a-z]+\b", comments["model_registry"].split("status:")[1].split(";")[0]))
    assert set(STATUSES) <= said and not {"registered", "published"} & said, comments["model_registry"]
    readme = (REPO / "README.md").read_text()  # the README names every internal table as such
    marked = readme[:readme.index("are marked internal")].rsplit("(`SELECT", 1)[1]
    assert all(f"`{t}`" in marked for t in INTERNAL), marked


def test_a_snapshot_is_finished_in_one_transaction(tmp_path, monkeypatch):
    """The views, indexes, comments and served state were committed statement by statement (~80 commits, a third
    of the finishing's time): one transaction now, so a finishing cut short leaves none of them."""
    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    finish = serving._finish_snapshot
    monkeypatch.setattr(serving, "_finish_snapshot", lambda path, settings: None)
    path = _build_and_publish()  # the tables, not yet finished
    monkeypatch.setattr(serving, "_finish_snapshot", finish)
    path.chmod(0o644)

    def described(path):
        con = duckdb.connect(str(path), read_only=True)
        try:
            return [con.execute(q).fetchall() for q in (
                "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1",
                "SELECT index_name FROM duckdb_indexes() ORDER BY 1",
                "SELECT table_name FROM duckdb_tables() WHERE comment IS NOT NULL ORDER BY 1")]
        finally:
            con.close()

    before = described(path)

    def cut_short(con):
        raise RuntimeError("killed")

    monkeypatch.setattr(serving.snapshots, "record_state", cut_short)
    with pytest.raises(RuntimeError, match="killed"):
        serving._finish_snapshot(path, get_settings())
    assert described(path) == before


def test_a_dump_whose_ingest_check_failed_is_not_published(tmp_path, capsys):
    """`musim quality check` failed a dump's lastfm_plays (a tenth of its lines rejected), yet its similarity build,
    made before the check, was still published by `musim publish`: only a failed *similarity* check was refused."""
    from musim.cli import main

    lines = tiny_dump(tmp_path / "d.tsv").read_text().splitlines() + [f"{U1}\tnot a play line"]
    dump = ingest_lastfm(write_lines(tmp_path / "bad.tsv", lines)).dump_id
    with warehouse.writer() as con:
        build_similarity(con, None, P)
    assert main(["quality", "check", "--dataset", "lastfm_plays", "--dump", dump[:12], "--no-docs"]) == 2
    capsys.readouterr()
    assert main(["publish"]) == 2
    err = capsys.readouterr().err
    assert f"the Last.FM data of dump {dump[:12]} failed its ingest quality check (lastfm_plays, run q" in err
    assert "nothing was published" in err and "`musim publish --force`" in err and err.count("\n") == 1
    assert f"`musim similarity drop --dump {dump[:12]}`" in err
    with pytest.raises(NotFoundError):
        serving.open_snapshot()
    assert main(["publish", "--force"]) == 0  # the override, as for a failed similarity build
    with serving.open_snapshot() as snap:
        assert snap.execute("SELECT dump_id FROM similarity_build").fetchall() == [(dump,)]


def test_a_failed_check_of_the_artist_catalogue_keeps_publishes_back_until_it_passes(tmp_path):
    """A failed `artists` check (the catalogue every dump's names come from) did not keep a publish back."""
    from musim.errors import QualityError
    from musim.quality.runner import check_on

    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    with warehouse.writer() as con:
        build_similarity(con, None, P)
        con.execute("UPDATE artist SET name = '   ' WHERE name = 'Artist B'")
        assert not check_on(con, ["artists"], docs=False).success
        with pytest.raises(QualityError, match=r"^the artist catalogue failed its ingest quality check \(artists, "
                                               r"run q.*`musim quality check --dataset artists`"):
            serving.publish(con)
        con.execute("UPDATE artist SET name = 'Artist B' WHERE name = '   '")
        assert check_on(con, ["artists"], docs=False).success  # checked again once fixed: published
        assert serving.publish(con).exists()


def test_namesakes_without_listeners_in_the_dump_asked_answer_for_the_most_listened_elsewhere(tmp_path, capsys):
    """Two "Nirvana", neither listened to in the latest dump nor with tracks: the name answered for the lower id
    (1 listener in the older dump the snapshot serves), not the one 3 listeners heard there."""
    from musim.similarity.query import find_artist, namesakes_of
    from tests.lastfm_files import MB_A, MB_B, U2, U3, U4

    users = (U1, U2, U3, U4)
    first = [f"{U1}\t{MB_A}\tNirvana\t5"] + [f"{u}\t{MB_B}\tNirvana\t5" for u in users[1:]]
    first += [f"{u}\t\t{name}\t2" for u in users for name in ("Artist A", "Artist B")]
    ingest_lastfm(write_lines(tmp_path / "d1.tsv", first))
    with warehouse.writer() as con:
        build_similarity(con, None, P)
    latest = ingest_lastfm(write_lines(tmp_path / "d2.tsv", [f"{u}\t\t{name}\t3" for u in users[:3]
                                                             for name in ("Artist A", "Artist B")])).dump_id
    _build_and_publish()
    with serving.open_snapshot() as con:
        ids = dict(con.execute("SELECT mbid::VARCHAR, artist_id FROM artist WHERE name = 'Nirvana'").fetchall())
        fewer, most = ids[MB_A], ids[MB_B]
        assert fewer < most  # the lower id is the less listened one: the order of their first lines
        assert find_artist(con, "nirvana", latest) == (most, "Nirvana")
        assert [n.artist_id for n in namesakes_of(con, fewer, latest)] == [most, fewer]
        assert similar_artists(con, "Nirvana").artist_id == most
    # and the CLI's note says why that one answered (it said "the lowest id", which the other one has)
    from tests.cli_output import run

    _, _, err = run(capsys, "similar", "Nirvana")
    assert (f"this answer is for id {most}, the most listened in the other dumps the snapshot serves (none has "
            f"listeners in dump {latest[:12]} or tracks)") in err


def test_a_dump_whose_ingest_gate_failed_on_the_catalogue_holds_back_its_own_build_not_every_publish(tmp_path):
    """The artists check failed in the gate of a new dump (the lastfm_ingest DAG's run: plays, profiles and artists
    together), which quarantines that dump: every publish (a model's, `library remove`'s, another dump's) was
    refused, while `musim similarity build` built the other dumps; one rule now: the judged dump is held back."""
    from musim.errors import QualityError
    from musim.quality.runner import check_on

    first = ingest_lastfm(tiny_dump(tmp_path / "d.tsv")).dump_id
    with warehouse.writer() as con:
        assert check_on(con, ["lastfm_plays", "artists"], dump_id=first, docs=False).success
        build_similarity(con, first, P)
    lines = [f"{u:040x}\t\tArtist {a}\t2" for a in ("A", "C") for u in range(3)]
    second = ingest_lastfm(write_lines(tmp_path / "e.tsv", lines)).dump_id
    with warehouse.writer() as con:
        con.execute("UPDATE artist SET name = '   ' WHERE name = 'Artist C'")  # what the second dump's ingest broke
        run = check_on(con, ["lastfm_plays", "artists"], dump_id=second, docs=False)
        assert [r.dataset for r in run.failed] == ["artists"]  # quarantined: never built
        assert serving.publish(con).exists()  # the first dump's build is served
        build_similarity(con, second, P, force=True)  # built anyway: now its publish is refused
        with pytest.raises(QualityError, match=rf"^the artist catalogue failed its ingest quality check \(artists, "
                                               rf"run {run.run_id}: .* holds back the similarity build of dump "
                                               rf"{second[:12]};"):
            serving.publish(con)


def test_a_query_that_read_the_link_before_a_publish_pruned_its_snapshot_answers_from_the_new_one(tmp_path,
                                                                                                  monkeypatch):
    """A query reads `current.duckdb`, then opens the file; a publish in between of the same state (a rerun: it
    replaces its identical predecessor) swapped the link and pruned that file, and the query failed: the query door
    with "no snapshot file …: run `musim similarity build`" (it was built and published), a reader of
    `open_snapshot` with DuckDB's error. Both answer from the snapshot served now; a missing file that is no
    published snapshot is still refused, and nothing stored changes."""
    from musim import sandbox

    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    first = _build_and_publish()
    with warehouse.writer() as con:
        second = serving.publish(con)  # the same state: the first snapshot goes
    assert not first.exists() and serving.current_path() == second
    answer = sandbox.query_file(first, "SELECT count(*) AS n FROM artist_neighbors")
    assert answer.rows == [(30,)]
    con = sandbox.open_sandbox(first)
    try:
        assert con.execute("SELECT count(*) FROM artist").fetchone()[0] == 3
    finally:
        con.close()
    with pytest.raises(NotFoundError, match="no snapshot file"):
        sandbox.open_sandbox(tmp_path / "snapshot-gone.duckdb")

    real_connect, published = warehouse.connect, []

    def publish_first(*args, **kwargs):  # the publish lands between the link's reading and the opening
        if kwargs.get("read_only") and not published:
            published.append(None)
            with warehouse.writer() as con:
                published[0] = serving.publish(con)
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(warehouse, "connect", publish_first)
    con = serving.open_snapshot()
    try:
        assert not second.exists() and con.execute("SELECT count(*) FROM artist_neighbors").fetchone()[0] == 30
    finally:
        con.close()
    monkeypatch.undo()
    assert sorted(p.name for p in second.parent.iterdir()) == [published[0].name]
