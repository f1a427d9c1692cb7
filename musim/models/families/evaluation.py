"""Train one family and evaluate it: :func:`train_evaluate` (train, save, evaluate with its champion and
the baselines on the common test artists) and :func:`evaluate_family` (the evaluation alone). The
result, :class:`FamilyRun`, is local files, not yet registered (:mod:`.record` does that)."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musim.errors import ParameterError
from musim.models import registry
from musim.models.constants import IDENTITY_METRICS, MODEL_FILE
from musim.models.data import ClipTable
from musim.models.evaluate import (
    EvaluationReport,
    Scorer,
    descriptor_scorer,
    evaluate,
    pixel_scorer,
    popularity_scorer,
    random_scorer,
)
from musim.models.families.base import Trained, cosine_scorer, load_keras, need, save_keras
from musim.models.families.inputs import FamilyInputs
from musim.models.families.lookup import FAMILIES, get_family
from musim.params import whole_number

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from musim.storage import ObjectStore

__all__ = ["IDENTITY_METRICS", "FamilyRun", "baseline_scorers", "champion_models", "evaluate_by_artist",
           "evaluate_family", "resolve_init_encoder",
           "train_evaluate"]

log = logging.getLogger(__name__)

#: A champion re-scored beside a model: its family, its Keras model and its recorded parameters (how it embeds).
ChampionModel = tuple[str, "keras.Model", "Mapping[str, Any] | None"]

def baseline_scorers(inputs: FamilyInputs, clips: ClipTable, *, seed: int = 0) -> dict[str, Scorer]:
    """The baselines of every family's evaluation (each only when its input is loaded)."""
    out: dict[str, Scorer] = {"random": random_scorer(seed)}
    if inputs.listeners is not None:
        out["popularity"] = popularity_scorer(inputs.listeners)
    if inputs.mel is not None:
        out["pixel"] = pixel_scorer(inputs.mel, clips)
    if inputs.descriptors is not None:
        out["descriptors"] = descriptor_scorer(inputs.descriptors, clips)
    return out


