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

The decision itself is :func:`musim.models.promotion.promote`. This module needs no TensorFlow: it stores a
``.keras`` file it is given.
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
from musim.errors import NotFoundError, ParameterError
from musim.jsonable import json_safe
from musim.models import card as cards
from musim.models.bootstrap import Comparison, paired_bootstrap
from musim.models.constants import (
    BASELINES,
    CARD_FILE,
    CHALLENGER,
    CURVES_FILE,
    FAMILY_NAMES,
    METRICS_FILE,
    MODEL_FILE,
    MODELS_PREFIX,
    PRIMARY_METRIC,
)
from musim.models.evaluate import EvaluationReport
from musim.models.fairness import FairQueries, unseen_queries
from musim.models.manifests import EMBEDDING_FILE
from musim.storage import DamagedObject, ObjectNotFound, ObjectStore

__all__ = [
    "ModelEntry",
    "champion",
    "compare_values",
    "fetch_model_file",
    "get_model",
    "list_models",
    "object_prefix",
    "promotions",
    "query_clusters",
    "query_values",
    "recent_versions",
    "register_model",
    "rescored_fairly",
    "test_artists",
    "training_artists",
    "unseen_by",
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


def query_clusters(con: duckdb.DuckDBPyConnection, test_set_id: str) -> dict[int, int]:
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
    clusters = query_clusters(con, test_set_id)
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


def unseen_by(con: duckdb.DuckDBPyConnection, other: ModelEntry, artist_of: Mapping[int, int],
              mine: set[int]) -> FairQueries:
    """The queries of an evaluation (``artist_of``: query -> its artist; ``mine``: the artists the evaluated version
    trained on) on which ``other``, re-scored there, is compared fairly: :func:`musim.models.fairness.unseen_queries`
    with ``other``'s recorded training artists (else its own test artists)."""
    theirs = training_artists(con, other.version)
    return unseen_queries(artist_of=artist_of, mine=mine, theirs=theirs,
                          their_test=test_artists(con, other.test_set_id) if theirs is None else set())


def rescored_fairly(con: duckdb.DuckDBPyConnection, report: EvaluationReport, *, model_scorer: str = MODEL_SCORER,
                    mine: Sequence[int] | np.ndarray | None = None) -> dict[str, FairQueries]:
    """For each registered version re-scored in ``report`` (a scorer named by its version: the champion), the queries
    it is compared on fairly (:func:`unseen_by`; ``mine``: the artists the evaluated model trained on), what the
    promotion decision compares and the model card's tables show."""
    candidates = [s for s in report.scorers if s != model_scorer and s not in BASELINES]
    if not candidates:
        return {}
    clusters = report.query_clusters
    artist_of = {int(q): int(q if clusters is None else c)
                 for q, c in zip(report.queries.tolist(), (report.queries if clusters is None else clusters).tolist(),
                                 strict=True)}
    own = {int(a) for a in np.asarray(mine if mine is not None else [], dtype=np.int64).tolist()}
    out = {}
    for s in candidates:
        row = sql.query(con, "models/registry_get.sql", version=s).fetchone()
        if row is not None:
            out[s] = unseen_by(con, _entry(row), artist_of, own)
    return out


def promotions(con: duckdb.DuckDBPyConnection, *, family: str | None = None) -> list[dict[str, Any]]:
    """Every promotion decision, newest first."""
    return sql.rows(con, "models/registry_promotions.sql", family=family)


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
    others (:func:`musim.models.promotion.fair_queries`). With a ``run_id`` already registered, nothing is written and that version is
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
    fair = rescored_fairly(con, report, model_scorer=model_scorer, mine=training_artists)
    metrics_doc = {"version": version, "family": family, "primary_metric": primary_metric,
                   "target_metric": target_metric, "dump_id": dump_id, "snapshot_id": snapshot_id,
                   "feature_service": feature_service, "params": params, "training": training,
                   "history": dict(history or {}), "evaluation": report.to_json(per_query=True),
                   "comparisons": [report.compare(model_scorer, s, primary_metric,
                                                  on=fair[s].queries if s in fair else None).to_json()
                                   for s in report.scorers if s != model_scorer],
                   "fair_queries": {s: {"queries": f.queries, "left_out": sorted(f.left_out), "artists": f.artists,
                                        "recorded": f.recorded} for s, f in fair.items()}}
    names = _artist_names(con, report.test_artists.tolist())
    card_md = cards.render_card(version=version, family=family, report=report, params=params, training=training,
                                feature_service=feature_service, dump_id=dump_id, snapshot_id=snapshot_id,
                                target_metric=target_metric, primary_metric=primary_metric,
                                model_scorer=model_scorer, artist_names=names, curves=bool(history), fair=fair)
    with tempfile.TemporaryDirectory(prefix="musim-model-") as tmp:
        if history:
            cards.plot_curves(history, Path(tmp) / CURVES_FILE, title=version)
            store.put_file(prefix + CURVES_FILE, Path(tmp) / CURVES_FILE, content_type="image/png")
    # a number reused (a crash, a warehouse restored from a backup): the newest-publication manifest of the version
    # that had it is not this one's, which is not published yet (`embed --model` read it as its own)
    store.delete(prefix + EMBEDDING_FILE)
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
    for s, f in fair.items():  # a re-scored version on the queries its promotion compares (what the card shows)
        if f.left_out:
            summary[s] = {m: json_safe({**report.summarise(s, m, on=f.queries), "artists": f.artists,
                                        "left_out_artists": len(f.left_out), "training_recorded": f.recorded}) for m in report.metrics}
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


def fetch_model_file(store: ObjectStore, entry: ModelEntry, folder: str | os.PathLike[str] | None = None) -> Path:
    """A local copy of the version's ``model.keras`` (cached under ``$MUSIM_HOME/cache/models/<version>/``, beside
    ``registered_at``: the registration it was fetched for). A version name registered again (a warehouse restored
    from a backup or made anew over the same object store numbers its versions from there, and the new model replaces
    the stored one) is fetched again: the copy of the previous model under that name served it silently."""
    base = Path(folder) if folder is not None else get_settings().home / "cache" / "models"
    path = base / entry.version / MODEL_FILE
    stamp = path.with_name(CACHED_FOR)
    registered = entry.created_at.isoformat()
    if path.exists() and zipfile.is_zipfile(path) and _read_text(stamp) == registered:
        return path
    stamp.unlink(missing_ok=True)
    try:  # none yet, a copy that is not a .keras archive or of another registration: fetch again
        store.download(entry.key(MODEL_FILE), path)
    except ObjectNotFound:  # removed from the object store (by hand, a lifecycle rule, another store configured)
        raise NotFoundError(f"the model file of {entry.version} ({entry.key(MODEL_FILE)} in {store.root_url}) is "
                            f"missing: restore it from a backup of the object store, or train a new version "
                            f"(`musim models train --family {entry.family}`)"
                            + (" and serve it (`musim models publish VERSION`)" if entry.status == "champion"
                               else "")) from None
    if not _whole_archive(path):
        path.unlink(missing_ok=True)
        raise DamagedObject(f"the model file of {entry.version} ({entry.key(MODEL_FILE)} in {store.root_url}) is "
                            f"damaged (not a whole .keras archive): train a new version (`musim models train "
                            f"--family {entry.family}`)")
    stamp.write_text(registered)
    return path


#: Beside a cached ``model.keras``: the ``created_at`` of the registration it was fetched for.
CACHED_FOR = "registered_at"


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def _whole_archive(path: Path) -> bool:
    """``path`` is a zip archive (a ``.keras`` file is one) whose every member reads back with its checksum."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error):
        return False
