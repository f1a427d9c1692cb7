"""The siamese family's jobs: gather the training inputs, gate them, train → evaluate → register → promote,
then embed the catalogue with the champion and publish the audio neighbours.

Two ways to run the same steps:

- :func:`train_siamese_job` — everything in one process on the warehouse writer's connection (``musim
  models train``, tests), calling :func:`musim.models.pipeline.train_evaluate_register`;
- the phases of the nightly ``train_siamese`` DAG, each an Airflow task, which pass object-store keys and
  ids between them (never local files), so that the training task can run on another machine (a Celery
  worker on queue ``gpu``) that never opens the warehouse:

  ========================  ==========  ==================================================================
  :func:`prepare_run`       writer      targets, tracks, listeners, descriptors as of one moment → gate →
                                        ``models/runs/siamese/<run>/inputs.npz``
  :func:`train_run`         gpu         inputs + log-mels from the object store → train →
                                        ``models/runs/siamese/<run>/model.keras`` + ``train.json``
  :func:`evaluate_run`      writer      same training set rebuilt (seeded) → model, champion and baselines
                                        on the same test artists → register a challenger
  :func:`promote_run`       writer      promotion decision on the primary metric
  :func:`publish_run`       writer      champion embeds every track → feature views, online store,
                                        ``artist_neighbors_audio`` / ``track_neighbors``, new snapshot
  ========================  ==========  ==================================================================

**Primary metric.** ``"auto"``: nDCG@10 when the split has at least 12 test artists (a cut-off n needs
n + 2), else nDCG@5 (7 or more), else nDCG@3 (5 or more).

**Quality.** The inputs are checked before training (:func:`validate_training_set`: shapes, finite log-mels
in range, targets on 0..1 and symmetric, enough artists, a disjoint split with similar pairs to learn from);
then the ``training_split`` quality suite checks the split (GX, Data Docs, recorded). Any failure raises
:class:`~musim.errors.QualityError` and nothing is trained.

Keras is imported inside the functions that train or load models.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from musim import sql, warehouse
from musim.config import get_settings
from musim.errors import NotFoundError, ParameterError, QualityError
from musim.models.constants import MODEL_FILE, SIAMESE, TOP_DB
from musim.models.data import PairTargets, load_catalogue, load_pair_targets, split_artists
from musim.storage import ObjectStore, open_store

__all__ = [
    "JobResult",
    "TrainingInputs",
    "choose_primary_metric",
    "comparisons",
    "evaluate_run",
    "evaluation_rows",
    "fetch_mels",
    "gate_training_set",
    "make_hparams",
    "prepare_inputs",
    "prepare_run",
    "promote_run",
    "publish_champion",
    "publish_run",
    "train_run",
    "train_siamese_job",
    "validate_training_set",
]

log = logging.getLogger(__name__)

#: Per-run intermediate objects of the DAG: ``models/runs/siamese/<run>/``.
RUNS_PREFIX = "models/runs/siamese"
#: The feature service of the siamese inputs (musim.features.definitions.siamese_log_mel).
FEATURE_SERVICE = "siamese_log_mel"
#: HyperParams' split defaults (musim.models.train imports Keras; the writer task must not): kept equal by
#: tests/models/test_jobs.py.
SPLIT_DEFAULTS = {"validation_share": 0.15, "test_share": 0.15, "seed": 0}


def _safe(run_id: str) -> str:
    """``run_id`` as one object-key segment (Airflow run ids hold ':' and '+')."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", run_id) or "run"


def run_prefix(run_id: str) -> str:
    return f"{RUNS_PREFIX}/{_safe(run_id)}/"


# -- hyperparameters and the primary metric --------------------------------------------------------------

def make_hparams(hparams: Any = None, **overrides: Any) -> Any:
    """A :class:`~musim.models.train.HyperParams` from one, a dict of fields, or None, with ``overrides``
    (None values are ignored)."""
    from musim.models.train import HyperParams

    base = hparams if isinstance(hparams, HyperParams) else HyperParams.from_json(dict(hparams or {}))
    changes = {k: v for k, v in overrides.items() if v is not None}
    return HyperParams.from_json({**base.to_json(), **changes}) if changes else base


def choose_primary_metric(n_test: int) -> str:
    """nDCG at the largest of 10, 5, 3 that ``n_test`` test artists can measure (n + 2 of them)."""
    for n in (10, 5, 3):
        if n_test >= n + 2:
            return f"ndcg@{n}"
    raise ParameterError(f"only {n_test} test artists: at least 5 are needed to rank anything (raise test_share "
                         "or add artists with audio)")


