"""The train_embeddings DAG's steps, split where they touch different things:

``plan_job`` / :func:`prepare` (warehouse → a manifest of track ids, labels, feature keys, targets,
split in the object store) → :func:`train_staged` (object store only, queue ``gpu``: train, embed,
evaluate, write views) → ``record_job`` / :func:`record_staged` (warehouse: register, promote,
publish). Staged objects live under ``models/runs/embeddings/<run>/``; a retry after success reuses them.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musim.models import registry
from musim.models.constants import MODEL_FILE, MODELS_PREFIX
from musim.models.evaluate import EvaluationReport, json_safe
from musim.models.families.base import AUTOENCODER, CNN_CLASSIFIER, Trained
from musim.models.families.evaluation import FamilyRun, train_evaluate
from musim.models.families.inputs import FamilyInputs, gate_inputs, load_manifest
from musim.models.families.lookup import get_family
from musim.models.families.record import record_run

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

    from musim.storage import ObjectStore

__all__ = ["STAGING_PREFIX", "plan_job", "prepare", "record_job", "record_staged", "train_staged"]

STAGING_PREFIX = f"{MODELS_PREFIX}/runs/embeddings"

def _safe(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("_")[:120] or "run"


def prepare(con: duckdb.DuckDBPyConnection, run_id: str, *, store: ObjectStore | None = None,
            families: Sequence[str] = (CNN_CLASSIFIER, AUTOENCODER), **kwargs: Any) -> str:
    """Write the run's input manifest to the object store; return its key (``kwargs``: :func:`load_manifest`)."""
    from musim.storage import open_store

    needs = {"log_mel", "descriptors"} | {n for f in families for n in get_family(f).inputs}
    inputs = load_manifest(con, needs=tuple(sorted(needs)), **kwargs)
    gate_inputs(con, inputs)
    key = f"{STAGING_PREFIX}/{_safe(run_id)}/inputs.npz"
    (store or open_store()).put_bytes(key, inputs.to_bytes(), content_type="application/octet-stream")
    return key


def train_staged(family: str, manifest_key: str, params: Mapping[str, Any] | None = None, *,
                 store: ObjectStore | None = None, n_boot: int = 1000, run_id: str | None = None,
                 verbose: int = 0) -> dict[str, Any]:
    """Train and evaluate ``family`` from a manifest (object store only: no warehouse), and stage the
    model, report, embeddings and views next to the manifest. A staged run is not trained again."""
    from musim.storage import open_store

    store = store or open_store()
    prefix = f"{manifest_key.rsplit('/', 1)[0]}/{family}/"
    if store.exists(prefix + "run.json"):  # a retry after success: staged already
        doc = json.loads(store.get_bytes(prefix + "run.json"))
        return json_safe({k: doc[k] for k in ("family", "prefix", "manifest", "test_set_id")} | {"run_id": run_id})
    fam = get_family(family)
    inputs = FamilyInputs.from_bytes(store.get_bytes(manifest_key))
    needs = {"log_mel", *fam.inputs} | {n for f in inputs.champions for n in get_family(f).inputs}
    inputs.load_tensors(store, tuple(needs))
    with tempfile.TemporaryDirectory(prefix=f"musim-{family}-") as tmp:
        run = train_evaluate(family, inputs, params, store=store, workdir=tmp, n_boot=n_boot, verbose=verbose)
        store.put_file(prefix + MODEL_FILE, run.model_path, content_type="application/octet-stream")
        files = {}
        for name, path in run.trained.files.items():
            store.put_file(prefix + "files/" + name, path)
            files[name] = prefix + "files/" + name
        if run.embeddings is not None:
            buf = io.BytesIO()
            np.save(buf, run.embeddings.astype(np.float32))
            store.put_bytes(prefix + "embeddings.npy", buf.getvalue())
        t = run.trained
        doc = {"family": family, "prefix": prefix, "manifest": manifest_key, "model": prefix + MODEL_FILE,
               "files": files, "embeddings": prefix + "embeddings.npy" if run.embeddings is not None else None,
               "params": t.params, "training": t.training, "history": t.history, "card": t.card,
               "feature_service": run.feature_service, "target_metric": run.target_metric,
               "dump_id": run.dump_id, "snapshot_id": run.snapshot_id, "test_set_id": run.report.test_set_id,
               "report": run.report.to_json(per_query=True)}
        store.put_bytes(prefix + "run.json", json.dumps(json_safe(doc), default=str).encode(),
                        content_type="application/json")
    return json_safe({k: doc[k] for k in ("family", "prefix", "manifest", "test_set_id")} | {"run_id": run_id} | {
        "summary": {m: run.report.summary[registry.MODEL_SCORER].get(m) for m in ("ndcg@5", "ndcg@10")}})


