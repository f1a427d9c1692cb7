"""
### Train the siamese model (nightly)

Retrains the siamese network on the latest similarity build and the audio features, evaluates it against
the baselines (and the current champion) on held-out artists, promotes it only if it beats the champion
beyond the confidence interval, then embeds every track and artist with the **champion** and publishes
the audio neighbours (`artist_neighbors_audio`, `track_neighbors`, artists without listening data
included) with a new serving snapshot. Emits the **models** asset.

The one model path of every family (`musim.models.families.staged`, shared with `train_embeddings`):
`prepare` → `route` → `train` → `evaluate` → `promote` → `publish`, or after `route` the CPU fallback's
`train_cpu` → `evaluate_cpu` (the same phases on queue `default`)

- `prepare` (warehouse): tracks with features as of now (the feature store's point-in-time frame), targets,
  listeners, the common artist split; the `training_split` quality gate — a failure stops the run; the
  manifest goes to the object store (`models/runs/<run>/inputs.npz`).
  Before anything is loaded for training, the newest feature build whose features quality gate ran must have
  passed it (`musim features list --builds`): while it failed, `prepare` ends the run failed, not retried, with
  one line naming the build, its quality run, `musim quality report --dataset features` and what to do.
- `route` (queue `default`) sends training to the Celery queue `$MUSIM_TRAIN_QUEUE` (`default`; `gpu` where a
  worker with an NVIDIA device consumes it) while a live worker consumes it: it asks the workers (Celery's
  `active_queues`, 2 s wait). While none does, it follows the CPU fallback on queue `default` (Airflow's
  `[operators] default_queue`, whose worker ran `route`) and logs one warning line: the queue, "no worker consumes
  it", the live workers and where it trains instead. Under the LocalExecutor (`airflow standalone`, `airflow dags
  test`), which ignores queues, and while `$MUSIM_TRAIN_QUEUE` is `default`, it asks nothing and follows `train`.
  The path not taken ends skipped. It is decided once per run: a GPU worker that stops after `route` leaves `train`
  queued until the scheduler fails it (`task_queued_timeout`, twice requeued).
- `train` and `evaluate` (queue `$MUSIM_TRAIN_QUEUE`), or `train_cpu` and `evaluate_cpu` (queue `default`), run in
  pool `gpu`: they read the object store only and stage the model, its embeddings and the evaluation (model,
  champion and baselines on the same test artists). A retry after success does not train again. On a worker of
  a queue other than `default` whose TensorFlow sees no GPU, `train` logs one warning line (queue, host, CUDA
  build) and trains on the CPU.
- `promote` (after the path taken: trigger rule none_failed_min_one_success, so a failure on that path fails
  it), `publish` write the warehouse (pool `duckdb_writer`): registry row, promotion decision, the
  champion's embeddings as feature views (online store), neighbour tables, snapshot.

While a rollback pins the served snapshot (`musim publish --rollback`), `publish` still writes its snapshot but
does not serve it (nor move the online lookup): it succeeds, logs so in one line, and its **models** event says
`snapshot_served: false`; `musim publish --release` serves the newest.

After a new Last.FM dump whose artists have no audio yet (fewer than 6 artists with both listening data and
audio features, or no features at all), `prepare` ends skipped with one line (how many artists have listening
data, how many audio, what must run first: `audio_acquire`, then `audio_features`), and so does the rest of the
run, with no **models** event; any other error fails it.

Only keys and ids travel through XCom. See `musim models list|show` and the musim page for the results.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Metadata, Param, dag, task

from musim.assets import asset, parsed_train_queue
from musim.models.constants import PRIMARY_METRIC_CHOICES, TARGET_METRICS
from musim.models.hyperparams import EMBEDDING_PARAM, HyperParams
from musim.models.routing import JOIN, staged_training
from musim.params import LEARNING_RATE_MAX, MAX_COUNT, MAX_SIZE, SEED_MAX, SEED_MIN, defaults

MODELS = asset("models")
#: the Celery queue of train and evaluate, read at parse time (`gpu` where a GPU worker consumes it; while
#: no live worker does, `route` sends training to train_cpu and evaluate_cpu on queue `default`)
TRAIN_QUEUE = parsed_train_queue()  # a bad value: `default`, and prepare fails saying so
DEFAULTS = defaults(HyperParams)  # the library's: one place for every default
#: The params that set the HyperParams field of the same name (as `musim models train`'s options do).
JOB_OPTIONS = ("epochs", "learning_rate", "batch_size", "sampling", "train_pairs", "seed")


def _default(text: str, field: str) -> str:
    """A hyperparameter Param's description: what it sets and what null (its default) means."""
    return f"{text}; null: the hparams' {field}, else {DEFAULTS[field]}"


