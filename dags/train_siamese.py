"""
### Train the siamese model (nightly)

Retrains the siamese network on the latest similarity build and the audio features, evaluates it against
the baselines (and the current champion) on held-out artists, promotes it only if it beats the champion
beyond the confidence interval, then embeds every track and artist with the **champion** and publishes
the audio neighbours (`artist_neighbors_audio`, `track_neighbors`, artists without listening data
included) with a new serving snapshot. Emits the **models** asset.

`prepare` → `train` → `evaluate` → `promote` → `publish`

- `prepare` (warehouse): targets, tracks, listeners and descriptors as of now; the training-set checks
  (and `musim.quality`'s `training_set` suite when there is one) — a failure stops the run; the inputs go
  to the object store (`models/runs/siamese/<run>/inputs.npz`).
- `train` runs on **queue `gpu`** in pool `gpu` (a Celery worker with an NVIDIA device in deployed mode;
  ignored under the embedded LocalExecutor): it reads the inputs and the log-mels from the object store
  only and stores `model.keras` + `train.json` there. A retry after success does not train again.
- `evaluate`, `promote`, `publish` write the warehouse (pool `duckdb_writer`): registry row, promotion
  decision, embeddings as feature views (online store), neighbour tables, snapshot.

Only keys and ids travel through XCom. See `musim models list|show` and the musim page for the results.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Metadata, Param, dag, task

from musim.assets import asset

MODELS = asset("models")


@dag(
    schedule="0 3 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["musim", "models", "siamese"],
    doc_md=__doc__,
    params={
        "epochs": Param(10, type="integer", minimum=1, description="Training epochs (early stopping may end sooner)"),
        "metric": Param("seed", enum=["seed", "jaccard", "cosine", "lift", "pmi"],
                        description="Co-listening similarity metric the model learns (the target)"),
        "dump_id": Param(None, type=["null", "string"],
                         description="Last.FM dump whose similarity build gives the targets (default: the latest)"),
        "learning_rate": Param(1e-3, type="number", exclusiveMinimum=0, description="Adam learning rate"),
        "batch_size": Param(64, type="integer", minimum=1, description="Clip pairs per training step (global)"),
        "embedding_size": Param(64, type="integer", minimum=1,
                                description="Size of the encoding (the Dense layer after the global max-pool)"),
        "sampling": Param("stratified", enum=["stratified", "natural"],
                          description="Artist pairs: stratified over the target range (similar pairs are rare) "
                                      "or the catalogue's natural distribution"),
        "train_pairs": Param(20000, type=["null", "integer"], minimum=1,
                             description="Artist pairs drawn for training (each gives up to 3 x 3 clip pairs)"),
        "seed": Param(0, type="integer", description="Seeds the artist split, the sampling and the weights"),
        "primary_metric": Param("auto", type="string",
                                description="Promotion metric, e.g. ndcg@10; auto: ndcg@10 with >= 12 test "
                                            "artists, else ndcg@5 or ndcg@3"),
        "k": Param(10, type="integer", minimum=1, description="Neighbours published per artist and per track"),
        "hparams": Param({}, type="object",
                         description="Any other HyperParams field, e.g. {\"conv_filters\": [16, 32], "
                                     "\"test_share\": 0.3} (the Params above set their own fields)"),
    },
)
def train_siamese():
    run_id = "train_siamese/{{ run_id }}"  # the registry's run id: one model per DAG run, kept on retries

    @task(pool="duckdb_writer")
    def prepare(run: str, params=None) -> dict:
        from musim.models.jobs import prepare_run

        hparams = dict(params["hparams"] or {}) | {
            "epochs": params["epochs"], "learning_rate": params["learning_rate"],
            "batch_size": params["batch_size"], "dense_units": params["embedding_size"],
            "sampling": params["sampling"], "train_pairs": params["train_pairs"], "seed": params["seed"]}
        return prepare_run(run, dump_id=params["dump_id"], metric=params["metric"], hparams=hparams,
                           primary_metric=params["primary_metric"])

    @task(queue="gpu", pool="gpu", retries=1, retry_delay=pendulum.duration(minutes=2))
    def train(plan: dict) -> dict:
        from musim.models.jobs import train_run

        return train_run(plan)

    @task(pool="duckdb_writer")
    def evaluate(plan: dict, trained: dict) -> dict:
        from musim.models.jobs import evaluate_run

        return evaluate_run(plan, trained)

    @task(pool="duckdb_writer")
    def promote(evaluated: dict) -> dict:
        from musim.models.jobs import promote_run

        return promote_run(evaluated)

    @task(pool="duckdb_writer", outlets=[MODELS])
    def publish(run: str, decision: dict, params=None):
        from musim.models.jobs import publish_run

        summary = publish_run(run, k=params["k"])
        yield Metadata(MODELS, extra={"champion": summary.get("champion"), "challenger": decision["version"],
                                      "promoted": decision["promoted"], "tracks": summary.get("tracks"),
                                      "artists": summary.get("artists"), "cold_start": summary.get("cold_start"),
                                      "snapshot": summary.get("snapshot")})
        return summary

    plan = prepare(run_id)
    decision = promote(evaluate(plan, train(plan)))
    publish(run_id, decision)


train_siamese()
