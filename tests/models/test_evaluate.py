"""The ranking harness: the metrics on hand-computed rankings, bootstrap CIs, paired comparison, scorers."""

from __future__ import annotations

import difflib
import math

import numpy as np
import pytest

from musim.errors import ParameterError
from musim.models.bootstrap import bootstrap_ci, paired_bootstrap
from musim.models.data import ClipTable, PairTargets
from musim.models.evaluate import (
    EvaluationReport,
    artist_mean,
    average_precision,
    embedding_scorer,
    evaluate,
    ndcg_at,
    pixel_scorer,
    popularity_scorer,
    precision_at,
    random_scorer,
    sequence_ratio_at,
    spearman,
)

L3 = 1 / math.log2(3)


def test_metrics_of_one_ranking_by_hand():
    pred, true = list("abcde"), list("baefg")
    assert precision_at(pred, true, 3) == pytest.approx(2 / 3)          # {a, b} of {a, b, c} / {b, a, e}
    assert precision_at(pred, true, 5) == pytest.approx(3 / 5)          # a, b, e
    assert sequence_ratio_at(pred, true, 3) == pytest.approx(2 * 1 / 6)  # one matched item ('a')
    assert sequence_ratio_at(pred, true, 5) == pytest.approx(2 * 2 / 10)  # 'a' then 'e', in order
    assert sequence_ratio_at(pred, true, 5) == difflib.SequenceMatcher(None, pred, true).ratio()
    assert sequence_ratio_at(pred, pred, 3) == 1.0
    rel = {"b": 1.0, "a": 0.5, "e": 0.25}
    dcg, idcg = 0.5 + 1.0 * L3, 1.0 + 0.5 * L3 + 0.25 / 2
    assert ndcg_at(pred, rel, 3) == pytest.approx(dcg / idcg)
    assert ndcg_at(["b", "a", "e"], rel, 3) == pytest.approx(1.0)
    assert math.isnan(ndcg_at(pred, {"a": 0.0}, 3))
    assert average_precision(list("cadb"), {"a", "b"}) == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert average_precision(list("abcd"), {"a", "b"}) == 1.0
    assert math.isnan(average_precision(list("abc"), set()))
    assert spearman(np.array([1, 2, 3, 4.0]), np.array([1, 3, 2, 4.0])) == pytest.approx(0.8)
    assert math.isnan(spearman(np.ones(4), np.arange(4.0)))


TRUTH = np.array([  # artists 10, 20, 30, 40, 50
    [np.nan, 0.9, 0.5, 0.1, 0.0],
    [0.9, np.nan, 0.4, 0.2, 0.3],
    [0.5, 0.4, np.nan, 0.6, 0.7],
    [0.1, 0.2, 0.6, np.nan, 0.8],
    [0.0, 0.3, 0.7, 0.8, np.nan]])
IDS = [10, 20, 30, 40, 50]


def test_evaluate_per_query_values_by_hand():
    S = np.zeros((5, 5))
    S[0] = [0, 0.1, 0.8, 0.3, 0.2]  # query 10 ranks 30, 40, 50, 20; truth: 20, 30, 40, 50
    report = evaluate({"s": S, "perfect": np.nan_to_num(TRUTH)}, TRUTH, IDS, ns=(1, 2), relevant_k=2, n_boot=50)
    q = report.queries.tolist().index(10)
    v = {m: report.per_query["s"][m][q] for m in report.metrics}
    assert v["precision@1"] == 0 and v["precision@2"] == 0.5
    assert v["seqmatch@2"] == pytest.approx(0.5)
    assert v["ndcg@2"] == pytest.approx((0.5 + 0.1 * L3) / (0.9 + 0.5 * L3))
    assert v["map"] == pytest.approx((1 / 1 + 2 / 4) / 2)
    assert v["spearman"] == pytest.approx(-0.2)
    for m in report.metrics:  # the truth itself scores 1 everywhere
        assert report.summary["perfect"][m]["mean"] == pytest.approx(1.0)
    assert report.top["truth"][10] == [20, 30, 40, 50] and report.top["s"][10] == [30, 40, 50, 20]
    back = EvaluationReport.from_json(report.to_json())
    assert back.test_set_id == report.test_set_id and back.summary["s"]["map"] == report.summary["s"]["map"]
    assert np.allclose(back.per_query["s"]["ndcg@2"], report.per_query["s"]["ndcg@2"], equal_nan=True)


