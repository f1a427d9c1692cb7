"""The ``training_split`` suite: a model run's split passes when sound and fails, with examples, when not."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musim import warehouse
from musim.quality import check_on
from musim.quality.suites.training_split import TrainingSplit


def _split(n_artists: int = 30, *, seed: int = 0, labels: bool = False) -> TrainingSplit:
    """Artists 1..n in three communities (targets 0.2..0.9 inside one, 0 across), two clips each."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1, n_artists + 1, dtype=np.int64)
    community = ids % 3
    m = np.where(community[:, None] == community[None, :], rng.uniform(0.2, 0.9, (n_artists, n_artists)), 0.0)
    m = np.triu(m, 1)
    m = (m + m.T).astype(np.float32)
    np.fill_diagonal(m, np.nan)
    order = rng.permutation(ids)
    sides = {"test": np.sort(order[:6]), "validation": np.sort(order[6:10]), "train": np.sort(order[10:])}
    track_artist = np.repeat(ids, 2)
    track_labels = np.array([f"genre{c}" for c in np.repeat(community, 2)]) if labels else None
    return TrainingSplit(ids, m, sides, track_artist, track_labels=track_labels)


def labelled_split() -> TrainingSplit:
    """A sound split with class labels (the labelled expectations apply)."""
    return _split(labels=True)


def _run(split: TrainingSplit):
    with warehouse.writer() as con:
        run = check_on(con, ["training_split"], payload={"training_split": split}, docs=False)
    return run.results[0]


def _failed(result) -> dict[str, str]:
    return {c: json.dumps(f.examples + f.observed, default=str) for f in result.failures for c in f.columns}


def test_a_sound_split_passes_and_reports_its_balance(musim_home):
    result = _run(_split(labels=True))
    assert result.status == "passed", result.describe()
    parts = {p["part"]: p for p in result.parts}
    assert parts["artists"]["rows_validated"] == 30
    assert parts["pairs"]["rows_total"] == 20 * 19 // 2 + 4 * 3 // 2 + 6 * 5 // 2
    assert "train 20 artists" in parts["balance"]["coverage"] and "with co-listeners" in parts["balance"]["coverage"]


def test_it_is_left_out_of_every_suite_runs(musim_home):
    with warehouse.writer() as con:
        names = [r.dataset for r in check_on(con, None, docs=False).results]
    assert "training_split" not in names


def _with(split: TrainingSplit, **changes) -> TrainingSplit:
    values = {k: getattr(split, k) for k in ("target_ids", "targets", "sides", "track_artist", "track_labels")}
    return TrainingSplit(**{**values, **changes})


def test_an_artist_on_two_sides_fails(musim_home):
    s = _split()
    leaked = int(s.sides["test"][0])
    sides = {**s.sides, "train": np.sort(np.append(s.sides["train"], leaked))}
    failed = _failed(_run(_with(s, sides=sides)))
    assert f"artist {leaked} in train, test" in failed["artists_on_two_sides"]
    assert "n_sides" in failed


def test_targets_off_range_or_asymmetric_fail(musim_home):
    s = _split()
    m = s.targets.copy()
    i, j = (int(np.searchsorted(s.target_ids, a)) for a in s.sides["train"][:2])
    m[i, j] = 1.5
    failed = _failed(_run(_with(s, targets=m)))
    assert "1.5" in failed["targets_out_of_range"] and "asymmetric_pairs" in failed and "target" in failed


