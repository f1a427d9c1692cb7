"""The model registry: versions in the object store and the warehouse, and champion/challenger promotion.

Layout: ``models/<family>/<version>/`` holds ``model.keras``, ``metrics.json`` (the whole evaluation,
per-query values included), ``card.md`` and ``curves.png``; the warehouse (migration 007) holds
``model_registry`` (one row per version), ``model_test_artist``, ``model_eval_query`` (per-query values of
every scorer) and ``model_promotion`` (every decision); ``model_training_artist`` (migration 017) the artists each
version trained on. Every decision also rewrites the Promotion section of the card.

Versions are ``<family>-<n>`` (n = 1, 2, ... per family). A new version is a **challenger**. It becomes the
**champion** only if it beats the current champion *on the same test artists* beyond the confidence
interval of the difference: a paired bootstrap over query artists on the primary metric (default
nDCG@10) whose lower bound is above 0 (where the queries are tracks, an evaluation by artist identity, whole
artists are resampled: ``model_query_cluster``, migration 016). The champion's values come from the challenger's own evaluation
run when the champion was re-scored there (scorer named by its version: what the training pipeline
does), else from the champion's stored evaluation if its test set is identical; otherwise the
challenger stays a challenger, with the reason recorded. The champion is compared only on the queries whose artist
it never trained on (``model_training_artist``, migration 017; artists the challenger trained on too stay: both
heard them), and when too few such queries remain the decision says it cannot decide: a champion trained on
another split, re-scored on the challenger's test artists, is partly scored on its own training artists (ndcg@10
0.937 there against 0.873 on its held-out artists). The first model of a family must beat the
``random`` baseline of its own run the same way. Two more conditions, both stated in the decision's reason
when they fail: the evaluation has enough evidence (at least ``MUSIM_PROMOTION_MIN_TEST_ARTISTS`` test artists
and ``MUSIM_PROMOTION_MIN_QUERIES`` queries, 10 each by default), and the challenger beats every baseline of
the same evaluation on the metric (its mean above theirs). The old champion is archived.

This module needs no TensorFlow: it stores a ``.keras`` file it is given.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from musim import sql, warehouse
from musim.config import get_settings
from musim.errors import MusimError, NotFoundError, ParameterError, StorageError
from musim.jsonable import json_safe
from musim.models import card as cards
from musim.models.constants import (
    ARCHIVED,
    BASELINES,
    CARD_FILE,
    CHALLENGER,
    CHAMPION,
    CURVES_FILE,
    FAMILY_NAMES,
    METRICS_FILE,
    MODEL_FILE,
    MODELS_PREFIX,
    PRIMARY_METRIC,
)
from musim.models.evaluate import Comparison, EvaluationReport, paired_bootstrap
from musim.storage import DamagedObject, ObjectStore

__all__ = [
    "ModelEntry",
    "PromotionDecision",
    "champion",
    "compare_values",
    "fetch_model_file",
    "fair_queries",
    "get_model",
    "list_models",
    "object_prefix",
    "promote",
    "promotions",
    "query_values",
    "recent_versions",
    "register_model",
    "test_artists",
    "training_artists",
    "write_card_section",
]

MODEL_SCORER = "model"


@dataclass(frozen=True)
class ModelEntry:
    """One row of ``model_registry``."""

    version: str
    family: str
    seq: int
    run_id: str | None
    status: str
    params: dict[str, Any]
    feature_service: str | None
    dump_id: str | None
    snapshot_id: str | None
    target_metric: str
    test_set_id: str
    primary_metric: str
    metrics: dict[str, Any]
    training: dict[str, Any] | None
    object_prefix: str
    created_at: dt.datetime
    status_at: dt.datetime

    def key(self, name: str) -> str:
        """Object key of one of its files (``model.keras``, ``metrics.json``, ...)."""
        return f"{self.object_prefix}{name}"

    def score(self, metric: str | None = None, scorer: str = MODEL_SCORER) -> dict[str, float] | None:
        return (self.metrics.get(scorer) or {}).get(metric or self.primary_metric)

    def to_json(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in self.__dict__.items()}


def evaluation_ground(entry: ModelEntry) -> tuple[str, str | None, str]:
    """What an entry's stored per-query values were measured on: its test artists and its ground truth (dump and
    target metric). Equal test artists alone are not enough: the same model scored against another dump's
    co-listening or another target "beat" itself by +0.38."""
    return entry.test_set_id, entry.dump_id, entry.target_metric


def same_evaluation(a: ModelEntry, b: ModelEntry) -> bool:
    """Whether the stored per-query values of ``a`` and ``b`` can be paired (:func:`evaluation_ground`)."""
    return evaluation_ground(a) == evaluation_ground(b)


def _entry(row: Sequence[Any]) -> ModelEntry:
    vals = list(row)
    for i in (5, 12, 13):
        vals[i] = json.loads(vals[i]) if isinstance(vals[i], str) else vals[i]
    return ModelEntry(*vals)


def object_prefix(family: str, version: str) -> str:
    return f"{MODELS_PREFIX}/{family}/{version}/"


def list_models(con: duckdb.DuckDBPyConnection, *, family: str | None = None,
                status: str | None = None) -> list[ModelEntry]:
    """Registered versions, newest first."""
    rows = sql.query(con, "models/registry_list.sql", family=family, status=status).fetchall()
    return [_entry(r) for r in rows]


def recent_versions(con: duckdb.DuckDBPyConnection, *, family: str | None = None) -> list[str]:
    """The ten most recently registered versions (of ``family`` if given), newest first: what a "not found"
    message names."""
    return [r[0] for r in sql.query(con, "models/registry_recent_versions.sql", family=family).fetchall()]


def get_model(con: duckdb.DuckDBPyConnection, version: str) -> ModelEntry:
    """A version by name; ``<family>:champion`` (e.g. ``siamese:champion``) names a family's champion."""
    if version.endswith(":champion"):
        family = version.split(":", 1)[0]
        if family not in FAMILY_NAMES:
            raise NotFoundError(f"no model family {family!r} in {version!r}; families: {', '.join(FAMILY_NAMES)}")
        found = champion(con, family)
        if found is None:
            versions = recent_versions(con, family=family)
            named = f"; its versions: {', '.join(versions)} (give one of them by name instead)" if versions else ""
            raise NotFoundError(f"family {family!r} has no champion yet{named}")
        return found
    row = sql.query(con, "models/registry_get.sql", version=version).fetchone()
    if row is None:
        known = recent_versions(con)
        raise NotFoundError(f"no model version {version!r}; recent: {', '.join(known) or 'none registered'}")
    return _entry(row)