def test_map_counts_only_positive_targets_as_relevant():
    # 16 artists on a ring, each with co-listeners only at +-1 and opposite: 3 positive targets per query, so the
    # true top 10 is padded with 7 zero-target artists, which MAP must not count as relevant
    n = 16
    T = np.zeros((n, n))
    for i in range(n):
        for j, w in (((i + 1) % n, 0.9), ((i - 1) % n, 0.9), ((i + n // 2) % n, 0.4)):
            T[i, j] = T[j, i] = w
    np.fill_diagonal(T, np.nan)
    report = evaluate({"truth": np.nan_to_num(T)}, T, np.arange(n), ns=(1,), relevant_k=10, n_boot=20)
    assert report.queries.size == n
    np.testing.assert_allclose(report.per_query["truth"]["map"], 1.0)


def test_cutoffs_too_large_and_uninformative_queries():
    T = np.nan_to_num(TRUTH)
    T[0, :] = T[:, 0] = 0.0  # artist 10 has no co-listeners with the others
    report = evaluate({"r": random_scorer(1)}, T, IDS, ns=(3, 5), n_boot=20)
    assert report.skipped_queries == [10] and 10 not in report.queries.tolist()
    assert report.summary["r"]["precision@3"]["n"] == 4
    assert report.summary["r"]["precision@5"]["n"] == 0  # 4 candidates: every ranking shares its top 5
    with pytest.raises(ParameterError):
        evaluate({"bad": np.zeros((2, 2))}, T, IDS)


def test_random_is_near_chance_and_ci_is_sane():
    rng = np.random.default_rng(0)
    n = 60
    ia, ib = np.triu_indices(n, k=1)
    truth = PairTargets.from_pairs(np.arange(n), ia, ib, rng.random(ia.size))
    report = evaluate({"random": random_scorer(0)}, truth, np.arange(n), ns=(5, 10), n_boot=300)
    for k in (5, 10):
        s = report.summary["random"][f"precision@{k}"]
        assert s["lo"] <= s["mean"] <= s["hi"]
        assert s["lo"] - 0.03 < k / (n - 1) < s["hi"] + 0.03


def test_bootstrap_and_paired_comparison():
    rng = np.random.default_rng(1)
    ci = bootstrap_ci(rng.normal(0.5, 0.1, 400), n_boot=500)
    assert ci["lo"] < 0.5 < ci["hi"] and ci["hi"] - ci["lo"] < 0.04 and ci["n"] == 400
    base = rng.random(100)
    better = paired_bootstrap(base + 0.05 + rng.normal(0, 0.02, 100), base, names=("new", "old"), metric="m")
    assert better.a_better and not better.b_better and better.lo > 0
    same = paired_bootstrap(base + rng.normal(0, 0.02, 100), base)
    assert not same.a_better and same.lo < 0 < same.hi
    with_nan = paired_bootstrap(np.array([1.0, np.nan, 2.0]), np.array([0.0, 1.0, np.nan]))
    assert with_nan.n == 1


def test_cluster_bootstrap_resamples_whole_clusters():
    # the vectorised resample means equal a plain loop over the same cluster draws (a differential check)
    from musim.models.bootstrap import _cluster_means

    rng = np.random.default_rng(5)
    v = rng.random(30)
    v[[3, 17]] = np.nan
    clusters = rng.integers(0, 7, 30)
    means = _cluster_means(v, clusters, 200, seed=4)
    labels = np.unique(clusters)
    draws = np.random.default_rng([4, 0xC1A5]).integers(0, labels.size, size=(200, labels.size))
    for got, drawn in zip(means, draws, strict=True):
        picked = np.concatenate([v[clusters == labels[c]] for c in drawn])
        assert got == pytest.approx(np.nanmean(picked))
    # one cluster: every resample is that cluster, the interval is its mean; a constant per cluster and two
    # clusters: the interval spans the two values (tracks alone would say the mean is known to +-0.01)
    one = bootstrap_ci(np.array([0.2, 0.4, 0.9]), clusters=np.array([1, 1, 1]), n_boot=100)
    assert one["lo"] == one["hi"] == pytest.approx(0.5) and one["clusters"] == 1 and one["n"] == 3
    values = np.r_[np.full(50, 0.9), np.full(50, 0.5)]
    two = bootstrap_ci(values, clusters=np.r_[np.zeros(50), np.ones(50)], n_boot=500)
    assert two["lo"] == pytest.approx(0.5) and two["hi"] == pytest.approx(0.9) and two["clusters"] == 2
    tracks = bootstrap_ci(values, n_boot=500)
    assert tracks["hi"] - tracks["lo"] < 0.15
    # the paired comparison resamples the clusters of the pairs both define; its clusters must match the values
    a, b = np.r_[values, np.nan], np.r_[values - 0.05, 0.0]
    cmp = paired_bootstrap(a, b, clusters=np.r_[np.zeros(50), np.ones(50), 2])
    assert cmp.n == 100 and cmp.diff == pytest.approx(0.05) and cmp.a_better
    with pytest.raises(ParameterError, match="one cluster per paired value"):
        paired_bootstrap(a, b, clusters=np.zeros(3))


def test_scorers_artist_mean_embedding_pixel_popularity():
    owner = np.array([0, 0, 1])
    clip_scores = np.array([[1.0, 2, 3], [4, 5, 6], [7, 8, 9]])
    assert np.allclose(artist_mean(clip_scores, owner, 2), [[3.0, 4.5], [7.5, 9.0]])
    # two communities: clips of a community share an embedding direction / an image
    track_artist = np.repeat([1, 2, 3, 4], 2)
    clips = ClipTable.from_track_artist(track_artist, clips_per_artist=2)
    emb = np.array([[1, 0], [1, 0.1], [0.9, 0], [1, 0], [0, 1], [0.1, 1], [0, 1], [0, 0.9]])
    S = embedding_scorer(emb, clips)(np.array([1, 2, 3, 4]))
    assert S.shape == (4, 4) and S[0, 1] > 0.95 and S[0, 2] < 0.2 and np.allclose(S, S.T)
    x = np.zeros((8, 4, 3), dtype=np.float16)
    x[4:] = -40
    P = pixel_scorer(x, clips)(np.array([1, 2, 3, 4]))
    assert P[0, 1] == 0 and P[0, 2] < P[0, 1] and P[2, 3] == 0
    pop = popularity_scorer({1: 10, 2: 1000, 3: 100})(np.array([1, 2, 3]))
    assert np.argmax(pop[0, [1, 2]]) == 0  # the more popular candidate first


def test_a_constant_scorer_is_at_chance_not_rewarded_by_the_truths_tie_order():
    """Ties in the truth and in the predictions were broken by one permutation, so a scorer with tied outputs
    "found" the zero-target artists the truth's top-n was padded with: a constant scorer had precision@3 0.72
    and precision@5 0.86 where chance is 0.16 and 0.26."""
    from musim.models.evaluate import evaluate

    t = 20
    truth = np.zeros((t, t))
    for a in range(0, t, 2):  # each artist has exactly one co-listened partner
        truth[a, a + 1] = truth[a + 1, a] = 0.5
    report = evaluate({"constant": np.ones((t, t))}, truth, np.arange(t), n_boot=50)
    for n, before in ((3, 0.72), (5, 0.86)):  # chance: n / (t - 1), 0.16 and 0.26
        assert report.summary["constant"][f"precision@{n}"]["mean"] < min(before, n / (t - 1) + 0.2)


def test_a_column_constant_up_to_rounding_z_scores_to_zero():
    """One stored float32 value, and the same value one float32 step away: what rounding leaves of a constant
    descriptor. Divided by its deviation (3e-8) it became a column of +-1 beside the informative ones."""
    from musim.models.evaluate import column_stats
    from musim.models.label_baselines import standardized

    x = np.float32(-0.18814328)
    v = np.random.default_rng(0).normal(size=(200, 3))
    v[:, 1] = np.where(np.arange(200) % 2, x, np.nextafter(x, np.float32(0)))
    mean, sd, constant = column_stats(v)
    assert constant.tolist() == [False, True, False] and sd[1] == 1.0 and mean[1] == pytest.approx(float(x))
    z = standardized(v)
    assert np.abs(z[:, 1]).max() < 1e-6 and z[:, 0].std() == pytest.approx(1.0, rel=1e-5)
