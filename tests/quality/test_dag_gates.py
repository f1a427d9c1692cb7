"""The gates in the DAGs, run through Airflow (``dag.test()``, in one child process to keep it quick):
a failed suite stops the asset event of ``lastfm_ingest`` and the publishing of ``artist_similarity``.

The passing runs of both DAGs are in tests/dags/test_dag_runs.py.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from musim import serving, warehouse
from musim.config import get_settings
from musim.ingest.lastfm import ingest_lastfm
from musim.similarity.build import SimilarityParams, build_similarity
from musim.synth.lastfm import write_lastfm_dump
from tests.lastfm_files import MB_A, MB_B, U1, U2, write_lines

pytestmark = [pytest.mark.slow, pytest.mark.airflow]
REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, sys
from airflow.utils import db
from airflow.models.pool import Pool
from airflow.utils.cli import get_bagged_dag

db.upgradedb()
Pool.create_or_update_pool("duckdb_writer", 1, "one DuckDB writer at a time", include_deferred=False)
states = []
for dag_id, conf in json.loads(sys.argv[1]):
    run = get_bagged_dag(None, dag_id).test(run_conf=conf)
    states.append(str(run.state))
print("@@" + json.dumps(states))
"""


def test_failed_gates_and_builds_stop_the_asset_event_and_the_publishing(musim_home, tmp_path, airflow_db_template):
    settings = get_settings()
    # a good dump, built and published: what serves before the bad runs
    good = write_lastfm_dump(tmp_path / "good", users=300, artists=40, communities=3, seed=5, max_artists_per_user=15)
    good_id = ingest_lastfm(good.plays_path).dump_id
    with warehouse.writer() as con:
        build_similarity(con, good_id, SimilarityParams(min_listeners=5, k=5))
        published = serving.publish(con)
    # a dump with 10 % rejected lines lands
    lines = [f"{U1 if i % 2 else U2}\t{MB_A if i % 3 else MB_B}\tArtist {i % 3}\t{i + 1}" for i in range(18)]
    write_lines(Path(settings.ingest.landing) / "bad" / "usersha1-artmbid-artname-plays.tsv",
                lines + [f"{U1}\tx\ty\tz\tw", f"{U2}\t\t\t1"])

    airflow_db = tmp_path / "airflow.db"
    shutil.copy(airflow_db_template, airflow_db)  # migrated once per session; upgradedb below is then a no-op
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{airflow_db}",
               AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"), AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
               PYTHONPATH=str(REPO))
    runs = [["lastfm_ingest", None],
            ["artist_similarity", {"dump_id": good_id, "min_listeners": 100000, "k": 5}]]  # no artist qualifies
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(runs)], env=env, capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert json.loads(out.split("@@")[-1].splitlines()[0]) == ["failed", "failed"]

    # lastfm_ingest: the dump is in the warehouse, judged bad, and never announced
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM lastfm_dump").fetchone()[0] == 2
        status, docs = con.execute("""SELECT status, docs_url FROM quality_result
                                      WHERE dataset = 'lastfm_plays' AND dump_id <> ?""", [good_id]).fetchone()
        assert status == "failed" and docs.endswith("index.html")
        assert con.execute("SELECT count(*) FROM quality_result WHERE dataset = 'similarity'").fetchone() == (0,)
    db = sqlite3.connect(airflow_db)
    states = dict(db.execute("SELECT dag_id || '.' || task_id, state FROM task_instance").fetchall())
    assert states["lastfm_ingest.ingest"] == "success" and states["lastfm_ingest.check_quality"] == "failed"
    assert states["lastfm_ingest.emit"] == "upstream_failed"
    assert db.execute("SELECT count(*) FROM asset_event").fetchone()[0] == 0
    links = db.execute("SELECT value FROM xcom WHERE key = 'musim_quality_docs'").fetchall()
    assert len(links) == 1 and "index.html" in links[0][0]  # the failed gate has its link
    assert "rejected lines are at most 1.00% of all lines" in out

    # artist_similarity: a build with nothing to serve is refused (nothing stored), so nothing is checked or
    # published (check_quality and publish run once every build is done, and find no build to check or publish):
    # the previous snapshot keeps serving, and the run's leaf fails it
    assert states["artist_similarity.build"] == "failed"
    assert states["artist_similarity.check_quality"] == "skipped"
    assert states["artist_similarity.publish"] == "skipped"
    assert states["artist_similarity.failed"] == "failed"
    assert serving.current_path() == published
    assert "no co-listened pairs in dump" in out and "Lower --min-listeners" in out
