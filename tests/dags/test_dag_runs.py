"""Whole DAG runs through Airflow (`airflow dags test`, i.e. dag.test()) on a small generated dump."""

from __future__ import annotations

from pathlib import Path

import pytest

from musim import embedded, serving, warehouse
from musim.config import get_settings
from musim.similarity.query import similar_artists
from musim.synth.lastfm import write_lastfm_dump

pytestmark = pytest.mark.slow



def test_ingest_then_similarity_dags(airflow, musim_home, tmp_path):
    env, log = airflow
    settings = get_settings()
    write_lastfm_dump(f"{settings.ingest.landing}/d1", users=400, artists=60, communities=3, quirks=0.01, seed=9)
    Path(settings.ingest.landing, "d2").mkdir()
    Path(settings.ingest.landing, "d2", "usersha1-artmbid-artname-plays.tsv.bz2").write_bytes(b"BZh9")

    embedded.run_dag("lastfm_ingest", env, log)
    # the landing scan does not take a .bz2: find_new_dumps's log says so (once), it does not wait silently
    assert "usersha1-artmbid-artname-plays.tsv.bz2 is not ingested, its compression (.bz2) is not read" in \
        log.read_text(errors="replace")
    with warehouse.writer() as con:
        dumps = con.execute("SELECT lines, loaded + rejected FROM lastfm_dump").fetchall()
        assert len(dumps) == 1 and dumps[0][0] == dumps[0][1]

    embedded.run_dag("lastfm_ingest", env, log)  # nothing new in the landing folder: no second dump
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM lastfm_dump").fetchone()[0] == 1

    embedded.run_dag("artist_similarity", env, log, {"min_listeners": 5, "k": 5})
    con = serving.open_snapshot()
    top = con.execute("""SELECT a.name FROM artist_listeners JOIN artist a USING (artist_id)
                         ORDER BY listeners DESC LIMIT 1""").fetchone()[0]
    assert len(similar_artists(con, top, k=5).neighbors) == 5
