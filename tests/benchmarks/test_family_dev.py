"""family_dev: the fast within-package AUC equals label_eval's, and the block-level patterns and normalisations
do what their docstrings say."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.real_music.family_dev import (
    auc_per_query,
    correlation_pattern,
    csls,
    delta_spectral_pattern,
    fluctuation_pattern,
    pair_sets,
    pca_scaled,
    spectral_pattern,
)
from musim.models.label_eval import cosine_similarity, query_metrics


def test_auc_per_query_matches_query_metrics_on_a_masked_half():
    rng = np.random.default_rng(3)
    artists = ["a", "a", "b", "b", "c", "c", "c", "d", "e", "e"]
    groups = ["p", "p", "p", "p", "p", "q", "q", "q", "q", "q"]
    sim = cosine_similarity(rng.normal(size=(10, 4)))
    sim[0, 2] = sim[0, 1]  # a tie counts half
    mask = np.array([1, 1, 1, 1, 0, 1, 1, 1, 1, 1], bool)
    sets = pair_sets(artists, groups, mask)
    idx = np.flatnonzero(mask)
    ref = query_metrics(sim[np.ix_(idx, idx)], [artists[i] for i in idx], [groups[i] for i in idx])["auc_group"]
    assert [i for i, _, _ in sets] == [int(idx[j]) for j in np.flatnonzero(np.isfinite(ref))]
    np.testing.assert_allclose(auc_per_query(sim, sets), ref[np.isfinite(ref)])
    assert all(4 not in pos and 4 not in neg for _, pos, neg in sets)  # the masked track is in no query


def test_spectral_pattern_ignores_the_order_of_frames_within_a_block():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(4, 10))
    shuffled = m[:, rng.permutation(10)]
    np.testing.assert_allclose(spectral_pattern(m), spectral_pattern(shuffled))
    assert spectral_pattern(m).shape == (40,)
    assert np.all(np.diff(spectral_pattern(m).reshape(4, 10), axis=1) >= 0)  # sorted within each band


def test_delta_pattern_sees_rises_only_and_short_tracks_are_padded():
    flat = np.zeros((3, 40))
    rising = np.tile(np.arange(40.0), (3, 1))
    assert np.all(delta_spectral_pattern(flat) == 0)
    assert np.all(delta_spectral_pattern(-rising) == 0)  # falls are not onsets
    assert np.allclose(delta_spectral_pattern(rising), 3.0)
    assert delta_spectral_pattern(rising[:, :5]).shape == (75,)


def test_fluctuation_pattern_peaks_at_the_modulation_frequency():
    t = np.arange(512) * 512 / 22050
    slow, fast = np.sin(2 * np.pi * 1.0 * t), np.sin(2 * np.pi * 8.0 * t)
    fp = fluctuation_pattern(np.stack([slow, fast]), n_mod=12).reshape(2, 12)
    assert np.argmax(fp[0]) < np.argmax(fp[1])


def test_correlation_pattern_of_identical_and_opposite_bands():
    x = np.random.default_rng(1).normal(size=300)
    cp = correlation_pattern(np.stack([x, x, -x]))
    np.testing.assert_allclose(cp, [1.0, -1.0, -1.0], atol=1e-9)


def test_pca_whitening_gives_unit_variance_axes_and_csls_penalises_hubs():
    x = np.random.default_rng(2).normal(size=(50, 6)) * [10, 5, 1, 1, 1, 1]
    w = pca_scaled(x, 3, 1.0)
    np.testing.assert_allclose(np.linalg.norm(w, axis=0), 1.0)  # whitened: every axis the same length
    np.testing.assert_allclose(pca_scaled(x, 6, 0.0)[:, :1] ** 2, pca_scaled(x, 1, 0.0) ** 2)
    sim = np.array([[1.0, 0.9, 0.5], [0.9, 1.0, 0.6], [0.5, 0.6, 1.0]])
    out = csls(sim, 1)
    assert out[0, 1] == pytest.approx(2 * 0.9 - 0.9 - 0.9)
    assert out[2, 0] == pytest.approx(2 * 0.5 - 0.6 - 0.9)
