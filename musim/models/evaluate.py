"""Ranking evaluation on held-out artists, for any model family, with baselines and bootstrap CIs.

A **scorer** is any function ``scorer(artist_ids) -> S`` giving an ``(T, T)`` similarity matrix for the
test artists (higher = more similar; the diagonal is ignored), or such a matrix itself. The siamese
model's scorer is :func:`musim.models.siamese.siamese_scorer`; embedding families (CNN classifier,
autoencoder) use :func:`embedding_scorer` on their per-track embeddings; the baselines are below.

For every test artist q (a *query*), the other test artists are ranked by the scorer and by the ground
truth (the pair targets: co-listening similarity of the chosen metric, 0..1), and compared:

=================  ==========================================================================================
``precision@n``    the origin's "unordered" measure: ``|top_n(pred) ∩ top_n(true)| / n``
``seqmatch@n``     the origin's "edit distance" measure: ``difflib.SequenceMatcher(None, pred[:n],
                   true[:n]).ratio()`` of the two ordered top-n lists (what the CS230 code computed)
``ndcg@n``         nDCG with graded relevance = the true target (linear gain, ``1 / log2(rank + 1)``
                   discount), normalised by the ideal ordering of the truth
``map``            average precision over the whole predicted ranking, relevant = the ``relevant_k`` (10)
                   true nearest artists that have a target above 0; its mean over queries is MAP
``spearman``       Spearman's rho between predicted scores and true targets over all other test artists
=================  ==========================================================================================

at n = 3, 5, 10, 25 (the origin's cut-offs). A cut-off n needs at least n + 2 test artists (with fewer
candidates every ranking shares its whole top n) and gives NaN otherwise. Ties, in the truth (many
pairs have no co-listeners) and in predictions, are broken by one seeded random order, the same for
every scorer. Queries whose targets are all 0 (no co-listeners with any other test artist) carry no
information and are left out (``skipped_queries``).

Uncertainty: **bootstrap over query artists** (resampling the queries with replacement, ``n_boot`` times,
percentile interval), the same resamples for every scorer and metric. :meth:`EvaluationReport.compare`
gives the **paired** bootstrap CI of the mean difference between two scorers on the same queries, which
is what promotion uses (:mod:`musim.models.registry`). Where queries are tracks grouped by artist (an
evaluation by artist identity), whole artists are resampled (``query_clusters``): tracks of one artist are
not independent evidence.

This module needs numpy and scipy only.
"""

from __future__ import annotations

import difflib
import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from musim.errors import ParameterError
from musim.jsonable import json_safe
from musim.models.bootstrap import Comparison, bootstrap_ci, paired_bootstrap, resample_indices
from musim.models.constants import MIN_TEST_ARTISTS, RANK_CUTOFFS, ranking_metrics

__all__ = [
    "EvaluationReport",
    "Scorer",
    "artist_mean",
    "average_precision",
    "column_stats",
    "descriptor_scorer",
    "embedding_scorer",
    "evaluate",
    "metric_names",
    "ndcg_at",
    "pixel_scorer",
    "popularity_scorer",
    "precision_at",
    "random_scorer",
    "sequence_ratio_at",
    "spearman",
]

Scorer = Callable[[np.ndarray], np.ndarray]


# -- metrics of one query --------------------------------------------------------------------------------

def precision_at(pred: Sequence[Any], true: Sequence[Any], n: int) -> float:
    """Share of the true top ``n`` found in the predicted top ``n`` (the origin's unordered overlap)."""
    return len(set(list(pred)[:n]) & set(list(true)[:n])) / n


def sequence_ratio_at(pred: Sequence[Any], true: Sequence[Any], n: int) -> float:
    """``difflib.SequenceMatcher(None, pred[:n], true[:n]).ratio()``: 2 M / (len_a + len_b), M = matched items."""
    return difflib.SequenceMatcher(None, list(pred)[:n], list(true)[:n], autojunk=False).ratio()


