"""Register, promote, publish: :func:`record_run` puts a trained :class:`~.evaluation.FamilyRun` in the
model registry (model, metrics, card with the family's section, views next to it, the version's feature
service pinned at the training set's moment), decides promotion and publishes the champion's embeddings
(:func:`~.embedding.publish_version`); :func:`run_family` is training, evaluation and all of this in one
process."""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from musim import sql
from musim.errors import ParameterError
from musim.jsonable import json_safe
from musim.models import promotion, registry
from musim.models.constants import (
    CARD_FILE,
    CHAMPION,
    IDENTITY_METRICS,
    PRIMARY_METRIC_CHOICES,
    ranking_metrics,
)
from musim.models.evaluate import EvaluationReport, choose_primary_metric
from musim.models.families.embedding import publish_version
from musim.models.families.evaluation import FamilyRun, train_evaluate
from musim.models.families.inputs import FamilyInputs, current_champions, gate_inputs, load_inputs
from musim.models.families.lookup import feature_service, get_family, inputs_needed

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

    from musim.storage import ObjectStore

__all__ = ["FamilyOutcome", "record_run", "register_version_service", "run_family"]

log = logging.getLogger(__name__)


@dataclass
class FamilyOutcome:
    entry: registry.ModelEntry
    decision: promotion.PromotionDecision | None
    report: EvaluationReport | None
    files: dict[str, str] = field(default_factory=dict)        # name -> object-store URL
    published: dict[str, Any] | None = None
    reused: bool = False

    def to_json(self) -> dict[str, Any]:
        return json_safe({"version": self.entry.version, "family": self.entry.family,
                          "status": self.decision.status if self.decision else self.entry.status,
                          "decision": self.decision.to_json() if self.decision else None,
                          "metrics": self.entry.metrics.get(registry.MODEL_SCORER), "files": self.files,
                          "published": self.published, "reused": self.reused})


def register_version_service(con: duckdb.DuckDBPyConnection, version: str, base: Any,
                             snapshot_id: str | None) -> None:
    """The feature service of one model version: its family's views, pinned at the training set's moment
    (what :func:`musim.features.get_training_frame` rebuilds the training set from). Kept on a retried run."""
    import datetime as dt

    from musim.errors import NotFoundError
    from musim.features import get_service, register_service
    from musim.features.registry import FeatureService

    try:
        get_service(con, version)
        return
    except NotFoundError:
        pass
    as_of = dt.datetime.fromisoformat(snapshot_id) if snapshot_id else None
    register_service(con, FeatureService(version, base.views, description=f"inputs of model {version}",
                                         model_version=version, as_of=as_of))


def _starts_compared(con: duckdb.DuckDBPyConnection, entry: registry.ModelEntry, run: FamilyRun,
                     metric: str) -> str | None:
    """For a family that can start from another family's encoder (its params carry ``init_encoder``): the
    champions of the same family scored in this evaluation that started otherwise, beside this version (registered
    as ``entry``), on the same queries, those whose artist the champion never trained on
    (:func:`~musim.models.promotion.fair_queries`; paired bootstrap of the difference). None for other families."""
    import numpy as np

    from musim.errors import NotFoundError

    params = run.trained.params
    if "init_encoder" not in params:
        return None
    mine = params.get("init_encoder") or "random weights"
    report = run.report
    rows = []
    for scorer in report.scorers:
        if scorer == registry.MODEL_SCORER:
            continue
        try:
            other = registry.get_model(con, scorer)
        except NotFoundError:
            continue  # a baseline
        theirs = other.params.get("init_encoder") or "random weights"
        if other.family != run.family or theirs == mine or metric not in report.metrics:
            continue
        a = registry.query_values(con, entry.version, registry.MODEL_SCORER, metric)
        b = registry.query_values(con, entry.version, scorer, metric)
        fair = promotion.fair_queries(con, other, entry, sorted(set(a) & set(b)))
        b = {q: b[q] for q in fair.queries}
        c = registry.compare_values(con, entry.test_set_id, a, b, names=(registry.MODEL_SCORER, scorer),
                                    metric=metric, n_boot=report.n_boot, confidence=report.confidence,
                                    seed=report.seed)
        left = f"; {len(fair.left_out)} test artists it trained on left out" if fair.left_out else ""
        if not c.n:
            rows.append(f"| {mine} | {scorer}, from {theirs} | – | – | no query it never trained on{left} |")
            continue
        rows.append(f"| {mine} | {scorer}, from {theirs} | {np.nanmean([a[q] for q in b]):.3f} | "
                    f"{np.nanmean(list(b.values())):.3f} | {c.diff:+.3f} [{c.lo:+.3f}, {c.hi:+.3f}] over {c.n} "
                    f"queries{left} |")
    if not rows:
        return ("## Starts compared\n\nNot measured in this evaluation: no version of this family started otherwise "
                f"than from {mine} was a champion scored beside it (train the other start, `init_encoder`, and the "
                "next run of either start compares them on the same test artists).\n")
    return ("## Starts compared\n\nThis version (started from " + mine + ") and the family's champion started "
            f"otherwise, scored in the same evaluation, on {metric} over the queries whose artist the champion never "
            "trained on:\n\n"
            "| this start | champion | this | champion | difference [CI] |\n|---|---|---|---|---|\n"
            + "\n".join(rows) + "\n")


