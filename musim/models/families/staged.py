"""The one model path, as the training DAGs run it: five phases that pass object-store keys, never local
files, so that training and evaluation can run on a GPU worker that never opens the warehouse.

==================  ==========  ==========================================================================
:func:`plan_job`    writer      inputs as of now (tracks, feature keys, targets, listeners, the common
                                split) → the ``training_split`` gate → ``models/runs/<run>/inputs.npz``;
                                one work item per family
:func:`train_staged`  gpu       manifest + tensors → train → ``<family>/model.keras``, ``embeddings.npy``,
                                ``files/`` and ``trained.json`` next to the manifest
:func:`evaluate_staged` gpu     the model, its family's champion and the baselines on the same test artists
                                → ``<family>/run.json`` (the report, per query)
:func:`promote_job`  writer     register every staged version (model, metrics, card, views, feature
                                service) and decide promotion
:func:`publish_job`  writer     each family's champion embeds the catalogue → neighbour tables, online
                                vectors; then one serving snapshot
==================  ==========  ==========================================================================

Every phase is idempotent per run: a retry after success reuses what is staged or registered. The same steps
in one process are :func:`~.record.run_family` (``musim models train``).
"""

from __future__ import annotations

import functools
import io
import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musim.errors import NotFoundError, ParameterError, QualityError
from musim.jsonable import json_safe
from musim.models import registry
from musim.models.constants import MODEL_FILE, MODELS_PREFIX
from musim.models.evaluate import EvaluationReport
from musim.models.families.base import AUTOENCODER, CNN_CLASSIFIER, Trained, save_keras
from musim.models.families.evaluation import FamilyRun, champion_models, evaluate_family, resolve_init_encoder
from musim.models.families.inputs import FamilyInputs, gate_inputs, load_manifest
from musim.models.families.lookup import get_family, inputs_needed
from musim.models.families.record import check_primary_metric, record_run
from musim.models.serve import commit_staged, unserved
from musim.runs import run_key
from musim.storage.base import ObjectNotFound

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

    from musim.storage import ObjectStore

__all__ = ["STAGING_PREFIX", "evaluate_staged", "plan_job", "prepare", "promote_job", "publish_job",
           "train_staged"]

STAGING_PREFIX = f"{MODELS_PREFIX}/runs"
TRAINED_DOC, RUN_DOC, EMBEDDINGS = "trained.json", "run.json", "embeddings.npy"


def _staging_gone_explained(phase):
    """A phase that finds an object of its run's staging missing says why that can be and what to do, in one line: a
    task of an old run cleared by hand after ``musim store gc`` collected the run's staging folder."""
    @functools.wraps(phase)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return phase(*args, **kwargs)
        except ObjectNotFound as exc:
            if f"'{STAGING_PREFIX}/" not in str(exc):
                raise
            raise NotFoundError(f"{exc}: this training run's staging is gone (musim store gc collects a DAG run's "
                                "staging once its newest object is older than the staging grace period, 7 days by "
                                "default): clear the whole DAG run, not one task of it") from None
    return run


def _store(store: ObjectStore | None) -> ObjectStore:
    from musim.storage import open_store

    return store or open_store()


def prepare(con: duckdb.DuckDBPyConnection, run_id: str, *, store: ObjectStore | None = None,
            families: Sequence[str] = (CNN_CLASSIFIER, AUTOENCODER), primary_metric: str = "auto",
            **kwargs: Any) -> str:
    """Load the run's inputs (``kwargs``: :func:`load_manifest`), check that their evaluation will have
    ``primary_metric``, gate them with the ``training_split`` suite, and write the manifest to the object store;
    return its key."""
    inputs = load_manifest(con, needs=inputs_needed(families), families=families, **kwargs)
    check_primary_metric(primary_metric, listening=inputs.targets is not None)
    gate_inputs(con, inputs, families=families)
    key = f"{STAGING_PREFIX}/{run_key(run_id)}/inputs.npz"
    _store(store).put_bytes(key, inputs.to_bytes(), content_type="application/octet-stream")
    return key


def plan_job(run_id: str, *, families: Sequence[str] = (CNN_CLASSIFIER, AUTOENCODER),
             params: Mapping[str, Mapping[str, Any]] | None = None, store: ObjectStore | None = None,
             **kwargs: Any) -> list[dict[str, Any]]:
    """Phase ``prepare`` (warehouse writer): the manifest (``kwargs``: :func:`prepare`'s), and one work item per
    family (``{"family", "manifest", "params", "run_id"}``) for the mapped ``train`` task."""
    from musim import warehouse

    if not families or len(set(families)) != len(families):  # nothing to train, or one family twice (one run id)
        raise ParameterError(f"families must name each family to train once, got {list(families)}")
    for f in families:  # every family's parameters checked before the inputs are prepared
        get_family(f).parse_params((params or {}).get(f) or {})
    with warehouse.writer() as con:
        key = prepare(con, run_id, families=families, store=store, **kwargs)
    return [{"family": f, "manifest": key, "params": dict((params or {}).get(f) or {}),
             "run_id": f"{run_id}/{f}"} for f in families]