def evaluate_by_artist(family: str, model: keras.Model, inputs: FamilyInputs, *,
                       others: Mapping[str, ChampionModel] | None = None, vectors: np.ndarray | None = None,
                       n_boot: int = 1000, seed: int = 0, params: Mapping[str, Any] | None = None) -> EvaluationReport:
    """Evaluate without listening data: every track whose artist has another track is a query, and an embedding
    is good when it ranks the artist's other tracks first (:mod:`musim.models.label_eval`: AUC of same-artist
    against other-artist tracks, average precision, precision@1, bootstrap CIs resampling the query tracks' artists). Scorers: the
    model, ``others`` (champions) and the baselines random, pixel (the flattened log-mel) and descriptors (z-scored),
    all on the same tracks. Query ids are track positions; the report's test artists are their artists and its
    test set is named by the tracks (``set_key``). ``params``: the model's recorded parameters (how it embeds)."""
    import hashlib

    from musim.models.bootstrap import bootstrap_ci
    from musim.models.label_baselines import standardized
    from musim.models.label_eval import cosine_similarity, query_metrics

    fam = get_family(family)
    rows = np.arange(len(inputs))
    embeddings: dict[str, np.ndarray] = {
        registry.MODEL_SCORER: vectors if vectors is not None
        else fam.embed(model, inputs, rows, fam.version_params(params))}
    for name, (other_family, other, other_params) in (others or {}).items():
        other_fam = get_family(other_family)
        embeddings[name] = other_fam.embed(other, inputs, rows, other_fam.version_params(other_params))
    embeddings["random"] = np.random.default_rng(seed).normal(size=(len(inputs), 32))
    if inputs.mel is not None:
        embeddings["pixel"] = np.asarray(inputs.mel, dtype=np.float32).reshape(len(inputs), -1)
    if inputs.descriptors is not None:
        embeddings["descriptors"] = standardized(inputs.descriptors)
    artists = inputs.track_artist
    per_query: dict[str, dict[str, np.ndarray]] = {}
    for name, v in embeddings.items():
        per_query[name] = query_metrics(cosine_similarity(v), artists)
    informative = np.flatnonzero(np.isfinite(per_query[registry.MODEL_SCORER]["auc"]))
    if informative.size == 0:
        names = np.unique(artists)
        if names.size == 1:  # every query has a same-artist track but none of another artist to rank below it
            only = inputs.artist_names.get(int(names[0]), names[0])
            raise ParameterError(f"every track is by one artist ({only}): nothing to tell apart by artist identity; "
                                 "add tracks of a second artist (files with no artist tag or folder all go to "
                                 "'Unknown artist')")
        raise ParameterError("no artist has two tracks: nothing to evaluate by artist identity")
    per = {n: {m: vals[m][informative] for m in IDENTITY_METRICS} for n, vals in per_query.items()}
    ids = np.asarray(informative, dtype=np.int64)
    query_artists = np.asarray(artists, dtype=np.int64)[ids]  # the bootstrap resamples artists, not their tracks
    summary = {n: {m: bootstrap_ci(v[m], n_boot=n_boot, seed=seed, clusters=query_artists) for m in IDENTITY_METRICS}
               for n, v in per.items()}
    # the test artists are the queries' artists (the evidence rule counts artists, not tracks); the queries are
    # positions in this list of tracks, which therefore names the test set
    tracks = ",".join(np.asarray(inputs.track_ids)[ids].tolist())
    report = EvaluationReport(np.unique(np.asarray(artists)[ids]).astype(np.int64), ids, [], list(IDENTITY_METRICS),
                              per, summary, n_boot=n_boot, seed=seed, set_key=f"tracks:{tracks}",
                              query_clusters=query_artists)
    log.info("%s evaluated by artist identity on %d tracks of %d artists (set %s)", family, ids.size,
             np.unique(artists[ids]).size, hashlib.sha256(",".join(inputs.track_ids).encode()).hexdigest()[:12])
    return report


def evaluate_family(family: str, model: keras.Model, inputs: FamilyInputs, *,
                    others: Mapping[str, ChampionModel] | None = None, vectors: np.ndarray | None = None,
                    n_boot: int = 1000, seed: int = 0, params: Mapping[str, Any] | None = None) -> EvaluationReport:
    """Evaluate ``model`` (scorer ``"model"``; ``params``: its recorded parameters, which say how it embeds),
    ``others`` (``{scorer name: (family, model, recorded parameters)}``: champions) and the baselines on the
    inputs' test artists, in one run (same queries, same bootstrap resamples).
    Inputs without listening data are evaluated by artist identity (:func:`evaluate_by_artist`)."""
    if inputs.targets is None:
        return evaluate_by_artist(family, model, inputs, others=others, vectors=vectors, n_boot=n_boot, seed=seed,
                                  params=params)
    fam = get_family(family)
    split, targets = need(inputs.split, "artist split"), need(inputs.targets, "targets")
    clips = inputs.clips()
    scorers: dict[str, Any] = {registry.MODEL_SCORER: (cosine_scorer(fam, model, inputs, clips, vectors)
                                                       if vectors is not None and fam.scorer is None
                                                       else fam.make_scorer(model, inputs, clips,
                                                                            fam.version_params(params)))}
    for name, (other_family, other, other_params) in (others or {}).items():
        other_fam = get_family(other_family)
        scorers[name] = other_fam.make_scorer(other, inputs, clips, other_fam.version_params(other_params))
    scorers.update(baseline_scorers(inputs, clips, seed=seed))
    return evaluate(scorers, targets, split.test, n_boot=n_boot, seed=seed)


@dataclass
class FamilyRun:
    """A trained and evaluated model, not yet registered (local files)."""

    family: str
    model_path: Path
    report: EvaluationReport
    trained: Trained
    track_ids: list[str]
    feature_service: str
    target_metric: str
    dump_id: str | None
    snapshot_id: str | None

    @property
    def embeddings(self) -> np.ndarray | None:
        return self.trained.embeddings


