"""
### Audio features

Extracts features from every stored preview that lacks them (`track` rows of the warehouse, audio in the
object store): the log-mel image (`features/mel/<params hash>/<audio sha256>.<content sha256>.npy`, float16), the log-mel slices
(`features/slices/...`) and the handcrafted descriptors (warehouse `track_descriptors`); a preview that
cannot be used gets a reason row (`feature_reject`). `plan` registers the feature views and cuts the work
into batches; `compute` runs per batch on every core of its worker (object store only); `record` writes the
rows and materialises the derived views (artist means). A rerun computes only what is missing.

`record` → `check_quality` → `publish`: the `features` suite (shapes as recorded, finite values, dB range,
one array per preview and parameter set, objects present) and the `training_sets` suite (the point-in-time
frames of the feature services) must pass before the online snapshots are published and the **features**
asset is emitted (which schedules training); on failure the previous snapshots keep serving and the task
log and **Data Docs** link name what was wrong. The gate's outcome is recorded on the build (`musim features list
--builds`); a failed gate withdraws the artist means `record` materialised (they read as before the run) and the
training DAGs refuse to train until a later build passes. Runs whenever **previews** is updated. A run that computed
nothing new ends `publish` skipped, with no **features** event: training does not rerun for nothing.

`recompute` (a list of track ids): extract those tracks again from their current audio whatever they hold; their
new rows replace theirs (the recovery from a failed gate, as `musim features build --recompute`).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Metadata, Param, dag, task

from musim.assets import asset
from musim.params import MAX_COUNT

FEATURES = asset("features")
#: The feature views a run may build (``name:version``; the name alone is the same view): those of
#: musim.features.definitions (kept literal: parsing imports no numpy; a test holds them equal).
VIEWS = ("track_log_mel:1", "track_slices:1", "track_descriptors:4", "artist_descriptors_mean:4")


@dag(
    schedule=[asset("previews")],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["musim", "audio", "features"],
    doc_md=__doc__,
    params={
        "views": Param(None, type=["null", "array"], items={"enum": [*(v.partition(":")[0] for v in VIEWS), *VIEWS]},
                       minItems=1, description="Feature views to build, e.g. [\"track_log_mel\"] (default: every "
                                               "defined view)"),
        "batch_size": Param(64, type="integer", minimum=1, maximum=MAX_COUNT, description="Previews per mapped compute task"),
        "workers": Param(None, type=["null", "integer"], minimum=1, maximum=1024,
                         description="Worker processes per compute task (default: every CPU of the worker)"),
        "min_duration_s": Param(5.0, type="number", minimum=0, maximum=3600,
                                description="Reject audio shorter than this many seconds as too short"),
        "limit": Param(None, type=["null", "integer"], minimum=1, maximum=MAX_COUNT,
                       description="Compute at most this many previews in this run (default: all)"),
        "publish": Param(True, type="boolean", description="Publish online snapshots of the warehouse views"),
        "recompute": Param([], type="array", items={"type": "string"},
                           description="Track ids to extract again from their current audio whatever they hold; "
                                       "their new rows replace theirs (the tracks a failed features gate names; "
                                       "`musim features build --recompute`)"),
    },
)
def audio_features():
    run_id = "audio_features/{{ run_id }}"  # the feature build's id: one per DAG run, kept on retries

    @task(pool="duckdb_writer")
    def plan(build_id: str, params=None, dag=None) -> list[dict]:
        from airflow.sdk.exceptions import AirflowFailException

        from musim.assets import refused_conf
        from musim.errors import NotFoundError, ParameterError, refuse_blank
        from musim.features.extract import select_views
        from musim.features.staged import plan_run

        def check(p: dict) -> None:  # as `--recompute ""` is refused ("" was "no track , t1 in the warehouse")
            if p["views"] is not None and not p["views"]:  # [] built every view, as null does
                raise ParameterError("the views param is empty (an unset variable?): give feature views, e.g. "
                                     "[\"track_log_mel\"], or null for every defined view")
            try:  # an unknown view was a NotFoundError traceback (the schema's enum refuses it when triggered)
                select_views(p["views"])
            except NotFoundError as exc:
                raise ParameterError(f"the views param holds what is no feature view: {exc}; nothing was done, "
                                     "trigger it again with those (or null for every one)") from None
            for track_id in p["recompute"]:
                refuse_blank(track_id, "a track id of the recompute param", "the track ids the features quality "
                             "report names, or [] to extract only what is missing")

        if refused := refused_conf(dag, params, check):  # a key that is no param (a typo) is not ignored in silence
            raise AirflowFailException(refused)
        try:
            return plan_run(build_id, params["views"] or None, batch_size=params["batch_size"],
                            min_duration_s=params["min_duration_s"], limit=params["limit"],
                            recompute=params["recompute"])
        except NotFoundError as exc:  # a recompute track id the warehouse does not hold: one line, not a traceback
            if not params["recompute"]:
                raise
            raise AirflowFailException(f"the recompute param: {exc}; nothing was done, trigger it again") from None

    @task(max_active_tis_per_dag=1, retries=1, retry_delay=pendulum.duration(minutes=1))
    def compute(batch: dict, params=None) -> dict:
        from musim.features.staged import compute_batch

        return compute_batch(batch, workers=params["workers"])

    @task(pool="duckdb_writer", trigger_rule="none_failed")
    def record(build_id: str, computed, params=None) -> dict:
        from musim.features.staged import record_run

        return record_run(build_id, list(computed or []), views=params["views"] or None,
                          recompute=params["recompute"])

    @task(pool="duckdb_writer")
    def check_quality(summary: dict, params=None) -> dict:
        from musim.features.staged import check_run
        from musim.quality.gates import FEATURES_DATASETS, gate_task

        views = summary["views"] if params["views"] else None  # some views: the services they feed are judged
        return check_run(summary["run_id"], lambda: gate_task(FEATURES_DATASETS, None, views=views))

    @task(pool="duckdb_writer", outlets=[FEATURES])
    def publish(summary: dict, quality: dict, params=None):
        from airflow.sdk.exceptions import AirflowSkipException

        from musim.features.staged import has_new_features, publish_views

        published = publish_views(params["views"] or None, quality=quality) if params["publish"] else []
        if not has_new_features(summary):  # a success would announce the asset (and retrain) all the same
            raise AirflowSkipException(f"no feature was computed ({summary['planned']} planned): no features event")
        yield Metadata(FEATURES, extra={**{k: summary[k] for k in (
            "run_id", "tracks", "planned", "computed", "reused", "rejected", "rejects_by_reason", "materialised",
            "views")}, "published": published, "quality_run": quality["run_id"]})
        return {**summary, "published": published}

    summary = record(run_id, compute.expand(batch=plan(run_id)))
    publish(summary, check_quality(summary))


audio_features()
