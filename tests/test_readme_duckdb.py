"""What the README tells a DuckDB user to run works as written: the backup recipe, the SQL examples."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from musim import serving, warehouse
from musim.ingest.lastfm import ingest_lastfm
from musim.similarity.build import SimilarityParams, build_similarity
from tests.lastfm_files import tiny_dump, write_lines

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
P = SimilarityParams(min_listeners=1, min_co_listeners=1, k=5)


def fenced_after(marker: str) -> str:
    """The first fenced ```bash block after ``marker`` in the README, its text."""
    at = README.index(marker)
    m = re.compile(r"```bash\n(.*?)```", re.S).search(README, at)
    assert m is not None, f"README: no ```bash block after {marker!r}"
    return m.group(1)


def _answers(path: Path) -> dict[str, list]:
    """Every base table's rows and the neighbours of every artist by every metric, from the DuckDB file ``path``."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = "
                                            "current_database() ORDER BY 1").fetchall()]
        out = {t: con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in tables}
        out["similar_artists"] = con.execute("SELECT * FROM similar_artists ORDER BY ALL").fetchall()
        out["sim_score"] = con.execute("SELECT sim_score('seed', 2, 3, 5, 9, 0.5)").fetchall()
        return out
    finally:
        con.close()


def test_the_readme_backup_recipe_restores_a_warehouse_and_a_snapshot(tmp_path, musim_home, monkeypatch):
    """The README's EXPORT DATABASE backup could not be restored: IMPORT DATABASE failed on `sim_score` (written
    before `sim_seed_raw`, which it calls) and on `artist_neighbors` (before `artist_pairs`, which it reads)."""
    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    with warehouse.writer() as con:
        build_similarity(con, None, P)
        serving.publish(con)
    recipe = fenced_after("**Backup and restore.**").strip()
    assert "EXPORT DATABASE" not in recipe and ".musim/warehouse.duckdb" in recipe
    work = tmp_path / "ops"
    work.mkdir()
    (work / ".musim").symlink_to(musim_home)
    (work / ".venv" / "bin").mkdir(parents=True)
    python = work / ".venv" / "bin" / "python"  # this test's interpreter, as the README's .venv
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    snapshot_recipe = (recipe.replace(".musim/warehouse.duckdb", ".musim/serving/current.duckdb")
                       .replace("backup/warehouse.duckdb", "backup/snapshot.duckdb"))
    for line in (recipe, snapshot_recipe):
        subprocess.run(["bash", "-c", line], cwd=work, check=True, env=os.environ.copy())
    assert _answers(work / "backup" / "warehouse.duckdb") == _answers(musim_home / "warehouse.duckdb")
    assert _answers(work / "backup" / "snapshot.duckdb") == _answers(serving.current_path())
    # the restored warehouse is one musim writes again: every migration is recorded, a build and a publish run
    monkeypatch.setenv("MUSIM_WAREHOUSE", str(work / "backup" / "warehouse.duckdb"))
    with warehouse.writer() as con:
        build_similarity(con, None, P, force=True)
        assert con.execute("SELECT count(*) FROM similar_artists").fetchone()[0] > 0


@pytest.mark.parametrize("statement", ["EXPORT DATABASE '{0}'", "EXPORT DATABASE '{0}' (FORMAT parquet)"])
def test_export_import_is_not_a_backup_of_musim(tmp_path, statement):
    """Why the README does not recommend EXPORT / IMPORT DATABASE (the day DuckDB fixes its order, this fails and
    the README's warning can go)."""
    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    with warehouse.writer() as con:
        build_similarity(con, None, P)
        con.execute(statement.format(tmp_path / "exp"))
    with pytest.raises(duckdb.CatalogException, match="does not exist"):
        duckdb.connect(str(tmp_path / "imp.duckdb")).execute(f"IMPORT DATABASE '{tmp_path / 'exp'}'")


def readme_sql_examples() -> list[str]:
    """Every `musim sql "…"` example of the README over the neighbour views, whitespace collapsed."""
    found = [" ".join(q.split()) for q in re.findall(r'musim sql "([^"]+)"', README)]
    return [q for q in found if re.search(r"\bFROM (similar_artists|similar_artists_audio|artist_neighbors)\b", q)]


def _two_dumps_with(name: str, tmp_path: Path) -> None:
    """Two built dumps whose artists include ``name``, and audio neighbours of model siamese-1, published."""
    users = [f"{i:040x}" for i in range(12)]
    artists = [name, "Alpha", "Beta", "Gamma", "Delta"]
    for n, skew in enumerate((0, 2)):
        lines = [f"{u}\t\t{a}\t{1 + (i + j + skew) % 4}" for i, u in enumerate(users)
                 for j, a in enumerate(artists) if (i + j * (skew + 1)) % 3 != 0 or a == name]
        ingest_lastfm(write_lines(tmp_path / f"d{n}.tsv", lines))
        with warehouse.writer() as con:
            build_similarity(con, None, P)
    with warehouse.writer() as con:
        con.execute("""INSERT INTO artist_neighbors_audio (family, model_version, artist_id, rank, neighbor_id, score,
                           cold_start, created_at)
                       SELECT 'siamese', 'siamese-1', a.artist_id, row_number() OVER (ORDER BY b.artist_id), b.artist_id,
                              0.5, false, now()
                       FROM artist a JOIN artist b ON a.artist_id <> b.artist_id WHERE a.name = ?""", [name])
        serving.publish(con)


def test_the_readme_sql_examples_ask_one_artist_of_one_dump_and_answer(tmp_path):
    """The README's first SQL example scored every pair of every dump (`SELECT * FROM similar_artists WHERE metric =
    'pmi' LIMIT 10`: minutes at full scale, past `musim sql`'s timeout, and dumps mixed); the audio example asked
    for an artist and a model the demo does not have (0 rows)."""
    from musim import sandbox
    from musim.similarity.query import similar_artists

    examples = readme_sql_examples()
    assert len(examples) >= 2 and any("similar_artists_audio" in q for q in examples)
    names = {re.search(r"\bartist = '([^']+)'", q).group(1) if re.search(r"\bartist = '", q) else None
             for q in examples}
    assert None not in names, [q for q in examples if not re.search(r"\bartist = '", q)]
    assert len(names) == 1, names  # the demo's top artist, in every example
    name = names.pop()
    assert "`latest_dump`" in README
    _two_dumps_with(name, tmp_path)
    snap = serving.current_path()
    with serving.open_snapshot() as con:  # two dumps served: a query that names none mixes them
        assert con.execute("SELECT count(*) FROM similarity_build").fetchone() == (2,)
    for q in examples:
        if "similar_artists_audio" not in q:
            assert "JOIN latest_dump USING (dump_id)" in q, q
        result = sandbox.query_file(snap, q)
        assert result.rows, q
        ranks = [r[result.columns.index("rank")] for r in result.rows]
        assert ranks == list(range(1, len(ranks) + 1)), (q, ranks)  # one artist, one dump, one model
        if "metric = '" in q:
            metric = re.search(r"metric = '(\w+)'", q).group(1)
            with serving.open_snapshot() as con:
                expected = similar_artists(con, name, k=100, metric=metric).neighbors
            assert [r[result.columns.index("neighbor")] for r in result.rows] == [n.artist for n in expected]


def test_the_sql_help_and_the_demos_hint_ask_as_the_readme_does(tmp_path):
    """`musim sql --help`'s example had no metric, no latest_dump and no ORDER BY rank (every dump's rows, in no
    order), and the demo's printed hint no latest_dump nor ORDER BY."""
    from musim import sandbox
    from musim.cli import build_parser
    from musim.demo import sql_hint

    sql = next(a for a in build_parser()._actions if a.dest == "command").choices["sql"]  # noqa: SLF001
    example = re.search(r'e\.g\. "([^"]+)"', next(a.help for a in sql._actions if a.dest == "query")).group(1)  # noqa: SLF001
    name = "Morsol Belqui"
    _two_dumps_with(name, tmp_path)
    for q in (re.sub(r"artist = '[^']+'", f"artist = '{name}'", example), sql_hint(name)):
        assert "JOIN latest_dump USING (dump_id)" in q and "metric = '" in q and "ORDER BY rank" in q, q
        result = sandbox.query_file(serving.current_path(), q)
        ranks = [r[result.columns.index("rank")] for r in result.rows]
        assert ranks and ranks == list(range(1, len(ranks) + 1)), (q, ranks)
