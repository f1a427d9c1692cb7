"""The contrastive family on the one model path: trained on the catalogue's audio alone, registered, evaluated
like every family, served (`similar-audio --family contrastive`); the siamese family started from its encoder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musim import warehouse
from musim.cli import main
from musim.models import promotion
from musim.storage import open_store
from tests.models.catalogue import make_catalogue
from tests.models.conftest import TINY

CONTRASTIVE = {"crop_frames": 64, "conv_filters": [8, 16], "dense_units": 16, "projection_units": 16,
               "epochs": 2, "batch_size": 16, "embed_crops": 3}


@pytest.mark.slow
def test_contrastive_trains_registers_serves_and_starts_the_siamese_network(toy, tmp_path, capsys):
    from musim.models.families import load_inputs, run_family
    from musim.synth.files import write_clip
    from musim.synth.sound import synthesize_clip

    store = open_store()
    with warehouse.writer() as con:
        make_catalogue(con, store, toy)
        inputs = load_inputs(con, store=store, needs=("log_mel", "descriptors"), test_share=0.4, seed=3)
        out = run_family("contrastive", con=con, inputs=inputs, params=CONTRASTIVE, n_boot=100, k=5, snapshot=True)
        assert out.entry.version == "contrastive-1" and out.entry.feature_service == "contrastive_log_mel"
        assert {"model", "random", "pixel", "descriptors", "popularity"} <= set(out.entry.metrics)
        assert out.entry.training["epochs_run"] == 2
        card = store.get_bytes(out.entry.key("card.md")).decode()
        assert "## Self-supervised training" in card and "## Promotion" in card
        if out.decision.status != "champion":
            promotion.promote(con, "contrastive-1", force=True)
        from musim.models.families import publish_version

        publish_version(con, "contrastive-1", store=store, k=5)

        tiny = dict(TINY, epochs=1, seed=3, conv_filters=[8, 16])
        scratch = run_family("siamese", con=con, params=tiny, inputs=load_inputs(
            con, store=store, needs=("log_mel", "descriptors"), test_share=0.4, seed=3), n_boot=100, publish=False)
        card = store.get_bytes(scratch.entry.key("card.md")).decode()
        assert "## Starts compared" in card and "Not measured in this evaluation" in card  # no other start yet
        if scratch.decision.status != "champion":
            promotion.promote(con, scratch.entry.version, force=True)
        siamese = run_family("siamese", con=con, params=dict(tiny, init_encoder="contrastive"),
                             inputs=load_inputs(con, store=store, needs=("log_mel", "descriptors"), test_share=0.4,
                                                seed=3), n_boot=100, publish=False)
        assert siamese.entry.params["init_encoder"] == "contrastive-1"
        card = store.get_bytes(siamese.entry.key("card.md")).decode()
        assert "started from contrastive-1" in card
        # the scratch champion was scored in the same evaluation: both starts side by side
        assert f"| contrastive-1 | {scratch.entry.version}, from random weights |" in card

    y = synthesize_clip(community=0, artist_seed=77, track_no=0, sr=22050, duration=8.0)
    clip = write_clip(tmp_path / "new.wav", y, sr=22050)
    assert main(["similar-audio", str(clip), "--family", "contrastive", "--k", "3", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["model_version"] == "contrastive-1" and len(found["artists"]) == 3


@pytest.mark.slow
def test_without_listening_data_families_are_evaluated_by_artist_identity(toy):
    """A music library without a Last.FM dump: no similarity build, so no co-listening targets. The families that
    need none train; every family is evaluated on whether a track's nearest tracks are its artist's."""
    from musim.errors import ParameterError
    from musim.models.families import load_inputs, run_family

    store = open_store()
    with warehouse.writer() as con:
        make_catalogue(con, store, toy)
        con.execute("DELETE FROM similarity_build")
        inputs = load_inputs(con, store=store, needs=("log_mel", "descriptors"))
        assert inputs.targets is None and inputs.split is None and len(inputs) == 75
        out = run_family("contrastive", con=con, inputs=inputs, params=CONTRASTIVE, n_boot=100, k=5)
        entry = out.entry
        assert entry.primary_metric == "auc" and entry.dump_id is None
        assert {"model", "random", "pixel", "descriptors"} <= set(entry.metrics)
        assert set(entry.metrics["model"]) == {"auc", "ap", "p1"}
        assert entry.metrics["random"]["auc"]["mean"] == pytest.approx(0.5, abs=0.1)
        assert out.decision.against == "random" and out.decision.n_queries == 75
        desc = run_family("descriptors", con=con, inputs=inputs, n_boot=100)
        assert desc.entry.primary_metric == "auc" and desc.entry.test_set_id == entry.test_set_id
        with pytest.raises(ParameterError, match="learns from listening data"):
            run_family("siamese", con=con, inputs=inputs, params=TINY)


def test_train_without_listening_data_shows_the_identity_evaluation_and_how_to_serve_a_challenger(toy, capsys):
    """The table had precision@3 and precision@5 columns, empty for such a run, under "held-out artists"; a
    challenger was not published and nothing said how to serve it, while `similar-audio` then said to run a
    similarity build, which a library without a dump cannot."""
    from musim.cli import main
    from musim.errors import NotFoundError
    from musim.models.new_audio import load_champion

    with warehouse.writer() as con:
        make_catalogue(con, open_store(), toy)
        con.execute("DELETE FROM similarity_build")
    with pytest.raises(NotFoundError, match=r"no model has been published under .* yet: publish a registered "
                                            r"version \(`musim models publish VERSION`; `musim models list`"):
        load_champion()
    assert main(["models", "train", "--family", "descriptors"]) == 0
    out = capsys.readouterr().out
    status = out.split(":", 2)[1].split()[0]
    assert "evaluation by artist identity, every track a query (mean [95% CI])" in out
    assert "scorer       auc                  ap                   p1" in out and "precision@3" not in out
    served = ("descriptors-1: neighbours of 25 artists (25 cold start: no co-listened pair in the latest dump) and 75 "
              "tracks published") in out
    hint = "not published (only a champion is); to serve it all the same: musim models publish descriptors-1" in out
    assert (served, hint) == ((True, False) if status == "champion" else (False, True)), out


def test_a_library_without_listening_data_gets_audio_neighbours_from_the_web_app_and_the_cli(toy, capsys):
    """With no similarity build (a music library without a Last.FM dump), the page's audio section said
    "Co-listening similarity: not built yet ... Run the lastfm_ingest DAG" for any artist, and autocomplete
    offered nothing: artists were looked up only among a dump's listened artists."""
    from fastapi.testclient import TestClient

    from musim.ui.app import create_app

    with warehouse.writer() as con:
        make_catalogue(con, open_store(), toy)
        con.execute("DELETE FROM similarity_build")
        name = con.execute("SELECT name FROM artist WHERE NOT is_placeholder ORDER BY artist_id LIMIT 1").fetchone()[0]
    assert main(["models", "train", "--family", "descriptors", "--no-publish"]) == 0
    assert main(["models", "publish", "descriptors-1"]) == 0
    capsys.readouterr()
    client = TestClient(create_app())
    found = client.get("/api/similar", params={"artist": name.lower(), "source": "audio", "k": 3}).json()
    assert found["available"] and found["artist"] == name and found["model"] == "descriptors-1"
    assert len(found["rows"]) == 3 and name not in [r["artist"] for r in found["rows"]]
    missing = client.get("/api/similar", params={"artist": name + "zz", "source": "audio"})
    assert missing.status_code == 404 and f"no artist named '{name}zz' in the catalogue; did you mean: " \
                                          f"'{name}'" in missing.json()["detail"]
    assert name in client.get("/api/suggest", params={"q": name[:4]}).json()["names"]
    page = client.get("/", params={"artist": name}).text
    assert "By sound" in page and found["rows"][0]["artist"] in page

    # the CLI reads the same answers (there was no command for a catalogue artist's or track's audio neighbours)
    assert main(["similar", name.upper(), "--audio", "--k", "3"]) == 0
    out = capsys.readouterr().out
    assert f"artists that sound most like {name} (descriptors-1)" in out
    assert [line.split()[1] for line in out.splitlines()[3:6]] == [r["artist"].split()[0] for r in found["rows"]]
    assert main(["similar", name]) == 2
    assert "neighbours by sound need none: `musim similar NAME --audio`" in capsys.readouterr().err
    with warehouse.writer() as con:
        track_id, title = con.execute("SELECT track_id, title FROM track ORDER BY track_id LIMIT 1").fetchone()
    assert main(["similar-tracks", "--id", track_id, "--k", "4", "--json"]) == 0
    by_id = json.loads(capsys.readouterr().out)
    assert by_id["track"]["track_id"] == track_id and len(by_id["rows"]) == 4
    assert track_id not in [r["track_id"] for r in by_id["rows"]]
    expected = client.get("/api/tracks/similar", params={"track_id": track_id, "k": 4}).json()["rows"]
    assert by_id["rows"] == expected
    assert main(["similar-tracks", title, "--k", "2"]) == 0
    assert f"tracks that sound most like {title}" in capsys.readouterr().out
    assert main(["similar-tracks"]) == 2 and "or --id TRACK_ID" in capsys.readouterr().err


