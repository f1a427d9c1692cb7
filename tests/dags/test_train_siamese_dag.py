"""The train_siamese DAG run through Airflow (`airflow dags test`) on a tiny generated catalogue, twice:
the second run's challenger is evaluated against the first run's champion on the same test artists."""

from __future__ import annotations

import json

import pytest

from musim import embedded, serving, warehouse
from musim.models.toy import planted_data
from musim.storage import open_store
from tests.dags.airflow_db import airflow_db
from tests.models.catalogue import COLD_ARTIST, make_catalogue
from tests.models.conftest import new_dump_without_audio

pytestmark = pytest.mark.slow

CONF = {"epochs": 2, "train_pairs": 240, "batch_size": 32, "embedding_size": 16, "seed": 3, "k": 4,
        "learning_rate": 3e-3,
        "hparams": {"conv_filters": [8, 16], "validation_pairs": 60, "early_stopping_patience": None,
                    "test_share": 0.4}}



def test_train_siamese_dag_trains_evaluates_promotes_publishes(airflow, musim_home):
    from musim.cli import main

    env, log = airflow
    store = open_store()
    with warehouse.writer() as con:
        make_catalogue(con, store, planted_data(communities=4, artists_per_community=6, clips_per_artist=3, seed=1))

    embedded.run_dag("train_siamese", env, log, CONF)
    # MUSIM_TRAIN_QUEUE is the CPU queue (its default; the LocalExecutor ignores queues anyway): route asked no worker
    # and followed train; the CPU fallback's path is skipped
    states = dict(airflow_db(env, "SELECT task_id, state FROM task_instance WHERE dag_id = 'train_siamese' "
                                  "AND map_index IN (-1, 0)"))
    assert (states["route"], states["train"], states["evaluate"], states["promote"]) == ("success",) * 4, states
    assert states["train_cpu"] == states["evaluate_cpu"] == "skipped", states
    assert "training on queue 'default' (MUSIM_TRAIN_QUEUE), the CPU queue" in log.read_text(errors="replace")
    with warehouse.writer() as con:
        version, run_id, status, pm = con.execute(
            "SELECT version, run_id, status, primary_metric FROM model_registry").fetchone()
        decided = con.execute("SELECT against, metric FROM model_promotion WHERE version = ?", [version]).fetchone()
    assert version == "siamese-1" and run_id.startswith("train_siamese/") and pm == "ndcg@5"
    assert decided == ("random", "ndcg@5")
    runs = [o.key for o in store.list("models/runs/") if o.key.startswith("models/runs/train_siamese_")]
    assert any(k.endswith("/siamese/model.keras") for k in runs) and any(k.endswith("/siamese/trained.json") for k in runs)
    assert any(k.endswith("/siamese/run.json") for k in runs) and any(k.endswith("/inputs.npz") for k in runs)
    if status != "champion":
        assert main(["models", "promote", "siamese-1", "--force"]) == 0

    embedded.run_dag("train_siamese", env, log, CONF | {"seed": 4})
    with warehouse.writer() as con:
        second = con.execute("SELECT version, metrics FROM model_registry WHERE seq = 2").fetchone()
        against = con.execute("SELECT against FROM model_promotion WHERE version = 'siamese-2'").fetchone()[0]
        champion = con.execute("SELECT version FROM model_registry WHERE status = 'champion'").fetchone()[0]
        published = con.execute("SELECT DISTINCT model_version FROM artist_neighbors_audio").fetchall()
        cold = con.execute("SELECT bool_and(cold_start), count(*) FROM artist_neighbors_audio WHERE artist_id = ?",
                           [COLD_ARTIST]).fetchone()
    assert second[0] == "siamese-2" and "siamese-1" in json.loads(second[1])  # the champion re-scored in the run
    assert against == "siamese-1"
    assert published == [(champion,)] and cold == (True, 4)
    snap = serving.open_snapshot()
    try:
        assert snap.execute("SELECT count(*) FROM track_neighbors").fetchone()[0] == 75 * 4
        assert snap.execute("SELECT count(*) FROM model_registry").fetchone()[0] == 2
    finally:
        snap.close()


def test_a_new_dump_whose_artists_have_no_audio_yet_ends_the_run_skipped_not_failed(airflow, musim_home):
    """The nightly run after a new dump, before acquisition caught up: no artist has both listening data and audio.
    The run ends skipped with one line saying how many have each and what must run first, emits no models event and
    registers nothing; a real error (an unknown dump) still fails the run."""
    env, log = airflow
    store = open_store()
    toy = planted_data(communities=4, artists_per_community=6, clips_per_artist=3, seed=1)
    with warehouse.writer() as con:
        make_catalogue(con, store, toy)  # 24 artists with audio (and a cold one) and the first dump
        new_dump_without_audio(con, toy)  # the latest dump: 24 other artists, none with audio

    embedded.run_dag("train_siamese", env, log, CONF)  # succeeds: skipped, not failed
    text = log.read_text(errors="replace")
    said = [line[line.index("not trained:"):] for line in text.splitlines() if "not trained:" in line]
    assert said and said[-1].startswith(
        "not trained: 24 artists have listening data (dump eeeeeeeeeeee), 25 have audio features, 0 both; training "
        "needs at least 6 with both"), text[-3000:]
    assert "audio_acquire and audio_features DAGs" in said[-1]
    states = dict(airflow_db(env, "SELECT task_id, state FROM task_instance WHERE dag_id = 'train_siamese'"))
    assert states["prepare"] == "skipped" and states["publish"] == "skipped", states
    assert states["route"] == states["train"] == states["train_cpu"] == states["promote"] == "skipped", states
    assert airflow_db(env, "SELECT count(*) FROM asset_event") == [(0,)]  # no models event
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM model_registry").fetchone()[0] == 0

    with pytest.raises(embedded.AirflowRunError):  # a real error still fails the run
        embedded.run_dag("train_siamese", env, log, CONF | {"dump_id": "f" * 12})
