"""Every family in one registry, one evaluation and one serving path; `musim models compare`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musim import warehouse
from musim.audio import DESCRIPTOR_NAMES
from musim.cli import main
from musim.errors import ParameterError
from musim.models import promotion, registry
from musim.models.toy import ToyData, planted_data
from musim.storage import open_store
from tests.models.catalogue import seed_catalogue

SHAPE = (32, 16)
AE = {"conv_filters": [8, 4], "epochs": 2, "batch_size": 16, "perplexity": 5, "k": 4}
CNN = {"conv_filters": [4, 8], "embedding_units": 16, "epochs": 2, "batch_size": 16, "heldout_share": 0.34}


@pytest.fixture(scope="module")
def toy() -> ToyData:
    return planted_data(communities=4, artists_per_community=6, clips_per_artist=3, shape=SHAPE, seed=1)


def test_cosine_top_k():
    from musim.models.families import cosine_top_k

    v = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    idx, sims = cosine_top_k(v, 2)
    assert idx[0].tolist() == [1, 2] and idx[3].tolist() == [2, 1]
    assert sims[0, 0] == pytest.approx(0.9 / np.hypot(0.9, 0.1))
    idx, _ = cosine_top_k(v, 1, queries=[2], exclude_self=False)
    assert idx.tolist() == [[2]]


def test_the_five_phases_register_every_family_in_one_registry(toy):
    """The DAGs' path: prepare (manifest, gate) → train → evaluate (object store only) → promote → publish;
    the same test artists for every family; every phase idempotent."""
    from musim.models.families import (
        FamilyInputs,
        compare_families,
        evaluate_staged,
        plan_job,
        promote_job,
        publish_job,
        train_staged,
    )
    from musim.runs import run_key

    store = open_store()
    with warehouse.writer() as con:
        ids = seed_catalogue(con, store, toy)
    items = plan_job("train_embeddings/manual 1", families=("autoencoder", "descriptors"),
                     params={"autoencoder": AE}, test_share=0.4)
    key = items[0]["manifest"]
    assert key == f"models/runs/{run_key('train_embeddings/manual 1')}/inputs.npz" and items[1]["manifest"] == key
    assert [i["run_id"] for i in items] == ["train_embeddings/manual 1/autoencoder", "train_embeddings/manual 1/descriptors"]
    inputs = FamilyInputs.from_bytes(store.get_bytes(key))
    assert inputs.track_ids == ids and inputs.genres[0] == "genre-0" and inputs.mel is None
    assert inputs.split.test.size == 10 and inputs.descriptors.shape == (72, len(DESCRIPTOR_NAMES))
    assert inputs.artist_names[int(toy.track_artist[0])] == f"Artist {toy.track_artist[0]}"
    again = FamilyInputs.from_bytes(inputs.to_bytes())
    assert again.split.test_set_id == inputs.split.test_set_id and again.targets.metric == "seed"

    trained = [train_staged(i) for i in items]
    assert train_staged(items[1])["prefix"] == trained[1]["prefix"]          # staged: no retrain
    assert store.exists(trained[0]["prefix"] + "embeddings.npy")
    evaluated = [evaluate_staged(t, n_boot=200) for t in trained]
    assert evaluated[0]["test_set_id"] == evaluated[1]["test_set_id"] == inputs.split.test_set_id
    assert evaluate_staged(trained[0])["test_set_id"] == inputs.split.test_set_id   # staged: reused
    decisions = promote_job(evaluated)
    assert promote_job(evaluated)[0]["version"] == "autoencoder-1"             # idempotent per run id
    summary = publish_job(decisions, k=5)
    with warehouse.writer() as con:
        rows = con.execute("SELECT family, version, test_set_id, primary_metric FROM model_registry ORDER BY family"
                           ).fetchall()
        published = dict(con.execute("SELECT family, count(*) FROM artist_neighbors_audio GROUP BY family").fetchall())
        services = con.execute("SELECT name, model_version, as_of IS NOT NULL FROM feature_service "
                               "WHERE model_version IS NOT NULL ORDER BY name").fetchall()
    assert [r[:2] for r in rows] == [("autoencoder", "autoencoder-1"), ("descriptors", "descriptors-1")]
    with warehouse.writer() as con:  # what each trained on, staged with the model: the autoencoder heard every track
        assert registry.training_artists(con, "autoencoder-1") == set(np.unique(toy.track_artist).tolist())
        assert registry.training_artists(con, "descriptors-1") == set(inputs.training_split().train.tolist())
        table = compare_families(con)
    assert "NOTE: autoencoder-1 trained on 10 of its 10 test artists (their audio): its row is not on held-out " \
           "artists." in table.notes
    assert {r["version"]: r["trained_on_test"] for r in table.rows if r["kind"] == "family"} == {
        "autoencoder-1": 10, "descriptors-1": 0}
    assert rows[0][2] == rows[1][2] == inputs.split.test_set_id and rows[0][3] == "ndcg@5"  # auto: 10 test artists
    assert services == [("autoencoder-1", "autoencoder-1", True), ("descriptors-1", "descriptors-1", True)]
    champions = {d["family"] for d in decisions if d["status"] == "champion"}
    assert {p["version"].split("-")[0] for p in summary["champions"]} == champions
    assert all(published[f] > 0 for f in champions) and summary["snapshot"]
    files = decisions[0]["files"]
    assert {"tsne.png", "kmeans.png", "dendrogram.png", "reconstruction.png", "tsne_descriptors.png"} <= set(files)
    card = store.get_bytes("models/autoencoder/autoencoder-1/card.md").decode()
    assert "## Views" in card and "(tsne.png)" in card and card.index("## Views") < card.index("## Caveats")
    assert store.stat("models/autoencoder/autoencoder-1/dendrogram.png").size > 2000


def test_run_family_and_compare(toy, capsys):
    """In one process: the classifier family beside the others, then one comparison table (and its CLI)."""
    from musim.models.families import compare_families, embed_features, embed_tracks, load_inputs, run_family
    from musim.models.siamese import load_model

    store = open_store()
    with warehouse.writer() as con:
        seed_catalogue(con, store, toy)
        inputs = load_inputs(con, store=store, test_share=0.4)
        assert inputs.slices.shape == (144, *SHAPE) and inputs.mel.shape == (72, *SHAPE)
        cnn = run_family("cnn_classifier", con=con, inputs=inputs, params=CNN, n_boot=200)
        desc = run_family("descriptors", con=con, inputs=inputs, n_boot=200)
        for out in (cnn, desc):  # 10 test artists give too few queries to decide (honest promotion): force
            if out.decision.status != "champion":
                assert "too little evidence" in out.decision.reason or "baseline" in out.decision.reason
                promotion.promote(con, out.entry.version, force=True)
        again = run_family("descriptors", con=con, inputs=inputs, n_boot=200, run_id="same")
        assert run_family("descriptors", con=con, inputs=inputs, run_id="same").reused
        other = load_inputs(con, store=store, needs=("log_mel", "descriptors"), test_share=0.4, seed=5)
        same_artists = compare_families(con)
        moved = run_family("descriptors", con=con, inputs=other, n_boot=200, promote=False)
        moved_decision = promotion.promote(con, moved.entry.version, force=True)  # the family's row: other artists
        ids, vectors = embed_tracks(con, "cnn_classifier-1", store=store)
        model = load_model(registry.fetch_model_file(store, registry.get_model(con, "cnn_classifier:champion")))
        first = embed_features("cnn_classifier", model, slices=inputs.slices[inputs.slice_track == 0],
                               slice_track=np.zeros(2, np.int64))
        table = compare_families(con)
        cnn_trained = registry.training_artists(con, "cnn_classifier-1")
        for asked in ({"metric": "ndcg@1O"}, {"metrics": ["map", "foo"]}):  # a typo: refused, not a column of dashes
            with pytest.raises(ParameterError, match="no version compared here records"):
                compare_families(con, **asked)
    assert cnn.entry.version == "cnn_classifier-1" and cnn.entry.feature_service == "cnn_classifier_slices"
    assert set(cnn.entry.metrics) >= {"model", "random", "popularity", "pixel", "descriptors"}
    cls = cnn.entry.training["classification"]
    assert set(cls) == {"by_track", "by_artist"}
    assert cls["by_artist"]["tracks"] + cls["by_artist"]["skipped_tracks"] == 30   # 10 test artists x 3 tracks
    assert {"confusion_by_artist.png", "confusion_by_track.png", "classification.json"} <= set(cnn.files)
    card = store.get_bytes("models/cnn_classifier/cnn_classifier-1/card.md").decode()
    assert "## Classification" in card and "(confusion_by_artist.png)" in card
    assert len(ids) == 72 and vectors.shape == (72, 16) and ids[0] == "t000"
    np.testing.assert_allclose(first[0], vectors[0], rtol=1e-5, atol=1e-6)   # new audio: the same embedding
    assert again.entry.version == "descriptors-2" and "descriptors-1" in again.entry.metrics  # champion re-scored
    assert desc.entry.test_set_id == cnn.entry.test_set_id != moved.entry.test_set_id
    # the champion re-scored on the other split's test artists had trained on some of them: left out
    trained_on = set(other.split.test.tolist()) & set(inputs.training_split().train.tolist())
    assert trained_on and moved_decision.left_out == len(trained_on) and moved_decision.against == "descriptors-1"
    assert cnn_trained == set(np.union1d(inputs.split.train, inputs.split.validation).tolist())

    assert same_artists.same_test_set and len(same_artists.pairs) == 1
    assert same_artists.pairs[0]["metric"] == "ndcg@5" and same_artists.pairs[0]["n"] == len(cnn.report.queries)
    names = [r["name"] for r in table.rows]
    assert {"cnn_classifier", "descriptors"} <= set(names) and "baseline: random" in names
    assert "baseline: pixel" in names and not table.same_test_set       # descriptors-3 moved to other artists
    assert any("other test artists" in n for n in table.notes)

    assert main(["models", "compare", "--family", "cnn_classifier", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["same_test_set"] and doc["metric"] == "ndcg@5" and doc["rows"][0]["version"] == "cnn_classifier-1"
    # a family named twice is one row, not its champion compared with itself (+0.000 [+0.000, +0.000])
    assert main(["models", "compare", "--family", "cnn_classifier", "--family", "cnn_classifier", "--json"]) == 0
    twice = json.loads(capsys.readouterr().out)
    assert [r["version"] for r in twice["rows"] if not r["name"].startswith("baseline")] == ["cnn_classifier-1"]
    assert twice["pairs"] == []
    assert main(["models", "compare", "--latest"]) == 0
    text = capsys.readouterr().out
    assert "cnn_classifier-1" in text and "baseline: random" in text and "NOTE:" in text


def test_family_runs_are_gated_by_the_training_split_suite(toy):
    """The families' split passes the quality gate (genre balance reported); a test genre never seen in
    training stops the run before anything is trained."""
    import dataclasses

    from musim.errors import QualityError
    from musim.models.families import gate_inputs, load_inputs, run_family

    store = open_store()
    with warehouse.writer() as con:
        seed_catalogue(con, store, toy)
        inputs = load_inputs(con, store=store, needs=("log_mel", "descriptors"), test_share=0.4)
        passed = gate_inputs(con, inputs)
        assert "with co-listeners" in passed["balance"]
        test_artist = int(inputs.split.test[0])
        genres = [("polka" if a == test_artist else g) for g, a in zip(inputs.genres, inputs.track_artist, strict=True)]
        with pytest.raises(QualityError, match="every test label occurs in training"):
            run_family("descriptors", con=con, inputs=dataclasses.replace(inputs, genres=genres), n_boot=50)
        assert con.execute("SELECT count(*) FROM model_registry").fetchone()[0] == 0
        details = con.execute("""SELECT status, failures FROM quality_result WHERE dataset = 'training_split'
                                 ORDER BY created_at""").fetchall()
    assert [d[0] for d in details] == ["passed", "failed"] and "polka" in details[1][1]


def test_rows_are_best_first_and_the_best_is_compared_with_the_others(tmp_path):
    """No TensorFlow: two families registered from evaluations alone, the worse one first by name."""
    from musim.models.bootstrap import bootstrap_ci
    from musim.models.evaluate import EvaluationReport
    from musim.models.families import compare_families

    ids = np.arange(700, 730)
    rng = np.random.default_rng(4)
    store = open_store()
    f = tmp_path / "model.keras"
    f.write_bytes(b"not really a keras file")
    with warehouse.writer() as con:
        for family, level in (("alpha", 0.5), ("beta", 0.8)):
            per = {s: {"ndcg@10": v + rng.normal(0, 0.01, ids.size)} for s, v in (("model", level), ("random", 0.3))}
            summary = {s: {"ndcg@10": bootstrap_ci(v["ndcg@10"], n_boot=200)} for s, v in per.items()}
            report = EvaluationReport(ids, ids, [], ["ndcg@10"], per, summary, n_boot=200)
            registry.register_model(con, store, family=family, model_file=f, report=report, params={},
                                    target_metric="seed", dump_id="d" * 64)
        table = compare_families(con, metrics=["ndcg@10"], latest=True, n_boot=200)
    assert [r["version"] for r in table.rows if r["kind"] == "family"] == ["beta-1", "alpha-1"]
    assert table.same_test_set and len(table.pairs) == 1
    pair = table.pairs[0]
    assert pair["a"] == "beta-1" and pair["b"] == "alpha-1"
    assert pair["diff"] == pytest.approx(0.3, abs=0.02) and pair["a_better"] and not pair["b_better"]


def test_label_evaluated_runs_show_their_own_metrics_over_query_tracks(tmp_path):
    """On a library home (no listening data) precision@5, map and spearman were `–` in every row (the default
    columns), and the note said "over query artists" though every query was a track."""
    from musim.models.bootstrap import bootstrap_ci
    from musim.models.evaluate import EvaluationReport
    from musim.models.families import compare_families

    tracks = np.arange(40)
    artists = np.repeat(np.arange(900, 910), 4)
    rng = np.random.default_rng(5)
    f = tmp_path / "model.keras"
    f.write_bytes(b"not really a keras file")
    metrics = ["auc", "ap", "p1"]
    with warehouse.writer() as con:
        for family, level in (("contrastive", 0.8), ("descriptors", 0.6)):
            per = {s: {m: np.clip(v + rng.normal(0, 0.05, tracks.size), 0, 1) for m in metrics}
                   for s, v in (("model", level), ("random", 0.5))}
            summary = {s: {m: bootstrap_ci(v[m], n_boot=100, clusters=artists) for m in metrics} for s, v in per.items()}
            report = EvaluationReport(np.unique(artists), tracks, [], metrics, per, summary, n_boot=100,
                                      set_key="tracks:" + ",".join(map(str, tracks)), query_clusters=artists)
            registry.register_model(con, open_store(), family=family, model_file=f, report=report, params={},
                                    target_metric="seed", primary_metric="auc")
        table = compare_families(con, n_boot=100)
    assert table.metrics == ["auc", "ap", "p1"]
    body, headers = table.table()
    assert headers[-3:] == ["auc", "ap", "p1"] and not any("–" in cell for row in body for cell in row[-3:])
    assert "mean [95% CI] over query tracks" in table.text() and "query artists" not in table.text()


def test_compare_of_families_without_a_version_names_them_not_an_empty_registry(tmp_path, capsys):
    """`models compare --family contrastive` said `no model registered yet: train one` beside registered siamese
    versions: it names the families asked for and those registered."""
    from tests.models.conftest import _register, _report, _truth

    assert main(["models", "compare", "--family", "contrastive"]) == 0
    out = capsys.readouterr().out  # the note alone: it began with the header of an empty table
    assert out.startswith("no model registered yet: train one") and len(out.splitlines()) == 1, out
    with warehouse.writer() as con:
        _register(con, open_store(), tmp_path, _report(_truth(), 0.3))
    assert main(["models", "compare", "--family", "contrastive", "--family", "autoencoder", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["notes"] == [
        "no contrastive or autoencoder version registered yet (registered: siamese): train one (`musim models train "
        "--family contrastive`), or compare the registered families"]