def test_an_artist_added_after_the_version_was_published_is_told_why_it_has_no_audio_neighbours(toy, tmp_path,
                                                                                                capsys):
    """`musim similar NAME --audio` printed an empty table, unexplained."""
    from musim.library import add
    from tests.library.conftest import write_audio

    with warehouse.writer() as con:
        make_catalogue(con, open_store(), toy)
        con.execute("DELETE FROM similarity_build")
    assert main(["models", "train", "--family", "descriptors", "--no-publish"]) == 0
    assert main(["models", "publish", "descriptors-1"]) == 0
    write_audio(tmp_path / "music" / "Late Composer" / "a.ogg", "ogg", seconds=8)
    summary = add([tmp_path / "music"])
    assert summary.tracks_by_artist == {"Late Composer": 1}, summary
    assert main(["publish"]) == 0
    capsys.readouterr()
    assert main(["similar", "Late Composer", "--audio"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("Late Composer has no audio neighbours in descriptors-1: it had no tracks with audio "
                          "features when descriptors-1 was published; after `musim features build`, publish it again")


def test_a_version_is_embedded_later_with_its_own_crops_as_it_was_published(toy, tmp_path):
    """Issue 18: a version trained with ``embed_crops`` 3 was published from 3-crop embeddings, while every later
    embedding of it (``embed_tracks``: neighbour tables, republishing; ``embed_features``: ``similar-audio``,
    ``embed``) pooled 5 crops, so new audio was compared with the catalogue in other vectors."""
    import dataclasses

    from musim.models import registry
    from musim.models.families import current_champions, embed_features, embed_tracks, load_inputs
    from musim.models.families.evaluation import champion_models, evaluate_by_artist, train_evaluate
    from musim.models.families.record import record_run
    from musim.models.new_audio import Champion, encode_featurised
    from musim.models.siamese import load_model

    store = open_store()
    with warehouse.writer() as con:
        make_catalogue(con, store, toy)
        con.execute("DELETE FROM similarity_build")  # no listening data: evaluated by artist identity (quick)
        inputs = load_inputs(con, store=store, needs=("log_mel",))
        run = train_evaluate("contrastive", inputs, dict(CONTRASTIVE, epochs=1, steps_per_epoch=1), store=store,
                             n_boot=20)
        out = record_run(con, run, store=store, promote=False, publish=True)  # publishes the training-time vectors
        assert out.published and out.entry.params["embed_crops"] == 3
        ids, vectors = embed_tracks(con, out.entry.version, store=store)
        entry = registry.get_model(con, out.entry.version)
        promotion.promote(con, entry.version, force=True)
        champions = current_champions(con)
    published = dict(zip(run.track_ids, run.embeddings, strict=True))
    assert ids == list(inputs.track_ids)
    np.testing.assert_allclose(vectors, np.stack([published[t] for t in ids]), rtol=1e-5, atol=1e-6)
    model = load_model(registry.fetch_model_file(store, entry))
    new = embed_features("contrastive", model, mel=inputs.mel, params=entry.params)  # new audio: the same vectors
    np.testing.assert_allclose(new, run.embeddings, rtol=1e-5, atol=1e-6)
    served = encode_featurised(Champion(entry, model, "log_mel", None, None), list(inputs.mel))  # similar-audio, embed
    np.testing.assert_allclose(served, run.embeddings, rtol=1e-5, atol=1e-6)
    # re-scored as the champion beside a challenger: its own crops too (the same vectors, the same per-query values)
    others = champion_models(dataclasses.replace(inputs, champions=champions), store, ["contrastive"],
                             tmp_path / "champions")
    report = evaluate_by_artist("contrastive", model, inputs, vectors=run.embeddings, others=others, n_boot=20)
    np.testing.assert_allclose(report.per_query[entry.version]["auc"], report.per_query["model"]["auc"])
    one, five = (embed_features("contrastive", model, mel=inputs.mel[:4], params={**entry.params, "embed_crops": c})
                 for c in (1, 5))
    assert not np.allclose(one, five, atol=1e-3)  # the parameter decides the vectors
    np.testing.assert_allclose(embed_features("contrastive", model, mel=inputs.mel[:4]),  # no parameters: defaults
                               five, rtol=1e-5, atol=1e-6)
