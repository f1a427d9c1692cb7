"""The lastfm_ingest DAG run through Airflow (`airflow dags test`): what it announces (the lastfm_plays asset) when
a dump lands beside its gunzipped copy, and when a dump ingested before lands again."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from musim import embedded, warehouse
from musim.config import get_settings
from musim.synth.lastfm import write_lastfm_dump
from tests.dags.airflow_db import airflow_db

pytestmark = pytest.mark.slow

PLAYS = "usersha1-artmbid-artname-plays.tsv"


def _states(env: dict[str, str], task_id: str) -> list[str]:
    """The states of ``task_id``'s (mapped) instances in the latest lastfm_ingest run."""
    return [r[0] for r in airflow_db(env, "SELECT state FROM task_instance WHERE dag_id = 'lastfm_ingest' AND run_id = "
                                          "(SELECT run_id FROM dag_run WHERE dag_id = 'lastfm_ingest' ORDER BY id DESC "
                                          f"LIMIT 1) AND task_id = '{task_id}' ORDER BY map_index")]


def test_a_dump_is_announced_once_and_one_ingested_before_not_again(airflow):
    """`gunzip -k` beside the .gz made two `ingest` tasks of one dump and two lastfm_plays events (the second
    "already ingested"): each event triggers artist_similarity, for nothing the second time."""
    env, log = airflow
    landing = Path(get_settings().ingest.landing)
    write_lastfm_dump(landing / "d1", users=120, artists=30, communities=3, seed=4)
    with open(landing / "d1" / PLAYS, "rb") as src, gzip.open(landing / "d1" / f"{PLAYS}.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)

    embedded.run_dag("lastfm_ingest", env, log)
    assert _states(env, "ingest") == ["success"]  # one dump, one task
    assert airflow_db(env, "SELECT count(*) FROM asset_event") == [(1,)]

    (landing / "d2").mkdir()  # the same dump dropped again elsewhere: found ingested, nothing announced
    shutil.copy(landing / "d1" / f"{PLAYS}.gz", landing / "d2" / f"{PLAYS}.gz")
    embedded.run_dag("lastfm_ingest", env, log)
    assert airflow_db(env, "SELECT count(*) FROM asset_event") == [(1,)]
    assert _states(env, "ingest") == ["success"]
    assert _states(env, "check_quality") == _states(env, "emit") == ["skipped"]
    assert "was ingested before (as " in log.read_text(errors="replace")
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM lastfm_dump").fetchone()[0] == 1
