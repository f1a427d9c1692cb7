"""Champion/challenger promotion: whether a registered version replaces its family's champion, recorded in the
registry and in the model cards (the rules: :mod:`musim.models.registry`'s docstring and the README's Models).

A challenger is promoted only when its evaluation has enough evidence, it beats every baseline of the same
evaluation on the primary metric, and the confidence interval of its paired difference to the champion, on the
queries whose artist the champion never trained on, is above 0.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from musim import sql, warehouse
from musim.config import get_settings
from musim.errors import MusimError, NotFoundError, ParameterError, StorageError
from musim.models import card as cards
from musim.models import registry
from musim.models.constants import ARCHIVED, BASELINES, CARD_FILE, CHAMPION
from musim.models.fairness import FairQueries
from musim.storage import ObjectStore

__all__ = ["CONFIDENCE_RANGE", "FairQueries", "PromotionDecision", "check_confidence", "fair_queries", "promote",
           "write_card_section"]

#: The levels a promotion's CI (``confidence``, ``musim models promote --confidence``) may have, bounds included. At
#: least 0.5: a narrower interval holds less than half the bootstrap's differences, and its lower bound above 0
#: would promote on noise (0.01 promoted any challenger ahead by a hair). At most 0.995: the default 2,000 resamples
#: (``n_boot``) then leave 5 in each tail (fewer make the bound a single draw; a level of 1 is no interval at all).
CONFIDENCE_RANGE = (0.5, 0.995)
#: The resamples each tail of the interval holds at the least (:data:`CONFIDENCE_RANGE` at the default ``n_boot``).
MIN_TAIL_RESAMPLES = 5


def check_confidence(confidence: float, *, n_boot: int = 2000) -> float:
    """``confidence``, a promotion's CI level, if it is within :data:`CONFIDENCE_RANGE` and leaves
    :data:`MIN_TAIL_RESAMPLES` of ``n_boot`` resamples in each tail; else one :class:`~musim.errors.ParameterError`
    line saying what it may be (NaN, 0, 1 and 1.5 included)."""
    lo, hi = CONFIDENCE_RANGE
    value = float(confidence)
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ParameterError(f"a promotion's confidence (--confidence) must be between {lo:g} and {hi:g}, got "
                             f"{confidence!r}: it is the level of the paired difference's CI (default 0.95)")
    if (1 - value) / 2 * n_boot < MIN_TAIL_RESAMPLES:
        raise ParameterError(f"a confidence of {value:g} leaves fewer than {MIN_TAIL_RESAMPLES} of {n_boot:,} "
                             "bootstrap resamples in each tail of the CI: lower it, or resample more (n_boot)")
    return value


def fair_queries(con: duckdb.DuckDBPyConnection, other: registry.ModelEntry, entry: registry.ModelEntry,
                 queries: Sequence[int]) -> FairQueries:
    """The ``queries`` of ``entry``'s evaluation whose artist ``other`` never trained on (or ``entry`` trained on as
    well: both heard it, as families trained on every track's audio do). A version whose training artists are not
    recorded is known not to have trained on its own test artists only (:func:`musim.models.fairness.unseen_queries`,
    the rule the model card's tables use too)."""
    clusters = registry.query_clusters(con, entry.test_set_id)
    return registry.unseen_by(con, other, {int(q): clusters.get(int(q), int(q)) for q in queries},
                              registry.training_artists(con, entry.version) or set())


@dataclass(frozen=True)
class PromotionDecision:
    """The outcome of :func:`promote`. ``left_out``: test artists left out of the comparison with the champion
    because it trained on them (:func:`fair_queries`)."""

    version: str
    against: str | None
    metric: str
    diff: float | None
    lo: float | None
    hi: float | None
    n_queries: int
    confidence: float
    promoted: bool
    forced: bool
    reason: str
    status: str
    left_out: int = 0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _nan_none(x: float | None) -> float | None:
    return None if x is None or np.isnan(x) else float(x)


def _too_few(n_artists: int, n_queries: int, min_test_artists: int, min_queries: int) -> bool:
    return n_artists < min_test_artists or n_queries < min_queries


def _evidence(con: duckdb.DuckDBPyConnection, entry: registry.ModelEntry, metric: str, n_queries: int,
              min_test_artists: int, min_queries: int) -> tuple[str | None, str | None]:
    """Why the evaluation of ``entry`` cannot decide a promotion (too few test artists or queries, or a baseline of
    the same evaluation at least as good on ``metric``), or None; and the baseline that blocked it (the best of
    those ahead), or None."""
    n_test = sql.query(con, "models/registry_test_set_size.sql", test_set_id=entry.test_set_id).fetchone()[0]
    if _too_few(n_test, n_queries, min_test_artists, min_queries):
        if registry.query_clusters(con, entry.test_set_id):  # by artist identity: every artist is a test artist
            more = ([f"{min_test_artists - n_test} more artists (two tracks or more each)"]
                    if n_test < min_test_artists else []) + ([f"{min_queries - n_queries} more tracks of such "
                                                              "artists"] if n_queries < min_queries else [])
            return (f"too little evidence: {n_test} test artists and {n_queries} query tracks (at least "
                    f"{min_test_artists} and {min_queries}); judged by artist identity, every artist with two tracks "
                    f"or more is a test artist already: add audio for {' and '.join(more)}, or lower "
                    "MUSIM_PROMOTION_MIN_TEST_ARTISTS / MUSIM_PROMOTION_MIN_QUERIES"), None
        return (f"too little evidence: {n_test} test artists and {n_queries} queries (at least {min_test_artists} "
                f"and {min_queries}: add artists with audio, raise test_share, or lower "
                "MUSIM_PROMOTION_MIN_TEST_ARTISTS / MUSIM_PROMOTION_MIN_QUERIES)"), None
    own = (entry.metrics.get(registry.MODEL_SCORER) or {}).get(metric) or {}
    ahead = [(b, (entry.metrics.get(b) or {}).get(metric, {}).get("mean")) for b in BASELINES]
    ahead = [(b, m) for b, m in ahead if m is not None and own.get("mean") is not None and m >= own["mean"]]
    if ahead:
        return "a baseline is at least as good on " + metric + ": " + ", ".join(
            f"{b} {m:.4f} vs {own['mean']:.4f}" for b, m in ahead), max(ahead, key=lambda bm: bm[1])[0]
    return None, None


def _unseen_evidence(fair: FairQueries, entry: registry.ModelEntry, against: str, min_test_artists: int,
                     min_queries: int) -> tuple[str, str | None]:
    """How the comparison with the champion ``against`` was restricted (a phrase for the reason, empty when nothing
    was left out), and why it cannot decide (too few queries it never trained on), or None."""
    if not fair.left_out:
        return "", None
    were = fair.left_out_phrase()
    where = (f" over the {len(fair.queries)} queries of {fair.artists} artists {against} never trained on "
             f"({len(fair.left_out)} of the test artists {were})")
    if not _too_few(fair.artists, len(fair.queries), min_test_artists, min_queries):
        return where, None
    return where, (f"cannot decide against {against}: {len(fair.left_out)} of the test artists of {entry.version} "
                   f"{were}, leaving {fair.artists} artists and {len(fair.queries)} "
                   f"queries it never trained on (at least {min_test_artists} and {min_queries}): train "
                   f"{entry.version}'s family on {against}'s split (the same --seed and --test-share) to compare "
                   "them fairly")


def promote(con: duckdb.DuckDBPyConnection, version: str, *, metric: str | None = None, confidence: float = 0.95,
            n_boot: int = 2000, seed: int = 0, force: bool = False, baseline: str = "random",
            min_test_artists: int | None = None, min_queries: int | None = None,
            store: ObjectStore | None = None) -> PromotionDecision:
    """Decide whether ``version`` replaces its family's champion (see the module docstring); record it in the
    registry and in the Promotion section of the model cards (``version``'s, and the archived champion's).

    A challenger is promoted only when its evaluation has enough evidence (``min_test_artists`` test artists
    and ``min_queries`` queries; default from the settings, see
    :data:`~musim.models.constants.PROMOTION_MIN_TEST_ARTISTS`), it beats every baseline of the same evaluation
    on the metric, and the CI of its paired difference to the champion (the ``baseline`` for a family's first
    model) is above 0. The champion is compared on the queries whose artist it never trained on
    (:func:`fair_queries`), and as many of them are needed as of the whole evaluation.

    Parameters
    ----------
    metric : the metric compared (default: the version's primary metric: nDCG against co-listening, auc by artist
        identity)
    confidence, n_boot, seed : the paired bootstrap of the per-query differences (``confidence`` within
        :data:`CONFIDENCE_RANGE`, :func:`check_confidence`)
    force : promote whatever the comparison says (recorded as forced)
    baseline : what the first model of a family must beat beyond the CI (a scorer of its own evaluation)
    store : where the model cards are (default: the configured object store)
    """
    check_confidence(confidence, n_boot=n_boot)
    settings = get_settings()
    min_test_artists = settings.models.promotion_min_test_artists if min_test_artists is None else min_test_artists
    min_queries = settings.models.promotion_min_queries if min_queries is None else min_queries
    entry = registry.get_model(con, version)
    metric = metric or entry.primary_metric
    current = registry.champion(con, entry.family)
    if entry.status == CHAMPION:
        return PromotionDecision(version, None, metric, None, None, None, 0, confidence, False, force,
                                 "already the champion", CHAMPION)
    a = registry.query_values(con, version, registry.MODEL_SCORER, metric)
    if not a:
        raise NotFoundError(f"{version} has no per-query values of {metric!r}; metrics: "
                            f"{', '.join(sorted(entry.metrics.get(registry.MODEL_SCORER) or {}))}")
    b: dict[int, float] | None
    where, unfair, left_out = "", None, 0
    if current is None:
        against = baseline
        b = registry.query_values(con, version, baseline, metric) or None
        missing = f"the evaluation of {version} has no {baseline!r} baseline"
    else:
        against = current.version
        b = registry.query_values(con, version, current.version, metric) or None
        if b is None and registry.same_evaluation(current, entry):
            b = registry.query_values(con, current.version, registry.MODEL_SCORER, metric) or None
        missing = (f"champion {current.version} was not evaluated on the test artists of {version} against the "
                   f"same truth (test sets {current.test_set_id} vs {entry.test_set_id}, dumps "
                   f"{(current.dump_id or '-')[:12]} vs {(entry.dump_id or '-')[:12]}, targets "
                   f"{current.target_metric} vs {entry.target_metric}): evaluate both in one run")
        if b is not None:
            both = [q for q in sorted(set(a) & set(b)) if not (np.isnan(a[q]) or np.isnan(b[q]))]
            fair = fair_queries(con, current, entry, both)
            b = {q: b[q] for q in fair.queries}
            left_out = len(fair.left_out)
            where, unfair = _unseen_evidence(fair, entry, against, min_test_artists, min_queries)
    weak, blocker = _evidence(con, entry, metric, len(a), min_test_artists, min_queries)
    weak = weak or unfair
    if blocker is not None and (not force or current is None):
        # the baseline ahead decided: the decision is recorded against it (a forced promotion that replaces a
        # champion stays recorded against that champion, with the artists its comparison left out)
        against, b, where, left_out = blocker, registry.query_values(con, version, blocker, metric) or None, "", 0
    cmp = None
    if b is not None:
        cmp = registry.compare_values(con, entry.test_set_id, a, b, names=(version, against), metric=metric, n_boot=n_boot,
                             confidence=confidence, seed=seed)
    if weak is not None:
        promoted, reason = force, ("forced; " if force else "not promoted: ") + weak
    elif cmp is None:
        promoted, reason = force, ("forced; " if force else "") + missing
    elif cmp.a_better:
        promoted = True
        reason = (f"beats {against} on {metric} by {cmp.diff:+.4f} ({confidence:.0%} CI [{cmp.lo:+.4f}, "
                  f"{cmp.hi:+.4f}]){where}")
    else:
        promoted = force
        reason = (("forced; " if force else "") + f"does not beat {against} on {metric} beyond the CI: "
                  f"{cmp.diff:+.4f} ({confidence:.0%} CI [{cmp.lo:+.4f}, {cmp.hi:+.4f}]){where}"
                  if cmp.n else ("forced; " if force else "") + f"no query where both {version} and {against} "
                  f"have a value of {metric}")
    forced = force and not (weak is None and cmp is not None and cmp.a_better)
    now = dt.datetime.now(dt.UTC)
    with warehouse.transaction(con):
        if promoted:
            if current is not None:
                sql.run(con, "models/registry_set_status.sql", status=ARCHIVED, status_at=now,
                        version=current.version)
            sql.run(con, "models/registry_set_status.sql", status=CHAMPION, status_at=now, version=version)
        sql.run(con, "models/registry_promotion.sql", decided_at=now, family=entry.family, version=version,
                against=against, metric=metric, diff=_nan_none(cmp.diff) if cmp else None,
                lo=_nan_none(cmp.lo) if cmp else None, hi=_nan_none(cmp.hi) if cmp else None, n=cmp.n if cmp else 0,
                confidence=confidence, promoted=promoted, forced=forced, reason=reason)
        # the cards before the commit: a card that cannot be rewritten leaves the decision unrecorded, to be retried
        _write_promotion_cards(con, store, registry.get_model(con, version),
                               *([registry.get_model(con, current.version)] if promoted and current is not None else []),
                               replaced_by=version)
    return PromotionDecision(version, against, metric, _nan_none(cmp.diff) if cmp else None,
                             _nan_none(cmp.lo) if cmp else None, _nan_none(cmp.hi) if cmp else None,
                             cmp.n if cmp else 0, confidence, promoted, forced, reason,
                             CHAMPION if promoted else entry.status, left_out)


def write_card_section(store: ObjectStore, entry: registry.ModelEntry, section: str) -> None:
    """Put ``section`` (markdown starting with its ``## `` heading) into the version's model card, replacing the
    section of that heading (:func:`musim.models.card.with_section`); the whole new card replaces the object."""
    key = entry.key(CARD_FILE)
    card = store.get_bytes(key).decode()
    store.put_bytes(key, cards.with_section(card, section).encode(), content_type="text/markdown")


def _write_promotion_cards(con: duckdb.DuckDBPyConnection, store: ObjectStore | None, *entries: registry.ModelEntry,
                           replaced_by: str | None = None) -> None:
    """Rewrite the Promotion section of each entry's card from the registry as ``con`` sees it (its status and every
    decision on it; ``replaced_by``: the champion that archived an archived entry). A card that cannot be rewritten
    is a :class:`StorageError` (raised inside the decision's transaction, it records nothing)."""
    from musim.storage import open_store

    store = store or open_store()
    for e in entries:
        decisions = [d for d in registry.promotions(con, family=e.family) if d["version"] == e.version]
        section = cards.promotion_section(status=e.status, since=e.status_at, decisions=decisions,
                                          replaced_by=replaced_by if e.status == ARCHIVED else None)
        try:
            write_card_section(store, e, section)
        except NotFoundError:  # no store outage: waiting would not help ("once the object store is reachable")
            raise StorageError(f"the model card of {e.version} ({e.key(CARD_FILE)} in {store.root_url}) is missing, "
                               "so the decision was not recorded: restore the version's folder from a backup of the "
                               "object store, then promote again") from None
        except (MusimError, OSError) as exc:
            raise StorageError(f"the model card of {e.version} ({e.key(CARD_FILE)} in {store.root_url}) could not "
                               f"be rewritten ({exc}), so the decision was not recorded: promote again once the "
                               "object store is reachable") from None
