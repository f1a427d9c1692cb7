"""Neighbour tables through the ANN index equal brute force on small catalogues (ids, order, scores), for
tracks (other artists only, big artists searched exactly) and artists; the threshold picks the path; the
tables search as deep as their own rows need for the recall target."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from musim.models import ann, neighbours
from musim.models.ann import AnnIndex, AnnParams
from musim.models.neighbours import (
    artist_neighbors,
    calibrate_table_ef,
    top_k,
    top_k_sorted,
    track_neighbors,
    track_neighbors_ann,
)

DEEP = AnnParams(ef=512)


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.delenv(ann.SEARCH_ENV, raising=False)
    monkeypatch.delenv(ann.MIN_TRACKS_ENV, raising=False)


def _catalogue(n: int = 1500, d: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Tracks grouped by artist (1 to 12 tracks each), embeddings around each artist's centre."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 13, size=n)
    owner = np.repeat(np.arange(sizes.size) * 7 + 3, sizes)[:n]
    centres = rng.normal(size=(owner.max() + 1, d))
    emb = (centres[owner] + rng.normal(scale=0.7, size=(n, d))).astype(np.float32)
    perm = rng.permutation(n)  # tracks of an artist are not contiguous
    return emb[perm], owner[perm]


@pytest.mark.parametrize("scores", ["distinct", "ties", "non-finite"])
def test_top_k_by_partition_equals_the_stable_sort(scores):
    """The partition path against the whole-row sort it replaced: same positions and values, ties broken by
    position, rows with fewer than k finite scores (NaN, -inf, +inf count as -inf), k from 0 past n."""
    rng = np.random.default_rng(["distinct", "ties", "non-finite"].index(scores))
    for _ in range(200):
        rows, n = int(rng.integers(1, 30)), int(rng.integers(1, 400))
        s = rng.normal(size=(rows, n)) if scores != "ties" else rng.integers(0, 4, size=(rows, n)).astype(float)
        if scores == "non-finite":
            s[rng.random((rows, n)) < rng.random()] = -np.inf
            s[rng.random((rows, n)) < 0.05] = np.nan
            s[rng.random((rows, n)) < 0.02] = np.inf
        for k in (0, 1, 3, 10, n - 1, n, n + 3):
            got = top_k(s, max(k, 0))
            want = top_k_sorted(np.where(np.isfinite(s), s, -np.inf), min(max(k, 0), n))
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])


def test_track_tables_through_the_index_equal_brute_force():
    emb, owner = _catalogue()
    exact_nb, exact_sc = track_neighbors(emb, owner, k=10, search="exact")
    index = AnnIndex.build(emb, params=DEEP)
    ann_nb, ann_sc = track_neighbors(emb, owner, k=10, search="ann", index=index)
    assert ann_nb.shape == exact_nb.shape == (1500, 10)
    np.testing.assert_array_equal(ann_nb, exact_nb)
    np.testing.assert_allclose(ann_sc, exact_sc, atol=1e-6)
    assert np.all(owner[ann_nb] != owner[:, None])


def test_big_artists_are_searched_exactly(monkeypatch):
    emb, owner = _catalogue(600, 8, seed=1)
    owner[:200] = 1  # one artist with a third of the catalogue
    monkeypatch.setattr(neighbours, "MAX_CANDIDATES", 64)
    got = track_neighbors(emb, owner, k=5, search="ann", index=AnnIndex.build(emb, params=DEEP))
    want = track_neighbors(emb, owner, k=5, search="exact")
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], atol=1e-6)


def test_artist_tables_through_the_index_equal_brute_force():
    emb, owner = _catalogue(2000, 16, seed=2)
    a_exact, nb_exact, sc_exact = artist_neighbors(emb, owner, k=10, search="exact")
    a_ann, nb_ann, sc_ann = artist_neighbors(emb, owner, k=10, search="ann", params=DEEP)
    np.testing.assert_array_equal(a_ann, a_exact)
    np.testing.assert_array_equal(nb_ann, nb_exact)
    np.testing.assert_allclose(sc_ann, sc_exact, atol=1e-9)


def test_tiny_catalogues_and_the_threshold(monkeypatch):
    emb, owner = _catalogue(30, 4, seed=3)
    calls = []
    real = neighbours.track_neighbors_ann
    monkeypatch.setattr(neighbours, "track_neighbors_ann", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    track_neighbors(emb, owner, k=3)
    assert calls == []  # 30 < 20,000: exact
    monkeypatch.setenv(ann.MIN_TRACKS_ENV, "30")
    got = track_neighbors(emb, owner, k=3)
    assert calls == [1]
    np.testing.assert_array_equal(got[0], track_neighbors(emb, owner, k=3, search="exact")[0])
    # a pair head is never searched through an index of embeddings
    head = lambda a, b: -np.abs(a[:, None, :] - b[None, :, :]).sum(-1)  # noqa: E731
    track_neighbors(emb, owner, k=3, pair_similarity=head, search="ann")
    assert calls == [1]
    one = np.zeros(3, dtype=np.int64)  # a single artist: nobody to recommend
    nb, sc = track_neighbors(emb[:3], one, k=3, search="ann")
    assert nb.shape == (3, 2) and np.all(nb == -1) and np.all(np.isnan(sc))
    artists, anb, _ = artist_neighbors(emb[:1], one[:1], k=3, search="ann")
    assert artists.tolist() == [0] and anb.shape == (1, 0)


def _table_recall(got_scores: np.ndarray, want_scores: np.ndarray) -> float:
    """Share of each row's neighbours as similar as the exact row's 10th (ties are not misses)."""
    return float(np.mean((np.nan_to_num(got_scores, nan=-9.0) >= want_scores[:, -1:] - 1e-5).sum(axis=1) / 10))


def test_the_tables_search_as_deep_as_their_rows_need(monkeypatch):
    """A sparse graph (M=4): the depth calibrated for one top-10 query leaves the table rows (other artists'
    tracks, which rank below the track's own artist's) well under the recall target; the depth calibrated on
    the tables' own rows reaches it over the whole table, and is what track_neighbors searches at."""
    emb, owner = _catalogue(3000, 48, seed=5)
    index = AnnIndex.build(emb, params=AnnParams(m=4), threads=1)
    _, want = track_neighbors(emb, owner, k=10, search="exact")
    table_ef = calibrate_table_ef(index, emb, owner, k=10)
    assert table_ef in ann.EF_LADDER and table_ef > index.params.ef
    shallow = track_neighbors_ann(emb, owner, k=10, index=index, ef=index.params.ef)
    calibrated = track_neighbors_ann(emb, owner, k=10, index=index, ef=table_ef)
    assert _table_recall(shallow[1], want) < 0.9
    assert _table_recall(calibrated[1], want) >= index.params.recall_target
    monkeypatch.setenv(ann.MIN_TRACKS_ENV, "3000")  # at the ANN minimum: the calibrated depth, not exhaustive
    got = track_neighbors(emb, owner, k=10, search="ann", index=index)
    np.testing.assert_array_equal(got[0], calibrated[0])
    deep = AnnIndex.build(emb, params=DEEP)  # a deep given depth is where the tables start
    assert calibrate_table_ef(deep, emb, owner) == 512


