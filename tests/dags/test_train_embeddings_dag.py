"""The train_embeddings DAG run through Airflow (`airflow dags test`) on a tiny generated catalogue: prepare →
train → evaluate (one mapped task per family, queue gpu) → promote → publish; both families in the registry on the same test
artists, with their views and cards, their neighbours published and `musim models compare` showing them."""

from __future__ import annotations

import json

import pytest

from musim import demo, embedded, serving, warehouse
from musim.models.toy import planted_data
from musim.storage import open_store
from tests.dags.airflow_db import airflow_db
from tests.models.catalogue import seed_catalogue

pytestmark = pytest.mark.slow

CONF = {"families": ["cnn_classifier", "autoencoder"], "test_share": 0.4, "seed": 0, "n_boot": 100, "k": 4,
        "classifier": {"conv_filters": [4, 8], "embedding_units": 16, "epochs": 1, "batch_size": 16,
                       "heldout_share": 0.34},
        "autoencoder": {"conv_filters": [8, 4], "epochs": 1, "batch_size": 16, "perplexity": 5, "k": 4}}


def test_train_embeddings_dag_trains_registers_and_publishes_both_families(airflow, tmp_path, musim_home, capsys):
    from musim.cli import main

    env, log = airflow
    store = open_store()
    with warehouse.writer() as con:
        seed_catalogue(con, store, planted_data(communities=4, artists_per_community=6, clips_per_artist=3,
                                                shape=(32, 16), seed=1))

    embedded.run_dag("train_embeddings", env, log, CONF)
    with warehouse.writer() as con:
        rows = con.execute("SELECT family, version, run_id, test_set_id, status FROM model_registry ORDER BY family"
                           ).fetchall()
        published = dict(con.execute("SELECT family, min(model_version) FROM artist_neighbors_audio GROUP BY 1"
                                     ).fetchall())
    assert [r[:2] for r in rows] == [("autoencoder", "autoencoder-1"), ("cnn_classifier", "cnn_classifier-1")]
    assert all(r[2].startswith("train_embeddings/") and r[2].endswith("/" + r[0]) for r in rows)
    assert rows[0][3] == rows[1][3]                                   # the same test artists
    assert published == {r[0]: r[1] for r in rows if r[4] == "champion"}
    keys = {o.key for o in store.list("models/")}
    for name in ("tsne.png", "kmeans.png", "dendrogram.png", "reconstruction.png", "tsne_descriptors.png", "card.md"):
        assert f"models/autoencoder/autoencoder-1/{name}" in keys
    for name in ("confusion_by_track.png", "confusion_by_artist.png", "card.md"):
        assert f"models/cnn_classifier/cnn_classifier-1/{name}" in keys
    assert any(k.startswith("models/runs/train_embeddings_") and k.endswith("/inputs.npz") for k in keys)
    snap = serving.open_snapshot()
    try:
        assert snap.execute("SELECT count(*) FROM model_registry").fetchone()[0] == 2
    finally:
        snap.close()

    assert main(["models", "compare", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {r["version"] for r in doc["rows"] if r["kind"] == "family"} == {"autoencoder-1", "cnn_classifier-1"}
    assert doc["same_test_set"] and any(r["name"] == "baseline: random" for r in doc["rows"])

    # the demo's last section: the same table, and where each model's plots and card are
    from musim.config import get_settings

    demo.print_models(get_settings())
    out = capsys.readouterr().out
    assert "(`musim models compare`" in out and "baseline: random" in out
    for what in ("confusion matrix, held-out artists:", "t-SNE of the embeddings:", "dendrogram", "model card:"):
        assert what in out
    assert "file://" in out and "/models/autoencoder/autoencoder-1/kmeans.png" in out


def test_a_run_before_any_audio_has_features_ends_skipped_not_failed(airflow, musim_home):
    """The weekly run on a fresh install (no track has features yet): nothing wrong, nothing to train. The run ends
    skipped with the line saying what is missing, emits no models event and registers nothing."""
    env, log = airflow
    with warehouse.writer():
        pass  # the warehouse exists, migrated, with no features

    embedded.run_dag("train_embeddings", env, log, CONF)  # succeeds: skipped, not failed
    states = dict(airflow_db(env, "SELECT task_id, state FROM task_instance WHERE dag_id = 'train_embeddings' "
                                  "AND map_index < 1"))
    assert states["prepare"] == "skipped", states
    assert airflow_db(env, "SELECT count(*) FROM asset_event") == [(0,)]  # no models event
    assert "not trained: no track has the features" in log.read_text(errors="replace")
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM model_registry").fetchone()[0] == 0