@pytest.mark.parametrize(("change", "column"), [
    ("few test artists", "test_artists"),
    ("nothing similar in training", "train_positive_share"),
    # the test side had no co-listened pair: the gate passed, the model trained, and registering it was refused
    # after training ("the evaluation has no informative query")
    ("nothing similar in test", "test_ranked_artists"),
    ("a test label never trained", "test_tracks_of_unseen_classes"),
    ("an artist without audio", "tracks"),
])
def test_unusable_splits_fail(musim_home, change, column):
    s = _split(labels=True)
    if change == "few test artists":
        s = _with(s, sides={**s.sides, "test": s.sides["test"][:3],
                            "train": np.sort(np.concatenate([s.sides["train"], s.sides["test"][3:]]))})
    elif change == "nothing similar in training":
        m = s.targets.copy()
        idx = np.searchsorted(s.target_ids, s.sides["train"])
        m[np.ix_(idx, idx)] = 0.0
        s = _with(s, targets=m)
    elif change == "nothing similar in test":
        m = s.targets.copy()
        idx = np.searchsorted(s.target_ids, s.sides["test"])
        m[np.ix_(idx, idx)] = 0.0
        s = _with(s, targets=m)
    elif change == "a test label never trained":
        labels = s.track_labels.copy()
        labels[np.isin(s.track_artist, s.sides["test"][:1])] = "polka"
        s = _with(s, track_labels=labels)
    else:
        kept = ~np.isin(s.track_artist, s.sides["train"][:1])
        s = _with(s, track_artist=s.track_artist[kept], track_labels=s.track_labels[kept])
    result = _run(s)
    assert result.status == "failed" and column in _failed(result), result.describe()
    if change == "a test label never trained":
        assert "polka" in _failed(result)[column]


def _train_pair(s: TrainingSplit) -> tuple[int, int]:
    return tuple(int(np.searchsorted(s.target_ids, a)) for a in s.sides["train"][:2])


def _target(s: TrainingSplit, value: float, *, both: bool = True) -> TrainingSplit:
    m = s.targets.copy()
    i, j = _train_pair(s)
    m[i, j] = value
    if both:
        m[j, i] = value
    return _with(s, targets=m)


def _leak(s: TrainingSplit) -> TrainingSplit:
    return _with(s, sides={**s.sides, "train": np.sort(np.append(s.sides["train"], s.sides["test"][0]))})


def _unseen_label(s: TrainingSplit) -> TrainingSplit:
    labels = s.track_labels.copy()
    labels[np.isin(s.track_artist, s.sides["test"][:1])] = "polka"
    return _with(s, track_labels=labels)


# (case id, how a labelled sound split is broken, the "must be zero" column that fails): every such column of the
# suite has a case here (tests/quality/test_suites.py::test_every_must_be_zero_column_has_a_failing_case)
BAD_SPLITS = [
    ("infinite target", lambda s: _target(s, np.inf), "non_finite_targets"),
    ("target above 1", lambda s: _target(s, 2.0), "targets_out_of_range"),
    ("one-sided target", lambda s: _target(s, 0.05, both=False), "asymmetric_pairs"),
    ("artist on two sides", _leak, "artists_on_two_sides"),
    ("a label short", lambda s: _with(s, track_labels=s.track_labels[:-1]), "labels_misaligned"),
    ("test label never trained", _unseen_label, "test_tracks_of_unseen_classes"),
]


@pytest.mark.parametrize(("case", "change", "column"), BAD_SPLITS, ids=[c[0] for c in BAD_SPLITS])
def test_a_broken_split_fails_on_its_column(musim_home, case, change, column):
    """A label short crashed the gate (IndexError while fetching examples) instead of failing it."""
    result = _run(change(labelled_split()))
    assert result.status == "failed" and column in _failed(result), result.describe()
    if case == "a label short":
        assert "59 labels for 60 clips" in _failed(result)[column]
    if case == "infinite target":
        assert "artists" in _failed(result)[column] and "inf" in _failed(result)[column]


@pytest.mark.parametrize("missing", [None, np.nan, ""])
def test_untagged_test_tracks_are_no_class(musim_home, missing):
    """One untagged library file (no genre) on the test side only failed every training at this gate: the
    missing label was checked as a class ("?") never seen in training. Missing labels are left out; a real
    test-only class still fails."""
    s = labelled_split()
    labels = s.track_labels.astype(object)
    labels[np.isin(s.track_artist, s.sides["test"][:1])] = missing
    result = _run(_with(s, track_labels=labels))
    assert result.status == "passed", result.describe()
    labels[np.isin(s.track_artist, s.sides["test"][1:2])] = "polka"
    failed = _failed(_run(_with(s, track_labels=labels)))
    assert "polka" in failed["test_tracks_of_unseen_classes"]
    assert "None" not in failed["test_tracks_of_unseen_classes"]
