"""The siamese job end to end on a tiny generated catalogue: gate → train → evaluate → register → promote →
embed with the champion → neighbour tables (cold start included) → snapshot, online store, UI queries, and
the `similar-audio` / `embed` commands on real audio files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musim import serving, warehouse
from musim.cli import main
from musim.errors import ParameterError, QualityError
from musim.features import lookup
from musim.models.jobs import (
    TrainingInputs,
    choose_primary_metric,
    gate_training_set,
    make_hparams,
    prepare_inputs,
    validate_training_set,
)
from musim.storage import open_store
from musim.synth.audio import synthesize_clip, write_clip
from tests.models.catalogue import COLD_ARTIST, make_catalogue
from tests.models.conftest import TINY

HP = dict(TINY, epochs=3, learning_rate=3e-3, seed=3, test_share=0.4)


def test_prepare_run_fails_early_without_enough_test_artists(toy):
    from musim.models.jobs import SPLIT_DEFAULTS, prepare_run
    from musim.models.train import HyperParams

    assert SPLIT_DEFAULTS == {k: getattr(HyperParams(), k) for k in SPLIT_DEFAULTS}
    store = open_store()
    with warehouse.writer() as con:
        make_catalogue(con, store, toy)
    with pytest.raises(QualityError, match="only 4 test artists"):
        prepare_run("r0", hparams={"test_share": 0.15})
    plan = prepare_run("r1", hparams={"test_share": 0.4})
    assert plan["usable_artists"] == 24 and store.exists(plan["inputs_key"])


def test_primary_metric_follows_the_test_artists():
    assert [choose_primary_metric(n) for n in (30, 12, 11, 7, 6, 5)] == [
        "ndcg@10", "ndcg@10", "ndcg@5", "ndcg@5", "ndcg@3", "ndcg@3"]
    with pytest.raises(ParameterError):
        choose_primary_metric(4)


def test_inputs_round_trip_and_checks(toy):
    store = open_store()
    with warehouse.writer() as con:
        cat = make_catalogue(con, store, toy)
        inputs = prepare_inputs(con)
    assert len(inputs.track_ids) == len(cat["tracks"])  # the cold-start artist has no targets: not trained on
    assert inputs.track_artist.tolist() == sorted(inputs.track_artist.tolist())
    assert inputs.descriptors is not None and inputs.missing_descriptors == 0
    back = TrainingInputs.from_bytes(inputs.to_bytes())
    assert back.track_ids == inputs.track_ids and back.listeners == inputs.listeners
    np.testing.assert_array_equal(back.targets.matrix, inputs.targets.matrix)
    hp = make_hparams(HP)
    x = toy.x.copy()
    facts = validate_training_set(inputs, x, hp)
    assert facts["split"]["test"] == 10 and facts["usable_artists"] == 24
    bad = x.astype(np.float32)
    bad[3, 0, 0] = np.nan
    bad[4] = 5.0
    with pytest.raises(QualityError, match="NaN or infinite.*\n.*outside"):
        validate_training_set(inputs, bad, hp)
    few = TrainingInputs(**{**inputs.__dict__, "track_ids": inputs.track_ids[:9], "object_keys": inputs.object_keys[:9],
                            "track_artist": inputs.track_artist[:9], "descriptors": None})
    with pytest.raises(QualityError, match="only 3 artists"):
        validate_training_set(few, x[:9], hp)


def test_the_training_split_gate_passes_real_inputs_and_stops_bad_targets(toy):
    store = open_store()
    with warehouse.writer() as con:
        make_catalogue(con, store, toy)
        inputs = prepare_inputs(con)
        passed = gate_training_set(con, inputs, validation_share=0.15, test_share=0.4, seed=3)
        assert "train" in passed["balance"] and "with co-listeners" in passed["balance"]
        m = inputs.targets.matrix.copy()
        m[0, 1] = m[1, 0] = 1.7  # a target off the 0..1 scale
        bad = TrainingInputs(**{**inputs.__dict__, "targets": type(inputs.targets)(inputs.targets.artist_ids, m)})
        with pytest.raises(QualityError, match="training-set quality gate failed(.|\n)*targets on 0..1"):
            gate_training_set(con, bad, validation_share=0.15, test_share=0.4, seed=3)
        stored = con.execute("""SELECT status FROM quality_result WHERE dataset = 'training_split'
                                ORDER BY created_at""").fetchall()
    assert stored == [("passed",), ("failed",)]


def _clips(folder, n=2, community=0):
    paths = []
    for k in range(n):
        y = synthesize_clip(community=community, artist_seed=4242, track_no=k, sr=22050, duration=8.0)
        paths.append(write_clip(folder / f"new-{k}.wav", y, sr=22050))
    return paths


def test_job_end_to_end_then_serving_and_cold_start(toy, tmp_path, capsys):
    from musim.models import registry
    from musim.models.jobs import publish_champion, train_siamese_job
    from musim.models.siamese import pair_scores
    from musim.ui import queries

    store = open_store()
    with warehouse.writer() as con:
        cat = make_catalogue(con, store, toy)
        result = train_siamese_job(con=con, store=store, hparams=HP, n_boot=200, k=5, run_id="test-run")
        assert result.version == "siamese-1" and result.primary_metric == "ndcg@5" and not result.reused
        assert [r["scorer"] for r in result.evaluation] == ["model", "descriptors", "pixel", "popularity", "random"]
        assert {(c["metric"], c["b"]) for c in result.comparisons} == {
            (m, b) for m in ("precision@3", "precision@5", "ndcg@5") for b in ("random", "pixel")}
        assert result.checks["split"]["test"] == 10 and len(result.test_artists) == 10
        if result.champion is None:  # the first model must beat random beyond the CI; make sure one serves
            registry.promote(con, "siamese-1", force=True)
            publish_champion(con, store=store, k=5, run_id="test-run")
        again = train_siamese_job(con=con, store=store, hparams=HP, k=5, run_id="test-run")
        assert again.reused and again.version == "siamese-1" and again.published["champion"] == "siamese-1"
        assert con.execute("SELECT count(*) FROM model_registry").fetchone()[0] == 1
        service = con.execute("SELECT model_version, as_of IS NOT NULL FROM feature_service WHERE name = 'siamese-1'")
        assert service.fetchone() == ("siamese-1", True)
        n_tracks = len(cat["tracks"]) + len(cat["cold_tracks"])
        assert con.execute("SELECT count(DISTINCT track_id), min(n), max(n) FROM (SELECT track_id, count(*) AS n "
                           "FROM track_neighbors GROUP BY 1)").fetchone() == (n_tracks, 5, 5)
        cold = con.execute("SELECT bool_and(cold_start), count(*), count(DISTINCT neighbor_id) FROM artist_neighbors_audio "
                           "WHERE artist_id = ?", [COLD_ARTIST]).fetchone()
        assert cold == (True, 5, 5)
        assert con.execute("SELECT bool_or(cold_start) FROM artist_neighbors_audio WHERE artist_id <> ?",
                           [COLD_ARTIST]).fetchone()[0] is False
        # the cold-start artist is also a neighbour of others: placed among the known artists by audio alone
        assert con.execute("SELECT count(*) FROM artist_neighbors_audio WHERE neighbor_id = ?",
                           [COLD_ARTIST]).fetchone()[0] > 0

    # served: the snapshot's tables read by the musim page, the online store by artist id
    snap = serving.open_snapshot()
    try:
        shape = queries.inspect(snap)
        res = queries.audio_neighbors(snap, shape, f"Artist {COLD_ARTIST}", k=5)
        assert res["available"] and res["model"] == "siamese-1" and len(res["rows"]) == 5
        tracks = queries.similar_tracks(snap, shape, track_id=cat["cold_tracks"][0], k=3)
        assert [r["rank"] for r in tracks["rows"]] == [1, 2, 3]
    finally:
        snap.close()
    vec = lookup("artist_siamese_embedding", COLD_ARTIST, version=1)
    assert vec is not None and vec.shape == (16,)

    # new audio: real files decoded, featurised with the champion's parameters, embedded
    files = _clips(tmp_path)
    assert main(["similar-audio", *map(str, files), "--k", "4", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["model_version"] == "siamese-1" and found["scoring"] == "pair_mean"
    assert len(found["artists"]) == 4 and len(found["tracks"]) == 4
    scores = [a["score"] for a in found["artists"]]
    assert scores == sorted(scores, reverse=True)
    assert main(["embed", str(tmp_path), "--out", str(tmp_path / "emb.npz")]) == 0
    capsys.readouterr()
    with np.load(tmp_path / "emb.npz") as z:
        assert z["files"].tolist() == [str(f) for f in files] and z["embeddings"].shape == (2, 16)
        q = z["embeddings"]
    # the top artist's score is the mean model output over (query clip, artist clip) pairs
    from musim.features import open_online
    from musim.models.serve import load_champion

    champ = load_champion()
    online = open_online("track_siamese_embedding", 1)
    top = found["artists"][0]
    rows = [i for i, t in enumerate(online.ids.tolist()) if t.startswith(f"t{top['artist_id']}-")]
    want = pair_scores(champ.model, q, online.matrix[rows]).mean()
    assert top["score"] == pytest.approx(float(want), rel=1e-4)
    assert main(["similar-audio", "--k", "3", str(tmp_path / "missing.wav")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_models_train_command(toy, capsys):
    with warehouse.writer() as con:
        make_catalogue(con, open_store(), toy)
    extra = {"conv_filters": [8, 16], "validation_pairs": 30, "early_stopping_patience": None}
    code = main(["models", "train", "--epochs", "1", "--train-pairs", "120", "--batch-size", "32", "--embedding-size",
                 "16", "--test-share", "0.4", "--seed", "3", "--hparams", json.dumps(extra), "--no-publish"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("siamese-1: ")
    assert "evaluation on held-out artists" in out and "precision@5 vs pixel" in out
    assert main(["models", "train", "--hparams", "{not json"]) == 2
    assert "--hparams is not JSON" in capsys.readouterr().err