def record_run(con: duckdb.DuckDBPyConnection, run: FamilyRun, *, store: ObjectStore | None = None,
               run_id: str | None = None, promote: bool = True, publish: bool | str = "champion",
               primary_metric: str = "auto", k: int = 10, snapshot: bool = False) -> FamilyOutcome:
    """Register a trained run (model, metrics, card with the family's section, views next to it), decide
    promotion, and publish its embeddings (``publish="champion"``: when it is the champion afterwards;
    True: always; False: never). A ``run_id`` already registered returns that version untouched."""
    from musim.features.registry import register_service
    from musim.storage import open_store

    store = store or open_store()
    if run_id is not None:
        row = sql.query(con, "models/registry_version_of_run.sql", run_id=run_id).fetchone()
        if row is not None:
            return FamilyOutcome(registry.get_model(con, row[0]), None, None, reused=True)
    if primary_metric == "auto":
        primary_metric = (choose_primary_metric(int(run.report.test_artists.size))
                          if any(m.startswith("ndcg@") for m in run.report.metrics) else run.report.metrics[0])
    service = feature_service(run.family)
    register_service(con, service)
    trained = run.trained
    entry = registry.register_model(
        con, store, family=run.family, model_file=run.model_path, report=run.report, params=trained.params,
        target_metric=run.target_metric, feature_service=service.name, dump_id=run.dump_id,
        snapshot_id=run.snapshot_id, run_id=run_id, training=trained.training, history=trained.history or None,
        primary_metric=primary_metric, training_artists=trained.artists)
    files = {}
    for name, path in trained.files.items():
        ctype = "image/png" if name.endswith(".png") else "application/json"
        store.put_file(entry.key(name), path, content_type=ctype)
        files[name] = store.url(entry.key(name))
    register_version_service(con, entry.version, service, run.snapshot_id)
    if trained.card:
        promotion.write_card_section(store, entry, trained.card)
    starts = _starts_compared(con, entry, run, primary_metric)
    if starts:
        promotion.write_card_section(store, entry, starts)
    files[CARD_FILE] = store.url(entry.key(CARD_FILE))
    decision = promotion.promote(con, entry.version, metric=primary_metric, store=store) if promote else None
    status = decision.status if decision else entry.status
    published = None
    if publish is True or (publish == "champion" and status == CHAMPION):
        published = publish_version(con, entry.version, store=store, k=k, run_id=run_id, snapshot=snapshot,
                                    embeddings=_still_there(con, run), model_path=run.model_path)
    return FamilyOutcome(registry.get_model(con, entry.version), decision, run.report, files, published)


def _still_there(con: duckdb.DuckDBPyConnection, run: FamilyRun) -> tuple[list[str], Any] | None:
    """The run's track embeddings (None: none made while training) of the tracks the warehouse still holds: a model
    trains with no writer open, and a track removed meanwhile (`musim library remove`) is not published (the publish
    refused the whole version, registered already, with 'N tracks are not in the `track` table')."""
    import numpy as np

    from musim.models.serve import track_owners

    if run.embeddings is None:
        return None
    ids = [str(t) for t in run.track_ids]
    kept = track_owners(con, ids) >= 0
    if kept.all():
        return ids, run.embeddings
    gone = [t for t, k in zip(ids, kept, strict=True) if not k]
    log.warning("%d of the %d tracks %s embedded were removed from the warehouse while it trained (e.g. %s): they "
                "are not published", len(gone), len(ids), run.family, ", ".join(gone[:3]))
    return [t for t, k in zip(ids, kept, strict=True) if k], np.asarray(run.embeddings)[kept]


def check_primary_metric(name: str, *, listening: bool) -> None:
    """:class:`ParameterError` unless ``name`` is ``auto`` or a metric of the run's evaluation: against co-listening
    (``listening``) or by artist identity (a catalogue without listening data). Checked before training."""
    fits = ranking_metrics() if listening else IDENTITY_METRICS
    if name == "auto" or name in fits:
        return
    if name not in PRIMARY_METRIC_CHOICES:
        raise ParameterError(f"primary metric {name!r} is no metric musim evaluates; choose auto or one of "
                             f"{', '.join(fits)}")
    measured = "by artist identity (no listening data)" if listening else "against co-listening"
    raise ParameterError(f"primary metric {name!r} is measured {measured}, and this run is not: choose auto or one "
                         f"of {', '.join(fits)}")


def run_family(family: str, *, con: duckdb.DuckDBPyConnection, store: ObjectStore | None = None,
               inputs: FamilyInputs | None = None, params: Mapping[str, Any] | None = None,
               run_id: str | None = None, promote: bool = True, publish: bool | str = "champion",
               n_boot: int = 1000, primary_metric: str = "auto", workdir: str | Path | None = None,
               k: int = 10, snapshot: bool = False, verbose: int = 0) -> FamilyOutcome:
    """Train, evaluate, register, promote and publish one family in this process (idempotent per ``run_id``)."""
    from musim.storage import open_store

    store = store or open_store()
    if run_id is not None:
        row = sql.query(con, "models/registry_version_of_run.sql", run_id=run_id).fetchone()
        if row is not None:
            return FamilyOutcome(registry.get_model(con, row[0]), None, None, reused=True)
    fam = get_family(family)
    fam.parse_params(params or {})
    if inputs is None:
        inputs = load_inputs(con, store=store, needs=inputs_needed([family]), families=[family])
    else:
        inputs = dataclasses.replace(inputs, champions=current_champions(con))
    check_primary_metric(primary_metric, listening=inputs.targets is not None)
    gate_inputs(con, inputs, families=[family])
    with tempfile.TemporaryDirectory(prefix=f"musim-{family}-") as tmp:
        run = train_evaluate(family, inputs, params, store=store, workdir=workdir or tmp, n_boot=n_boot,
                             verbose=verbose)
        return record_run(con, run, store=store, run_id=run_id, promote=promote, publish=publish,
                          primary_metric=primary_metric, k=k, snapshot=snapshot)