# -- the inputs ------------------------------------------------------------------------------------------

@dataclass(eq=False)
class TrainingInputs:
    """Everything a training run reads from the warehouse, as of one moment (no spectrograms: keys)."""

    dump_id: str
    metric: str
    as_of: dt.datetime
    mel_view: str
    mel_params: dict[str, Any]
    mel_params_hash: str
    mel_shape: tuple[int, int]
    track_ids: list[str]
    object_keys: list[str]
    track_artist: np.ndarray
    targets: PairTargets
    listeners: dict[int, int]
    descriptors: np.ndarray | None = None
    missing_descriptors: int = 0

    def usable_artists(self) -> np.ndarray:
        return np.intersect1d(np.unique(self.track_artist), self.targets.artist_ids)

    def describe(self) -> dict[str, Any]:
        return {"dump_id": self.dump_id, "metric": self.metric, "as_of": self.as_of.isoformat(),
                "mel_view": self.mel_view, "mel_params_hash": self.mel_params_hash, "tracks": len(self.track_ids),
                "artists": int(np.unique(self.track_artist).size), "catalogue": int(self.targets.artist_ids.size),
                "usable_artists": int(self.usable_artists().size),
                "descriptors": self.descriptors is not None, "missing_descriptors": self.missing_descriptors}

    def to_bytes(self) -> bytes:
        meta = {"dump_id": self.dump_id, "metric": self.metric, "as_of": self.as_of.isoformat(),
                "mel_view": self.mel_view, "mel_params": self.mel_params, "mel_params_hash": self.mel_params_hash,
                "mel_shape": list(self.mel_shape), "missing_descriptors": self.missing_descriptors,
                "targets_dump_id": self.targets.dump_id}
        buf = io.BytesIO()
        ids = np.fromiter(self.listeners, dtype=np.int64, count=len(self.listeners))
        np.savez_compressed(
            buf, meta=np.array(json.dumps(meta)), track_ids=np.array(self.track_ids, dtype=str),
            object_keys=np.array(self.object_keys, dtype=str), track_artist=self.track_artist.astype(np.int64),
            target_ids=self.targets.artist_ids, target_matrix=self.targets.matrix, listener_ids=ids,
            listener_counts=np.array([self.listeners[int(a)] for a in ids], dtype=np.int64),
            descriptors=self.descriptors if self.descriptors is not None else np.zeros((0, 0), np.float32))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrainingInputs:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            desc = z["descriptors"]
            targets = PairTargets(z["target_ids"], z["target_matrix"], meta["metric"], meta["targets_dump_id"])
            return cls(meta["dump_id"], meta["metric"], dt.datetime.fromisoformat(meta["as_of"]), meta["mel_view"],
                       meta["mel_params"], meta["mel_params_hash"], tuple(meta["mel_shape"]),
                       z["track_ids"].tolist(), z["object_keys"].tolist(), z["track_artist"].astype(np.int64),
                       targets, dict(zip(z["listener_ids"].tolist(), z["listener_counts"].tolist(), strict=True)),
                       desc if desc.size else None, int(meta["missing_descriptors"]))


def _mel_view(con: duckdb.DuckDBPyConnection, ref: str | None = None) -> Any:
    """The log-mel tensor view of the siamese inputs (of the feature service, or ``ref``)."""
    from musim.features import apply, get_service, get_view

    apply(con)
    if ref is not None:
        return get_view(con, ref)
    for view in get_service(con, FEATURE_SERVICE).views:
        if view.kind == "tensor" and view.source.extractor is not None and view.source.extractor.kind == "log_mel":
            return view
    raise NotFoundError(f"feature service {FEATURE_SERVICE} has no log-mel view")  # pragma: no cover


def _tracks(con: duckdb.DuckDBPyConnection, view: Any, as_of: dt.datetime,
            artists: np.ndarray | None) -> list[tuple[str, int, str]]:
    import pandas as pd

    from musim.features.sources import load_latest

    load_latest(con, view, as_of)
    if artists is None:
        return [(str(t), int(a), str(k)) for t, a, k in con.execute(sql.load("models/embed_tracks.sql")).fetchall()]
    con.register("models_artists", pd.DataFrame({"artist_id": np.asarray(artists, dtype=np.int64)}))
    try:
        rows = con.execute(sql.load("models/training_tracks.sql")).fetchall()
    finally:
        con.unregister("models_artists")
    return [(str(t), int(a), str(k)) for t, a, k in rows]


