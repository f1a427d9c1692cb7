"""wccn_dev: the within-track scatter, WCCN whitening and the nuisance projection on small generated crops."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.real_music.wccn_dev import nap, wccn, within_track_scatter


@pytest.fixture
def crops():
    """40 tracks x 4 crops x 6 columns: tracks differ along columns 0-2, crops of a track along 3-5 only."""
    rng = np.random.default_rng(0)
    track = np.concatenate([rng.normal(0, 3, (40, 1, 3)), np.zeros((40, 1, 3))], axis=2)
    noise = np.concatenate([np.zeros((40, 4, 3)), rng.normal(0, [1, 2, 4], (40, 4, 3))], axis=2)
    return track + noise


def test_the_within_track_scatter_sees_only_what_varies_inside_a_track(crops):
    s = within_track_scatter(crops)
    assert np.allclose(s[:3], 0) and np.allclose(s[:, :3], 0)  # tracks' own differences are not in it
    centred = crops - crops.mean(axis=1, keepdims=True)
    expected = np.einsum("tci,tcj->ij", centred, centred) / (40 * 3)
    assert np.allclose(s, expected)
    assert np.diag(s)[3:] == pytest.approx([1, 4, 16], rel=0.35)


def test_wccn_whitens_the_within_track_scatter(crops):
    s = within_track_scatter(crops) + 1e-3 * np.eye(6)  # full rank
    w = wccn(crops.reshape(-1, 6), s, alpha=0.0).reshape(crops.shape)
    # the directions that vary inside tracks come out with unit variance; the others had none and keep none
    assert np.allclose(within_track_scatter(w), np.diag([0, 0, 0, 1, 1, 1]), atol=1e-2)
    shrunk = wccn(np.eye(6), s, alpha=1.0)  # all the way to the mean eigenvalue: a uniform scale
    assert np.allclose(shrunk, np.eye(6) / np.sqrt(np.trace(s) / 6))


def test_nap_removes_the_top_nuisance_directions_and_keeps_the_rest(crops):
    s = within_track_scatter(crops)
    x = crops.reshape(-1, 6)
    out = nap(x, s, k=3)
    assert np.allclose(within_track_scatter(out.reshape(crops.shape)), 0, atol=1e-9)
    assert np.allclose(out[:, :3], x[:, :3])  # the tracks' own columns untouched
