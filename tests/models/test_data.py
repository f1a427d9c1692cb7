"""Training sets: targets, split, clips, sampling over the target range, index pairs, tf.data, warehouse."""

from __future__ import annotations

import numpy as np
import pytest

from musim import warehouse
from musim.errors import ParameterError
from musim.models.data import (
    ClipTable,
    PairTargets,
    load_catalogue,
    load_pair_targets,
    split_artists,
    to_unit_scale,
)
from musim.models.pairs import PairSampling, build_training_set, expand_clip_pairs, sample_artist_pairs
from tests.models.conftest import write_similarity


def test_targets_from_pairs_symmetric_missing_zero_and_unit_scale():
    t = PairTargets.from_pairs([30, 10, 20, 40], [10, 30, 99], [20, 20, 10], [0.5, 0.25, 1.0])
    assert t.artist_ids.tolist() == [10, 20, 30, 40]
    m = t.matrix
    assert m[0, 1] == m[1, 0] == 0.5 and m[2, 1] == m[1, 2] == 0.25
    assert m[0, 3] == 0 and m[2, 3] == 0          # missing pairs: no co-listeners
    assert np.isnan(np.diag(m)).all()
    assert t.sub([20, 10]).tolist()[0][1] == 0.5  # pair (99, 10) ignored: 99 not among the artists
    with pytest.raises(KeyError):
        t.positions([11])
    lift = np.array([0.0, 1.0, 3.0])
    assert np.allclose(to_unit_scale(lift, "lift"), [0, 0.5, 0.75])
    with np.errstate(divide="ignore"):
        assert np.allclose(to_unit_scale(np.log(lift), "pmi"), to_unit_scale(lift, "lift"))  # same order, same numbers
    with pytest.raises(ParameterError):
        to_unit_scale(lift, "nope")


def test_split_is_disjoint_complete_seeded_and_order_free():
    ids = np.arange(1000, 1200)
    s = split_artists(ids, validation=0.2, test=0.1, seed=7)
    parts = [set(s.train.tolist()), set(s.validation.tolist()), set(s.test.tolist())]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert set().union(*parts) == set(ids.tolist())
    assert (len(parts[1]), len(parts[2])) == (40, 20)
    again = split_artists(ids[::-1].copy(), validation=0.2, test=0.1, seed=7)
    assert again.test_set_id == s.test_set_id and np.array_equal(again.train, s.train)
    assert split_artists(ids, validation=0.2, test=0.1, seed=8).test_set_id != s.test_set_id
    grown = split_artists(np.arange(1000, 1210), validation=0.2, test=0.1, seed=7)
    assert len(set(grown.test.tolist()) & parts[2]) >= 15  # a growing catalogue keeps most test artists
    with pytest.raises(ParameterError):
        split_artists(ids, validation=0.6, test=0.5)


def test_clip_table_and_index_pairs():
    track_artist = np.array([5, 7, 5, 5, 7, 5, 9])
    clips = ClipTable.from_track_artist(track_artist, clips_per_artist=3)
    assert clips.artist_ids.tolist() == [5, 7, 9]
    assert [clips.flat([a])[0].tolist() for a in (5, 7, 9)] == [[0, 2, 3], [1, 4], [6]]
    pairs = expand_clip_pairs(clips, np.array([5, 7]), np.array([7, 9]), np.array([0.5, 0.25], np.float32))
    assert len(pairs) == 3 * 2 + 2 * 1
    got = set(zip(pairs.left.tolist(), pairs.right.tolist(), pairs.y.tolist(), strict=True))
    assert got == {(a, b, 0.5) for a in (0, 2, 3) for b in (1, 4)} | {(a, 6, 0.25) for a in (1, 4)}
    assert pairs.left.dtype == np.int64  # indices into the one array, no spectrogram copies
    rows, owner = clips.flat([9, 5])
    assert rows.tolist() == [6, 0, 2, 3] and owner.tolist() == [0, 1, 1, 1]


