"""One training run end to end: train, evaluate against baselines (and the champion), register, promote.

What the nightly DAG and ``musim models train`` call once the inputs are loaded::

    outcome = train_evaluate_register(x, track_artist, targets, HyperParams(), con=con, store=store,
                                      listeners=load_catalogue(con, targets.dump_id),
                                      descriptors=descriptor_rows, feature_service="siamese_log_mel",
                                      snapshot_id=as_of, run_id=dag_run_id)
    outcome.entry.version, outcome.decision.promoted

Inputs (how the feature store provides them is the caller's business): ``x`` ``(N, 256, 64)`` log-mels
(the float16 memmap of ``musim.features.cache_log_mels``), ``track_artist`` ``(N,)``, pair targets
(:func:`musim.models.data.load_pair_targets`), listeners per artist (popularity baseline) and optionally
descriptors ``(N, D)`` per row (descriptor baseline).

Importing this module imports Keras (and TensorFlow): import it lazily.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import keras
import numpy as np

from musim.models import registry
from musim.models.constants import MODEL_FILE, PRIMARY_METRIC, SIAMESE
from musim.models.data import PairTargets, TrainingSet
from musim.models.evaluate import EvaluationReport, baseline_scorers, evaluate
from musim.models.siamese import load_model, save_model, siamese_scorer
from musim.models.train import HyperParams, TrainResult, train
from musim.storage import ObjectStore, open_store

__all__ = ["RunOutcome", "evaluate_siamese", "load_registered", "train_evaluate_register"]

log = logging.getLogger(__name__)


@dataclass
class RunOutcome:
    entry: registry.ModelEntry
    decision: registry.PromotionDecision | None
    result: TrainResult | None
    report: EvaluationReport | None

    def to_json(self) -> dict[str, Any]:
        return {"version": self.entry.version, "status": self.entry.status if self.decision is None
                else self.decision.status, "decision": self.decision.to_json() if self.decision else None,
                "metrics": self.entry.metrics.get(registry.MODEL_SCORER), "reused": self.result is None}


def evaluate_siamese(model: keras.Model, data: TrainingSet, *, listeners: Mapping[int, int] | None = None,
                     descriptors: np.ndarray | None = None, others: Mapping[str, keras.Model] | None = None,
                     test_artists: Sequence[int] | np.ndarray | None = None, n_boot: int = 1000,
                     seed: int = 0) -> EvaluationReport:
    """Evaluate ``model`` (scorer ``"model"``), other siamese models (e.g. the champion, by version) and the
    baselines on the test artists of ``data`` (or ``test_artists``), all in one run."""
    scorers: dict[str, Any] = {registry.MODEL_SCORER: siamese_scorer(model, data.x, data.clips)}
    for name, other in (others or {}).items():
        scorers[name] = siamese_scorer(other, data.x, data.clips)
    scorers.update(baseline_scorers(data.x, data.clips, listeners=listeners, descriptors=descriptors, seed=seed))
    test = data.split.test if test_artists is None else np.asarray(test_artists, dtype=np.int64)
    return evaluate(scorers, data.targets, test, n_boot=n_boot, seed=seed)


def load_registered(con: duckdb.DuckDBPyConnection, version: str, *, store: ObjectStore | None = None) -> keras.Model:
    """The Keras model of a registered version (``siamese:champion`` works), via a local cached copy."""
    entry = registry.get_model(con, version)
    return load_model(registry.fetch_model_file(store or open_store(), entry))


def train_evaluate_register(x: np.ndarray, track_artist: Sequence[int] | np.ndarray, targets: PairTargets,
                            hparams: HyperParams | None = None, *, con: duckdb.DuckDBPyConnection,
                            store: ObjectStore | None = None, listeners: Mapping[int, int] | None = None,
                            descriptors: np.ndarray | None = None, feature_service: str | None = None,
                            snapshot_id: str | None = None, run_id: str | None = None,
                            promote: bool = True, primary_metric: str = PRIMARY_METRIC, n_boot: int = 1000,
                            verbose: int = 0) -> RunOutcome:
    """Train a siamese model, evaluate it with the baselines and the current champion on the same test
    artists, store and register it as a challenger, and (``promote``) decide promotion.

    Idempotent per ``run_id``: a run already registered is returned without training again.
    """
    hparams = hparams or HyperParams()
    store = store or open_store()
    if run_id is not None:
        done = con.execute("SELECT version FROM model_registry WHERE run_id = ?", [run_id]).fetchone()
        if done is not None:
            entry = registry.get_model(con, done[0])
            log.info("run %s already registered %s: nothing to do", run_id, entry.version)
            return RunOutcome(entry, None, None, None)
    result = train(x, track_artist, targets, hparams, verbose=verbose)
    others: dict[str, keras.Model] = {}
    current = registry.champion(con, SIAMESE)
    if current is not None:
        try:
            others[current.version] = load_model(registry.fetch_model_file(store, current))
        except Exception as exc:  # noqa: BLE001 - the run goes on; promotion then says why it cannot decide
            log.warning("could not load champion %s for comparison: %s", current.version, exc)
    report = evaluate_siamese(result.model, result.data, listeners=listeners, descriptors=descriptors,
                              others=others, n_boot=n_boot, seed=hparams.seed)
    with tempfile.TemporaryDirectory(prefix="musim-train-") as tmp:
        path = Path(tmp) / MODEL_FILE
        save_model(result.model, path)
        entry = registry.register_model(
            con, store, family=SIAMESE, model_file=path, report=report, params=hparams.to_json(),
            target_metric=targets.metric, feature_service=feature_service, dump_id=targets.dump_id,
            snapshot_id=snapshot_id, run_id=run_id, training=result.summary(), history=result.history,
            primary_metric=primary_metric)
    decision = registry.promote(con, entry.version, metric=primary_metric) if promote else None
    return RunOutcome(entry, decision, result, report)