def champion(con: duckdb.DuckDBPyConnection, family: str) -> ModelEntry | None:
    """The family's champion, if it has one."""
    row = sql.query(con, "models/registry_champion.sql", family=family).fetchone()
    return None if row is None else _entry(row)


def query_values(con: duckdb.DuckDBPyConnection, version: str, scorer: str, metric: str) -> dict[int, float]:
    """Per-query values ``{artist_id: value}`` (NaN where undefined) of a scorer in a version's evaluation."""
    rows = sql.query(con, "models/registry_query_values.sql", version=version, scorer=scorer, metric=metric).fetchall()
    return {int(a): (np.nan if v is None else float(v)) for a, v in rows}


def _query_clusters(con: duckdb.DuckDBPyConnection, test_set_id: str) -> dict[int, int]:
    """``{query: artist}`` of a test set whose queries are tracks (an evaluation by artist identity); empty where
    the queries are the artists themselves."""
    return {int(q): int(c) for q, c in sql.query(con, "models/registry_query_clusters.sql",
                                                 test_set_id=test_set_id).fetchall()}


def compare_values(con: duckdb.DuckDBPyConnection, test_set_id: str, a: Mapping[int, float], b: Mapping[int, float],
                   *, names: tuple[str, str], metric: str, n_boot: int = 2000, confidence: float = 0.95,
                   seed: int = 0) -> Comparison:
    """Paired bootstrap of ``a - b`` (per-query values, :func:`query_values`) over their common queries of the test
    set ``test_set_id``, resampling whole clusters where its queries have them (tracks by artist)."""
    common = sorted(set(a) & set(b))
    clusters = _query_clusters(con, test_set_id)
    groups = np.array([clusters.get(q, -1 - q) for q in common], dtype=np.int64) if clusters else None
    return paired_bootstrap(np.array([a[q] for q in common]), np.array([b[q] for q in common]), names=names,
                            metric=metric, n_boot=n_boot, confidence=confidence, seed=seed, clusters=groups)


