"""
### Artist similarity

Builds co-listening similarity for a dump in SQL (`sql/similarity/`): listeners per artist, co-listeners
per pair, and the `seed`, `jaccard`, `cosine`, `lift` and `pmi` metrics, stored as the top-K neighbours
per artist and as the full pair table of the catalogue artists. Then publishes a new read-only serving
snapshot (`musim similar`, `musim sql`). Runs whenever **lastfm_plays** is updated, and builds each dump its
triggering events announce (two dumps ingested before a run are both built, oldest first); a run started by
hand builds the `dump_id` param, else the latest dump.

`build` → `check_quality` → `publish`: the `similarity` quality suite (`musim quality check --dataset
similarity`) checks the new build before it is published — scores in their metric's range, no self pairs,
co-listeners at least the build's threshold, at most K neighbours per artist, symmetric scores. If it
fails, the task fails with the failed expectations and examples in its log and a **Data Docs** link,
`publish` does not run and the previous snapshot keeps serving.

While a rollback pins the served snapshot (`musim publish --rollback`), `publish` still writes its snapshot but
leaves the pinned one served, logs so in one line and ends **skipped**: the run does not fail, and no
**artist_similarity** event announces a state that is not served. `musim publish --release` serves the newest.

A rerun is a no-op: a dump that already has a build of the same parameters whose check passed, made by the same code
(the fingerprint of the build's sources it records), is not built, checked or published again (its log says which
build, and when); `publish` is skipped when the current snapshot serves every such build. A build made by other code
(an upgrade since, or a build recorded before builds recorded their code) is built again, and the log says so. The
`force` param builds it anyway (as `musim similarity build --force`), and also a dump the ingest gate refuses (its
latest `lastfm_plays`, `lastfm_profiles` or `artists` check failed: `build` fails, not retried, naming the runs);
such a build's `publish` is refused the same way until `musim publish --force`.

`build` waits in the `duckdb_writer` pool for the other DAGs' writers; a command holding the warehouse past the
writer's wait (`MUSIM_WAREHOUSE_LOCK_WAIT_S`) is retried twice, a minute apart. An error no retry can mend (an
unknown dump, no pairs at these parameters) fails it at once, in one line ending "(not retried)". One dump's failed
build keeps no other dump back: the others are checked and published as ever, then the task `failed` fails the run
(a failed check publishes nothing: `publish` is skipped and says which dump).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Metadata, Param, dag, task

from musim.assets import asset
from musim.params import MAX_COUNT, defaults
from musim.similarity.params import SimilarityParams

SIMILARITY = asset("artist_similarity")
DEFAULTS = defaults(SimilarityParams)  # the library's: one place for every default
LASTFM_PLAYS = asset("lastfm_plays")


@dag(
    schedule=[LASTFM_PLAYS],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["musim", "lastfm", "similarity"],
    doc_md=__doc__,
    params={
        "dump_id": Param(None, type=["null", "string"], description="Dump id or unique prefix (default: each dump the triggering "
                         "lastfm_plays events announce; the latest in a run started by hand)"),
        "min_listeners": Param(DEFAULTS["min_listeners"], type="integer", minimum=1, maximum=MAX_COUNT,
                               description="Artists need this many listeners"),
        "min_co_listeners": Param(DEFAULTS["min_co_listeners"], type="integer", minimum=1, maximum=MAX_COUNT,
                                  description="Pairs need this many co-listeners"),
        "k": Param(DEFAULTS["k"], type="integer", minimum=1, maximum=MAX_COUNT,
                   description="Neighbours kept per artist and metric"),
        "catalogue_size": Param(DEFAULTS["catalogue_size"], type="integer", minimum=1, maximum=MAX_COUNT,
                                description="Top artists whose full pair table is kept (the audio catalogue)"),
        "force": Param(False, type="boolean", description="Build even a dump that already has a checked build of "
                       "these parameters (else that dump is a no-op), or whose ingest quality check failed (its "
                       "publish is then refused until `musim publish --force`)"),
    },
)
def artist_similarity():
    @task
    def dumps(params=None, triggering_asset_events=None, dag=None) -> list:
        from airflow.sdk.exceptions import AirflowFailException

        from musim.assets import announced_dumps, refused_conf
        from musim.errors import refuse_blank

        # a key of the conf that is no param (a typo) is not ignored in silence; "" (a conf made from an unset
        # variable) is no dump id, not "the latest dump"
        if refused := refused_conf(dag, params, lambda p: refuse_blank(
                p["dump_id"], "the dump_id param", "a dump id or unique prefix (`musim dumps`), or null for the dumps "
                "the triggering events announce (in a run started by hand: the latest)")):
            raise AirflowFailException(refused)
        if params["dump_id"] is not None:
            return [params["dump_id"]]
        events = triggering_asset_events.get(LASTFM_PLAYS) if triggering_asset_events else None
        return announced_dumps(events) or [None]  # a run started by hand: the latest dump

    # the pool keeps other DAGs' writers out, not a command (`musim features build`, `musim library add`) holding the
    # warehouse past the writer's wait: retried later, as the event that started the run is not sent again
    @task(pool="duckdb_writer", retries=2, retry_delay=pendulum.duration(minutes=1))
    def build(dump_id, params=None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from musim.errors import BusyError, MusimError
        from musim.similarity.build import build

        p = SimilarityParams(**{name: params[name] for name in DEFAULTS})
        try:
            return build(dump_id, p, gated=True, force=params["force"]).to_json()  # check_quality follows
        except BusyError:
            raise  # retried
        except MusimError as exc:  # an unknown dump, no pairs at these parameters: no retry can pass
            raise AirflowFailException(f"{exc} (not retried)") from None

    # all_done: a dump whose build failed (no co-listened pair) keeps neither the others' checks nor their publish back;
    # only the builds that succeeded are mapped here (a failed build pushes no value)
    @task(pool="duckdb_writer", trigger_rule="all_done")
    def check_quality(built: dict) -> dict:
        from musim.quality.gates import SIMILARITY_DATASETS, gate_task

        if built["built_before"]:  # nothing was built: the standing build passed its check
            return {"run_id": built["check_run"], "docs_url": None, "datasets": {}, "dump_id": built["dump_id"]}
        return {**gate_task(SIMILARITY_DATASETS, built["dump_id"]), "dump_id": built["dump_id"]}

    # all_done, as check_quality: it publishes the builds that passed their check when another dump's build failed;
    # a failed check still publishes nothing (musim.serving refuses a snapshot with a build whose check failed)
    @task(pool="duckdb_writer", outlets=[SIMILARITY], trigger_rule="all_done")
    def publish(built: list, quality: list):
        from airflow.sdk.exceptions import AirflowSkipException

        from musim import serving, snapshots, warehouse
        from musim.models.serve import publish_snapshot

        built, quality = list(built), list(quality)
        checked = {q["dump_id"] for q in quality}
        if not built:
            raise AirflowSkipException("no dump was built (its build failed): nothing to publish")
        if unchecked := [b["dump_id"][:12] for b in built if b["dump_id"] not in checked]:
            raise AirflowSkipException(f"the quality check of dump {', '.join(unchecked)} did not pass: nothing is "
                                       "published (its check_quality task says why)")
        with warehouse.writer() as con:
            if serving.serves_builds(con, built):
                raise AirflowSkipException("nothing was built and the current snapshot serves every build: "
                                           "nothing to publish")
            path = publish_snapshot(con)  # and the online lookup pointers move to what it serves
        if not snapshots.served(path):  # a rollback's pin holds (the warning above says so): nothing new is served
            raise AirflowSkipException(f"{path.name} is written but not served (a rollback pins the current "
                                       "snapshot): no artist_similarity event")
        last, checked = built[-1], quality[-1]
        yield Metadata(SIMILARITY, extra={"dump_id": last["dump_id"], "pairs": last["pairs"],
                                          "artists": last["artists"], "snapshot": path.name,
                                          "quality_run": checked["run_id"],
                                          "dumps": [b["dump_id"] for b in built]})
        return str(path)

    # the run's leaf when a task failed (one dump's build, a check): it fails the run, as that task would have were it
    # the leaf, while publish serves the builds that passed (a run is failed by a failed leaf, not a failed build)
    @task(trigger_rule="one_failed")
    def failed():
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException("a build or quality check of this run failed (its task's log says why, in one "
                                   "line); publish's log says what was published: the other dumps' builds when only "
                                   "builds failed, nothing when a check failed")

    built = build.expand(dump_id=dumps())
    quality = check_quality.expand(built=built)
    [built, quality, publish(built, quality)] >> failed()


artist_similarity()
