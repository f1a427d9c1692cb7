"""The C co-occurrence kernels against a brute-force count, and how their engine is chosen."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from musim import cooccurrence
from musim.errors import ConfigError
from tests.native_engines import not_built
from tests.pair_counts import pair_counts

needs_c_kernels = pytest.mark.skipif(cooccurrence.KERNELS.missing() is not None,
                                     reason=f"the C co-occurrence kernels are not built ({cooccurrence.KERNELS.missing()})")


def _brute_force(users, artists, min_co):
    by_user: dict[int, set[int]] = {}
    for u, a in zip(users.tolist(), artists.tolist(), strict=True):
        by_user.setdefault(u, set()).add(a)
    counts: dict[tuple[int, int], int] = {}
    for items in by_user.values():
        ordered = sorted(items)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1:]:
                counts[(a, b)] = counts.get((a, b), 0) + 1
    return sorted((a, b, c) for (a, b), c in counts.items() if c >= min_co)


def _random_edges(rng, n_users, n_artists, density):
    mask = rng.random((n_users, n_artists)) < density
    mask[:, n_artists // 2] |= rng.random(n_users) < 0.5  # one popular artist: the counter's dense branch
    users, artists = np.nonzero(mask)
    order = rng.permutation(users.size)  # edges in any order
    return users[order].astype(np.int32), artists[order].astype(np.int32)


@needs_c_kernels
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("min_co", [1, 2, 4])
def test_counter_equals_brute_force(threads, min_co):
    rng = np.random.default_rng(threads * 10 + min_co)
    users, artists = _random_edges(rng, n_users=120, n_artists=60, density=0.08)
    a, b, co = pair_counts(users, artists, 120, 60, min_co, threads)
    got = list(zip(a.tolist(), b.tolist(), co.tolist(), strict=True))
    assert got == _brute_force(users, artists, min_co)  # the same pairs, and sorted by (a, b) as they come
    assert len(got) > 50


@needs_c_kernels
def test_counter_labels_pairs_with_ids_in_chunks_that_follow_pair_order():
    rng = np.random.default_rng(11)
    users, artists = _random_edges(rng, n_users=300, n_artists=200, density=0.03)
    ids = np.arange(200, dtype=np.int32) * 5 + 2  # sparse artist ids, ascending, as in a warehouse
    a, b, co = pair_counts(users, artists, 300, 200, 1, threads=2)
    chunks = cooccurrence.pair_count_chunks(users, artists, 300, 200, 1, threads=2, ids=ids)
    assert len(chunks) > 2  # one per range of artists
    assert [np.concatenate(x).tolist() for x in zip(*chunks, strict=True)] == [ids[a].tolist(), ids[b].tolist(),
                                                                               co.tolist()]
    with pytest.raises(ValueError, match="ids: 3 ids for 200 artists"):
        cooccurrence.pair_count_chunks(users, artists, 300, 200, 1, ids=ids[:3])


@needs_c_kernels
def test_counter_handles_empty_and_lonely_inputs():
    empty = np.empty(0, np.int32)
    assert [x.size for x in pair_counts(empty, empty, 0, 0, 1)] == [0, 0, 0]
    assert [x.size for x in pair_counts(empty, empty, 5, 3, 1, threads=2)] == [0, 0, 0]
    one = np.zeros(3, np.int32)  # one user, three artists
    a, b, co = pair_counts(one, np.arange(3, dtype=np.int32), 1, 3, 1)
    assert list(zip(a.tolist(), b.tolist(), co.tolist(), strict=True)) == [(0, 1, 1), (0, 2, 1), (1, 2, 1)]


@needs_c_kernels
def test_counter_sorts_pairs_across_bitmap_words_and_ranges():
    """Artists far apart (other 64-bit words of the marks) and ranges cut between threads: still sorted."""
    rng = np.random.default_rng(7)
    users, artists = _random_edges(rng, n_users=300, n_artists=700, density=0.02)
    a, b, co = pair_counts(users, artists, 300, 700, 1, threads=3)
    assert list(zip(a.tolist(), b.tolist(), co.tolist(), strict=True)) == _brute_force(users, artists, 1)


def _symmetric_reference(a, b, co):
    artist, neighbor, counts = np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([co, co])
    order = np.lexsort((neighbor, artist))
    return artist[order].tolist(), neighbor[order].tolist(), counts[order].tolist()


@needs_c_kernels
def test_symmetric_pairs_lay_each_pair_out_both_ways_sorted_by_artist():
    rng = np.random.default_rng(3)
    users, artists = _random_edges(rng, n_users=200, n_artists=90, density=0.06)
    a, b, co = pair_counts(users, artists, 200, 90, 2)
    ids = np.arange(90, dtype=np.int32) * 7 + 3  # sparse artist ids, as in a warehouse
    got = [x.tolist() for x in cooccurrence.symmetric_pairs(ids[a], ids[b], co)]
    assert got == list(_symmetric_reference(ids[a], ids[b], co))
    assert len(got[0]) == 2 * a.size > 100


@needs_c_kernels
def test_symmetric_pairs_of_unsorted_input_are_grouped_by_artist():
    a, b, co = np.array([5, 1, 1], np.int32), np.array([9, 9, 5], np.int32), np.array([2, 3, 4], np.int32)
    artist, neighbor, counts = cooccurrence.symmetric_pairs(a, b, co)
    assert list(zip(artist.tolist(), neighbor.tolist(), counts.tolist(), strict=True)) == [
        (1, 9, 3), (1, 5, 4), (5, 1, 4), (5, 9, 2), (9, 5, 2), (9, 1, 3)]  # below first, then above, input order
    assert [x.size for x in cooccurrence.symmetric_pairs(*(np.empty(0, np.int32),) * 3)] == [0, 0, 0]


@needs_c_kernels
def test_symmetric_pairs_refuse_a_pair_not_ordered():
    with pytest.raises(ValueError, match=r"pair 1 \(4, 4\) is not a < b"):
        cooccurrence.symmetric_pairs(np.array([1, 4], np.int32), np.array([2, 4], np.int32),
                                     np.array([1, 1], np.int32))


@needs_c_kernels
def test_counter_refuses_bad_edges_with_the_edge_named():
    users, artists = np.array([0, 1, 1], np.int32), np.array([2, 0, 0], np.int32)
    with pytest.raises(ValueError, match=r"the edge \(user 1, artist 0\) is given twice"):
        pair_counts(users, artists, 2, 3, 1)
    with pytest.raises(ValueError, match=r"edge 0 \(user 0, artist 7\) is outside 0..1 x 0..2"):
        pair_counts(np.array([0], np.int32), np.array([7], np.int32), 2, 3, 1)


@pytest.fixture
def no_c_kernels(monkeypatch):
    """As on a machine where the C co-occurrence kernels were not built: importing them fails."""
    yield from not_built(monkeypatch, cooccurrence.KERNELS)


def test_without_the_c_counter_duckdb_counts_and_says_so(monkeypatch, no_c_kernels, caplog):
    monkeypatch.delenv(cooccurrence.ENV, raising=False)
    with caplog.at_level(logging.INFO, logger="musim.cooccurrence"):
        assert cooccurrence.choose_engine() == "duckdb"
    assert "the C co-occurrence kernels are not built" in caplog.text
    with pytest.raises(ConfigError, match="MUSIM_SIMILARITY_ENGINE=c but the C co-occurrence kernels are not built"):
        cooccurrence.choose_engine("c")


def test_an_unknown_engine_is_a_config_error(monkeypatch):
    monkeypatch.setenv(cooccurrence.ENV, "gpu")
    with pytest.raises(ConfigError, match="MUSIM_SIMILARITY_ENGINE must be one of auto, c, duckdb, got 'gpu'"):
        cooccurrence.choose_engine()
    with pytest.raises(ConfigError, match="'gpu' is not a similarity engine"):
        cooccurrence.choose_engine("gpu")


@needs_c_kernels
def test_layout_rows_columns_and_work_per_artist():
    """The layout: each user's artists ascending, each artist's users ascending with where it sits in their
    rows, and the increments the counter makes per artist (what the threads' ranges are balanced on)."""
    from musim import _cooccurrence

    rng = np.random.default_rng(11)
    users, artists = _random_edges(rng, 70, 40, 0.2)
    row_ptr, row_artists, col_ptr, col_user, col_tail, work = (
        np.frombuffer(buf, dtype) for buf, dtype in zip(
            _cooccurrence.layout(users, artists, 70, 40), (np.int64, np.int32, np.int64, np.int32, np.int64, np.int64),
            strict=True))
    rows = {u: sorted(artists[users == u].tolist()) for u in range(70)}
    assert all(row_artists[row_ptr[u]:row_ptr[u + 1]].tolist() == rows[u] for u in range(70))
    for a in range(40):
        listeners = sorted(users[artists == a].tolist())
        assert col_user[col_ptr[a]:col_ptr[a + 1]].tolist() == listeners
        tails = col_tail[col_ptr[a]:col_ptr[a + 1]]
        assert all(row_artists[t - 1] == a for t in tails)
        assert work[a] == sum(sum(1 for b in rows[u] if b > a) for u in listeners)
