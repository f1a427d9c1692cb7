"""
### Artist similarity

Builds co-listening similarity for a dump in SQL (`sql/similarity/`): listeners per artist, co-listeners
per pair, and the `seed`, `jaccard`, `cosine`, `lift` and `pmi` metrics, stored as the top-K neighbours
per artist and as the full pair table of the catalogue artists. Then publishes a new read-only serving
snapshot (`musim similar`, `musim sql`). Runs whenever **lastfm_plays** is updated.

`build` → `check_quality` → `publish`: the `similarity` quality suite (`musim quality check --dataset
similarity`) checks the new build before it is published — scores in their metric's range, no self pairs,
co-listeners at least the build's threshold, at most K neighbours per artist, symmetric scores. If it
fails, the task fails with the failed expectations and examples in its log and a **Data Docs** link,
`publish` does not run and the previous snapshot keeps serving.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Metadata, Param, dag, task

from musim.assets import asset
from musim.params import MAX_COUNT

SIMILARITY = asset("artist_similarity")


@dag(
    schedule=[asset("lastfm_plays")],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["musim", "lastfm", "similarity"],
    doc_md=__doc__,
    params={
        "dump_id": Param(None, type=["null", "string"], description="Dump id or unique prefix (default: the latest)"),
        "min_listeners": Param(50, type="integer", minimum=1, maximum=MAX_COUNT, description="Artists need this many listeners"),
        "min_co_listeners": Param(2, type="integer", minimum=1, maximum=MAX_COUNT, description="Pairs need this many co-listeners"),
        "k": Param(100, type="integer", minimum=1, maximum=MAX_COUNT, description="Neighbours kept per artist and metric"),
        "catalogue_size": Param(1000, type="integer", minimum=1, maximum=MAX_COUNT,
                                description="Top artists whose full pair table is kept (the audio catalogue)"),
    },
)
def artist_similarity():
    @task(pool="duckdb_writer")
    def build(params=None) -> dict:
        from musim.similarity.build import SimilarityParams, build

        p = SimilarityParams(min_listeners=params["min_listeners"], min_co_listeners=params["min_co_listeners"],
                             k=params["k"], catalogue_size=params["catalogue_size"])
        return build(params["dump_id"], p, gated=True).to_json()  # check_quality follows

    @task(pool="duckdb_writer")
    def check_quality(built: dict) -> dict:
        from musim.quality.gates import SIMILARITY_DATASETS, gate_task

        return gate_task(SIMILARITY_DATASETS, built["dump_id"])

    @task(pool="duckdb_writer", outlets=[SIMILARITY])
    def publish(built: dict, quality: dict):
        from musim import serving, warehouse

        with warehouse.writer() as con:
            path = serving.publish(con)
        yield Metadata(SIMILARITY, extra={"dump_id": built["dump_id"], "pairs": built["pairs"],
                                          "artists": built["artists"], "snapshot": path.name,
                                          "quality_run": quality["run_id"]})
        return str(path)

    built = build()
    publish(built, check_quality(built))


artist_similarity()