def test_artists(con: duckdb.DuckDBPyConnection, test_set_id: str) -> set[int]:
    """The artists of a test set."""
    return {int(r[0]) for r in sql.query(con, "models/registry_test_set_artists.sql",
                                         test_set_id=test_set_id).fetchall()}


def training_artists(con: duckdb.DuckDBPyConnection, version: str) -> set[int] | None:
    """The artists ``version`` trained on (validation included); None where they were not recorded (a version
    registered before migration 017)."""
    rows = sql.query(con, "models/registry_training_artists.sql", version=version).fetchall()
    return {int(r[0]) for r in rows} or None


@dataclass(frozen=True)
class FairQueries:
    """The queries of a challenger's evaluation on which another version (its champion) can be compared with it:
    ``queries``, and ``left_out``, the test artists the other version trained on (and the challenger did not)."""

    queries: list[int]
    left_out: set[int]
    artists: int                 # distinct artists of ``queries``
    recorded: bool               # whether the other version's training artists were recorded (else: its test set)


def fair_queries(con: duckdb.DuckDBPyConnection, other: ModelEntry, entry: ModelEntry,
                 queries: Sequence[int]) -> FairQueries:
    """The ``queries`` of ``entry``'s evaluation whose artist ``other`` never trained on (or ``entry`` trained on as
    well: both heard it, as families trained on every track's audio do). A version whose training artists are not
    recorded is known not to have trained on its own test artists only."""
    clusters = _query_clusters(con, entry.test_set_id)
    artist_of = {int(q): clusters.get(int(q), int(q)) for q in queries}
    mine = training_artists(con, entry.version) or set()
    theirs = training_artists(con, other.version)
    if theirs is None:
        own_test = test_artists(con, other.test_set_id)
        left_out = {a for a in artist_of.values() if a not in own_test and a not in mine}
    else:
        left_out = {a for a in artist_of.values() if a in theirs and a not in mine}
    kept = [q for q, a in artist_of.items() if a not in left_out]
    return FairQueries(kept, left_out, len({artist_of[q] for q in kept}), theirs is not None)


def promotions(con: duckdb.DuckDBPyConnection, *, family: str | None = None) -> list[dict[str, Any]]:
    """Every promotion decision, newest first."""
    cur = sql.query(con, "models/registry_promotions.sql", family=family)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _artist_names(con: duckdb.DuckDBPyConnection, ids: Sequence[int]) -> dict[int, str]:
    try:
        return {int(a): str(n) for a, n in sql.query(con, "models/registry_artist_names.sql",
                                                    ids=list(map(int, ids))).fetchall()}
    except duckdb.Error:
        return {}