def ndcg_at(pred: Sequence[Any], relevance: Mapping[Any, float], n: int) -> float:
    """nDCG@n of ranking ``pred`` with graded ``relevance`` (missing = 0); NaN if nothing is relevant."""
    gains = np.array([relevance.get(a, 0.0) for a in list(pred)[:n]], dtype=np.float64)
    ideal = np.sort(np.fromiter(relevance.values(), dtype=np.float64))[::-1][:n]
    disc = 1.0 / np.log2(np.arange(2, n + 2))
    idcg = float(ideal @ disc[:ideal.size])
    if idcg <= 0:
        return math.nan
    return float(gains @ disc[:gains.size]) / idcg


def average_precision(pred: Sequence[Any], relevant: set[Any] | frozenset[Any]) -> float:
    """Mean of precision@k over the ranks k of the relevant items in ``pred``; NaN without relevant items."""
    if not relevant:
        return math.nan
    hits, total = 0, 0.0
    for k, a in enumerate(pred, start=1):
        if a in relevant:
            hits += 1
            total += hits / k
    return total / len(relevant)


def spearman(scores: np.ndarray, truth: np.ndarray) -> float:
    """Spearman's rho (average ranks for ties); NaN if either side is constant."""
    from scipy.stats import spearmanr

    s, t = np.asarray(scores, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    if s.size < 3 or np.ptp(s) == 0 or np.ptp(t) == 0:
        return math.nan
    return float(spearmanr(s, t).statistic)


def metric_names(ns: Sequence[int] = RANK_CUTOFFS) -> list[str]:
    """Metric columns in report order."""
    return list(ranking_metrics(tuple(ns)))


# -- the primary metric ----------------------------------------------------------------------------------

def choose_primary_metric(n_test: int) -> str:
    """The promotion metric of ``"auto"``: nDCG at the largest of 10, 5, 3 that ``n_test`` test artists can
    measure (a cut-off n needs n + 2 of them: the query and at least two beyond the cut-off)."""
    for n in (10, 5, 3):
        if n_test >= n + 2:
            return f"ndcg@{n}"
    raise ParameterError(f"only {n_test} test artists: at least {MIN_TEST_ARTISTS} are needed to rank anything "
                         "(raise test_share or add artists with audio)")


# -- the harness -----------------------------------------------------------------------------------------

@dataclass
class EvaluationReport:
    """Per-query metrics of every scorer on the same test artists, with bootstrap summaries."""

    test_artists: np.ndarray
    queries: np.ndarray
    skipped_queries: list[int]
    metrics: list[str]
    per_query: dict[str, dict[str, np.ndarray]]
    summary: dict[str, dict[str, dict[str, float]]]
    top: dict[str, dict[int, list[int]]] = field(default_factory=dict)
    ns: tuple[int, ...] = RANK_CUTOFFS
    relevant_k: int = 10
    n_boot: int = 1000
    confidence: float = 0.95
    seed: int = 0
    #: What the queries are when they are not the test artists (an evaluation by artist identity: track positions
    #: of this list of tracks): it decides the test set, so equal artists over other tracks are another set.
    set_key: str | None = None
    #: The cluster of each query when queries are not independent (an evaluation by artist identity: each query
    #: track's artist): the bootstrap then resamples whole clusters. None: every query is its own cluster.
    query_clusters: np.ndarray | None = None

    @property
    def scorers(self) -> list[str]:
        return list(self.per_query)

    @property
    def test_set_id(self) -> str:
        what = self.set_key if self.set_key is not None else ",".join(map(str, sorted(self.test_artists.tolist())))
        return hashlib.sha256(what.encode()).hexdigest()[:16]

    def compare(self, a: str, b: str, metric: str, *, n_boot: int | None = None,
                confidence: float | None = None, on: Sequence[int] | None = None) -> Comparison:
        """Paired bootstrap of ``a - b`` on ``metric`` over this report's queries (those in ``on`` when given)."""
        for name in (a, b):
            if name not in self.per_query:
                raise ParameterError(f"no scorer {name!r} in this report; it has {', '.join(self.scorers)}")
        if metric not in self.metrics:
            raise ParameterError(f"unknown metric {metric!r}; one of {', '.join(self.metrics)}")
        keep = self._kept(on)
        return paired_bootstrap(self.per_query[a][metric][keep], self.per_query[b][metric][keep], names=(a, b),
                                metric=metric, n_boot=n_boot or self.n_boot, confidence=confidence or self.confidence,
                                seed=self.seed, clusters=None if self.query_clusters is None else self.query_clusters[keep])

    def summarise(self, scorer: str, metric: str, on: Sequence[int] | None = None) -> dict[str, float]:
        """``{mean, lo, hi, n}`` of a scorer on ``metric`` over the queries in ``on`` (all: :attr:`summary`'s)."""
        if on is None:
            return self.summary[scorer][metric]
        keep = self._kept(on)
        return bootstrap_ci(self.per_query[scorer][metric][keep], n_boot=self.n_boot, confidence=self.confidence,
                            seed=self.seed, clusters=None if self.query_clusters is None else self.query_clusters[keep])

    def _kept(self, on: Sequence[int] | None) -> np.ndarray:
        """Which of :attr:`queries` are in ``on`` (a boolean mask; all of them when ``on`` is None)."""
        if on is None:
            return np.ones(self.queries.size, dtype=bool)
        return np.isin(self.queries, np.asarray(list(on), dtype=np.int64))

    def table(self, metrics: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """One row per (scorer, metric): ``{scorer, metric, mean, lo, hi, n}``."""
        rows = []
        for name in self.scorers:
            for m in metrics or self.metrics:
                rows.append({"scorer": name, "metric": m, **self.summary[name][m]})
        return rows

    def to_json(self, *, per_query: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "test_artists": self.test_artists.tolist(), "test_set_id": self.test_set_id,
            "queries": self.queries.tolist(), "skipped_queries": self.skipped_queries, "metrics": self.metrics,
            "ns": list(self.ns), "relevant_k": self.relevant_k, "n_boot": self.n_boot,
            "confidence": self.confidence, "seed": self.seed, "set_key": self.set_key,
            "query_clusters": None if self.query_clusters is None else self.query_clusters.tolist(),
            "summary": json_safe(self.summary),
            "top": {s: {str(q): v for q, v in t.items()} for s, t in self.top.items()}}
        if per_query:
            out["per_query"] = {s: {m: json_safe(v.tolist()) for m, v in d.items()} for s, d in self.per_query.items()}
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EvaluationReport:
        pq = {s: {m: np.array([math.nan if x is None else x for x in v], dtype=np.float64) for m, v in d.items()}
              for s, d in data.get("per_query", {}).items()}
        summ = {s: {m: {k: (math.nan if x is None else x) for k, x in c.items()} for m, c in d.items()}
                for s, d in data["summary"].items()}
        return cls(np.array(data["test_artists"], dtype=np.int64), np.array(data["queries"], dtype=np.int64),
                   list(data["skipped_queries"]), list(data["metrics"]), pq, summ,
                   {s: {int(q): v for q, v in t.items()} for s, t in data.get("top", {}).items()},
                   tuple(data["ns"]), data["relevant_k"], data["n_boot"], data["confidence"], data["seed"],
                   data.get("set_key"),
                   None if data.get("query_clusters") is None else np.asarray(data["query_clusters"], dtype=np.int64))


def _ranking(scores: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """Positions ordered by score descending, ties by ``tiebreak`` ascending."""
    return np.lexsort((tiebreak, -scores))


def evaluate(scorers: Mapping[str, Scorer | np.ndarray], truth: Any, test_artists: Sequence[int] | np.ndarray, *,
             ns: Sequence[int] = RANK_CUTOFFS, relevant_k: int = 10, n_boot: int = 1000,
             confidence: float = 0.95, seed: int = 0, keep_top: int = 10) -> EvaluationReport:
    """Rank the test artists with every scorer and measure against the truth (see the module docstring).

    Parameters
    ----------
    scorers : name -> scorer function ``(artist_ids (T,)) -> (T, T)``, or the (T, T) matrix itself
    truth : :class:`musim.models.data.PairTargets` covering the test artists, or a (T, T) array
    test_artists : the test artist ids (sorted here; scorers receive them sorted)
    ns : cut-offs n
    relevant_k : how many true nearest artists count as relevant for MAP
    n_boot, confidence, seed : the bootstrap over queries
    keep_top : how many predicted neighbours per query to keep in ``report.top`` (examples for the card)
    """
    artists = np.unique(np.asarray(test_artists, dtype=np.int64))
    t = artists.size
    if t < 3:
        raise ParameterError(f"need at least 3 test artists, got {t}")
    T = np.asarray(truth.sub(artists) if hasattr(truth, "sub") else truth, dtype=np.float64)
    if T.shape != (t, t):
        raise ParameterError(f"truth must be ({t}, {t}) for {t} test artists, got {T.shape}")
    rng = np.random.default_rng([seed, 0x7135])
    tiebreak = rng.permutation(t).astype(np.float64)  # orders the truth's ties (e.g. the many zero targets)
    # A scorer's ties are ordered at random, independently of the truth's and per query: with the truth's own
    # order, a constant scorer "found" the zero-target artists the truth's top-n was padded with (precision@3
    # 0.72 against chance 0.16); one order for every query would be one draw, not an average. Seeded by the
    # query, so every scorer meets the same order (and memory stays O(t), not O(t^2)).
    def pred_tiebreak(q: int, o: np.ndarray) -> np.ndarray:
        return np.random.default_rng([seed, 0x7136, q]).random(o.size)
    names = metric_names(ns)
    others = [np.delete(np.arange(t), q) for q in range(t)]
    informative = [q for q in range(t) if np.nanmax(T[q, others[q]]) > 0]
    kept = set(informative)
    skipped = [int(artists[q]) for q in range(t) if q not in kept]
    true_rank: dict[int, np.ndarray] = {}
    for q in informative:
        o = others[q]
        true_rank[q] = o[_ranking(T[q, o], tiebreak[o])]
    drawn = resample_indices(len(informative), n_boot, seed)
    per_query: dict[str, dict[str, np.ndarray]] = {}
    summary: dict[str, dict[str, dict[str, float]]] = {}
    top: dict[str, dict[int, list[int]]] = {}
    for name, scorer in scorers.items():
        S = np.asarray(scorer if isinstance(scorer, np.ndarray) else scorer(artists.copy()), dtype=np.float64)
        if S.shape != (t, t):
            raise ParameterError(f"scorer {name!r} returned shape {S.shape}, expected ({t}, {t})")
        if np.isnan(S[~np.eye(t, dtype=bool)]).any():
            raise ParameterError(f"scorer {name!r} returned NaN similarities")
        vals = {m: np.full(len(informative), math.nan) for m in names}
        top[name] = {}
        for i, q in enumerate(informative):
            o = others[q]
            pred = o[_ranking(S[q, o], pred_tiebreak(q, o))]
            true = true_rank[q]
            pred_ids, true_ids = artists[pred].tolist(), artists[true].tolist()
            rel = {int(artists[j]): float(T[q, j]) for j in o}
            for n in ns:
                if n + 2 > t:
                    continue
                vals[f"precision@{n}"][i] = precision_at(pred_ids, true_ids, n)
                vals[f"seqmatch@{n}"][i] = sequence_ratio_at(pred_ids, true_ids, n)
                vals[f"ndcg@{n}"][i] = ndcg_at(pred_ids, rel, n)
            relevant = {a for a in true_ids[:relevant_k] if rel[a] > 0}
            vals["map"][i] = average_precision(pred_ids, relevant)
            vals["spearman"][i] = spearman(S[q, o], T[q, o])
            top[name][int(artists[q])] = pred_ids[:keep_top]
        per_query[name] = vals
        summary[name] = {m: bootstrap_ci(v, n_boot=n_boot, confidence=confidence, resamples=drawn)
                         for m, v in vals.items()}
    top["truth"] = {int(artists[q]): artists[true_rank[q]].tolist()[:keep_top] for q in informative}
    return EvaluationReport(artists, artists[informative], skipped, names, per_query, summary, top, tuple(ns),
                            relevant_k, n_boot, confidence, seed)


# -- scorers ---------------------------------------------------------------------------------------------

def artist_mean(clip_scores: np.ndarray, owner: np.ndarray, n_artists: int) -> np.ndarray:
    """Mean of a clip x clip matrix over each pair of artists' clips: ``(n_artists, n_artists)``.

    ``owner[m]`` is the artist position (0..n_artists-1) of clip m.
    """
    A = np.zeros((owner.size, n_artists), dtype=np.float64)
    A[np.arange(owner.size), owner] = 1.0
    counts = A.sum(axis=0)
    if np.any(counts == 0):
        raise ParameterError("every artist needs at least one clip")
    sums = A.T @ np.asarray(clip_scores, dtype=np.float64) @ A
    return sums / np.outer(counts, counts)


def _clip_rows(clips: Any, artist_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return clips.flat(artist_ids)


def random_scorer(seed: int = 0) -> Scorer:
    """Uniform random similarities (chance level: precision@n ≈ n / (T - 1))."""

    def scorer(artist_ids: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng([seed, 0x4A4D, len(artist_ids)])
        return rng.random((len(artist_ids), len(artist_ids)))

    return scorer


def popularity_scorer(listeners: Mapping[int, int]) -> Scorer:
    """Rank every query's candidates by their listeners (the same list for everyone, minus the query)."""

    def scorer(artist_ids: np.ndarray) -> np.ndarray:
        pop = np.array([float(listeners.get(int(a), 0)) for a in artist_ids])
        return np.broadcast_to(np.log1p(pop)[None, :], (len(artist_ids), len(artist_ids))).copy()

    return scorer


def pixel_scorer(x: np.ndarray, clips: Any, *, chunk: int = 512) -> Scorer:
    """The origin's baseline: minus the mean Euclidean distance between the artists' spectrogram images.

    Distances of every clip pair (dB images flattened), averaged over the two artists' clips.
    """

    def scorer(artist_ids: np.ndarray) -> np.ndarray:
        rows, owner = _clip_rows(clips, artist_ids)
        order = np.argsort(rows)
        flat = np.empty((rows.size, int(np.prod(x.shape[1:]))), dtype=np.float32)
        flat[order] = np.asarray(x[rows[order]], dtype=np.float32).reshape(rows.size, -1)
        flat64 = flat.astype(np.float64)  # dB products: float32 would lose the small differences
        del flat
        sq = np.einsum("ij,ij->i", flat64, flat64)
        gram = np.empty((rows.size, rows.size), dtype=np.float64)
        for s in range(0, rows.size, chunk):
            gram[s:s + chunk] = flat64[s:s + chunk] @ flat64.T
        d = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * gram, 0.0))
        return -artist_mean(d, owner, len(artist_ids))

    return scorer


#: A column whose standard deviation is below this share of its mean's magnitude is constant: rounding (a float32
#: column of one value has a float32 variance of 8.9e-16, not 0) must not be z-scored into values of ~1e6.
CONSTANT_RTOL = 1e-6


def column_stats(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, standard deviation and constancy of every column of ``(n, d)`` ``vectors``, in float64: a column is
    constant when its deviation is at most :data:`CONSTANT_RTOL` of its mean's magnitude (rounding), and its
    deviation is then 1, so it z-scores to 0. What every z-scoring of descriptors divides by."""
    v = np.asarray(vectors, dtype=np.float64)
    mean, sd = v.mean(axis=0), v.std(axis=0)
    constant = sd <= CONSTANT_RTOL * np.abs(mean)
    return mean, np.where(constant, 1.0, sd), constant


def embedding_scorer(vectors: np.ndarray, clips: Any, *, standardize: bool = False) -> Scorer:
    """Cosine similarity of the artists' mean vectors (per-track embeddings or descriptors).

    ``vectors`` is ``(N, d)``, one row per row of the spectrogram array (what ``clips`` indexes). With
    ``standardize`` each dimension is z-scored over the test artists' clips first (descriptors mix units).
    This is the scorer of the embedding families (CNN classifier, autoencoder) as well.
    """

    def scorer(artist_ids: np.ndarray) -> np.ndarray:
        rows, owner = _clip_rows(clips, artist_ids)
        v = np.asarray(vectors[rows], dtype=np.float64)
        if standardize:
            mean, sd, _ = column_stats(v)
            v = (v - mean) / sd
        A = np.zeros((len(artist_ids), rows.size))
        A[owner, np.arange(rows.size)] = 1.0
        means = (A @ v) / A.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(means, axis=1, keepdims=True)
        unit = means / np.where(norms > 0, norms, 1.0)
        return unit @ unit.T

    return scorer


def descriptor_scorer(descriptors: np.ndarray, clips: Any) -> Scorer:
    """Cosine on handcrafted descriptors (``musim.audio.descriptor_vector`` per track), z-scored per dimension."""
    return embedding_scorer(descriptors, clips, standardize=True)