def _prefix(item: Mapping[str, Any]) -> str:
    return f"{item['manifest'].rsplit('/', 1)[0]}/{item['family']}/"


def _inputs(store: ObjectStore, item: Mapping[str, Any], needs: Sequence[str]) -> FamilyInputs:
    inputs = FamilyInputs.from_bytes(store.get_bytes(item["manifest"]))
    return inputs.load_tensors(store, tuple(needs))


@_staging_gone_explained
def train_staged(item: Mapping[str, Any], *, store: ObjectStore | None = None, verbose: int = 0) -> dict[str, Any]:
    """Phase ``train`` (object store only; queue ``$MUSIM_TRAIN_QUEUE``, or the CPU queue: :mod:`musim.models.routing`): train the item's family on the manifest, and stage
    the model, its track embeddings, its files and what training reported. A staged item is not trained again."""
    store = _store(store)
    prefix = _prefix(item)
    out = {**item, "prefix": prefix}
    if store.exists(prefix + TRAINED_DOC):
        return json_safe(out)
    fam = get_family(item["family"])
    inputs = _inputs(store, item, ("log_mel", *fam.inputs))
    with tempfile.TemporaryDirectory(prefix=f"musim-{fam.name}-") as tmp:
        folder = Path(tmp)
        params = resolve_init_encoder(item.get("params"), inputs, store, folder)
        trained = fam.train(inputs, params, folder, verbose)
        save_keras(trained.model, folder / MODEL_FILE)
        store.put_file(prefix + MODEL_FILE, folder / MODEL_FILE, content_type="application/octet-stream")
        files = {}
        for name, path in trained.files.items():
            store.put_file(prefix + "files/" + name, path)
            files[name] = prefix + "files/" + name
        if trained.embeddings is not None:
            buf = io.BytesIO()
            np.save(buf, np.asarray(trained.embeddings, dtype=np.float32))
            store.put_bytes(prefix + EMBEDDINGS, buf.getvalue())
        doc = {"family": fam.name, "params": trained.params, "training": trained.training,
               "history": trained.history, "card": trained.card, "files": files,
               "embeddings": prefix + EMBEDDINGS if trained.embeddings is not None else None,
               "artists": None if trained.artists is None else np.asarray(trained.artists).tolist()}
        store.put_bytes(prefix + TRAINED_DOC, json.dumps(json_safe(doc), default=str).encode(),
                        content_type="application/json")
    return json_safe(out)


def _trained(store: ObjectStore, item: Mapping[str, Any], folder: Path) -> tuple[Trained, Path, dict[str, Any]]:
    """The staged training of ``item`` with its model file and files downloaded into ``folder``."""
    prefix = _prefix(item)
    doc = store.get_json(prefix + TRAINED_DOC)
    model_path = folder / MODEL_FILE
    store.download(prefix + MODEL_FILE, model_path)
    files = {}
    for name, key in doc["files"].items():
        store.download(key, folder / name)
        files[name] = folder / name
    emb = None
    if doc.get("embeddings"):
        emb = np.load(io.BytesIO(store.get_bytes(doc["embeddings"])), allow_pickle=False)
    artists = None if doc.get("artists") is None else np.asarray(doc["artists"], dtype=np.int64)
    return (Trained(None, doc["params"], doc["training"], doc["history"], files, doc["card"], emb, artists),  # type: ignore[arg-type]
            model_path, doc)


@_staging_gone_explained
def evaluate_staged(item: Mapping[str, Any], *, store: ObjectStore | None = None, n_boot: int = 1000
                    ) -> dict[str, Any]:
    """Phase ``evaluate`` (object store only; queue ``$MUSIM_TRAIN_QUEUE``, or the CPU queue: :mod:`musim.models.routing`): the staged model, its family's champion and the
    baselines on the manifest's test artists in one run (same queries, same resamples); stages the report."""
    from musim.models.families.base import load_keras

    store = _store(store)
    prefix = _prefix(item)
    if store.exists(prefix + RUN_DOC):
        doc = store.get_json(prefix + RUN_DOC)
        return json_safe({**item, "prefix": prefix, "test_set_id": doc["test_set_id"]})
    fam = get_family(item["family"])
    manifest = FamilyInputs.from_bytes(store.get_bytes(item["manifest"]))
    inputs = manifest.load_tensors(store, ("log_mel", *fam.inputs))
    with tempfile.TemporaryDirectory(prefix=f"musim-eval-{fam.name}-") as tmp:
        trained, model_path, _ = _trained(store, item, Path(tmp))
        model = load_keras(model_path)
        others = champion_models(inputs, store, [fam.name], Path(tmp) / "champions")
        report = evaluate_family(fam.name, model, inputs, others=others, vectors=trained.embeddings, n_boot=n_boot,
                                 seed=int(trained.params.get("seed", 0)), params=trained.params)
    doc = {"family": fam.name, "feature_service": fam.feature_service, "target_metric": inputs.target_metric,
           "dump_id": inputs.dump_id, "snapshot_id": inputs.snapshot_id, "test_set_id": report.test_set_id,
           "report": report.to_json(per_query=True)}
    store.put_bytes(prefix + RUN_DOC, json.dumps(json_safe(doc), default=str).encode(), content_type="application/json")
    return json_safe({**item, "prefix": prefix, "test_set_id": report.test_set_id,
                      "summary": {m: report.summary[registry.MODEL_SCORER].get(m) for m in ("ndcg@5", "ndcg@10")}})