def _descriptors(con: duckdb.DuckDBPyConnection, track_ids: Sequence[str], as_of: dt.datetime
                 ) -> tuple[np.ndarray | None, int]:
    """Descriptor rows in ``track_ids`` order; tracks without one get the column means (counted)."""
    from musim.features.definitions import track_descriptors
    from musim.features.sources import load_latest

    load_latest(con, track_descriptors, as_of)
    got = {str(k): v for k, v in con.execute("SELECT entity_key, payload FROM fs_latest").fetchall()}
    if not got or not track_ids:
        return None, len(track_ids)
    dim = track_descriptors.dim
    mat = np.full((len(track_ids), dim), np.nan, dtype=np.float64)
    for i, t in enumerate(track_ids):
        v = got.get(t)
        if v is not None and len(v) == dim:
            mat[i] = v
    missing = int(np.isnan(mat).any(axis=1).sum())
    with np.errstate(all="ignore"):
        means = np.nanmean(mat, axis=0)
    means = np.where(np.isfinite(means), means, 0.0)
    mat = np.where(np.isnan(mat), means[None, :], mat)
    return mat.astype(np.float32), missing


def prepare_inputs(con: duckdb.DuckDBPyConnection, *, dump_id: str | None = None, metric: str = "seed",
                   as_of: dt.datetime | None = None, mel_view: str | None = None) -> TrainingInputs:
    """The training inputs as of ``as_of`` (default now): the similarity targets of a dump's catalogue
    (default the latest build), its artists' tracks with a log-mel of the view (object keys), listeners,
    and descriptor rows (the descriptor baseline)."""
    as_of = as_of or dt.datetime.now(dt.UTC)
    targets = load_pair_targets(con, dump_id=dump_id, metric=metric)
    listeners = load_catalogue(con, targets.dump_id)
    view = _mel_view(con, mel_view)
    rows = _tracks(con, view, as_of, targets.artist_ids)
    if not rows:
        raise NotFoundError(f"no track of the {targets.artist_ids.size} catalogue artists has a log-mel of "
                            f"{view.ref}: acquire audio and extract features first (audio_acquire, audio_features)")
    track_ids = [r[0] for r in rows]
    desc, missing = _descriptors(con, track_ids, as_of)
    shape = tuple(int(s) for s in view.schema[0].shape)
    return TrainingInputs(str(targets.dump_id), metric, as_of, view.ref, dict(view.params or {}),
                          str(view.params_hash), shape, track_ids, [r[2] for r in rows],
                          np.array([r[1] for r in rows], dtype=np.int64), targets, listeners, desc, missing)


def fetch_mels(inputs: TrainingInputs, *, store: ObjectStore | None = None, folder: str | os.PathLike[str] | None = None,
               threads: int = 8) -> np.ndarray:
    """The inputs' log-mels as one local ``(N, frames, n_mels)`` float16 memmap, from the object store only.

    The file is the one :func:`musim.features.cache_log_mels` makes for the same rows (same folder and
    name), so whichever runs first serves the other.
    """
    from musim.features.cache import TMP_PREFIX, load_tensor
    from musim.scratch import temp_file

    store = store or open_store()
    base = Path(folder) if folder is not None else get_settings().home / "cache" / "features"
    base = base / inputs.mel_params_hash
    base.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256("\n".join(f"{t}\t{k}" for t, k in zip(inputs.track_ids, inputs.object_keys, strict=True))
                            .encode()).hexdigest()[:20]
    path = base / f"{digest}.npy"
    shape = (len(inputs.track_ids), *inputs.mel_shape)
    if path.exists():
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
        if arr.shape == shape:
            return arr
    with temp_file(base, TMP_PREFIX, ".npy") as tmp:  # the cache folder of musim.features.cache_log_mels
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=shape)

        def fetch(i: int) -> None:
            a = load_tensor(store, inputs.object_keys[i])
            if a.shape != tuple(inputs.mel_shape):
                raise ParameterError(f"{inputs.object_keys[i]} has shape {a.shape}, expected {inputs.mel_shape}")
            out[i] = a

        with cf.ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            for f in [pool.submit(fetch, i) for i in range(shape[0])]:
                f.result()
        out.flush()
        os.replace(tmp, path)
    index = {"view": inputs.mel_view, "params_hash": inputs.mel_params_hash, "params": inputs.mel_params,
             "shape": list(shape), "dtype": "float16", "track_ids": inputs.track_ids,
             "object_keys": inputs.object_keys, "missing": [], "created_at": dt.datetime.now(dt.UTC).isoformat()}
    (base / f"{digest}.json").write_text(json.dumps(index, default=str), encoding="utf-8")
    return np.load(path, mmap_mode="r", allow_pickle=False)


