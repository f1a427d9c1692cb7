"""The ANN index (musim.models.ann): search against brute force, when it is used, and its life in the object
store (local folder and a real S3 server on 127.0.0.1): round trip, cache, missing or corrupt objects."""

from __future__ import annotations

import json
import logging
import uuid

import numpy as np
import pytest

from musim.config import get_settings
from musim.errors import ConfigError, ParameterError
from musim.models import ann
from musim.models.ann import AnnIndex, AnnParams, fingerprint, load_index, save_index, search_mode
from musim.storage import open_store


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch):
    ann.clear_cache()
    monkeypatch.delenv(ann.SEARCH_ENV, raising=False)
    monkeypatch.delenv(ann.MIN_TRACKS_ENV, raising=False)
    yield
    ann.clear_cache()


def _vectors(n: int = 800, d: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def _exact(x: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    v = q / np.linalg.norm(q, axis=1, keepdims=True)
    s = v @ u.T
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(s, order, axis=1)


def test_search_finds_the_exact_neighbours_with_a_deep_search():
    x = _vectors()
    index = AnnIndex.build(x, params=AnnParams(ef=400))
    q = _vectors(50, seed=1)
    pos, sim = index.search(q, 10)
    want, want_sim = _exact(x, q, 10)
    assert pos.shape == (50, 10) and pos.dtype == np.int64
    np.testing.assert_array_equal(pos, want)
    np.testing.assert_allclose(sim, want_sim, atol=1e-5)
    assert index.search(q, 5000)[0].shape == (50, 800)  # k capped at n
    with pytest.raises(ParameterError, match="dimensions"):
        index.search(np.ones((1, 3), dtype=np.float32), 2)


def test_search_mode_threshold_and_overrides(monkeypatch):
    assert get_settings().models.ann_min_tracks == 20_000
    assert search_mode(19_999) == "exact" and search_mode(20_000) == "ann"
    monkeypatch.setenv(ann.MIN_TRACKS_ENV, "100")
    assert search_mode(99) == "exact" and search_mode(100) == "ann"
    assert search_mode(10**6, "exact") == "exact" and search_mode(5, "ann") == "ann"
    monkeypatch.setenv(ann.SEARCH_ENV, "exact")
    assert search_mode(10**6) == "exact" and search_mode(10**6, "auto") == "ann"
    monkeypatch.setenv(ann.SEARCH_ENV, "fast")
    with pytest.raises(ConfigError, match="MUSIM_AUDIO_SEARCH"):
        search_mode(10)
    monkeypatch.setenv(ann.MIN_TRACKS_ENV, "many")
    with pytest.raises(ConfigError, match="MUSIM_ANN_MIN_TRACKS"):
        search_mode(10, "auto")


def _round_trip(store, family: str = "cnn_classifier", version: str = "cnn_classifier-3"):
    x = _vectors(600, 8, seed=4)
    ids = [f"t{i:04d}" for i in range(x.shape[0])]
    index = AnnIndex.build(x, params=AnnParams(ef=300))
    entry = save_index(store, family, version, index, ids, x)
    assert entry["key"] == (f"models/{family}/{version}/ann/voyager-m16-efc200-s1-"
                            f"{fingerprint(ids, x)[:16]}.voy")
    assert entry["ids_key"].endswith(".ids.json") and (entry["tracks"], entry["dim"]) == (600, 8)
    assert json.loads(store.get_bytes(entry["ids_key"])) == ids
    loaded = load_index(store, entry)
    assert loaded is not None
    again, got_ids = loaded
    assert got_ids == ids and again.params == AnnParams(ef=300).for_dim(8) == index.params
    q = _vectors(20, 8, seed=5)
    np.testing.assert_array_equal(again.search(q, 10)[0], index.search(q, 10)[0])
    assert load_index(store, entry) is loaded  # cached
    return entry, x, ids


def test_index_round_trips_through_the_local_store():
    _round_trip(open_store())


@pytest.mark.server
def test_index_round_trips_through_s3(monkeypatch):
    from tests.s3_server import s3_server
    from tests.storage.conftest import s3_environment

    with s3_server() as server:
        s3_environment(monkeypatch, server)
        bucket = f"musim-ann-{uuid.uuid4().hex[:8]}"
        server.client().create_bucket(Bucket=bucket)
        _round_trip(open_store(f"s3://{bucket}/root"))


def test_a_missing_or_corrupt_index_falls_back_with_a_warning(caplog):
    store = open_store()
    entry, x, ids = _round_trip(store)
    ann.clear_cache()
    caplog.set_level(logging.WARNING, logger="musim.models.ann")
    good = store.get_bytes(entry["key"])
    middle = len(good) // 2  # flipped bytes (the file's tail may be zeros already): the sha256 check catches them
    store.put_bytes(entry["key"], good[:middle] + bytes(b ^ 0xFF for b in good[middle:middle + 100]) + good[middle + 100:])
    assert load_index(store, entry) is None
    assert entry["key"] in caplog.text and "searching exactly" in caplog.text
    store.put_bytes(entry["key"], b"not an index")
    assert load_index(store, dict(entry, sha256=None)) is None  # voyager itself refuses it
    store.put_bytes(entry["key"], good)
    assert load_index(store, dict(entry, tracks=599)) is None  # does not match its entry
    store.delete(entry["key"])
    caplog.clear()
    assert load_index(store, entry) is None and "unusable" in caplog.text
    assert load_index(store, None) is None


def test_cached_index_is_built_once():
    x = _vectors(100, 4)
    first = ann.cached_index("v:1", x, [str(i) for i in range(100)])
    assert ann.cached_index("v:1", x * 2, ["x"]) is first
    assert first[1][:2] == ["0", "1"] and first[0].n == 100


def test_bad_inputs_are_refused():
    with pytest.raises(ParameterError):
        AnnParams(m=1)
    with pytest.raises(ParameterError):
        AnnIndex.build(np.full((3, 2), np.nan, dtype=np.float32))
    index = AnnIndex.build(_vectors(10, 4))
    with pytest.raises(ParameterError, match="track ids"):
        save_index(open_store(), "autoencoder", "autoencoder-1", index, ["a"], _vectors(10, 4))


def _recall(index: AnnIndex, x: np.ndarray, rows: np.ndarray, ef: int) -> float:
    want, _ = _exact(x, x[rows], 10)
    got, _ = index.search(x[rows], 10, ef=ef)
    return float(np.mean([len(set(g) & set(w)) / 10 for g, w in zip(got, want, strict=True)]))


def test_the_search_depth_is_calibrated_to_the_recall_target():
    """Vectors hard for HNSW (128-d noise, a sparse graph): the depth moves with the target, and a calibrated depth keeps its
    recall on queries the calibration did not see."""
    x = _vectors(6000, 128, seed=2)
    held_out = np.random.default_rng(9).choice(6000, size=300, replace=False)
    easy = AnnIndex.build(x, params=AnnParams(m=16, recall_target=0.3), threads=1)
    assert easy.params.ef == ann.EF_LADDER[0]  # the lowest depth >= k
    strict = AnnIndex.build(x, params=AnnParams(m=16, recall_target=0.99), threads=1)
    assert strict.params.ef in ann.EF_LADDER and strict.params.ef > ann.EF_LADDER[0]
    assert _recall(strict, x, held_out, strict.params.ef) >= 0.98
    assert _recall(strict, x, held_out, ann.EF_LADDER[0]) < 0.99  # the lowest depth misses the target
    default = AnnIndex.build(x, params=AnnParams(m=16), threads=1)
    assert easy.params.ef <= default.params.ef <= strict.params.ef


def test_a_given_search_depth_is_kept_and_a_calibrated_one_is_stored_with_the_index():
    x = _vectors(500, 16, seed=3)
    assert AnnIndex.build(x, params=AnnParams(ef=40)).params.ef == 40
    store = open_store()
    index = AnnIndex.build(x)
    ids = [f"t{i}" for i in range(500)]
    entry = save_index(store, "autoencoder", "autoencoder-2", index, ids, x)
    assert entry["params"]["ef"] == index.params.ef and entry["params"]["recall_target"] == 0.95
    ann.clear_cache()
    loaded, _ = load_index(store, entry)
    assert loaded.params == index.params
    with pytest.raises(ParameterError, match="recall target"):
        AnnParams(recall_target=1.5)
    with pytest.raises(ParameterError, match="calibrated"):
        AnnIndex.load("unused.voy", AnnParams())


def test_an_unreachable_recall_target_searches_at_the_deepest_depth_with_a_warning(monkeypatch, caplog):
    monkeypatch.setattr(ann, "EF_LADDER", (10, 12))
    caplog.set_level(logging.WARNING, logger="musim.models.ann")
    index = AnnIndex.build(_vectors(4000, 64, seed=2), params=AnnParams(recall_target=1.0), threads=1)
    assert index.params.ef == 12
    assert "under the target 1.000" in caplog.text and "4000 vectors" in caplog.text


def test_the_graph_links_more_neighbours_in_high_dimensions():
    assert AnnIndex.build(_vectors(300, 64)).params.m == 16
    wide = AnnIndex.build(_vectors(300, 128))
    assert wide.params.m == 32 and "voyager-m32-" in ann.index_key("cnn_classifier", "cnn_classifier-1", AnnParams(),
                                                                   ["t"] * 300, _vectors(300, 128))
    assert AnnIndex.build(_vectors(300, 128), params=AnnParams(m=12)).params.m == 12  # a given m is kept
    with pytest.raises(ParameterError, match="for_dim"):
        _ = AnnParams().tag


def test_the_recall_target_comes_from_the_settings(monkeypatch):
    """MUSIM_ANN_RECALL sets the target of indexes built without parameters (publishing); given ones keep theirs."""
    monkeypatch.setenv("MUSIM_ANN_RECALL", "0.5")
    assert AnnParams.configured() == AnnParams(recall_target=0.5)
    assert AnnIndex.build(_vectors(300, 16)).params.recall_target == 0.5
    assert AnnIndex.build(_vectors(300, 16), params=AnnParams(recall_target=0.9)).params.recall_target == 0.9
    for bad in ("1.5", "0"):
        monkeypatch.setenv("MUSIM_ANN_RECALL", bad)
        with pytest.raises(ConfigError, match="MUSIM_ANN_RECALL"):
            AnnParams.configured()