def register_model(con: duckdb.DuckDBPyConnection, store: ObjectStore, *, family: str,
                   model_file: str | os.PathLike[str], report: EvaluationReport, params: Mapping[str, Any],
                   target_metric: str, feature_service: str | None = None, dump_id: str | None = None,
                   snapshot_id: str | None = None, run_id: str | None = None,
                   training: Mapping[str, Any] | None = None, history: Mapping[str, Sequence[float]] | None = None,
                   primary_metric: str = PRIMARY_METRIC, model_scorer: str = MODEL_SCORER,
                   training_artists: Sequence[int] | np.ndarray | None = None) -> ModelEntry:
    """Store a trained model's files and register it as a challenger; return its entry.

    ``report`` is the evaluation run (the model under ``model_scorer`` plus baselines, and the champion
    re-scored under its version if there is one). ``training_artists``: the artists it trained on, validation
    included (:attr:`~musim.models.families.base.Trained.artists`): a later challenger re-scores it only on the
    others (:func:`fair_queries`). With a ``run_id`` already registered, nothing is written and that version is
    returned (a retried task registers once).

    Files are written before the rows, so a registered version always has its files; a crash in
    between leaves objects that the next registration of the family overwrites (same version number).
    """
    if primary_metric not in report.metrics:
        raise ParameterError(f"primary metric {primary_metric!r} is not in the evaluation ({', '.join(report.metrics)})")
    if model_scorer not in report.per_query:
        raise ParameterError(f"the evaluation has no scorer {model_scorer!r} (the model itself)")
    if report.queries.size == 0:
        raise ParameterError(f"the evaluation has no informative query: none of its {report.test_artists.size} test "
                             "artists has co-listeners among the others (more test artists are needed)")
    if run_id is not None:
        row = sql.query(con, "models/registry_version_of_run.sql", run_id=run_id).fetchone()
        if row is not None:
            return get_model(con, row[0])
    seq = int(sql.query(con, "models/registry_next_seq.sql", family=family).fetchone()[0])
    version = f"{family}-{seq}"
    prefix = object_prefix(family, version)
    now = dt.datetime.now(dt.UTC)
    params = dict(params)
    training = dict(training or {})
    metrics_doc = {"version": version, "family": family, "primary_metric": primary_metric,
                   "target_metric": target_metric, "dump_id": dump_id, "snapshot_id": snapshot_id,
                   "feature_service": feature_service, "params": params, "training": training,
                   "history": dict(history or {}), "evaluation": report.to_json(per_query=True),
                   "comparisons": [report.compare(model_scorer, s, primary_metric).to_json()
                                   for s in report.scorers if s != model_scorer]}
    names = _artist_names(con, report.test_artists.tolist())
    card_md = cards.render_card(version=version, family=family, report=report, params=params, training=training,
                                feature_service=feature_service, dump_id=dump_id, snapshot_id=snapshot_id,
                                target_metric=target_metric, primary_metric=primary_metric,
                                model_scorer=model_scorer, artist_names=names, curves=bool(history))
    with tempfile.TemporaryDirectory(prefix="musim-model-") as tmp:
        if history:
            cards.plot_curves(history, Path(tmp) / CURVES_FILE, title=version)
            store.put_file(prefix + CURVES_FILE, Path(tmp) / CURVES_FILE, content_type="image/png")
    store.put_bytes(prefix + METRICS_FILE, json.dumps(json_safe(metrics_doc), indent=1, default=str).encode(),
                    content_type="application/json")
    store.put_bytes(prefix + CARD_FILE, card_md.encode(), content_type="text/markdown")
    store.put_file(prefix + MODEL_FILE, model_file, content_type="application/octet-stream")

    import pandas as pd

    q_rows = [(version, s, m, int(a), None if np.isnan(v) else float(v))
              for s, d in report.per_query.items() for m, vals in d.items()
              for a, v in zip(report.queries.tolist(), vals.tolist(), strict=True)]
    frame = pd.DataFrame(q_rows, columns=["version", "scorer", "metric", "artist_id", "value"])
    summary = json.loads(json.dumps(report.to_json(per_query=False)["summary"]))
    with warehouse.transaction(con):
        sql.run(con, "models/registry_insert.sql", version=version, family=family, seq=seq, run_id=run_id,
                status=CHALLENGER, params=json.dumps(json_safe(params), default=str), feature_service=feature_service,
                dump_id=dump_id, snapshot_id=snapshot_id, target_metric=target_metric,
                test_set_id=report.test_set_id, primary_metric=primary_metric, metrics=json.dumps(summary),
                training=json.dumps(json_safe(training), default=str), object_prefix=prefix, created_at=now,
                status_at=now)
        sql.run(con, "models/registry_test_artists.sql", test_set_id=report.test_set_id,
                artists=report.test_artists.tolist())
        if report.query_clusters is not None:
            sql.run(con, "models/registry_query_clusters_insert.sql", test_set_id=report.test_set_id,
                    queries=report.queries.tolist(), clusters=report.query_clusters.tolist())
        if training_artists is not None and len(training_artists):
            sql.run(con, "models/registry_training_artists_insert.sql", version=version,
                    artists=sorted({int(a) for a in np.asarray(training_artists).tolist()}))
        con.register("models_eval_rows", frame)
        sql.run(con, "models/registry_eval_rows.sql")
        con.unregister("models_eval_rows")
    return get_model(con, version)


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


