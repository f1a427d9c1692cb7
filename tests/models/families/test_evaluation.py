"""Evaluation without listening data (artist identity): what it refuses, and how it says so."""

from __future__ import annotations

import numpy as np
import pytest

from musim.errors import ParameterError
from musim.models.families.evaluation import evaluate_by_artist
from musim.models.families.inputs import FamilyInputs


def _inputs(artists: list[int], names: dict[int, str]) -> FamilyInputs:
    n = len(artists)
    return FamilyInputs(track_ids=[f"t{i}" for i in range(n)], track_artist=np.asarray(artists, dtype=np.int64),
                        titles=[f"title {i}" for i in range(n)], genres=[None] * n, artist_names=names,
                        mel_keys=[None] * n, slice_keys=[None] * n)


def test_one_artist_only_is_refused_naming_it_and_what_to_do():
    """A library of untagged files in one folder is all 'Unknown artist': the message said no artist had two
    tracks, while this one had five."""
    inputs = _inputs([7] * 5, {7: "Unknown artist"})
    with pytest.raises(ParameterError, match=r"every track is by one artist \(Unknown artist\): nothing to tell apart"):
        evaluate_by_artist("descriptors", None, inputs, vectors=np.eye(5, 4), n_boot=100)


def test_no_artist_with_two_tracks_is_refused():
    with pytest.raises(ParameterError, match="no artist has two tracks"):
        evaluate_by_artist("descriptors", None, _inputs([1, 2, 3], {}), vectors=np.eye(3), n_boot=100)


def test_two_artists_are_evaluated():
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    report = evaluate_by_artist("descriptors", None, _inputs([1, 1, 2, 2], {}), vectors=vectors, n_boot=100)
    assert report.summary["model"]["auc"]["mean"] == 1.0


def test_its_test_artists_are_artists_and_its_test_set_is_named_by_the_tracks():
    """The report's "test artists" were track positions: 12 tracks of 2 artists passed the evidence rule of 10 test
    artists, and another catalogue's 12 tracks had the same test set (their values were paired with these)."""
    vectors = np.random.default_rng(0).normal(size=(12, 4))
    report = evaluate_by_artist("descriptors", None, _inputs([1] * 6 + [2] * 6, {}), vectors=vectors, n_boot=50)
    assert report.test_artists.tolist() == [1, 2] and report.queries.tolist() == list(range(12))
    other = _inputs([1] * 6 + [2] * 6, {})
    other.track_ids = [f"u{i}" for i in range(12)]
    assert evaluate_by_artist("descriptors", None, other, vectors=vectors, n_boot=50).test_set_id != report.test_set_id
