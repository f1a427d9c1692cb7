"""
### Last.FM ingest

Looks for new Last.FM dumps in the landing area (`$MUSIM_LANDING`, one dump per folder: the 360K
`usersha1-artmbid-artname-plays.tsv[.gz]` with its `usersha1-profile.tsv[.gz]`, or the 1K events file)
and ingests each new one into the DuckDB warehouse, once. Every line is loaded or rejected with a reason
(`musim rejects`). Emits the **lastfm_plays** asset, which schedules `artist_similarity`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Metadata, Param, dag, task

from musim.assets import asset

LASTFM_PLAYS = asset("lastfm_plays")


@dag(
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["musim", "lastfm", "ingest"],
    doc_md=__doc__,
    params={
        "landing": Param(None, type=["null", "string"],
                         description="Landing folder to scan (default: $MUSIM_LANDING, e.g. .musim/landing/lastfm)"),
    },
)
def lastfm_ingest():
    @task
    def find_new_dumps(params=None) -> list[dict]:
        from musim.ingest.landing import new_dumps

        return [d.to_json() for d in new_dumps(params.get("landing") if params else None)]

    @task(pool="duckdb_writer", outlets=[LASTFM_PLAYS], max_active_tis_per_dag=1)
    def ingest(dump: dict):
        from musim.ingest.landing import ingest_landed

        result = ingest_landed(dump)
        summary = result.to_json()
        yield Metadata(LASTFM_PLAYS, extra={k: summary[k] for k in (
            "dump_id", "format", "lines", "loaded", "rejected", "users", "artists", "already_ingested")})
        return summary

    ingest.expand(dump=find_new_dumps())


lastfm_ingest()