def _evidence(con: duckdb.DuckDBPyConnection, entry: ModelEntry, metric: str, n_queries: int,
              min_test_artists: int, min_queries: int) -> str | None:
    """Why the evaluation of ``entry`` cannot decide a promotion, or None: too few test artists or queries, or a
    baseline of the same evaluation at least as good on ``metric``."""
    n_test = sql.query(con, "models/registry_test_set_size.sql", test_set_id=entry.test_set_id).fetchone()[0]
    if _too_few(n_test, n_queries, min_test_artists, min_queries):
        return (f"too little evidence: {n_test} test artists and {n_queries} queries (at least {min_test_artists} "
                f"and {min_queries}: add artists with audio, raise test_share, or lower "
                "MUSIM_PROMOTION_MIN_TEST_ARTISTS / MUSIM_PROMOTION_MIN_QUERIES)")
    own = (entry.metrics.get(MODEL_SCORER) or {}).get(metric) or {}
    ahead = [(b, (entry.metrics.get(b) or {}).get(metric, {}).get("mean")) for b in BASELINES]
    ahead = [(b, m) for b, m in ahead if m is not None and own.get("mean") is not None and m >= own["mean"]]
    if ahead:
        return "a baseline is at least as good on " + metric + ": " + ", ".join(
            f"{b} {m:.4f} vs {own['mean']:.4f}" for b, m in ahead)
    return None