def record_staged(con: duckdb.DuckDBPyConnection, staged: Mapping[str, Any], *, run_id: str,
                  store: ObjectStore | None = None, promote: bool = True, publish: bool | str = "champion",
                  primary_metric: str = "auto", k: int = 10) -> dict[str, Any]:
    """Register a staged run (see :func:`train_staged`) as :func:`record_run` does; idempotent per ``run_id``."""
    from musim.storage import open_store

    store = store or open_store()
    doc = json.loads(store.get_bytes(f"{staged['prefix']}run.json"))
    inputs = FamilyInputs.from_bytes(store.get_bytes(doc["manifest"]))
    with tempfile.TemporaryDirectory(prefix="musim-record-") as tmp:
        folder = Path(tmp)
        model_path = folder / MODEL_FILE
        store.download(doc["model"], model_path)
        files = {}
        for name, key in doc["files"].items():
            store.download(key, folder / name)
            files[name] = folder / name
        emb = None
        if doc.get("embeddings"):
            emb = np.load(io.BytesIO(store.get_bytes(doc["embeddings"])), allow_pickle=False)
        trained = Trained(None, doc["params"], doc["training"], doc["history"], files, doc["card"], emb)  # type: ignore[arg-type]
        run = FamilyRun(doc["family"], model_path, EvaluationReport.from_json(doc["report"]), trained,
                        inputs.track_ids, doc["feature_service"], doc["target_metric"], doc["dump_id"],
                        doc["snapshot_id"])
        out = record_run(con, run, store=store, run_id=run_id, promote=promote, publish=publish,
                         primary_metric=primary_metric, k=k)
    return json_safe(out.to_json())


def plan_job(run_id: str, *, families: Sequence[str] = (CNN_CLASSIFIER, AUTOENCODER),
             params: Mapping[str, Mapping[str, Any]] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """The DAG's ``plan`` task: write the manifest (warehouse writer) and return one work item per family
    (``{"family", "manifest", "params", "run_id"}``) for the mapped ``train`` task."""
    from musim import warehouse

    for f in families:
        get_family(f)
    with warehouse.writer() as con:
        key = prepare(con, run_id, families=families, **kwargs)
    return [{"family": f, "manifest": key, "params": dict((params or {}).get(f) or {}),
             "run_id": f"{run_id}/{f}"} for f in families]


def record_job(staged: Sequence[Mapping[str, Any]], *, promote: bool = True, publish: bool = True,
               primary_metric: str = "auto", k: int = 10, snapshot: bool = True) -> dict[str, Any]:
    """The DAG's ``record`` task: register every staged family (``train_staged`` outputs with their
    ``run_id``), decide promotion, publish the champions' neighbours, then one serving snapshot."""
    from musim import serving, warehouse

    out = []
    with warehouse.writer() as con:
        for item in staged:
            out.append(record_staged(con, item, run_id=item["run_id"], promote=promote,
                                     publish="champion" if publish else False, primary_metric=primary_metric, k=k))
        snap = str(serving.publish(con)) if snapshot else None
    return json_safe({"families": out, "snapshot": snap})