# -- quality ---------------------------------------------------------------------------------------------

def validate_training_set(inputs: TrainingInputs, x: np.ndarray, hparams: Any) -> dict[str, Any]:
    """Check the training inputs before any training; QualityError listing every problem found.

    Checks: log-mels of the network's shape, finite, within ``[-top_db, 0]`` dB; one artist per row, all in
    the catalogue; targets on 0..1, symmetric, NaN only on the diagonal; descriptors finite; enough usable
    artists for a disjoint train / validation / test split with similar pairs among the training artists.
    Returns the facts (for logs and XCom).
    """
    problems: list[str] = []
    n = len(inputs.track_ids)
    frames, mels = (int(s) for s in inputs.mel_shape)
    if tuple(x.shape) != (n, frames, mels):
        problems.append(f"log-mels have shape {tuple(x.shape)}, expected {(n, frames, mels)}")
    want = tuple(hparams.siamese_config().input_shape)
    if (frames, mels) != want:
        problems.append(f"log-mels are {(frames, mels)}, the network takes {want}")
    lo, hi, bad = np.inf, -np.inf, 0
    for s in range(0, x.shape[0], 2048):
        chunk = np.asarray(x[s:s + 2048], dtype=np.float32)
        finite = np.isfinite(chunk)
        bad += int((~finite.all(axis=(1, 2))).sum())
        if finite.any():
            lo, hi = min(lo, float(chunk[finite].min())), max(hi, float(chunk[finite].max()))
    if bad:
        problems.append(f"{bad} log-mels hold NaN or infinite values")
    if n and (lo < -TOP_DB - 0.5 or hi > 0.5):
        problems.append(f"log-mel values span [{lo:.1f}, {hi:.1f}] dB, outside [-{TOP_DB:g}, 0]")
    if inputs.track_artist.shape != (n,) or len(inputs.object_keys) != n or len(set(inputs.track_ids)) != n:
        problems.append("track ids, object keys and artists disagree in length, or a track appears twice")
    outside = np.setdiff1d(np.unique(inputs.track_artist), inputs.targets.artist_ids)
    if outside.size:
        problems.append(f"{outside.size} artists with clips are not in the catalogue of dump {inputs.dump_id[:12]}")
    m = inputs.targets.matrix
    off = ~np.eye(m.shape[0], dtype=bool)
    if m.size and (np.isnan(m[off]).any() or (m[off] < 0).any() or (m[off] > 1).any()):
        problems.append("targets off the diagonal must be finite and on 0..1")
    if m.size and not np.allclose(np.nan_to_num(m), np.nan_to_num(m.T)):
        problems.append("the target matrix is not symmetric")
    if inputs.descriptors is not None and (inputs.descriptors.shape[0] != n
                                           or not np.isfinite(inputs.descriptors).all()):
        problems.append("descriptor rows do not match the tracks or are not finite")
    usable = inputs.usable_artists()
    split = None
    if usable.size < 6:
        problems.append(f"only {usable.size} artists have both clips and targets; at least 6 are needed")
    else:
        split = split_artists(usable, validation=hparams.validation_share, test=hparams.test_share, seed=hparams.seed)
        parts = [set(split.train.tolist()), set(split.validation.tolist()), set(split.test.tolist())]
        if parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2]:
            problems.append("the artist split is not disjoint")  # pragma: no cover - split_artists guarantees it
        tr = inputs.targets.sub(split.train)
        if tr.size and not np.nanmax(np.where(np.eye(len(split.train), dtype=bool), 0, tr)) > hparams.zero_threshold:
            problems.append("no pair of training artists has co-listeners: nothing similar to learn from")
        if split.test.size < 5:
            problems.append(f"only {split.test.size} test artists (test_share {hparams.test_share}): at least 5 "
                            "are needed to evaluate")
    facts = {**inputs.describe(), "db_range": [lo, hi] if n else None,
             "split": split.to_json() if split is not None else None, "problems": problems}
    if problems:
        raise QualityError("training set failed its checks; nothing was trained:\n  - " + "\n  - ".join(problems))
    return facts


