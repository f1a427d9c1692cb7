"""The CNN classifier family: shapes, save/load, splits without leaks, reports, track embeddings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from musim.errors import ParameterError
from musim.models.data import split_artists
from musim.models.toy import planted_data

SHAPE = (32, 16)
TINY = dict(conv_filters=(4, 8), embedding_units=16, dropout=0.0, batch_size=16, learning_rate=3e-3)


@pytest.fixture(scope="module")
def data():
    """Planted artists in 3 communities (= genres), 4 tracks each, 2 slices per track."""
    toy = planted_data(communities=3, artists_per_community=5, clips_per_artist=4, shape=SHAPE, seed=4)
    n = toy.x.shape[0]
    rng = np.random.default_rng(0)
    second = np.clip(toy.x.astype(np.float32) + rng.normal(0, 2, toy.x.shape), -80, 0).astype(np.float16)
    slices = np.concatenate([toy.x, second])
    slice_track = np.concatenate([np.arange(n), np.arange(n)])
    genres = [f"genre-{toy.community[int(a)]}" for a in toy.track_artist]
    split = split_artists(np.unique(toy.track_artist), validation=0.2, test=0.2, seed=0)
    return toy, slices, slice_track, [f"t{i}" for i in range(n)], genres, split


def test_shapes_and_embedding_layer():
    from musim.models.classifier import ClassifierConfig, build_classifier, embedding_model

    model = build_classifier(ClassifierConfig(input_shape=SHAPE, conv_filters=(4, 8)), 5)
    assert model.output_shape == (None, 5)
    assert embedding_model(model).output_shape == (None, 128)  # the origin's 128-d layer by default
    full = build_classifier(ClassifierConfig(), 9)             # 256 x 256 slices, 9 genres as in the origin
    assert full.input_shape == (None, 256, 256) and embedding_model(full).output_shape == (None, 128)
    for pooling in ("global_avg", "flatten"):
        m = build_classifier(ClassifierConfig(input_shape=SHAPE, conv_filters=(4,), pooling=pooling), 2)
        assert m.output_shape == (None, 2)
    with pytest.raises(ParameterError):
        ClassifierConfig(input_shape=(8, 8), conv_filters=(4, 4, 4, 4))
    with pytest.raises(ParameterError):
        build_classifier(ClassifierConfig(input_shape=SHAPE), 1)


@pytest.mark.parametrize(("filters", "said"), [
    ([], "classifier parameter conv_filters: tuple should have at least 1 item after validation, not 0 ([] given)"),
    ([16, 0], "classifier parameter conv_filters.1: input should be greater than or equal to 1 (0 given)"),
    ([-4], "classifier parameter conv_filters.0: input should be greater than or equal to 1 (-4 given)"),
])
def test_conv_filters_with_no_block_or_a_block_of_no_filter_is_refused_when_parsed(filters, said):
    """`{"conv_filters": []}` was taken by the record and refused only by the network's config, after the data was
    loaded, in a line naming no parameter."""
    from musim.models.classifier import ClassifierParams

    with pytest.raises(ParameterError) as refused:
        ClassifierParams.from_json({"conv_filters": filters})
    assert str(refused.value) == said
    assert ClassifierParams.from_json({"conv_filters": [4]}).conv_filters == (4,)


def test_save_load_round_trip(tmp_path):
    from musim.models.classifier import ClassifierConfig, build_classifier, embedding_model
    from musim.models.siamese import load_model, save_model

    model = build_classifier(ClassifierConfig(input_shape=SHAPE, conv_filters=(4, 8), embedding_units=8), 3)
    x = np.random.default_rng(0).uniform(-80, 0, (5, *SHAPE)).astype(np.float32)
    save_model(model, tmp_path / "m.keras")
    again = load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    np.testing.assert_allclose(embedding_model(again)(x), embedding_model(model)(x), atol=1e-6)


def test_split_tracks_keeps_test_artists_out(data):
    from musim.models.class_split import split_tracks

    toy, _, _, ids, _, split = data
    ta = toy.track_artist
    s = split_tracks(ids, ta, split, heldout_share=0.25, seed=1)
    test = set(split.test.tolist())
    assert set(ta[s.heldout_artist].tolist()) == test
    assert not test & set(ta[s.train].tolist()) and not test & set(ta[s.validation].tolist())
    assert set(ta[s.heldout_track].tolist()) <= set(split.train.tolist())     # other tracks of known artists
    assert set(ta[s.train].tolist()) == set(split.train.tolist())              # every artist keeps a track
    parts = np.concatenate([s.train, s.validation, s.heldout_track, s.heldout_artist])
    assert np.unique(parts).size == parts.size == len(ids)
    by_artist = split_tracks(ids, ta, split, heldout_share=0.25, label="artist", seed=1)
    assert set(ta[by_artist.validation].tolist()) <= set(split.train.tolist())  # unseen artists have no class


def test_class_labels_drop_rare_and_missing():
    from musim.models.classifier import class_labels

    classes, idx = class_labels(["rock", "rock", None, "jazz", "", "rock", "jazz", "polka"], np.arange(8))
    assert classes == ["jazz", "rock"]
    assert idx.tolist() == [1, 1, -1, 0, -1, 1, 0, -1]


def test_report_of_a_hand_made_case():
    from musim.models.class_split import ClassReport

    rep = ClassReport("held out", ["a", "b", "c"], np.array([[3, 1, 0], [0, 2, 2], [0, 0, 0]]), 0.6, 16)
    assert rep.tracks == 8 and rep.accuracy == pytest.approx(5 / 8)
    assert rep.per_class["a"] == 0.75 and rep.per_class["b"] == 0.5 and math.isnan(rep.per_class["c"])
    doc = rep.to_json()
    assert doc["per_class"]["c"] == {"accuracy": None, "tracks": 0} and doc["chance"] == pytest.approx(1 / 3)
    assert "| a | 75% | 4 |" in rep.markdown()


def test_train_reports_and_track_embeddings(data, tmp_path):
    from musim.models.classifier import (
        ClassifierParams,
        embedding_model,
        track_embeddings,
        train_classifier,
    )

    toy, slices, st, ids, genres, split = data
    result = train_classifier(slices, st, ids, toy.track_artist, genres, split,
                              ClassifierParams(**TINY, epochs=3, heldout_share=0.25, seed=2))
    assert result.classes == ["genre-0", "genre-1", "genre-2"]
    assert set(result.reports) == {"by_track", "by_artist"}
    for rep in result.reports.values():
        assert rep.confusion.shape == (3, 3) and rep.tracks > 0 and 0 <= rep.accuracy <= 1
    assert result.reports["by_artist"].tracks == int(np.isin(toy.track_artist, split.test).sum())
    assert "val_loss" in result.history and result.summary()["classification"]["by_track"]["tracks"] > 0
    emb = track_embeddings(result.model, slices, st, len(ids))
    assert emb.shape == (len(ids), 16)
    one = np.asarray(embedding_model(result.model)(slices[st == 7].astype(np.float32)))
    np.testing.assert_allclose(emb[7], one.mean(axis=0), rtol=1e-4, atol=1e-5)
    png = result.reports["by_artist"].plot(tmp_path / "confusion.png")
    assert png.stat().st_size > 2000

    by_artist = train_classifier(slices, st, ids, toy.track_artist, genres, split,
                                 ClassifierParams(**TINY, epochs=1, label="artist", heldout_share=0.25))
    assert set(by_artist.reports) == {"by_track"} and len(by_artist.classes) == split.train.size