def test_an_unreachable_table_target_searches_at_the_deepest_depth_with_a_warning(monkeypatch, caplog):
    monkeypatch.setattr(ann, "EF_LADDER", (10, 12))
    caplog.set_level(logging.WARNING, logger="musim.models.neighbours")
    emb, owner = _catalogue(3000, 48, seed=5)
    index = AnnIndex.build(emb, params=AnnParams(m=4, ef=10, recall_target=1.0), threads=1)
    assert calibrate_table_ef(index, emb, owner, k=10) == 12
    assert "track table of 3000 tracks" in caplog.text and "under the target 1.000" in caplog.text


def _near_ties(n: int = 360, d: int = 16, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """Groups of nine almost equal vectors (noise ~1e-6): their scores against any track differ in the last
    float32 bits, where two summation orders break the ties differently."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n // 9, d))
    emb = (np.repeat(base, 9, axis=0) + rng.normal(scale=1e-6, size=(n, d))).astype(np.float32)
    owner = rng.integers(0, n // 3, size=n) * 5 + 1
    perm = rng.permutation(n)
    return emb[perm], owner[perm]


@pytest.mark.parametrize("seed", [11, 12])
def test_a_forced_index_search_below_the_ann_minimum_is_bit_identical_to_brute_force(seed):
    """Under MUSIM_ANN_MIN_TRACKS a forced ANN search (shallow ef 16) gives the exact tables bit for bit: the same
    neighbours in the same order and the same score bits, near ties included, for tracks and artists."""
    emb, owner = _near_ties(seed=seed)
    index = AnnIndex.build(emb, params=AnnParams(ef=16))
    exact_nb, exact_sc = track_neighbors(emb, owner, k=10, search="exact")
    ann_nb, ann_sc = track_neighbors(emb, owner, k=10, search="ann", index=index)
    np.testing.assert_array_equal(ann_nb, exact_nb)
    assert ann_sc.tobytes() == exact_sc.tobytes()
    a_exact, nb_exact, sc_exact = artist_neighbors(emb, owner, k=10, search="exact")
    a_ann, nb_ann, sc_ann = artist_neighbors(emb, owner, k=10, search="ann", params=AnnParams(ef=16))
    np.testing.assert_array_equal(a_ann, a_exact)
    np.testing.assert_array_equal(nb_ann, nb_exact)
    assert sc_ann.tobytes() == sc_exact.tobytes()


def test_a_pair_scores_the_same_bits_in_a_block_a_row_or_a_candidate_list():
    """The two scorers agree bit for bit whatever the shapes BLAS sees."""
    emb, _ = _near_ties(900, 64, seed=3)
    u = ann.unit_rows(emb)
    full = neighbours._row_scores(u, u)
    rng = np.random.default_rng(0)
    rows = rng.choice(900, size=37, replace=False)
    cand = rng.integers(0, 900, size=(37, 50))
    assert neighbours._row_scores(u[rows], u).tobytes() == full[rows].tobytes()
    assert neighbours._row_scores(u[rows[:1]], u).tobytes() == full[rows[:1]].tobytes()
    assert neighbours._pair_scores(u[rows], u[cand]).tobytes() == full[rows[:, None], cand].tobytes()