def _record(con: duckdb.DuckDBPyConnection, store: ObjectStore, item: Mapping[str, Any], *,
            primary_metric: str) -> dict[str, Any]:
    prefix = _prefix(item)
    doc = store.get_json(prefix + RUN_DOC)
    inputs = FamilyInputs.from_bytes(store.get_bytes(item["manifest"]))
    with tempfile.TemporaryDirectory(prefix="musim-record-") as tmp:
        trained, model_path, _ = _trained(store, item, Path(tmp))
        run = FamilyRun(doc["family"], model_path, EvaluationReport.from_json(doc["report"]), trained,
                        inputs.track_ids, doc["feature_service"], doc["target_metric"], doc["dump_id"],
                        doc["snapshot_id"])
        out = record_run(con, run, store=store, run_id=item["run_id"], promote=True, publish=False,
                         primary_metric=primary_metric)
    return json_safe({**out.to_json(), "run_id": item["run_id"], "prefix": prefix, "manifest": item["manifest"]})


@_staging_gone_explained
def promote_job(evaluated: Sequence[Mapping[str, Any]], *, primary_metric: str = "auto",
                store: ObjectStore | None = None) -> list[dict[str, Any]]:
    """Phase ``promote`` (warehouse writer): register every evaluated item (idempotent per run id) and decide
    its promotion; one decision per family."""
    from musim import warehouse

    store = _store(store)
    with warehouse.writer() as con:
        return [_record(con, store, item, primary_metric=primary_metric) for item in evaluated]


@_staging_gone_explained
def publish_job(decisions: Sequence[Mapping[str, Any]], *, k: int = 10, snapshot: bool = True,
                store: ObjectStore | None = None) -> dict[str, Any]:
    """Phase ``publish`` (warehouse writer): each family's champion (the new version, or the one it did not
    beat) embeds every track with features and serves its neighbours; then one serving snapshot, and only then
    the online pointers of every family (no lookup of an embedding view runs ahead of the neighbours served;
    killed in between, the next publish mends them from the committed rows). While a rollback pins the served
    snapshot, the new one is written but not served (``served`` false) and the online pointers stay."""
    from musim import serving, snapshots, warehouse

    store = _store(store)
    published: list[dict[str, Any]] = []
    snap = None
    with warehouse.writer() as con:
        for d in decisions:
            champ = registry.champion(con, d["family"])
            if champ is not None:
                published.append(_publish_champion(con, store, champ.version, d, k=k, defer_online=snapshot))
        try:
            snap = str(serving.publish(con)) if snapshot else None
        except QualityError:  # refused (a similarity build failed its gate): each family's rows are committed, so
            _commit_online(published)  # are its vectors
            raise
        except Exception as exc:  # not served (e.g. a full disk): the pointers stay, the next publish mends them
            said = unserved([p["version"] for p in published], exc)
            if said is exc:
                raise
            raise said from exc
    _commit_online(published)  # none while a rollback pins the served snapshot: the lookup follows what is served
    served = snap is not None and snapshots.served(Path(snap))  # False under a pin: written, not served
    return json_safe({"champions": published, "snapshot": snap, "served": served})


def _commit_online(published: Sequence[dict[str, Any]]) -> None:
    """Move the online pointers of each family published to the vectors it staged (see :func:`publish_job`)."""
    for p in published:
        p["online"] = p["online"] or commit_staged(p.pop("staged_online", []))


def _publish_champion(con: Any, store: ObjectStore, version: str, decision: Mapping[str, Any], *, k: int,
                      defer_online: bool) -> dict[str, Any]:
    from musim.models.families.embedding import publish_version

    staged = None
    if version == decision["version"]:  # embedded while training: reuse those vectors
        doc = store.get_json(decision["prefix"] + TRAINED_DOC)
        if doc.get("embeddings"):
            ids = FamilyInputs.from_bytes(store.get_bytes(decision["manifest"])).track_ids
            staged = (ids, np.load(io.BytesIO(store.get_bytes(doc["embeddings"])), allow_pickle=False))
    return publish_version(con, version, store=store, k=k, snapshot=False, run_id=decision.get("run_id"),
                           embeddings=staged, defer_online=defer_online)