def _unseen_evidence(fair: FairQueries, entry: ModelEntry, against: str, min_test_artists: int,
                     min_queries: int) -> tuple[str, str | None]:
    """How the comparison with the champion ``against`` was restricted (a phrase for the reason, empty when nothing
    was left out), and why it cannot decide (too few queries it never trained on), or None."""
    if not fair.left_out:
        return "", None
    were = ("were its training artists" if fair.recorded else "may have been its training artists (they are not "
            "recorded: only its own test artists are known to be unseen)")
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
    metric : the metric compared (default: the version's primary metric, nDCG@10)
    confidence, n_boot, seed : the paired bootstrap of the per-query differences
    force : promote whatever the comparison says (recorded as forced)
    baseline : what the first model of a family must beat beyond the CI (a scorer of its own evaluation)
    store : where the model cards are (default: the configured object store)
    """
    settings = get_settings()
    min_test_artists = settings.models.promotion_min_test_artists if min_test_artists is None else min_test_artists
    min_queries = settings.models.promotion_min_queries if min_queries is None else min_queries
    entry = get_model(con, version)
    metric = metric or entry.primary_metric
    current = champion(con, entry.family)
    if entry.status == CHAMPION:
        return PromotionDecision(version, None, metric, None, None, None, 0, confidence, False, force,
                                 "already the champion", CHAMPION)
    a = query_values(con, version, MODEL_SCORER, metric)
    if not a:
        raise NotFoundError(f"{version} has no per-query values of {metric!r}; metrics: "
                            f"{', '.join(sorted(entry.metrics.get(MODEL_SCORER) or {}))}")
    b: dict[int, float] | None
    where, unfair, left_out = "", None, 0
    if current is None:
        against = baseline
        b = query_values(con, version, baseline, metric) or None
        missing = f"the evaluation of {version} has no {baseline!r} baseline"
    else:
        against = current.version
        b = query_values(con, version, current.version, metric) or None
        if b is None and same_evaluation(current, entry):
            b = query_values(con, current.version, MODEL_SCORER, metric) or None
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
    cmp = None
    if b is not None:
        cmp = compare_values(con, entry.test_set_id, a, b, names=(version, against), metric=metric, n_boot=n_boot,
                             confidence=confidence, seed=seed)
    weak = _evidence(con, entry, metric, len(a), min_test_artists, min_queries) or unfair
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
        _write_promotion_cards(con, store, get_model(con, version),
                               *([get_model(con, current.version)] if promoted and current is not None else []),
                               replaced_by=version)
    return PromotionDecision(version, against, metric, _nan_none(cmp.diff) if cmp else None,
                             _nan_none(cmp.lo) if cmp else None, _nan_none(cmp.hi) if cmp else None,
                             cmp.n if cmp else 0, confidence, promoted, forced, reason,
                             CHAMPION if promoted else entry.status, left_out)


def write_card_section(store: ObjectStore, entry: ModelEntry, section: str) -> None:
    """Put ``section`` (markdown starting with its ``## `` heading) into the version's model card, replacing the
    section of that heading (:func:`musim.models.card.with_section`); the whole new card replaces the object."""
    key = entry.key(CARD_FILE)
    card = store.get_bytes(key).decode()
    store.put_bytes(key, cards.with_section(card, section).encode(), content_type="text/markdown")


def _write_promotion_cards(con: duckdb.DuckDBPyConnection, store: ObjectStore | None, *entries: ModelEntry,
                           replaced_by: str | None = None) -> None:
    """Rewrite the Promotion section of each entry's card from the registry as ``con`` sees it (its status and every
    decision on it; ``replaced_by``: the champion that archived an archived entry). A card that cannot be rewritten
    is a :class:`StorageError` (raised inside the decision's transaction, it records nothing)."""
    from musim.storage import open_store

    store = store or open_store()
    for e in entries:
        decisions = [d for d in promotions(con, family=e.family) if d["version"] == e.version]
        section = cards.promotion_section(status=e.status, since=e.status_at, decisions=decisions,
                                          replaced_by=replaced_by if e.status == ARCHIVED else None)
        try:
            write_card_section(store, e, section)
        except (MusimError, OSError) as exc:
            raise StorageError(f"the model card of {e.version} ({e.key(CARD_FILE)} in {store.root_url}) could not "
                               f"be rewritten ({exc}), so the decision was not recorded: promote again once the "
                               "object store is reachable") from None


def fetch_model_file(store: ObjectStore, entry: ModelEntry, folder: str | os.PathLike[str] | None = None) -> Path:
    """A local copy of the version's ``model.keras`` (cached under ``$MUSIM_HOME/cache/models/<version>/``)."""
    base = Path(folder) if folder is not None else get_settings().home / "cache" / "models"
    path = base / entry.version / MODEL_FILE
    if path.exists() and zipfile.is_zipfile(path):
        return path
    store.download(entry.key(MODEL_FILE), path)  # none yet, or a copy that is not a .keras archive: fetch again
    if not _whole_archive(path):
        path.unlink(missing_ok=True)
        raise DamagedObject(f"the model file of {entry.version} ({entry.key(MODEL_FILE)} in {store.root_url}) is "
                            f"damaged (not a whole .keras archive): train a new version (`musim models train "
                            f"--family {entry.family}`)")
    return path


def _whole_archive(path: Path) -> bool:
    """``path`` is a zip archive (a ``.keras`` file is one) whose every member reads back with its checksum."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error):
        return False