@dag(
    schedule="0 3 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["musim", "models", "siamese"],
    doc_md=__doc__,
    params={
        # the hyperparameter Params default to null, as `musim models train`'s options do: null leaves the field
        # to `hparams`, else the HyperParams default (shown); one that is set wins over `hparams` (job_params)
        "epochs": Param(None, type=["null", "integer"], minimum=1, maximum=MAX_COUNT,
                        description=_default("Training epochs (early stopping may end sooner)", "epochs")),
        "metric": Param("seed", enum=list(TARGET_METRICS),
                        description="Co-listening similarity metric the model learns (the target)"),
        "dump_id": Param(None, type=["null", "string"],
                         description="Last.FM dump (id or unique prefix) whose similarity build gives the targets "
                                     "(default: the latest)"),
        "learning_rate": Param(None, type=["null", "number"], exclusiveMinimum=0, maximum=LEARNING_RATE_MAX,
                               description=_default("Adam learning rate", "learning_rate")),
        "batch_size": Param(None, type=["null", "integer"], minimum=1, maximum=MAX_SIZE,
                            description=_default("Clip pairs per training step (global)", "batch_size")),
        "embedding_size": Param(None, type=["null", "integer"], minimum=1, maximum=MAX_SIZE,
                                description=_default("Size of the encoding (the Dense layer after the global "
                                                     "max-pool)", EMBEDDING_PARAM["siamese"])),
        "sampling": Param(None, type=["null", "string"], enum=[None, "stratified", "natural"],
                          description=_default("Artist pairs: stratified over the target range (similar pairs are "
                                               "rare) or the catalogue's natural distribution", "sampling")),
        "train_pairs": Param(None, type=["null", "integer"], minimum=1, maximum=MAX_COUNT,
                             description=_default("Artist pairs drawn for training (each gives up to 3 x 3 clip "
                                                  "pairs)", "train_pairs")),
        "seed": Param(None, type=["null", "integer"], minimum=SEED_MIN, maximum=SEED_MAX,
                      description=_default("Seeds the artist split, the sampling and the weights", "seed")),
        "primary_metric": Param("auto", enum=list(PRIMARY_METRIC_CHOICES),
                                description="Promotion metric, e.g. ndcg@10; auto: ndcg@10 with >= 12 test "
                                            "artists, else ndcg@5 or ndcg@3 (auc without listening data)"),
        "k": Param(10, type="integer", minimum=1, maximum=MAX_COUNT, description="Neighbours published per artist and per track"),
        "hparams": Param({}, type="object",
                         description="Any HyperParams field, e.g. {\"conv_filters\": [16, 32], "
                                     "\"test_share\": 0.3}; a Param above that is set wins over its field here"),
    },
)
def train_siamese():
    run_id = "train_siamese/{{ run_id }}"  # registry run ids: <this>/siamese, kept on retries

    @task(pool="duckdb_writer", retries=0)  # a refused gate (features, training_split) is not retried
    def prepare(run: str, params=None, dag=None) -> list[dict]:
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        from musim.assets import refused_conf, refused_train_queue
        from musim.errors import NotEnoughData, NotFoundError, ParameterError, refuse_blank
        from musim.models.families import plan_job
        from musim.models.hyperparams import job_params

        # a key of the conf that is no param (a typo) is not ignored in silence; "" (a conf made from an unset
        # variable) is no dump id, not "the latest dump"
        if refused := refused_train_queue():  # a bad MUSIM_TRAIN_QUEUE: the DAG parsed with `default` in its place
            raise AirflowFailException(refused)
        if refused := refused_conf(dag, params, lambda p: refuse_blank(
                p["dump_id"], "the dump_id param", "a dump id or unique prefix (`musim dumps`), or null for the latest")):
            raise AirflowFailException(refused)
        try:
            hparams, split = job_params("siamese", params["hparams"], embedding_size=params["embedding_size"],
                                        **{k: params[k] for k in JOB_OPTIONS})
            return plan_job(run, families=["siamese"], params={"siamese": hparams}, dump_id=params["dump_id"],
                            target_metric=params["metric"], primary_metric=params["primary_metric"], **split)
        except NotEnoughData as exc:  # the audio of a new dump's artists is not there yet: nothing wrong, nothing
            # to train; the run ends skipped (no models event). Any other error fails the run.
            raise AirflowSkipException(f"not trained: {exc}") from None
        except (ParameterError, NotFoundError) as exc:  # {"hparams": {"epochs": "ten"}} (checked before the inputs), a
            # dump_id that matches no dump (it was a traceback): one line
            raise AirflowFailException(f"{exc} (not retried: trigger it again with that fixed)") from None

    @task(pool="duckdb_writer", trigger_rule=JOIN)  # after the path route took (the other is skipped)
    def promote(evaluated, params=None) -> list[dict]:
        from musim.models.families import promote_job

        return promote_job(list(evaluated), primary_metric=params["primary_metric"])

    @task(pool="duckdb_writer", outlets=[MODELS])
    def publish(decisions: list[dict], params=None):
        from musim.models.families import publish_job

        summary = publish_job(decisions, k=params["k"])
        champ = next(iter(summary["champions"]), {})
        yield Metadata(MODELS, extra={"champion": champ.get("version"), "challenger": decisions[0]["version"],
                                      "promoted": decisions[0]["status"] == "champion",
                                      "tracks": champ.get("tracks"), "artists": champ.get("artists"),
                                      "cold_start": champ.get("cold_start"), "snapshot": summary["snapshot"],
                                      "snapshot_served": summary.get("served")})  # false under a rollback's pin
        return summary

    publish(promote(staged_training(prepare(run_id), train_queue=TRAIN_QUEUE)))


train_siamese()
