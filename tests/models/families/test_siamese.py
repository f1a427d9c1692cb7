"""The siamese family on the one model path, end to end on a tiny generated catalogue: the training_split gate →
train → evaluate (champion, baselines) → register → promote → the champion's neighbour tables scored by the
model's head (cold start included) → snapshot, online store, UI queries, and `similar-audio` / `embed` on real
audio files; and `musim models train`."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from musim import serving, warehouse
from musim.cli import main
from musim.errors import ParameterError, QualityError
from musim.features import lookup
from musim.models.evaluate import choose_primary_metric
from musim.storage import open_store
from musim.synth.files import write_clip
from musim.synth.sound import synthesize_clip
from tests.models.catalogue import COLD_ARTIST, make_catalogue
from tests.models.conftest import TINY

HP = dict(TINY, epochs=3, learning_rate=3e-3, seed=3)


def test_primary_metric_follows_the_test_artists():
    assert [choose_primary_metric(n) for n in (30, 12, 11, 7, 6, 5)] == [
        "ndcg@10", "ndcg@10", "ndcg@5", "ndcg@5", "ndcg@3", "ndcg@3"]
    with pytest.raises(ParameterError):
        choose_primary_metric(4)


def test_too_few_test_artists_stop_the_run_before_training(toy):
    from musim.models.families import load_inputs, run_family

    with warehouse.writer() as con:
        make_catalogue(con, open_store(), toy)
        inputs = load_inputs(con, needs=("log_mel",), test_share=0.15)   # 24 usable artists: 4 test artists
        assert inputs.split.test.size == 4
        with pytest.raises(QualityError, match="training-set quality gate failed"):
            run_family("siamese", con=con, inputs=inputs, params=HP)
        assert con.execute("SELECT count(*) FROM model_registry").fetchone()[0] == 0


def _clips(folder, n=2, community=0):
    paths = []
    for k in range(n):
        y = synthesize_clip(community=community, artist_seed=4242, track_no=k, sr=22050, duration=8.0)
        paths.append(write_clip(folder / f"new-{k}.wav", y, sr=22050))
    return paths


def test_siamese_end_to_end_then_serving_and_cold_start(toy, tmp_path, capsys):
    from musim import queries
    from musim.models import promotion
    from musim.models.families import load_inputs, publish_version, run_family
    from musim.models.siamese import pair_scores

    store = open_store()
    with warehouse.writer() as con:
        cat = make_catalogue(con, store, toy)
        inputs = load_inputs(con, store=store, needs=("log_mel", "descriptors"), test_share=0.4, seed=3)
        assert len(inputs.track_ids) == len(cat["tracks"]) + len(cat["cold_tracks"])
        out = run_family("siamese", con=con, inputs=inputs, params=HP, n_boot=200, k=5, run_id="test-run",
                         snapshot=True)
        entry = out.entry
        assert entry.version == "siamese-1" and entry.primary_metric == "ndcg@5" and not out.reused
        assert set(entry.metrics) == {"model", "descriptors", "pixel", "popularity", "random"}
        assert out.report.test_artists.size == 10
        if out.decision.status != "champion":  # the first model must beat random beyond the CI; make one serve
            promotion.promote(con, "siamese-1", force=True)
            publish_version(con, "siamese-1", store=store, k=5)
        again = run_family("siamese", con=con, inputs=inputs, params=HP, k=5, run_id="test-run")
        assert again.reused and again.entry.version == "siamese-1"
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
    # the CLI: the cold-start artist has no co-listening neighbours (an empty table, unexplained, before), by sound
    # it has: the same rows as the page's
    assert main(["similar", f"Artist {COLD_ARTIST}"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and re.fullmatch(rf"Artist {COLD_ARTIST} has no listeners in dump \w{{12}}: it has no co-listening "
                                      rf"neighbours there; by sound: musim similar 'Artist {COLD_ARTIST}' --audio\n", err)
    assert main(["similar", f"artist {COLD_ARTIST}", "--audio", "--k", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == res["rows"]
    assert main(["similar", f"Artist {COLD_ARTIST}0", "--audio"]) == 2  # misspelt: suggested among every artist
    assert f"in the catalogue; did you mean: 'Artist {COLD_ARTIST}'" in capsys.readouterr().err
    # and SQL users: the snapshot's named views of the audio neighbours, as similar_artists is for co-listening
    snap = serving.open_snapshot()
    try:
        named = snap.execute("SELECT neighbor, score, cold_start FROM similar_artists_audio WHERE artist = ? "
                             "AND model_version = 'siamese-1' ORDER BY rank", [f"Artist {COLD_ARTIST}"]).fetchall()
        near = snap.execute("SELECT neighbor_track_id FROM similar_tracks WHERE track_id = ? ORDER BY rank LIMIT 3",
                            [cat["cold_tracks"][0]]).fetchall()
    finally:
        snap.close()
    assert [(n, round(s, 9)) for n, s, _ in named] == [(r["artist"], round(r["score"], 9)) for r in res["rows"]]
    assert all(cold_start for _, _, cold_start in named)  # the subject has no listening data
    assert [t for (t,) in near] == [r["track_id"] for r in tracks["rows"]]

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
    from musim.models.new_audio import load_champion

    champ = load_champion()
    online = open_online("track_siamese_embedding", 1)
    top = found["artists"][0]
    rows = [i for i, t in enumerate(online.ids.tolist()) if t.startswith(f"t{top['artist_id']}-")]
    want = pair_scores(champ.model, q, online.matrix[rows]).mean()
    assert top["score"] == pytest.approx(float(want), rel=1e-4)


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
    assert main(["models", "train", "--family", "autoencoder", "--sampling", "natural"]) == 2
    assert "siamese options" in capsys.readouterr().err


def test_an_unknown_hyperparameter_names_init_encoder_among_those_it_takes():
    """The error listed every hyperparameter but `init_encoder`, which the README documents and the family takes."""
    from musim.models.families.siamese import parse_params

    with pytest.raises(ParameterError, match=r"^unknown hyperparameter\(s\) nope; known: .*\binit_encoder\b"):
        parse_params({"nope": 1})
    assert parse_params({"init_encoder": "contrastive", "init_encoder_path": "/m.keras", "epochs": 2}).epochs == 2


@pytest.mark.parametrize("start", [5, "autoencoder", "autoencoder-1", "siamese", "contrastive-0", "contrastive 3"])
def test_an_init_encoder_that_names_no_contrastive_encoder_is_refused_before_anything_loads(start, capsys):
    """`--hparams '{"init_encoder": 5}'` (or another family's model, a typo) passed the parameter check and failed in
    training, after the inputs were loaded (in the DAGs, in the train task after prepare had written its manifest)."""
    code = main(["models", "train", "--family", "siamese", "--hparams", json.dumps({"init_encoder": start})])
    err = capsys.readouterr().err
    assert code == 2 and err == (f"musim: error: hyperparameter init_encoder: {start!r} is no contrastive encoder; give "
                                 '"contrastive" (its champion), a contrastive version such as "contrastive-3" (`musim '
                                 "models list --family contrastive`), or null for random weights\n")


def test_models_train_names_the_failed_expectations_of_the_training_set_gate(toy, capsys):
    """`musim models train`'s failed training-set gate said only `the training-set quality gate failed (run q…)`:
    its first line now names the dataset and each failed expectation with its counts, as `similarity build`'s and the
    features gate's do (QualityRun.failed_line), and the report follows."""
    from musim.models.families import load_manifest
    from musim.models.families.inputs import split_payload
    from musim.quality.runner import check_on

    with warehouse.writer() as con:
        make_catalogue(con, open_store(), toy)
        run = check_on(con, ["training_split"], payload={"training_split": split_payload(
            load_manifest(con, needs=("log_mel",), test_share=0.15))})  # 4 test artists: too few
    assert not run.success
    assert main(["models", "train", "--family", "siamese", "--test-share", "0.15", "--epochs", "1"]) == 2
    out, err = capsys.readouterr()
    first = err.splitlines()[0]
    assert out == "" and first.startswith("musim: error: the training-set quality gate failed for training_split ("), err
    assert run.failed_line() in first and "expectations failed: " in first, (first, run.failed_line())
    assert "; nothing was trained" in first and "quality run q" in err
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM model_registry").fetchone()[0] == 0