def gate_training_set(con: duckdb.DuckDBPyConnection, inputs: TrainingInputs, *, validation_share: float,
                      test_share: float, seed: int, zero_threshold: float = 0.0) -> dict[str, Any]:
    """Run :mod:`musim.quality`'s ``training_split`` suite on the split these shares give (QualityError if it
    fails: an artist on two sides, targets off 0..1, too few test artists, nothing similar to learn from).

    Returns the run id, the Data Docs URL and the balance the suite reported (for logs and XCom).
    """
    from musim.quality.suites.training_split import TrainingSplit, gate_split

    split = split_artists(inputs.usable_artists(), validation=validation_share, test=test_share, seed=seed)
    payload = TrainingSplit(inputs.targets.artist_ids, inputs.targets.matrix,
                            {"train": split.train, "validation": split.validation, "test": split.test},
                            inputs.track_artist, metric=inputs.metric, zero_threshold=zero_threshold,
                            description=f"siamese training split of dump {inputs.dump_id[:12]}")
    return gate_split(con, payload, dump_id=inputs.dump_id)


# -- reporting -------------------------------------------------------------------------------------------

def evaluation_rows(metrics: Mapping[str, Mapping[str, Mapping[str, Any]]],
                    names: Sequence[str] = ("precision@3", "precision@5", "ndcg@10")) -> list[dict[str, Any]]:
    """``[{scorer, metric: {mean, lo, hi, n}, ...}]`` for the named metrics (the model first)."""
    scorers = sorted(metrics, key=lambda s: (s != "model", s))
    return [{"scorer": s, **{m: dict(metrics[s].get(m) or {}) for m in names}} for s in scorers]


def comparisons(con: duckdb.DuckDBPyConnection, version: str, names: Sequence[str], *,
                against: Sequence[str] | None = None, n_boot: int = 2000) -> list[dict[str, Any]]:
    """Paired bootstrap CIs of (model − scorer) per metric over the same query artists of ``version``'s run."""
    from musim.models import registry
    from musim.models.evaluate import paired_bootstrap

    entry = registry.get_model(con, version)
    out = []
    for other in against or [s for s in entry.metrics if s != registry.MODEL_SCORER]:
        for m in names:
            a = registry.query_values(con, version, registry.MODEL_SCORER, m)
            b = registry.query_values(con, version, other, m)
            common = sorted(set(a) & set(b))
            if not common:
                continue
            cmp = paired_bootstrap(np.array([a[q] for q in common]), np.array([b[q] for q in common]),
                                   names=("model", other), metric=m, n_boot=n_boot)
            out.append(cmp.to_json())
    return out


# -- publishing the champion -----------------------------------------------------------------------------

def _champion_features(con: duckdb.DuckDBPyConnection, entry: Any) -> Any:
    from musim.features import get_service
    from musim.features.definitions import track_log_mel

    if entry.feature_service:
        try:
            for view in get_service(con, entry.feature_service).views:
                if view.kind == "tensor" and view.source.extractor and view.source.extractor.kind == "log_mel":
                    return view
        except NotFoundError:
            log.warning("feature service %s of %s is not registered: using %s", entry.feature_service,
                        entry.version, track_log_mel.ref)
    return track_log_mel


