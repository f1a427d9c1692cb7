"""
### Train the embedding families (weekly, and on new features)

Trains the other model families on the audio features and puts them in the same model registry as the
siamese network:

- **cnn_classifier**: a CNN on 256 x 256 log-mel slices (5.12 s) predicting the track's genre (or
  artist); its 128-unit penultimate layer, averaged over a track's slices, is the embedding. Its card has
  the per-class accuracy on held-out tracks (by track and by artist) and confusion matrices.
- **autoencoder**: a convolutional autoencoder on the 256 x 64 log-mels of all tracks together; the
  flattened code is the embedding. Its card has t-SNE, k-means, dendrogram and reconstruction views.
- **contrastive**: self-supervised on the audio alone (two augmented crops of a track against the batch's
  other tracks, InfoNCE); a track's embedding is the encoder's mean over five crops of its excerpt.

The one model path of every family (`musim.models.families.staged`, shared with `train_siamese`):
`prepare` → `route` → `train` → `evaluate` (one mapped task per family) → `promote` → `publish`, or after
`route` the CPU fallback's `train_cpu` → `evaluate_cpu` (the same phases on queue `default`)

- `prepare` (warehouse, pool `duckdb_writer`): tracks with features as of now (the feature store's
  point-in-time frame), genres, targets of the latest similarity build, listeners, descriptors and the
  common artist split (the siamese family's test artists), gated by `training_split` → a manifest in the
  object store (`models/runs/<run>/inputs.npz`).
  Before anything is loaded for training, the newest feature build whose features quality gate ran must have
  passed it (`musim features list --builds`): while it failed, `prepare` ends the run failed, not retried, with
  one line naming the build, its quality run, `musim quality report --dataset features` and what to do.
- `route` (queue `default`) sends training to the Celery queue `$MUSIM_TRAIN_QUEUE` (`default`; `gpu` where a
  GPU worker consumes it) while a live worker consumes it: it asks the workers (Celery's `active_queues`, 2 s
  wait). While none does, it follows the CPU fallback on queue `default` (Airflow's `[operators] default_queue`,
  whose worker ran `route`) and logs one warning line: the queue, "no worker consumes it", the live workers and
  where it trains instead. Under the LocalExecutor (`airflow standalone`, `airflow dags test`), which ignores
  queues, and while `$MUSIM_TRAIN_QUEUE` is `default`, it asks nothing and follows `train`. The path not taken
  ends skipped. It is decided once per run: a GPU worker that stops after `route` leaves `train` queued until the
  scheduler fails it (`task_queued_timeout`, twice requeued).
- `train` and `evaluate` (queue `$MUSIM_TRAIN_QUEUE`), or `train_cpu` and `evaluate_cpu` (queue `default`), run in
  pool `gpu`, reading the object store only: train the family and embed every track; evaluate it with the
  baselines and its champion on the held-out artists (co-listening ground truth, bootstrap CIs). A retry after
  success does not train again. On a worker of a queue other than `default` whose TensorFlow sees no GPU,
  `train` logs one warning line (queue, host, CUDA build) and trains on the CPU.
- `promote` (pool `duckdb_writer`; after the path taken: trigger rule none_failed_min_one_success, so a failure
  on that path fails it) registers each family's version and promotes it only if it beats its
  champion beyond the CI; `publish` serves the champions' embeddings and audio neighbours with a new
  serving snapshot. Emits **models**.

While a rollback pins the served snapshot (`musim publish --rollback`), `publish` still writes its snapshot but
does not serve it (nor move the online lookup): it succeeds, logs so in one line, and its **models** event says
`snapshot_served: false`; `musim publish --release` serves the newest.

Compare every family with `musim models compare`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Metadata, Param, dag, task

from musim.assets import asset, parsed_train_queue
from musim.models.constants import PRIMARY_METRIC_CHOICES, TARGET_METRICS
from musim.models.routing import JOIN, staged_training
from musim.params import MAX_BOOT, MAX_COUNT, SEED_MAX, SEED_MIN

MODELS = asset("models")
#: the Celery queue of train and evaluate, read at parse time (`gpu` where a GPU worker consumes it; while
#: no live worker does, `route` sends training to train_cpu and evaluate_cpu on queue `default`)
TRAIN_QUEUE = parsed_train_queue()  # a bad value: `default`, and prepare fails saying so
FAMILIES = ["cnn_classifier", "autoencoder", "contrastive"]


#: The top-level params a family's params object may not set otherwise (the top-level one seeds the split too).
_TOP_LEVEL = {"classifier": ("cnn_classifier", ("seed", "label")), "autoencoder": ("autoencoder", ("seed",)),
              "contrastive": ("contrastive", ("seed",))}


def _conflicting_params(params) -> str | None:
    """Why the run is refused when a family's params object sets ``seed`` (or the classifier's ``label``) otherwise
    than the top-level param: it overrode it for that family's weights in silence, while the split kept the
    top-level seed (train_siamese's top-level params win; here the top-level ``seed`` has a default, 0, so an
    object's value would be dropped in silence instead). The same value is accepted, and so is the object of a
    family not trained (it is not read)."""
    for obj, (family, keys) in _TOP_LEVEL.items():
        given = (params[obj] or {}) if family in params["families"] else {}
        for key in keys:
            if key in given and given[key] != params[key]:
                return (f"the {obj} param sets {key} {given[key]!r}, the {key} param is {params[key]!r}: set the {key} "
                        f"param (it applies to every family and the split) and leave {key} out of {obj}; "
                        "nothing was done")
    return None


@dag(
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 4 * * 1", timezone="UTC"),
                                 assets=[asset("features")]),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["musim", "models", "cnn_classifier", "autoencoder"],
    doc_md=__doc__,
    params={
        "families": Param(FAMILIES, type="array", items={"enum": [*FAMILIES, "descriptors"]}, minItems=1,
                          uniqueItems=True,
                          description="Families to train: cnn_classifier, autoencoder, contrastive "
                                      "(self-supervised), and the descriptors baseline as a servable family"),
        "label": Param("genre", enum=["genre", "artist"],
                       description="What the CNN classifier learns to predict: the track's genre or its artist"),
        "metric": Param("seed", enum=list(TARGET_METRICS),
                        description="Co-listening similarity metric of the evaluation's ground truth"),
        "dump_id": Param(None, type=["null", "string"],
                         description="Last.FM dump whose similarity build gives the targets (default: the latest)"),
        "test_share": Param(None, type=["null", "number"], exclusiveMinimum=0, exclusiveMaximum=1,
                            description="Share of artists held out for testing (default: 15%, at least 10 "
                                        "artists while a third of the catalogue allows it; the siamese default, "
                                        "so every family holds out the same test artists)"),
        "seed": Param(0, type="integer", minimum=SEED_MIN, maximum=SEED_MAX,
                      description="Seeds the artist split, the track split and the weights"),
        "classifier": Param({}, type="object",
                            description="Other ClassifierParams fields, e.g. {\"epochs\": 30, \"conv_filters\": "
                                        "[16, 32, 64, 128]} (seed and label: the top-level params)"),
        "autoencoder": Param({}, type="object",
                             description="Other AutoencoderParams fields, e.g. {\"loss\": \"mse\", \"perplexity\": "
                                         "10, \"k\": 8}"),
        "contrastive": Param({}, type="object",
                             description="ContrastiveParams fields, e.g. {\"epochs\": 40, \"crop_frames\": 96, "
                                         "\"temperature\": 0.1}"),
        "n_boot": Param(1000, type="integer", minimum=100, maximum=MAX_BOOT,
                        description="Bootstrap resamples of the evaluation CIs"),
        "primary_metric": Param("auto", enum=list(PRIMARY_METRIC_CHOICES),
                                description="Promotion metric, e.g. ndcg@10; auto: ndcg@10 with >= 12 test "
                                            "artists, else ndcg@5 or ndcg@3 (auc without listening data)"),
        "publish": Param(True, type="boolean",
                         description="Publish the champions' embeddings and audio neighbours, and a snapshot"),
        "k": Param(10, type="integer", minimum=1, maximum=MAX_COUNT,
                   description="Neighbours published per artist and per track"),
    },
)
def train_embeddings():
    run_id = "train_embeddings/{{ run_id }}"  # registry run ids: <this>/<family>, kept on retries

    @task(pool="duckdb_writer", retries=0)  # a refused gate (features, training_split) is not retried
    def prepare(run: str, params=None, dag=None) -> list[dict]:
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        from musim.assets import refused_conf, refused_train_queue
        from musim.errors import NotEnoughData, NotFoundError, ParameterError, refuse_blank
        from musim.models.families import plan_job

        # a key of the conf that is no param (a typo) is not ignored in silence; "" (a conf made from an unset
        # variable) is no dump id, not "the latest dump"
        if refused := refused_train_queue():  # a bad MUSIM_TRAIN_QUEUE: the DAG parsed with `default` in its place
            raise AirflowFailException(refused)
        if refused := refused_conf(dag, params, lambda p: refuse_blank(
                p["dump_id"], "the dump_id param", "a dump id or unique prefix (`musim dumps`), or null for the latest")):
            raise AirflowFailException(refused)
        if refused := _conflicting_params(params):
            raise AirflowFailException(refused)
        per_family = {"cnn_classifier": {**params["classifier"], "label": params["label"], "seed": params["seed"]},
                      "autoencoder": {**params["autoencoder"], "seed": params["seed"]},
                      "contrastive": {**params["contrastive"], "seed": params["seed"]},
                      "descriptors": {"seed": params["seed"]}}
        try:
            return plan_job(run, families=params["families"], params=per_family, dump_id=params["dump_id"],
                            target_metric=params["metric"], seed=params["seed"], test_share=params["test_share"],
                            primary_metric=params["primary_metric"])
        except NotEnoughData as exc:  # no features yet, or too few artists with audio: the run ends skipped (no
            # models event), as train_siamese's does; any other error fails the run
            raise AirflowSkipException(f"not trained: {exc}") from None
        except (ParameterError, NotFoundError) as exc:  # {"classifier": {"epochs": "ten"}} (checked before the inputs), a
            # dump_id that matches no dump (it was a traceback): one line
            raise AirflowFailException(f"{exc} (not retried: trigger it again with that fixed)") from None

    @task(pool="duckdb_writer", trigger_rule=JOIN)  # after the path route took (the other is skipped)
    def promote(evaluated, params=None) -> list[dict]:
        from musim.models.families import promote_job

        return promote_job(list(evaluated), primary_metric=params["primary_metric"])

    @task(pool="duckdb_writer", outlets=[MODELS])
    def publish(decisions: list[dict], params=None):
        from musim.models.families import publish_job

        summary = publish_job(decisions, k=params["k"]) if params["publish"] else {"champions": [], "snapshot": None}
        yield Metadata(MODELS, extra={"versions": [d["version"] for d in decisions],
                                      "statuses": {d["version"]: d["status"] for d in decisions},
                                      "snapshot": summary["snapshot"],
                                      "snapshot_served": summary.get("served")})  # false under a rollback's pin
        return summary

    publish(promote(staged_training(prepare(run_id), train_queue=TRAIN_QUEUE)))


train_embeddings()