def champion_models(inputs: FamilyInputs, store: ObjectStore, families: Sequence[str], folder: Path
                     ) -> dict[str, ChampionModel]:
    """``{version: (family, model, recorded parameters)}`` of the inputs' champions of ``families`` whose inputs
    are loaded (a champion that does not load is left out, with a warning)."""
    out: dict[str, ChampionModel] = {}
    for fam, info in inputs.champions.items():
        if fam not in families:
            continue
        loaded = {"log_mel": inputs.mel is not None, "slices": inputs.slices is not None,
                  "descriptors": inputs.descriptors is not None}
        if not all(loaded[n] for n in get_family(fam).inputs):
            log.info("champion %s not re-scored: its inputs are not loaded", info["version"])
            continue
        try:
            path = folder / info["version"] / MODEL_FILE
            if not path.exists():
                store.download(info["key"], path)
            out[info["version"]] = (fam, load_keras(path), info.get("params"))
        except Exception as exc:  # noqa: BLE001 - the run goes on; promotion then says why it cannot decide
            log.warning("could not load champion %s: %s", info["version"], exc)
    return out


def resolve_init_encoder(params: Mapping[str, Any] | None, inputs: FamilyInputs, store: ObjectStore,
                         folder: Path) -> dict[str, Any]:
    """``params`` with ``init_encoder`` (a family's name: its champion when the inputs were loaded; or a version,
    ``contrastive-3``) resolved to a local model file, ``init_encoder_path``."""
    from musim.models.constants import MODELS_PREFIX

    out = dict(params or {})
    start = out.get("init_encoder")
    if not start:
        return out
    if start in inputs.champions:
        version, key = inputs.champions[start]["version"], inputs.champions[start]["key"]
    elif "-" in str(start) and whole_number(str(start).rsplit("-", 1)[1]) is not None:
        version = str(start)
        key = f"{MODELS_PREFIX}/{version.rsplit('-', 1)[0]}/{version}/{MODEL_FILE}"
    else:
        raise ParameterError(f"init_encoder {start!r}: no champion of that family when the inputs were loaded "
                             "(train it first) and not a version such as contrastive-3")
    path = folder / "init" / version / MODEL_FILE
    if not path.exists():
        if not store.exists(key):
            raise ParameterError(f"init_encoder {start!r}: {key} is not in the object store")
        store.download(key, path)
    out["init_encoder"], out["init_encoder_path"] = version, str(path)
    return out


def train_evaluate(family: str, inputs: FamilyInputs, params: Mapping[str, Any] | None = None, *,
                   store: ObjectStore | None = None, workdir: str | Path | None = None, n_boot: int = 1000,
                   cross_family: bool = False, verbose: int = 0) -> FamilyRun:
    """Train ``family`` on ``inputs``, evaluate it with its champion (and the other families' champions
    with ``cross_family``; not needed for :func:`compare_families`, which pairs the stored per-query values
    of versions on the same test artists) and the baselines; save the model and views in ``workdir``.
    Needs TensorFlow."""
    from musim.storage import open_store

    fam = get_family(family)
    folder = Path(workdir or tempfile.mkdtemp(prefix=f"musim-{family}-"))
    folder.mkdir(parents=True, exist_ok=True)
    store = store or open_store()
    trained = fam.train(inputs, resolve_init_encoder(params, inputs, store, folder), folder, verbose)
    path = folder / MODEL_FILE
    save_keras(trained.model, path)
    wanted = list(FAMILIES) if cross_family else [family]
    others = champion_models(inputs, store, wanted, folder / "champions")
    seed = int(trained.params.get("seed", 0))
    report = evaluate_family(family, trained.model, inputs, others=others, vectors=trained.embeddings,
                             n_boot=n_boot, seed=seed, params=trained.params)
    return FamilyRun(family, path, report, trained, list(inputs.track_ids), fam.feature_service,
                     inputs.target_metric, inputs.dump_id, inputs.snapshot_id)