def _sparse_targets(n=60, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.arange(n)
    ia, ib = np.triu_indices(n, k=1)
    vals = np.where(rng.random(ia.size) < 0.08, rng.beta(1, 6, ia.size), 0.0)  # ~92 % zeros, skewed low
    keep = vals > 0
    return PairTargets.from_pairs(ids, ia[keep], ib[keep], vals[keep])


def test_stratified_sampling_covers_the_target_range():
    t = _sparse_targets()
    natural = sample_artist_pairs(t, t.artist_ids, PairSampling(strategy="natural", pairs=None))[2]
    assert natural.size == 60 * 59 // 2 and (natural == 0).mean() > 0.85
    s = PairSampling(pairs=2000, bins=5, zero_share=0.25, max_repeat=50)
    a, b, y = sample_artist_pairs(t, t.artist_ids, s, seed=1)
    assert np.all(a < b) and np.allclose(y, t.matrix[a, b])
    assert abs((y == 0).mean() - 0.25) < 0.01                       # the fixed share of zero pairs
    pos = y[y > 0]
    edges = np.linspace(0, pos.max(), 6)
    counts = np.histogram(pos, bins=edges)[0]
    assert (counts > 0).all()                                      # every bin of the range is seen
    assert pos.mean() > 2 * natural[natural > 0].mean()            # far more similar pairs than naturally
    capped = sample_artist_pairs(t, t.artist_ids, PairSampling(pairs=2000, bins=5, max_repeat=1), seed=1)
    keys = list(zip(capped[0].tolist(), capped[1].tolist(), strict=True))
    assert len(keys) == len(set(keys))                             # max_repeat=1: no pair twice
    again = sample_artist_pairs(t, t.artist_ids, s, seed=1)
    assert np.array_equal(again[0], a) and np.array_equal(again[1], b)  # seeded


def test_training_set_keeps_split_artists_apart(toy):
    ts = build_training_set(toy.x, toy.track_artist, toy.targets, sampling=PairSampling(pairs=100), seed=2)
    train, val, test = (set(p.tolist()) for p in (ts.split.train, ts.split.validation, ts.split.test))
    seen = set(ts.train.artist_left.tolist()) | set(ts.train.artist_right.tolist())
    assert seen <= train and not seen & (val | test)
    vseen = set(ts.validation.artist_left.tolist()) | set(ts.validation.artist_right.tolist())
    assert vseen <= val
    assert np.all(toy.track_artist[ts.train.left] == ts.train.artist_left)
    assert np.all(toy.track_artist[ts.train.right] == ts.train.artist_right)
    d = ts.describe()
    assert d["train_pairs"] == len(ts.train) and d["split"]["test"] == len(test)
    with pytest.raises(ParameterError):
        build_training_set(toy.x[:, :, :10].reshape(-1, 256), toy.track_artist, toy.targets)


def test_make_dataset_gathers_the_right_rows(toy):
    from musim.models.pairs import make_dataset

    ts = build_training_set(toy.x, toy.track_artist, toy.targets, sampling=PairSampling(pairs=20), seed=0)
    for source in ("tensor", "numpy"):
        ds = make_dataset(toy.x, ts.train, batch_size=16, shuffle=False, source=source, deterministic=True)
        inputs, y = next(iter(ds))
        assert inputs["left"].shape == (16, 256, 64) and inputs["left"].dtype.name == "float32"
        assert np.array_equal(inputs["left"].numpy(), toy.x[ts.train.left[:16]].astype(np.float32))
        assert np.array_equal(inputs["right"].numpy(), toy.x[ts.train.right[:16]].astype(np.float32))
        assert np.allclose(y.numpy(), ts.train.y[:16])
    one = [b[1].numpy() for b in make_dataset(toy.x, ts.train, batch_size=16, seed=5, deterministic=True)]
    two = [b[1].numpy() for b in make_dataset(toy.x, ts.train, batch_size=16, seed=5, deterministic=True)]
    assert all(np.array_equal(p, q) for p, q in zip(one, two, strict=True))   # seeded shuffle
    assert sum(len(b) for b in one) == len(ts.train)


def test_targets_and_catalogue_from_the_warehouse(toy):
    con = warehouse.connect()
    try:
        dump = write_similarity(con, toy)
        listeners = load_catalogue(con)
        assert set(listeners) == set(toy.targets.artist_ids.tolist())
        t = load_pair_targets(con)
        assert t.dump_id == dump and t.metric == "seed"
        assert np.allclose(t.matrix, toy.targets.matrix, equal_nan=True, atol=1e-6)
        some = toy.targets.artist_ids[:5]
        sub = load_pair_targets(con, artist_ids=np.append(some, 999_999), metric="jaccard")
        assert sub.artist_ids.tolist() == some.tolist()                      # 999999: outside the catalogue
        assert np.allclose(sub.matrix, toy.targets.sub(some) / 2, equal_nan=True, atol=1e-6)
        pmi = load_pair_targets(con, metric="pmi")
        lift = load_pair_targets(con, metric="lift")
        assert np.allclose(pmi.matrix, lift.matrix, equal_nan=True, atol=1e-5)
        # the catalogue is the top catalogue_size artists by listeners
        con.execute("UPDATE similarity_build SET catalogue_size = 5")
        top5 = sorted(toy.listeners, key=lambda a: (-toy.listeners[a], a))[:5]
        assert sorted(load_catalogue(con)) == sorted(top5)
    finally:
        con.close()


def test_the_default_test_share_follows_the_configured_promotion_minimum(monkeypatch):
    """The split kept the built-in 10 test artists when MUSIM_PROMOTION_MIN_TEST_ARTISTS asked for more, so every
    default run of a small catalogue then failed the evidence rule it was sized for."""
    from musim.models.data import default_test_share, split_artists

    assert [split_artists(np.arange(n), test=default_test_share(n)).test.size for n in (60, 120)] == [10, 18]
    monkeypatch.setenv("MUSIM_PROMOTION_MIN_TEST_ARTISTS", "20")
    assert [split_artists(np.arange(n), test=default_test_share(n)).test.size for n in (60, 120)] == [20, 20]


def test_an_empty_dump_id_is_refused_not_read_as_the_latest():
    """`musim models train --dump ""` trained on the latest build."""
    with warehouse.writer() as con:
        for load in (load_catalogue, load_pair_targets):
            with pytest.raises(ParameterError, match=r"the dump id is empty \(an unset variable\?\)"):
                load(con, dump_id=" ")


def test_a_dump_id_prefix_is_resolved_and_an_unknown_one_refused(toy):
    """`musim models train --dump 8be5e1790975` (the id as `musim dumps` shows it) said the dump had no similarity
    build, though it had one: training took only full ids, every other --dump a unique prefix."""
    from musim.errors import NotFoundError

    full = "8be5e1790975" + "a" * 52
    with warehouse.writer() as con:
        write_similarity(con, toy, dump_id=full)
        assert set(load_catalogue(con, "8be5e1790975")) == set(toy.targets.artist_ids.tolist())
        assert load_pair_targets(con, dump_id="8be5e1790975").dump_id == full
        with pytest.raises(NotFoundError, match=r"^dump id 'ffff' matches no dump; known dumps: 8be5e1790975$"):
            load_pair_targets(con, dump_id="ffff")