def publish_champion(con: duckdb.DuckDBPyConnection, *, store: ObjectStore | None = None, k: int = 10,
                     run_id: str | None = None, snapshot: bool = True) -> dict[str, Any]:
    """Embed every track with a log-mel with the siamese champion and publish its neighbours (and a new
    serving snapshot). Without a champion, only the snapshot is published (the registry changed)."""
    from musim import serving
    from musim.features import cache_log_mels
    from musim.features.sources import load_latest
    from musim.models import registry
    from musim.models.serve import publish_neighbors
    from musim.models.siamese import embed, encoder_of, load_model, pair_scores

    store = store or open_store()
    entry = registry.champion(con, SIAMESE)
    if entry is None:
        path = serving.publish(con) if snapshot else None
        log.warning("no siamese champion yet: no audio neighbours published")
        return {"champion": None, "snapshot": str(path) if path else None}
    view = _champion_features(con, entry)
    load_latest(con, view)
    track_ids = [str(r[0]) for r in con.execute(sql.load("models/embed_tracks.sql")).fetchall()]
    if not track_ids:
        raise NotFoundError(f"no track has a log-mel of {view.ref}: nothing to embed")
    cache = cache_log_mels(track_ids, con=con, view=view, store=store)
    model = load_model(registry.fetch_model_file(store, entry))
    emb = embed(encoder_of(model), cache.array())

    def head(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return pair_scores(model, a, b, chunk=16)

    result = publish_neighbors(con, SIAMESE, entry.version, list(cache.track_ids), emb, pair_similarity=head, k=k,
                               store=store, run_id=run_id, snapshot=snapshot,
                               manifest={"input": "log_mel", "mel_view": view.ref, "mel_params": dict(view.params or {}),
                                         "mel_params_hash": view.params_hash})
    return {"champion": entry.version, **result.to_json()}


# -- one process: the job --------------------------------------------------------------------------------

@dataclass
class JobResult:
    """What :func:`train_siamese_job` did."""

    run_id: str
    version: str
    status: str
    promoted: bool
    reused: bool
    primary_metric: str
    decision: dict[str, Any] | None
    evaluation: list[dict[str, Any]]
    comparisons: list[dict[str, Any]]
    training: dict[str, Any]
    checks: dict[str, Any]
    published: dict[str, Any] | None
    champion: str | None = None
    test_artists: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        from musim.models.evaluate import json_safe

        return json_safe(dict(self.__dict__))


def train_siamese_job(*, dump_id: str | None = None, metric: str = "seed", hparams: Any = None,
                      run_id: str | None = None, primary_metric: str = "auto", k: int = 10, publish: bool = True,
                      n_boot: int = 1000, con: duckdb.DuckDBPyConnection | None = None,
                      store: ObjectStore | None = None, verbose: int = 0, **overrides: Any) -> JobResult:
    """Train, evaluate, register and promote a siamese model, then publish the champion's neighbours.

    Parameters
    ----------
    dump_id, metric : the targets (default: the latest similarity build, the ``seed`` metric)
    hparams : HyperParams or a dict of its fields; ``overrides`` (``epochs=3``, ...) change single fields
    run_id : the run's id (registering the same run again trains nothing); default ``cli/<time>``
    primary_metric : the promotion metric, or ``"auto"`` (see the module docstring)
    k : neighbours per artist and track
    publish : embed with the champion and publish (neighbour tables, online store, serving snapshot)
    con : the warehouse writer's connection (default: opened and closed here)
    """
    from musim.features import cache_log_mels, get_view
    from musim.models.pipeline import train_evaluate_register

    if con is None:
        with warehouse.writer() as own:
            return train_siamese_job(dump_id=dump_id, metric=metric, hparams=hparams, run_id=run_id,
                                     primary_metric=primary_metric, k=k, publish=publish, n_boot=n_boot, con=own,
                                     store=store, verbose=verbose, **overrides)
    store = store or open_store()
    hp = make_hparams(hparams, **overrides)
    run_id = run_id or f"cli/{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}"
    inputs = prepare_inputs(con, dump_id=dump_id, metric=metric)
    gate_training_set(con, inputs, validation_share=hp.validation_share, test_share=hp.test_share, seed=hp.seed,
                      zero_threshold=hp.zero_threshold)
    cache = cache_log_mels(inputs.track_ids, con=con, view=get_view(con, inputs.mel_view), as_of=inputs.as_of,
                           store=store)
    if cache.missing:  # pragma: no cover - the tracks were selected by having a tensor at as_of
        raise NotFoundError(f"{len(cache.missing)} tensors vanished between planning and caching")
    x = cache.array()
    checks = validate_training_set(inputs, x, hp)
    pm = choose_primary_metric(checks["split"]["test"]) if primary_metric == "auto" else primary_metric
    log.info("training %s on %d tracks of %d artists (%s), primary metric %s", run_id, len(inputs.track_ids),
             checks["usable_artists"], inputs.dump_id[:12], pm)
    outcome = train_evaluate_register(x, inputs.track_artist, inputs.targets, hp, con=con, store=store,
                                      listeners=inputs.listeners, descriptors=inputs.descriptors,
                                      feature_service=FEATURE_SERVICE, snapshot_id=inputs.as_of.isoformat(),
                                      run_id=run_id, primary_metric=pm, n_boot=n_boot, verbose=verbose)
    entry = outcome.entry
    _register_version_service(con, entry.version, inputs.as_of)
    published = publish_champion(con, store=store, k=k, run_id=run_id) if publish else None
    from musim.models import registry

    champ = registry.champion(con, SIAMESE)
    return JobResult(run_id, entry.version, registry.get_model(con, entry.version).status,
                     bool(outcome.decision and outcome.decision.promoted), outcome.result is None, entry.primary_metric,
                     outcome.decision.to_json() if outcome.decision else None,
                     evaluation_rows(entry.metrics, _names(entry.primary_metric)),
                     comparisons(con, entry.version, _names(entry.primary_metric), against=["random", "pixel"]),
                     entry.training or {}, checks, published, champ.version if champ else None,
                     sorted(int(r[0]) for r in con.execute(
                         "SELECT artist_id FROM model_test_artist WHERE test_set_id = ?", [entry.test_set_id]).fetchall()))


def _names(primary: str) -> list[str]:
    return list(dict.fromkeys(["precision@3", "precision@5", primary]))


def _register_version_service(con: duckdb.DuckDBPyConnection, version: str, as_of: dt.datetime) -> None:
    """The feature service of one model version: its input views, pinned at the training set's as_of."""
    from musim.features import get_service, register_service
    from musim.features.registry import FeatureService

    try:
        get_service(con, version)
        return  # a retried run: registered already
    except NotFoundError:
        pass
    base = get_service(con, FEATURE_SERVICE)
    register_service(con, FeatureService(version, base.views, description=f"inputs of model {version}",
                                         model_version=version, as_of=as_of))


# -- the DAG's phases ------------------------------------------------------------------------------------

def prepare_run(run_id: str, *, dump_id: str | None = None, metric: str = "seed", hparams: Any = None,
                primary_metric: str = "auto", store: ObjectStore | None = None) -> dict[str, Any]:
    """Writer task: gather and gate the inputs, store them for the training task; returns ids and keys.

    Imports no Keras (the writer slot is not held while TensorFlow loads): the hyperparameters are
    validated by the training task, which also picks the ``"auto"`` primary metric from its split.
    """
    store = store or open_store()
    with warehouse.writer() as con:
        inputs = prepare_inputs(con, dump_id=dump_id, metric=metric)
        usable = inputs.usable_artists()
        if usable.size < 6:
            raise QualityError(f"only {usable.size} artists have both clips and targets; at least 6 are needed")
        h = dict(hparams or {})
        shares = {k: h.get(k, SPLIT_DEFAULTS[k]) for k in SPLIT_DEFAULTS}
        n_test = split_artists(usable, validation=float(shares["validation_share"]), test=float(shares["test_share"]),
                               seed=int(shares["seed"])).test.size
        if n_test < 5:  # fail here, before a training task is scheduled (validate_training_set says the same)
            raise QualityError(f"only {n_test} test artists (test_share {shares['test_share']}) of {usable.size}: at "
                               "least 5 are needed to evaluate; raise test_share or add artists with audio")
        quality = gate_training_set(con, inputs, validation_share=float(shares["validation_share"]),
                                    test_share=float(shares["test_share"]), seed=int(shares["seed"]),
                                    zero_threshold=float(h.get("zero_threshold", 0.0)))
    key = run_prefix(run_id) + "inputs.npz"
    store.put_bytes(key, inputs.to_bytes(), content_type="application/octet-stream")
    return {"run_id": run_id, "inputs_key": key, "dump_id": inputs.dump_id, "metric": metric,
            "as_of": inputs.as_of.isoformat(), "primary_metric": primary_metric, "hparams": dict(hparams or {}),
            "quality": quality, **{k: v for k, v in inputs.describe().items() if k in ("tracks", "usable_artists")}}


def _load_inputs(store: ObjectStore, plan: Mapping[str, Any]) -> TrainingInputs:
    return TrainingInputs.from_bytes(store.get_bytes(plan["inputs_key"]))


def train_run(plan: Mapping[str, Any], *, store: ObjectStore | None = None, verbose: int = 0) -> dict[str, Any]:
    """GPU task: train on the stored inputs (object store only) and store the model; returns its keys.

    A rerun of a run whose model is stored returns the stored result without training again.
    """
    from musim.models.evaluate import json_safe
    from musim.models.siamese import save_model
    from musim.models.train import train

    store = store or open_store()
    prefix = run_prefix(plan["run_id"])
    done_key = prefix + "train.json"
    if store.exists(done_key):
        log.info("run %s is trained already: %s", plan["run_id"], done_key)
        return json.loads(store.get_bytes(done_key))["xcom"]
    hp = make_hparams(plan["hparams"])
    inputs = _load_inputs(store, plan)
    x = fetch_mels(inputs, store=store)
    checks = validate_training_set(inputs, x, hp)
    result = train(x, inputs.track_artist, inputs.targets, hp, verbose=verbose)
    with tempfile.TemporaryDirectory(prefix="musim-train-") as tmp:
        path = Path(tmp) / MODEL_FILE
        save_model(result.model, path)
        store.put_file(prefix + MODEL_FILE, path, content_type="application/octet-stream")
    pm = plan.get("primary_metric", "auto")
    xcom = {"run_id": plan["run_id"], "model_key": prefix + MODEL_FILE, "train_key": done_key,
            "epochs_run": result.epochs_run, "seconds": round(result.seconds, 1), "device": result.device,
            "test_set_id": result.data.split.test_set_id, "hparams": hp.to_json(),
            "primary_metric": choose_primary_metric(result.data.split.test.size) if pm == "auto" else pm}
    doc = {"xcom": xcom, "summary": result.summary(), "history": result.history, "checks": checks}
    store.put_bytes(done_key, json.dumps(json_safe(doc), default=str).encode(), content_type="application/json")
    return xcom


def evaluate_run(plan: Mapping[str, Any], trained: Mapping[str, Any], *, store: ObjectStore | None = None,
                 n_boot: int = 1000) -> dict[str, Any]:
    """Writer task: evaluate the trained model, the champion and the baselines on the same test artists
    (the run's training set rebuilt with its seed) and register the model as a challenger."""
    from musim.models import registry
    from musim.models.data import build_training_set
    from musim.models.pipeline import evaluate_siamese
    from musim.models.siamese import load_model

    store = store or open_store()
    run_id = plan["run_id"]
    with warehouse.writer() as con:
        done = con.execute("SELECT version FROM model_registry WHERE run_id = ?", [run_id]).fetchone()
        if done is not None:
            return {"run_id": run_id, "version": done[0], "primary_metric": trained["primary_metric"],
                    "reused": True}
        hp = make_hparams(trained["hparams"])
        inputs = _load_inputs(store, plan)
        x = fetch_mels(inputs, store=store)
        data = build_training_set(x, inputs.track_artist, inputs.targets, clips_per_artist=hp.clips_per_artist,
                                  validation=hp.validation_share, test=hp.test_share, sampling=hp.pair_sampling(),
                                  validation_sampling=hp.pair_sampling(validation=True), seed=hp.seed)
        if data.split.test_set_id != trained["test_set_id"]:
            raise ParameterError(f"the rebuilt split ({data.split.test_set_id}) is not the one trained on "
                                 f"({trained['test_set_id']}): the inputs changed under the run")
        with tempfile.TemporaryDirectory(prefix="musim-eval-") as tmp:
            path = Path(tmp) / MODEL_FILE
            store.download(trained["model_key"], path)
            model = load_model(path)
            others = {}
            current = registry.champion(con, SIAMESE)
            if current is not None:
                try:
                    others[current.version] = load_model(registry.fetch_model_file(store, current))
                except Exception as exc:  # noqa: BLE001 - promotion then says why it cannot decide
                    log.warning("could not load champion %s for comparison: %s", current.version, exc)
            report = evaluate_siamese(model, data, listeners=inputs.listeners, descriptors=inputs.descriptors,
                                      others=others, n_boot=n_boot, seed=hp.seed)
            doc = json.loads(store.get_bytes(trained["train_key"]))
            entry = registry.register_model(
                con, store, family=SIAMESE, model_file=path, report=report, params=hp.to_json(),
                target_metric=inputs.metric, feature_service=FEATURE_SERVICE, dump_id=inputs.dump_id,
                snapshot_id=inputs.as_of.isoformat(), run_id=run_id, training=doc["summary"],
                history=doc["history"], primary_metric=trained["primary_metric"])
        _register_version_service(con, entry.version, inputs.as_of)
        rows = evaluation_rows(entry.metrics, _names(entry.primary_metric))
    return {"run_id": run_id, "version": entry.version, "primary_metric": entry.primary_metric, "reused": False,
            "evaluation": json.loads(json.dumps(rows, default=str))}


def promote_run(evaluated: Mapping[str, Any]) -> dict[str, Any]:
    """Writer task: the promotion decision of the run's version (recorded in ``model_promotion``)."""
    from musim.models import registry

    with warehouse.writer() as con:
        decision = registry.promote(con, evaluated["version"], metric=evaluated["primary_metric"])
        champ = registry.champion(con, SIAMESE)
    return {**decision.to_json(), "champion": champ.version if champ else None}


def publish_run(run_id: str, *, k: int = 10, store: ObjectStore | None = None) -> dict[str, Any]:
    """Writer task: :func:`publish_champion` (neighbour tables, embeddings, online store, snapshot)."""
    with warehouse.writer() as con:
        return publish_champion(con, store=store, k=k, run_id=run_id)
