"""Publishing through the ANN index (index stored next to the model, named in embedding.json, the same rows
as brute force) and ``similar-audio``'s search through it (the exact path's tracks, artists and scores),
from a snapshot and the online store, no TensorFlow."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from musim import serving, warehouse
from musim.errors import ParameterError
from musim.models import ann
from musim.models.ann import AnnParams
from musim.models.audio_search import search_through_index, track_index
from musim.models.manifests import read_manifest
from musim.models.serve import publish_neighbors
from musim.storage import open_store
from tests.models.conftest import insert_catalogue

N_ARTISTS, PER_ARTIST, DIM = 40, 10, 8
TABLES = {"track_neighbors": "track_id, rank, neighbor_track_id, score",
          "artist_neighbors_audio": "artist_id, rank, neighbor_id, score"}


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    ann.clear_cache()
    monkeypatch.delenv(ann.SEARCH_ENV, raising=False)
    monkeypatch.delenv(ann.MIN_TRACKS_ENV, raising=False)
    yield
    ann.clear_cache()


def _rows(con, table: str) -> list[tuple]:
    return con.execute(f"SELECT {TABLES[table]} FROM {table} ORDER BY 1, 2").fetchall()


def _home(mp: pytest.MonkeyPatch, home) -> None:
    mp.setenv("MUSIM_HOME", str(home))
    for var in ("MUSIM_WAREHOUSE", "MUSIM_SERVING_DIR", "MUSIM_OBJECT_STORE", "MUSIM_LANDING", "MUSIM_TMP"):
        mp.delenv(var, raising=False)


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """400 tracks of 40 artists published twice (once per module, in its own MUSIM_HOME): autoencoder-1
    through the index (stored), then the same vectors as autoencoder-2 exactly; the rows of each, the
    home, ids, owners and embeddings."""
    home = tmp_path_factory.mktemp("audio_search")
    with pytest.MonkeyPatch.context() as mp:
        _home(mp, home)
        mp.delenv(ann.SEARCH_ENV, raising=False)
        mp.delenv(ann.MIN_TRACKS_ENV, raising=False)
        return dict(_publish(), home=home)


@pytest.fixture
def published(catalogue, monkeypatch):
    _home(monkeypatch, catalogue["home"])
    return dict(catalogue, store=open_store())


def _seed(con) -> tuple[list[str], np.ndarray, np.ndarray]:
    """40 artists x 10 tracks in the warehouse: ``(track ids, owners, embeddings)``."""
    rng = np.random.default_rng(7)
    owner = np.repeat(np.arange(N_ARTISTS) + 1, PER_ARTIST)
    emb = (rng.normal(size=(N_ARTISTS + 1, DIM))[owner] + rng.normal(scale=0.6, size=(owner.size, DIM)))
    emb = emb.astype(np.float32)
    ids = [f"x{i:03d}" for i in range(owner.size)]
    insert_catalogue(con, owner, ids)
    con.execute("INSERT INTO lastfm_dump (dump_id, seq, file_name, format, bytes, lines, loaded, rejected, "
                "plays_rows, users, artists, started_at, finished_at) VALUES ('d1', 1, 'x', '360k', 1, 1, 1, 0, 1, "
                "1, 1, now(), now())")
    return ids, owner, emb


def _publish() -> dict:
    store = open_store()
    with warehouse.writer() as con:
        ids, owner, emb = _seed(con)
        out = {"ids": ids, "owner": owner, "emb": emb}
        res = publish_neighbors(con, "autoencoder", "autoencoder-1", ids, emb, k=5, store=store, snapshot=True,
                                search="ann", ann_params=AnnParams(ef=400))
        out["ann_result"] = res
        out["ann"] = {t: _rows(con, t) for t in TABLES}
        exact = publish_neighbors(con, "autoencoder", "autoencoder-2", ids, emb, k=5, store=store, search="exact")
        out["exact_result"] = exact
        out["exact"] = {t: _rows(con, t) for t in TABLES}
        serving.publish(con)
    return out


def test_publish_through_the_index_stores_it_and_writes_the_exact_rows(published):
    res, store = published["ann_result"], published["store"]
    assert (res.search, published["exact_result"].search) == ("ann", "exact")
    assert res.ann_key.startswith("models/autoencoder/autoencoder-1/ann/voyager-m16-efc200-s1-")
    manifest = read_manifest(store, "autoencoder", "autoencoder-1")
    assert manifest["search"] == "ann" and manifest["ann"]["key"] == res.ann_key and store.exists(res.ann_key)
    assert manifest["ann"]["tracks"] == 400 and manifest["ann"]["dim"] == DIM
    assert read_manifest(store, "autoencoder", "autoencoder-2")["ann"] is None
    for table in TABLES:
        got, want = published["ann"][table], published["exact"][table]
        assert len(got) == len(want) > 0
        assert [r[:3] for r in got] == [r[:3] for r in want], table
        np.testing.assert_allclose([r[3] for r in got], [r[3] for r in want], atol=1e-6)


def _exact_answer(published, query: np.ndarray, k: int):
    emb, owner, ids = published["emb"], published["owner"], published["ids"]
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    q = query[0] / np.linalg.norm(query[0])
    t = unit @ q
    tracks = sorted(range(len(ids)), key=lambda i: (-t[i], ids[i]))[:k]
    means = np.stack([emb[owner == a].astype(np.float64).mean(0) for a in range(1, N_ARTISTS + 1)])
    a = (means / np.linalg.norm(means, axis=1, keepdims=True)) @ q
    artists = sorted(range(N_ARTISTS), key=lambda i: (-a[i], i))[:k]
    return [ids[i] for i in tracks], t[tracks], [i + 1 for i in artists], a[artists]


def test_similar_audio_searches_the_stored_index_like_brute_force(published, monkeypatch):
    store = published["store"]
    manifest = read_manifest(store, "autoencoder", "autoencoder-1")
    assert track_index(store, manifest) is None  # 400 tracks: below the threshold, exact
    monkeypatch.setenv(ann.MIN_TRACKS_ENV, "100")
    found = track_index(store, manifest)
    assert found is not None and found[1] == published["ids"]
    query = np.random.default_rng(3).normal(size=(1, DIM)).astype(np.float32)
    snap = serving.open_snapshot()
    try:
        tracks, artists = search_through_index(snap, query, 6, found, manifest)
    finally:
        snap.close()
    want_t, want_ts, want_a, want_as = _exact_answer(published, query, 6)
    assert [r[0] for r in tracks] == want_t
    np.testing.assert_allclose([r[1] for r in tracks], want_ts, atol=1e-5)
    assert [r[0] for r in artists] == want_a and [r[2] for r in artists] == [f"Artist {a}" for a in want_a]
    np.testing.assert_allclose([r[1] for r in artists], want_as, atol=1e-5)
    assert all(r[4] == f"title {r[0]}" for r in tracks)


def test_a_version_without_an_index(published, monkeypatch, caplog):
    store = published["store"]
    manifest = read_manifest(store, "autoencoder", "autoencoder-2")
    monkeypatch.setenv(ann.MIN_TRACKS_ENV, "100")
    caplog.set_level(logging.WARNING)
    assert track_index(store, manifest) is None and "no stored ANN index" in caplog.text
    built = track_index(store, manifest, search="ann")  # forced: built from the online store
    assert built is not None and sorted(built[1]) == published["ids"]
    with pytest.raises(ParameterError, match="pair head"):
        track_index(store, dict(manifest, scoring="pair_mean"), search="ann")
    assert track_index(store, dict(manifest, scoring="pair_mean")) is None
    with monkeypatch.context() as patch:  # the deployment's setting serves the other families; siamese stays exact
        patch.setenv("MUSIM_AUDIO_SEARCH", "ann")  # (every siamese similar-audio failed under it)
        assert track_index(store, dict(manifest, scoring="pair_mean")) is None
        assert track_index(store, manifest) is not None
    # the stored index broken: exact, with the object named
    first = read_manifest(store, "autoencoder", "autoencoder-1")
    good = store.get_bytes(first["ann"]["key"])
    store.put_bytes(first["ann"]["key"], b"garbage")
    try:
        assert track_index(store, first) is None and first["ann"]["key"] in caplog.text
    finally:
        store.put_bytes(first["ann"]["key"], good)


def test_republishing_the_same_vectors_reuses_the_stored_index(monkeypatch, caplog):
    store = open_store()
    with warehouse.writer() as con:
        ids, _, emb = _seed(con)
        first = publish_neighbors(con, "cnn_classifier", "cnn_classifier-1", ids, emb, k=3, store=store,
                                  search="ann", online=False)
        ann.clear_cache()
        built = []
        real = ann.AnnIndex.build
        monkeypatch.setattr(ann.AnnIndex, "build", lambda *a, **kw: built.append(1) or real(*a, **kw))
        caplog.set_level(logging.INFO, logger="musim.models.serve")
        again = publish_neighbors(con, "cnn_classifier", "cnn_classifier-1", ids, emb, k=3, store=store,
                                  search="ann", online=False, ann_params=AnnParams(ef=64))
        assert again.ann_key == first.ann_key and "reusing the stored ANN index" in caplog.text
        assert built == [1]  # the artists' index only: the tracks' came from the store
        assert read_manifest(store, "cnn_classifier", "cnn_classifier-1")["ann"]["params"]["ef"] == 64
        changed = publish_neighbors(con, "cnn_classifier", "cnn_classifier-1", ids, emb * 1.5 + 0.1, k=3,
                                    store=store, search="ann", online=False)
        assert changed.ann_key != first.ann_key and store.exists(changed.ann_key) and len(built) == 3
