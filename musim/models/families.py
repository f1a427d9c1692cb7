"""Model families side by side: how each trains, embeds and is evaluated, with one registry, one
evaluation and one serving path.

=================  ==============  ===========================================  ================================
family             inputs          model                                        similarity of two artists
=================  ==============  ===========================================  ================================
``siamese``        log-mel         siamese CNN on clip pairs (co-listening)     mean pair output over their clips
``cnn_classifier`` slices          genre/artist classifier, 128-d penultimate   cosine of mean track embeddings
``autoencoder``    log-mel         convolutional autoencoder, flattened code    cosine of mean track embeddings
``descriptors``    descriptors     z-scoring of the handcrafted descriptors     cosine of mean track vectors
=================  ==============  ===========================================  ================================

Every family is evaluated by :func:`musim.models.evaluate.evaluate` on the **same test artists** (the
seeded artist split of :func:`musim.models.data.split_artists` over the artists with features and
targets, as the siamese pipeline does), against the same baselines, with its own champion and the other
families' champions re-scored in the same run (so the registry holds paired per-query values for
cross-family comparisons), and registered with :func:`musim.models.registry.register_model`.

In one process::

    with warehouse.writer() as con:
        inputs = load_inputs(con, needs=("log_mel", "slices", "descriptors"))
        out = run_family("autoencoder", con=con, inputs=inputs, params={"epochs": 20})
        out.entry.version, out.decision.promoted, out.files     # PNGs next to the model
        print(compare_families(con).text())

In a DAG the same steps run in three places, passing object-store keys: :func:`prepare` (warehouse →
a manifest of track ids, labels, feature keys, targets, split), :func:`train_staged` (object store only,
GPU: train, embed, evaluate, write views) and :func:`record_staged`
(warehouse: register, promote, publish). Staged objects live under ``models/runs/embeddings/<run>/``.

Serving: :func:`embed_tracks` gives the track embeddings of any registered version (``autoencoder:champion``
works), :func:`publish_version` writes them where the neighbour tables are built from, and
:func:`cosine_top_k` is the recommender of the embedding families.

This module imports no TensorFlow at import time; training, embedding and loading models do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import logging
import math
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musim.errors import NotFoundError, ParameterError
from musim.models import registry
from musim.models.constants import (
    BASELINES,
    CARD_FILE,
    DEFAULT_TARGET,
    MODEL_FILE,
    MODELS_PREFIX,
    PRIMARY_METRIC,
    SIAMESE,
)
from musim.models.data import ArtistSplit, ClipTable, PairTargets, split_artists
from musim.models.evaluate import (
    EvaluationReport,
    Scorer,
    descriptor_scorer,
    embedding_scorer,
    evaluate,
    json_safe,
    paired_bootstrap,
    pixel_scorer,
    popularity_scorer,
    random_scorer,
)

if TYPE_CHECKING:  # pragma: no cover
    import duckdb
    import keras

    from musim.config import Settings
    from musim.storage import ObjectStore

__all__ = [
    "FAMILIES",
    "Family",
    "FamilyComparison",
    "FamilyInputs",
    "FamilyOutcome",
    "FamilyRun",
    "compare_families",
    "cosine_top_k",
    "embed_features",
    "embed_tracks",
    "evaluate_family",
    "get_family",
    "load_inputs",
    "prepare",
    "publish_embeddings",
    "publish_version",
    "record_run",
    "record_staged",
    "run_families_demo",
    "run_family",
    "train_evaluate",
    "train_staged",
]

log = logging.getLogger(__name__)

CNN_CLASSIFIER = "cnn_classifier"
AUTOENCODER = "autoencoder"
DESCRIPTORS = "descriptors"
STAGING_PREFIX = f"{MODELS_PREFIX}/runs/embeddings"
FEATURES = ("log_mel", "slices", "descriptors")


# -- inputs ----------------------------------------------------------------------------------------------

@dataclass(eq=False)
class FamilyInputs:
    """Everything any family needs, one row per track (tracks of an artist in order of preference).

    Tensors (``mel``, ``slices``) are loaded by :meth:`load_tensors` from the object keys, so the
    manifest (:meth:`to_bytes`) stays small.
    """

    track_ids: list[str]
    track_artist: np.ndarray                       # (N,) int64
    titles: list[str]
    genres: list[str | None]
    artist_names: dict[int, str]
    mel_keys: list[str | None]
    slice_keys: list[str | None]
    descriptors: np.ndarray | None = None          # (N, D) float32
    targets: PairTargets | None = None
    split: ArtistSplit | None = None               # over the artists with targets (the common test artists)
    listeners: dict[int, int] | None = None
    clips_per_artist: int = 3
    snapshot_id: str | None = None
    champions: dict[str, dict[str, str]] = field(default_factory=dict)  # family -> {version, key}
    mel: np.ndarray | None = None                  # (N, 256, 64) float16 dB
    slices: np.ndarray | None = None               # (M, frames, n_mels) float16 dB
    slice_track: np.ndarray | None = None          # (M,) track index of every slice

    def __len__(self) -> int:
        return len(self.track_ids)

    @property
    def dump_id(self) -> str | None:
        return None if self.targets is None else self.targets.dump_id

    @property
    def target_metric(self) -> str:
        return DEFAULT_TARGET if self.targets is None else self.targets.metric

    def clips(self) -> ClipTable:
        """Each evaluated artist's first ``clips_per_artist`` tracks (what every scorer averages over)."""
        artists = None if self.targets is None else self.targets.artist_ids
        return ClipTable.from_track_artist(self.track_artist, clips_per_artist=self.clips_per_artist, artists=artists)

    def training_split(self) -> ArtistSplit:
        """The common split with the artists outside the targets (no evaluation role) added to train."""
        if self.split is None:
            raise ParameterError("these inputs have no artist split (loaded without targets)")
        extra = np.setdiff1d(np.unique(self.track_artist),
                             np.concatenate([self.split.train, self.split.validation, self.split.test]))
        return ArtistSplit(np.union1d(self.split.train, extra), self.split.validation, self.split.test,
                           self.split.seed, self.split.validation_share, self.split.test_share)

    def labels(self, by: str = "auto") -> tuple[list[str], str]:
        """Colour labels of the tracks: genre (``auto`` when most tracks have one) or artist name."""
        known = sum(g is not None for g in self.genres)
        if by == "genre" or (by == "auto" and known >= 0.5 * len(self)):
            return [g if g is not None else "?" for g in self.genres], "genre"
        return [self.artist_names.get(int(a), str(a)) for a in self.track_artist], "artist"

    def names(self) -> list[str]:
        return [f"{self.artist_names.get(int(a), str(a))} – {t}" for a, t in zip(self.track_artist, self.titles,
                                                                                 strict=True)]

    def load_tensors(self, store: ObjectStore, needs: Sequence[str] = FEATURES, *, threads: int = 8) -> FamilyInputs:
        """Load the log-mels and/or slices named in ``needs`` from the object store (in place; returns self)."""
        import concurrent.futures as cf

        from musim.features.cache import load_tensor

        def fetch(keys: Sequence[str | None]) -> list[np.ndarray | None]:
            with cf.ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
                return list(pool.map(lambda k: None if k is None else load_tensor(store, k), keys))

        if "log_mel" in needs and self.mel is None:
            arrs = fetch(self.mel_keys)
            shape = next((a.shape for a in arrs if a is not None), None)
            if shape is None:
                raise NotFoundError("no track has a log-mel tensor: run the audio_features DAG first")
            self.mel = np.stack([a.astype(np.float16) if a is not None else np.full(shape, -80.0, np.float16)
                                 for a in arrs])
        if "slices" in needs and self.slices is None:
            arrs = fetch(self.slice_keys)
            got = [(i, a) for i, a in enumerate(arrs) if a is not None and a.shape[0] > 0]
            if not got:
                raise NotFoundError("no track has slices: run the audio_features DAG with the track_slices view")
            self.slices = np.concatenate([a.astype(np.float16) for _, a in got])
            self.slice_track = np.concatenate([np.full(a.shape[0], i, np.int64) for i, a in got])
        return self

    # -- the manifest ------------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The inputs without tensors as one ``.npz`` (arrays + a JSON document)."""
        doc = {"track_ids": self.track_ids, "titles": self.titles, "genres": self.genres,
               "artist_names": {str(k): v for k, v in self.artist_names.items()}, "mel_keys": self.mel_keys,
               "slice_keys": self.slice_keys, "listeners": None if self.listeners is None else
               {str(k): v for k, v in self.listeners.items()}, "clips_per_artist": self.clips_per_artist,
               "snapshot_id": self.snapshot_id, "champions": self.champions,
               "targets": None if self.targets is None else {"metric": self.targets.metric,
                                                             "dump_id": self.targets.dump_id},
               "split": None if self.split is None else {"seed": self.split.seed,
                                                         "validation_share": self.split.validation_share,
                                                         "test_share": self.split.test_share}}
        arrays: dict[str, np.ndarray] = {"doc": np.frombuffer(json.dumps(doc).encode(), dtype=np.uint8),
                                         "track_artist": self.track_artist}
        if self.descriptors is not None:
            arrays["descriptors"] = self.descriptors
        if self.targets is not None:
            arrays["target_ids"], arrays["target_matrix"] = self.targets.artist_ids, self.targets.matrix
        if self.split is not None:
            arrays["split_train"], arrays["split_validation"] = self.split.train, self.split.validation
            arrays["split_test"] = self.split.test
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> FamilyInputs:
        z = np.load(io.BytesIO(data), allow_pickle=False)
        doc = json.loads(z["doc"].tobytes().decode())
        targets = split = None
        if doc["targets"] is not None:
            targets = PairTargets(z["target_ids"], z["target_matrix"], doc["targets"]["metric"],
                                  doc["targets"]["dump_id"])
        if doc["split"] is not None:
            split = ArtistSplit(z["split_train"], z["split_validation"], z["split_test"], **doc["split"])
        return cls(doc["track_ids"], z["track_artist"].astype(np.int64), doc["titles"], doc["genres"],
                   {int(k): v for k, v in doc["artist_names"].items()}, doc["mel_keys"], doc["slice_keys"],
                   z["descriptors"] if "descriptors" in z else None, targets, split,
                   None if doc["listeners"] is None else {int(k): v for k, v in doc["listeners"].items()},
                   doc["clips_per_artist"], doc["snapshot_id"], doc["champions"])


_TRACKS_SQL = """
SELECT t.track_id, t.artist_id, t.title, nullif(trim(t.genre), '') AS genre, coalesce(a.name, '') AS artist
FROM track t LEFT JOIN artist a USING (artist_id)
ORDER BY t.artist_id, t.provider_rank NULLS LAST, t.added_at, t.track_id
"""


def _latest(con: duckdb.DuckDBPyConnection, view: Any, as_of: dt.datetime) -> dict[str, Any]:
    from musim.features.sources import load_latest

    load_latest(con, view, as_of)
    return dict(con.execute("SELECT entity_key, payload FROM fs_latest").fetchall())


def load_manifest(con: duckdb.DuckDBPyConnection, *, needs: Sequence[str] = FEATURES, dump_id: str | None = None,
                  target_metric: str = DEFAULT_TARGET, with_targets: bool = True, seed: int = 0,
                  validation_share: float = 0.15, test_share: float = 0.15, clips_per_artist: int = 3,
                  track_ids: Sequence[str] | None = None, as_of: dt.datetime | None = None) -> FamilyInputs:
    """Read the inputs (without tensors) from the warehouse: tracks with every feature in ``needs``
    (log-mel always), their artists, genres and feature keys, the targets, listeners and the common split.

    The split is :func:`split_artists` over the artists that have a log-mel track and targets, with the
    siamese defaults (seed 0, 15 % validation, 15 % test): every family, the siamese one included, then
    holds out the same test artists.
    """
    from musim.features.definitions import track_descriptors, track_log_mel, track_slices
    from musim.models.data import load_catalogue, load_pair_targets

    as_of = as_of or dt.datetime.now(dt.UTC)
    rows = con.execute(_TRACKS_SQL).fetchall()
    if track_ids is not None:
        wanted = set(map(str, track_ids))
        rows = [r for r in rows if r[0] in wanted]
    mel = _latest(con, track_log_mel, as_of)
    sl = _latest(con, track_slices, as_of) if "slices" in needs else {}
    desc = _latest(con, track_descriptors, as_of) if "descriptors" in needs else {}
    keep = [r for r in rows if r[0] in mel and ("slices" not in needs or r[0] in sl)]
    if not keep:
        raise NotFoundError(f"no track has the features {', '.join(sorted({'log_mel', *needs} - {'descriptors'}))}: "
                            "run the audio_acquire and audio_features DAGs first")
    dropped = len(rows) - len(keep)
    if dropped:
        log.info("%s tracks lack a needed feature and are left out", dropped)
    ids = [r[0] for r in keep]
    artist = np.array([r[1] for r in keep], dtype=np.int64)
    descriptors = None
    if "descriptors" in needs and desc and all(t in desc for t in ids):
        descriptors = np.array([desc[t] for t in ids], dtype=np.float32)
    elif "descriptors" in needs:
        log.info("descriptors missing for some tracks: the descriptor baseline is left out")
    targets = split = listeners = None
    if with_targets:
        targets = load_pair_targets(con, dump_id=dump_id, metric=target_metric, artist_ids=np.unique(artist))
        listeners = load_catalogue(con, targets.dump_id)
        usable = np.intersect1d(np.unique(artist), targets.artist_ids)
        if usable.size < 6:
            raise ParameterError(f"only {usable.size} artists have both audio features and co-listening targets; "
                                 "need at least 6 to hold out test artists")
        split = split_artists(usable, validation=validation_share, test=test_share, seed=seed)
    return FamilyInputs(ids, artist, [r[2] for r in keep], [r[3] for r in keep],
                        {int(r[1]): str(r[4]) or str(r[1]) for r in keep}, [mel[t] for t in ids],
                        [sl.get(t) for t in ids], descriptors, targets, split, listeners, clips_per_artist,
                        as_of.isoformat(), current_champions(con))


def current_champions(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """``{family: {"version", "key"}}`` of every family's champion (re-scored next to a challenger)."""
    out = {}
    for fam in FAMILIES:
        entry = registry.champion(con, fam)
        if entry is not None:
            out[fam] = {"version": entry.version, "key": entry.key(MODEL_FILE)}
    return out


def load_inputs(con: duckdb.DuckDBPyConnection, *, store: ObjectStore | None = None,
                needs: Sequence[str] = FEATURES, **kwargs: Any) -> FamilyInputs:
    """:func:`load_manifest` plus the tensors from the object store (see there for the arguments)."""
    from musim.storage import open_store

    return load_manifest(con, needs=needs, **kwargs).load_tensors(store or open_store(), needs)


# -- the families ----------------------------------------------------------------------------------------

@dataclass
class Trained:
    """What a family's training gives: the model and what goes next to it."""

    model: keras.Model
    params: dict[str, Any]
    training: dict[str, Any]
    history: dict[str, list[float]]
    files: dict[str, Path] = field(default_factory=dict)      # extra files for models/<family>/<version>/
    card: str = ""                                            # a markdown section for the card
    embeddings: np.ndarray | None = None                      # (N, d) of every track, when computed anyway


@dataclass(frozen=True)
class Family:
    """One model family: its inputs, how it trains and embeds, and how it scores artist pairs.

    ``train(inputs, params: dict, workdir, verbose) -> Trained``; ``embed(model, inputs, rows) -> (n, d)``
    track vectors; ``scorer(model, inputs, clips) -> Scorer`` (default: cosine of the artists' mean track
    vectors, :func:`musim.models.evaluate.embedding_scorer`).
    """

    name: str
    description: str
    inputs: tuple[str, ...]
    feature_service: str
    train: Callable[..., Trained]
    embed: Callable[..., np.ndarray]
    scorer: Callable[..., Scorer] | None = None

    def make_scorer(self, model: keras.Model, inputs: FamilyInputs, clips: ClipTable) -> Scorer:
        if self.scorer is not None:
            return self.scorer(model, inputs, clips)
        return _cosine_scorer(self, model, inputs, clips)


def _cosine_scorer(fam: Family, model: keras.Model, inputs: FamilyInputs, clips: ClipTable,
                   vectors: np.ndarray | None = None) -> Scorer:
    def scorer(artist_ids: np.ndarray) -> np.ndarray:
        rows, _ = clips.flat(artist_ids)
        v = vectors[rows] if vectors is not None else fam.embed(model, inputs, rows)
        full = np.zeros((len(inputs), v.shape[1]), dtype=np.float32)
        full[rows] = v
        return embedding_scorer(full, clips)(artist_ids)

    return scorer


def _need(value: Any, what: str) -> Any:
    if value is None:
        raise ParameterError(f"these inputs have no {what}; load them with needs including it")
    return value


# siamese -------------------------------------------------------------------------------------------------

def _siamese_train(inputs: FamilyInputs, params: Mapping[str, Any], workdir: Path, verbose: int) -> Trained:
    from musim.models.train import HyperParams, train

    hp = HyperParams.from_json(dict(params))
    result = train(_need(inputs.mel, "log-mels"), inputs.track_artist, _need(inputs.targets, "targets"), hp,
                   split=inputs.split, verbose=verbose)
    return Trained(result.model, hp.to_json(), result.summary(), result.history)


def _siamese_embed(model: keras.Model, inputs: FamilyInputs, rows: np.ndarray) -> np.ndarray:
    from musim.models.siamese import embed, encoder_of

    return embed(encoder_of(model), _need(inputs.mel, "log-mels"), rows)


def _siamese_scorer(model: keras.Model, inputs: FamilyInputs, clips: ClipTable) -> Scorer:
    from musim.models.siamese import siamese_scorer

    return siamese_scorer(model, _need(inputs.mel, "log-mels"), clips)


# cnn classifier ------------------------------------------------------------------------------------------

def _cnn_train(inputs: FamilyInputs, params: Mapping[str, Any], workdir: Path, verbose: int) -> Trained:
    from musim.models.classifier import ClassifierParams, track_embeddings, train_classifier

    p = ClassifierParams.from_json(dict(params))
    slices, st = _need(inputs.slices, "slices"), _need(inputs.slice_track, "slices")
    res = train_classifier(slices, st, inputs.track_ids, inputs.track_artist, inputs.genres,
                           inputs.training_split(), p, verbose=verbose)
    files: dict[str, Path] = {}
    card = ["## Classification", "",
            f"This family never sees co-listening: it learns each slice's {p.label}, and its "
            f"{p.embedding_units}-unit penultimate layer, averaged over a track's slices (then over an artist's "
            "tracks, cosine), is what the evaluation above ranks.", "",
            f"Label: **{p.label}**, {len(res.classes)} classes ({', '.join(res.classes[:30])}"
            f"{', …' if len(res.classes) > 30 else ''}); trained on {res.split.train.size} tracks "
            f"({res.train_slices} slices). Track prediction = mean softmax over its slices.", ""]
    for key, rep in res.reports.items():
        card += [rep.markdown(), ""]
        if rep.tracks:
            name = f"confusion_{key}.png"
            files[name] = rep.plot(workdir / name)
            card += [f"![confusion matrix, {key}]({name})", ""]
    if "by_artist" in res.reports and "by_track" in res.reports:
        card += ["The by-track accuracy is on other tracks of artists the model trained on (their sound leaks); "
                 "the by-artist accuracy, on artists it never saw, is the honest figure.", ""]
    (workdir / "classification.json").write_text(json.dumps(json_safe({k: r.to_json() for k, r in
                                                                       res.reports.items()}), indent=1))
    files["classification.json"] = workdir / "classification.json"
    emb = track_embeddings(res.model, slices, st, len(inputs))
    return Trained(res.model, p.to_json(), res.summary(), res.history, files, "\n".join(card), emb)


def _cnn_embed(model: keras.Model, inputs: FamilyInputs, rows: np.ndarray) -> np.ndarray:
    from musim.models.classifier import track_embeddings

    st = _need(inputs.slice_track, "slices")
    rows = np.asarray(rows, dtype=np.int64)
    pos = np.full(len(inputs), -1, dtype=np.int64)
    pos[rows] = np.arange(rows.size)
    sel = np.flatnonzero(pos[st] >= 0)
    return track_embeddings(model, _need(inputs.slices, "slices")[sel], pos[st[sel]], rows.size)


# autoencoder ---------------------------------------------------------------------------------------------

def _ae_train(inputs: FamilyInputs, params: Mapping[str, Any], workdir: Path, verbose: int) -> Trained:
    from musim.models.autoencoder import AutoencoderParams, encode, reconstruct, train_autoencoder
    from musim.models.views import write_embedding_views

    p = AutoencoderParams.from_json(dict(params))
    x = _need(inputs.mel, "log-mels")
    rows = None
    if p.train_on == "train_artists":
        rows = np.flatnonzero(np.isin(inputs.track_artist, inputs.training_split().train))
    res = train_autoencoder(x, p, rows=rows, verbose=verbose)
    emb = encode(res.model, x)
    labels, by = inputs.labels()
    show = int(res.validation_rows[0]) if res.validation_rows.size else 0
    views = write_embedding_views(workdir, emb, labels=labels, names=inputs.names(), descriptors=inputs.descriptors,
                                  original=np.asarray(x[show], np.float32),
                                  reconstructed=reconstruct(res.model, np.asarray(x[show:show + 1], np.float32))[0],
                                  reconstruction_name=f"{inputs.names()[show]} (not trained on)"
                                  if res.validation_rows.size else inputs.names()[show],
                                  perplexity=p.perplexity, learning_rate=p.tsne_learning_rate, k=p.k, seed=p.seed,
                                  label_name=by)
    training = res.summary() | {"views": views.to_json() | {"files": list(views.files)}}
    rec = res.reconstruction
    card = [f"## Reconstruction\n\nMean absolute error {rec.get('mae_db', math.nan):.2f} dB on {rec.get('tracks')} "
            f"{rec.get('on')} tracks ({p.loss.upper()} loss on spectrograms scaled to 0..1; trained on "
            f"{'all tracks' if p.train_on == 'all' else 'the training artists'}: the audio only, never "
            "co-listening).", "", views.markdown()]
    return Trained(res.model, p.to_json(), training, res.history, dict(views.files), "\n".join(card), emb)


def _ae_embed(model: keras.Model, inputs: FamilyInputs, rows: np.ndarray) -> np.ndarray:
    from musim.models.autoencoder import encode

    return encode(model, _need(inputs.mel, "log-mels"), rows)


# descriptor baseline -------------------------------------------------------------------------------------

def _desc_train(inputs: FamilyInputs, params: Mapping[str, Any], workdir: Path, verbose: int) -> Trained:
    import keras

    d = _need(inputs.descriptors, "descriptors")
    unknown = set(params) - {"seed"}
    if unknown:
        raise ParameterError(f"unknown descriptor parameters: {', '.join(sorted(unknown))}")
    rows = np.flatnonzero(np.isin(inputs.track_artist, inputs.training_split().train))
    ref = d[rows] if rows.size else d
    mean, var = ref.mean(axis=0), ref.var(axis=0)
    var = np.where(var > 0, var, 1.0)
    inp = keras.Input(shape=(d.shape[1],), name="descriptors")
    out = keras.layers.Normalization(mean=mean, variance=var, name="standardize")(inp)
    model = keras.Model(inp, out, name="descriptors")
    emb = np.asarray(model(d.astype(np.float32), training=False), dtype=np.float32)
    return Trained(model, {"seed": int(params.get("seed", 0)), "dims": int(d.shape[1])}, {}, {}, {},
                   "## Descriptor baseline\n\nNo training: the handcrafted descriptors (tempo, spectral shape, key, "
                   f"MFCC statistics) z-scored with the means and variances of {rows.size} tracks of the training "
                   "artists; artist similarity = cosine of the artists' mean vectors.\n", emb)


def _desc_embed(model: keras.Model, inputs: FamilyInputs, rows: np.ndarray) -> np.ndarray:
    d = _need(inputs.descriptors, "descriptors")[np.asarray(rows, dtype=np.int64)]
    return np.asarray(model(d.astype(np.float32), training=False), dtype=np.float32)


FAMILIES: dict[str, Family] = {
    SIAMESE: Family(SIAMESE, "siamese CNN on clip pairs, trained on co-listening similarity", ("log_mel",),
                    "siamese_log_mel", _siamese_train, _siamese_embed, _siamese_scorer),
    CNN_CLASSIFIER: Family(CNN_CLASSIFIER, "CNN genre/artist classifier on 256x256 slices; 128-d penultimate layer",
                           ("slices",), "cnn_classifier_slices", _cnn_train, _cnn_embed),
    AUTOENCODER: Family(AUTOENCODER, "convolutional autoencoder on log-mels; flattened code", ("log_mel",),
                        "autoencoder_log_mel", _ae_train, _ae_embed),
    DESCRIPTORS: Family(DESCRIPTORS, "handcrafted descriptors, z-scored (the baseline as a servable family)",
                        ("descriptors",), "descriptor_baseline", _desc_train, _desc_embed),
}


def get_family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ParameterError(f"unknown family {name!r}; one of {', '.join(FAMILIES)}") from None


def _feature_service(name: str) -> Any:
    from musim.features.definitions import descriptor_baseline, siamese_log_mel, track_log_mel, track_slices
    from musim.features.registry import FeatureService

    return {SIAMESE: siamese_log_mel, DESCRIPTORS: descriptor_baseline,
            CNN_CLASSIFIER: FeatureService("cnn_classifier_slices", (track_slices,),
                                           description="inputs of the CNN classifier family"),
            AUTOENCODER: FeatureService("autoencoder_log_mel", (track_log_mel,),
                                        description="inputs of the autoencoder family")}[name]


# -- train, evaluate -------------------------------------------------------------------------------------

def _load_keras(path: str | Path) -> keras.Model:
    from musim.models.siamese import load_model

    return load_model(path)


def _save_keras(model: keras.Model, path: Path) -> None:
    from musim.models.siamese import save_model

    save_model(model, path)


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


def evaluate_family(family: str, model: keras.Model, inputs: FamilyInputs, *,
                    others: Mapping[str, tuple[str, keras.Model]] | None = None, vectors: np.ndarray | None = None,
                    n_boot: int = 1000, seed: int = 0) -> EvaluationReport:
    """Evaluate ``model`` (scorer ``"model"``), ``others`` (``{scorer name: (family, model)}``: champions)
    and the baselines on the inputs' test artists, in one run (same queries, same bootstrap resamples)."""
    fam = get_family(family)
    split, targets = _need(inputs.split, "artist split"), _need(inputs.targets, "targets")
    clips = inputs.clips()
    scorers: dict[str, Any] = {registry.MODEL_SCORER: (_cosine_scorer(fam, model, inputs, clips, vectors)
                                                       if vectors is not None and fam.scorer is None
                                                       else fam.make_scorer(model, inputs, clips))}
    for name, (other_family, other) in (others or {}).items():
        scorers[name] = get_family(other_family).make_scorer(other, inputs, clips)
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


def _champion_models(inputs: FamilyInputs, store: ObjectStore, families: Sequence[str], folder: Path
                     ) -> dict[str, tuple[str, keras.Model]]:
    out: dict[str, tuple[str, keras.Model]] = {}
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
            out[info["version"]] = (fam, _load_keras(path))
        except Exception as exc:  # noqa: BLE001 - the run goes on; promotion then says why it cannot decide
            log.warning("could not load champion %s: %s", info["version"], exc)
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
    trained = fam.train(inputs, dict(params or {}), folder, verbose)
    path = folder / MODEL_FILE
    _save_keras(trained.model, path)
    wanted = list(FAMILIES) if cross_family else [family]
    others = _champion_models(inputs, store or open_store(), wanted, folder / "champions")
    seed = int(trained.params.get("seed", 0))
    report = evaluate_family(family, trained.model, inputs, others=others, vectors=trained.embeddings,
                             n_boot=n_boot, seed=seed)
    return FamilyRun(family, path, report, trained, list(inputs.track_ids), fam.feature_service,
                     inputs.target_metric, inputs.dump_id, inputs.snapshot_id)


# -- register, promote, publish --------------------------------------------------------------------------

@dataclass
class FamilyOutcome:
    entry: registry.ModelEntry
    decision: registry.PromotionDecision | None
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


def _serving_manifest(family: str) -> dict[str, Any]:
    """What the serving side needs to featurise new audio for ``family`` (``embedding.json``)."""
    from musim.features.definitions import track_descriptors, track_log_mel, track_slices

    view = {SIAMESE: track_log_mel, AUTOENCODER: track_log_mel, CNN_CLASSIFIER: track_slices,
            DESCRIPTORS: track_descriptors}[family]
    doc: dict[str, Any] = {"input": {CNN_CLASSIFIER: "slices", DESCRIPTORS: "descriptors"}.get(family, "log_mel"),
                           "input_view": view.ref, "input_params": dict(view.params or {}),
                           "input_params_hash": view.params_hash,
                           "track_embedding": {CNN_CLASSIFIER: "mean over the track's slices"}.get(family, "one per track")}
    if doc["input"] == "log_mel":
        doc.update(mel_view=view.ref, mel_params=dict(view.params or {}), mel_params_hash=view.params_hash)
    return doc


def publish_embeddings(con: duckdb.DuckDBPyConnection, family: str, version: str, track_ids: Sequence[str],
                       vectors: np.ndarray, *, store: ObjectStore | None = None, k: int = 10,
                       run_id: str | None = None, snapshot: bool = False) -> dict[str, Any]:
    """Make a version's track embeddings the served ones of its family: feature views, online store,
    ``artist_neighbors_audio`` / ``track_neighbors`` and ``embedding.json`` via
    :func:`musim.models.serve.publish_neighbors` (cosine scoring: what the evaluation measured)."""
    from musim.models.serve import publish_neighbors

    result = publish_neighbors(con, family, version, list(track_ids), np.asarray(vectors, dtype=np.float32), k=k,
                               store=store, run_id=run_id, snapshot=snapshot, manifest=_serving_manifest(family))
    return result.to_json()


def _card_with(store: ObjectStore, entry: registry.ModelEntry, section: str) -> None:
    key = entry.key(CARD_FILE)
    card = store.get_bytes(key).decode()
    marker = "\n## Caveats"
    text = card.replace(marker, "\n" + section.rstrip() + "\n" + marker, 1) if marker in card else card + "\n" + section
    store.put_bytes(key, text.encode(), content_type="text/markdown")


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
        row = con.execute("SELECT version FROM model_registry WHERE run_id = ?", [run_id]).fetchone()
        if row is not None:
            return FamilyOutcome(registry.get_model(con, row[0]), None, None, reused=True)
    if primary_metric == "auto":
        from musim.models.jobs import choose_primary_metric

        primary_metric = choose_primary_metric(int(run.report.test_artists.size))
    service = _feature_service(run.family)
    register_service(con, service)
    trained = run.trained
    entry = registry.register_model(
        con, store, family=run.family, model_file=run.model_path, report=run.report, params=trained.params,
        target_metric=run.target_metric, feature_service=service.name, dump_id=run.dump_id,
        snapshot_id=run.snapshot_id, run_id=run_id, training=trained.training, history=trained.history or None,
        primary_metric=primary_metric)
    files = {}
    for name, path in trained.files.items():
        ctype = "image/png" if name.endswith(".png") else "application/json"
        store.put_file(entry.key(name), path, content_type=ctype)
        files[name] = store.url(entry.key(name))
    if trained.card:
        _card_with(store, entry, trained.card)
    files[CARD_FILE] = store.url(entry.key(CARD_FILE))
    decision = registry.promote(con, entry.version, metric=primary_metric) if promote else None
    status = decision.status if decision else entry.status
    published = None
    if publish is True or (publish == "champion" and status == registry.CHAMPION):
        if run.embeddings is None:  # the siamese family computes no track embeddings while training
            log.info("%s: embeddings not computed during training; publish with publish_version()", entry.version)
        else:
            published = publish_embeddings(con, run.family, entry.version, run.track_ids, run.embeddings,
                                           store=store, k=k, run_id=run_id, snapshot=snapshot)
    return FamilyOutcome(registry.get_model(con, entry.version), decision, run.report, files, published)


def run_family(family: str, *, con: duckdb.DuckDBPyConnection, store: ObjectStore | None = None,
               inputs: FamilyInputs | None = None, params: Mapping[str, Any] | None = None,
               run_id: str | None = None, promote: bool = True, publish: bool | str = "champion",
               n_boot: int = 1000, primary_metric: str = "auto", workdir: str | Path | None = None,
               k: int = 10, snapshot: bool = False, verbose: int = 0) -> FamilyOutcome:
    """Train, evaluate, register, promote and publish one family in this process (idempotent per ``run_id``)."""
    from musim.storage import open_store

    store = store or open_store()
    if run_id is not None:
        row = con.execute("SELECT version FROM model_registry WHERE run_id = ?", [run_id]).fetchone()
        if row is not None:
            return FamilyOutcome(registry.get_model(con, row[0]), None, None, reused=True)
    fam = get_family(family)
    if inputs is None:
        inputs = load_inputs(con, store=store, needs=("log_mel", "descriptors", *fam.inputs))
    else:
        inputs = dataclasses.replace(inputs, champions=current_champions(con))
    with tempfile.TemporaryDirectory(prefix=f"musim-{family}-") as tmp:
        run = train_evaluate(family, inputs, params, store=store, workdir=workdir or tmp, n_boot=n_boot,
                             verbose=verbose)
        return record_run(con, run, store=store, run_id=run_id, promote=promote, publish=publish,
                          primary_metric=primary_metric, k=k, snapshot=snapshot)


# -- the DAG's steps: prepare (warehouse) → train_staged (object store, GPU) → record_staged (warehouse) ---

def _safe(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("_")[:120] or "run"


def prepare(con: duckdb.DuckDBPyConnection, run_id: str, *, store: ObjectStore | None = None,
            families: Sequence[str] = (CNN_CLASSIFIER, AUTOENCODER), **kwargs: Any) -> str:
    """Write the run's input manifest to the object store; return its key (``kwargs``: :func:`load_manifest`)."""
    from musim.storage import open_store

    needs = {"log_mel", "descriptors"} | {n for f in families for n in get_family(f).inputs}
    inputs = load_manifest(con, needs=tuple(sorted(needs)), **kwargs)
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


# -- serving ---------------------------------------------------------------------------------------------

def embed_tracks(con: duckdb.DuckDBPyConnection, version: str, *, store: ObjectStore | None = None,
                 track_ids: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
    """Track embeddings ``(ids, (n, d))`` of any registered version (``<family>:champion`` works): the
    serving path shared by every family (``similar-audio``, ``embed``, neighbour tables)."""
    from musim.storage import open_store

    store = store or open_store()
    entry = registry.get_model(con, version)
    fam = get_family(entry.family)
    inputs = load_inputs(con, store=store, needs=fam.inputs, with_targets=False, track_ids=track_ids)
    model = _load_keras(registry.fetch_model_file(store, entry))
    return list(inputs.track_ids), fam.embed(model, inputs, np.arange(len(inputs)))


def publish_version(con: duckdb.DuckDBPyConnection, version: str, *, store: ObjectStore | None = None,
                    k: int = 10, snapshot: bool = True) -> dict[str, Any]:
    """Serve ``version`` (any family; ``autoencoder:champion`` works): embed every track with features and
    publish its family's neighbour tables and online vectors (and a new serving snapshot)."""
    entry = registry.get_model(con, version)
    if entry.family == SIAMESE:
        from musim.models.jobs import publish_champion

        current = registry.champion(con, SIAMESE)
        if current is None or current.version != entry.version:
            raise ParameterError("the siamese family publishes its champion only: promote it first")
        return publish_champion(con, store=store, k=k, snapshot=snapshot)
    ids, vectors = embed_tracks(con, entry.version, store=store)
    return publish_embeddings(con, entry.family, entry.version, ids, vectors, store=store, k=k, snapshot=snapshot)


def embed_features(family: str, model: keras.Model, *, mel: np.ndarray | None = None,
                   slices: np.ndarray | None = None, slice_track: np.ndarray | None = None,
                   descriptors: np.ndarray | None = None) -> np.ndarray:
    """Embeddings of new audio already featurised (one row per file/track): ``mel`` ``(n, 256, 64)``
    (siamese, autoencoder), ``slices`` ``(m, frames, n_mels)`` with ``slice_track`` ``(m,)`` in 0..n-1
    (cnn_classifier; track = mean of its slices), or ``descriptors`` ``(n, D)``. For ``similar-audio``."""
    fam = get_family(family)
    n = next(int(a.shape[0]) for a in (mel, descriptors) if a is not None) if (
        mel is not None or descriptors is not None) else int(np.max(_need(slice_track, "slice_track")) + 1)
    inputs = FamilyInputs([str(i) for i in range(n)], np.zeros(n, np.int64), [""] * n, [None] * n, {}, [None] * n,
                          [None] * n, descriptors, mel=mel, slices=slices,
                          slice_track=None if slice_track is None else np.asarray(slice_track, np.int64))
    return fam.embed(model, inputs, np.arange(n))


def cosine_top_k(vectors: np.ndarray, k: int = 10, *, queries: Sequence[int] | np.ndarray | None = None,
                 exclude_self: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The recommender of the embedding families: for each query row, the ``k`` rows of ``vectors`` with
    the highest cosine similarity. Returns ``(indices (q, k), similarities (q, k))``, best first."""
    v = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    unit = v / np.where(norms > 0, norms, 1.0)
    q = np.arange(v.shape[0]) if queries is None else np.asarray(queries, dtype=np.int64)
    sims = unit[q] @ unit.T
    if exclude_self:
        sims[np.arange(q.size), q] = -np.inf
    k = min(k, v.shape[0] - (1 if exclude_self else 0))
    idx = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(sims, idx, axis=1)


# -- comparison ------------------------------------------------------------------------------------------

@dataclass
class FamilyComparison:
    """One table of every family (its champion, else latest version) and the baselines."""

    metric: str
    metrics: list[str]
    rows: list[dict[str, Any]]
    pairs: list[dict[str, Any]]
    same_test_set: bool
    notes: list[str]

    def to_json(self) -> dict[str, Any]:
        return json_safe({"metric": self.metric, "metrics": self.metrics, "rows": self.rows, "pairs": self.pairs,
                          "same_test_set": self.same_test_set, "notes": self.notes})

    def table(self) -> tuple[list[list[str]], list[str]]:
        """Rows and headers for :func:`musim.cli.output.print_table`."""
        def cell(c: Mapping[str, Any] | None) -> str:
            if not c or c.get("mean") is None or (isinstance(c["mean"], float) and math.isnan(c["mean"])):
                return "–"
            return f"{c['mean']:.3f} [{c['lo']:.3f}, {c['hi']:.3f}]"

        headers = ["model", "version", "status", "test set", "queries", *self.metrics]
        body = [[r["name"], r.get("version") or "", r.get("status") or "", (r.get("test_set_id") or "")[:8],
                 str(r.get("queries", "")), *[cell(r["metrics"].get(m)) for m in self.metrics]] for r in self.rows]
        return body, headers

    def text(self) -> str:
        body, headers = self.table()
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(headers)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
                 "  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)) for b in body]
        for p in self.pairs:
            lines.append(f"{p['a']} vs {p['b']} on {p['metric']}: {_fmt_diff(p)}")
        return "\n".join(lines + self.notes)


def _fmt_diff(p: Mapping[str, Any]) -> str:
    if not p.get("n"):
        return "no common query"
    verdict = "better" if p["a_better"] else "worse" if p["b_better"] else "within the CI"
    return f"{p['diff']:+.3f} [{p['lo']:+.3f}, {p['hi']:+.3f}] over {p['n']} queries ({verdict})"


def compare_families(con: duckdb.DuckDBPyConnection, *, metric: str | None = None,
                     metrics: Sequence[str] | None = None, families: Sequence[str] | None = None,
                     latest: bool = False, n_boot: int = 2000, confidence: float = 0.95) -> FamilyComparison:
    """Every family's champion (else, or with ``latest``, its newest version) and the baselines, from the
    registry (no TensorFlow).

    Baselines come from the evaluation of the reference model (the newest entry of the most common test
    set). Paired differences (bootstrap over the common query artists) of the best family against each
    other family use the stored per-query values, only between versions evaluated on the same test set;
    rows on another test set are flagged in ``notes``.
    """
    known = [r[0] for r in con.execute("SELECT DISTINCT family FROM model_registry ORDER BY family").fetchall()]
    chosen: list[registry.ModelEntry] = []
    for fam in families or known:
        entry = None if latest else registry.champion(con, fam)
        if entry is None:
            newest = registry.list_models(con, family=fam)
            entry = newest[0] if newest else None
        if entry is not None:
            chosen.append(entry)
    if not chosen:
        return FamilyComparison(metric or PRIMARY_METRIC, list(metrics or []), [], [], True,
                                ["no model registered yet: train one (`musim models train`, the train_embeddings "
                                 "DAG or run_families_demo)"])
    sets: dict[str, int] = {}
    for e in chosen:
        sets[e.test_set_id] = sets.get(e.test_set_id, 0) + 1
    ref_set = max(sets, key=lambda s: (sets[s], max(e.created_at for e in chosen if e.test_set_id == s)))
    ref = max((e for e in chosen if e.test_set_id == ref_set), key=lambda e: e.created_at)
    metric = metric or ref.primary_metric
    cols = list(dict.fromkeys([metric, *(metrics or ["precision@5", "map", "spearman"])]))
    n_test = {s: int(con.execute("SELECT count(*) FROM model_test_artist WHERE test_set_id = ?", [s]).fetchone()[0])
              for s in sets}

    def queries(e: registry.ModelEntry) -> int:
        return len(registry.query_values(con, e.version, registry.MODEL_SCORER, metric))

    rows = [{"name": e.family, "kind": "family", "version": e.version, "status": e.status,
             "test_set_id": e.test_set_id, "test_artists": n_test.get(e.test_set_id), "queries": queries(e),
             "metrics": {m: (e.metrics.get(registry.MODEL_SCORER) or {}).get(m) for m in cols}}
            for e in chosen]
    rows.sort(key=lambda r: -np.nan_to_num((r["metrics"].get(metric) or {}).get("mean") or math.nan, nan=-9.0))
    for b in BASELINES:
        if b in ref.metrics:
            rows.append({"name": f"baseline: {b}", "kind": "baseline", "version": None, "status": None,
                         "test_set_id": ref.test_set_id, "test_artists": n_test.get(ref.test_set_id),
                         "queries": len(registry.query_values(con, ref.version, b, metric)) or None,
                         "metrics": {m: ref.metrics[b].get(m) for m in cols}, "from": ref.version})
    notes = []
    same = len(sets) == 1
    if same:
        notes.append(f"All rows are evaluated on the same {n_test.get(ref_set)} test artists (test set "
                     f"{ref_set[:8]}); baselines from the evaluation of {ref.version}; mean [95% CI] over "
                     "query artists.")
    else:
        for e in chosen:
            if e.test_set_id != ref_set:
                notes.append(f"NOTE: {e.version} was evaluated on other test artists (test set {e.test_set_id[:8]}, "
                             f"{n_test.get(e.test_set_id)} artists) than the others ({ref_set[:8]}, "
                             f"{n_test.get(ref_set)} artists): its row is not directly comparable.")
    pairs = []
    fam_rows = [r for r in rows if r["kind"] == "family" and r["test_set_id"] == ref_set]
    if len(fam_rows) > 1:
        best = fam_rows[0]
        a = registry.query_values(con, best["version"], registry.MODEL_SCORER, metric)
        for other in fam_rows[1:]:
            b = registry.query_values(con, other["version"], registry.MODEL_SCORER, metric)
            common = sorted(set(a) & set(b))
            c = paired_bootstrap(np.array([a[q] for q in common]), np.array([b[q] for q in common]),
                                 names=(best["version"], other["version"]), metric=metric, n_boot=n_boot,
                                 confidence=confidence)
            pairs.append(c.to_json())
    return FamilyComparison(metric, cols, rows, pairs, same, notes)


# -- demo ------------------------------------------------------------------------------------------------

#: Small, quick settings for the demo (CPU minutes, not hours).
DEMO_PARAMS: dict[str, dict[str, Any]] = {
    CNN_CLASSIFIER: {"conv_filters": [8, 16, 32, 32], "embedding_units": 128, "epochs": 8, "batch_size": 16,
                     "learning_rate": 2e-3, "early_stopping_patience": 3},
    AUTOENCODER: {"conv_filters": [16, 8, 8], "epochs": 15, "batch_size": 16, "early_stopping_patience": 4,
                  "perplexity": 8.0, "tsne_learning_rate": 100.0, "k": 6},
    DESCRIPTORS: {},
}


def run_families_demo(settings: Settings | None = None, *,
                      families: Sequence[str] = (CNN_CLASSIFIER, AUTOENCODER, DESCRIPTORS),
                      params: Mapping[str, Mapping[str, Any]] | None = None, test_share: float = 0.15,
                      validation_share: float = 0.15, n_boot: int = 500, seed: int = 0, snapshot: bool = True,
                      print_fn: Callable[[str], None] | None = print) -> dict[str, Any]:
    """Train small versions of the families on the demo data in the warehouse, register them, and print
    the comparison table and where the views (PNG) are; publish a serving snapshot with the champions'
    neighbours. Returns ``{"outcomes", "comparison", "plots", "snapshot"}``.

    The table shows each family's newest version (the ones just trained, and the siamese family's
    latest if there is one). Needs the demo's audio features (the audio_features DAG) and a similarity
    build. Every family holds
    out the same test artists; ``test_share`` and ``seed`` default to the siamese family's (15 %, 0), so
    a siamese champion trained on the same catalogue with its defaults is on the same artists too and
    appears in the table (pass the siamese run's ``test_share`` otherwise: the table says when test sets
    differ). ~60 artists give 9 test artists: the primary metric is then nDCG@5. On 2 CPU cores the
    three families take about 2-3 minutes.
    """
    from musim import warehouse
    from musim.storage import open_store

    say = print_fn or (lambda s: None)
    store = open_store(settings.object_store_url) if settings is not None else open_store()
    outcomes: dict[str, FamilyOutcome] = {}
    plots: dict[str, list[str]] = {}
    with warehouse.writer(settings) as con:
        needs = tuple(sorted({"log_mel", "descriptors", *(n for f in families for n in get_family(f).inputs)}))
        inputs = load_inputs(con, store=store, needs=needs, seed=seed, test_share=test_share,
                             validation_share=validation_share)
        assert inputs.split is not None
        say(f"families demo: {len(inputs)} tracks of {len(np.unique(inputs.track_artist))} artists; "
            f"{inputs.split.test.size} test artists shared by every family")
        for fam in families:
            p = dict(DEMO_PARAMS.get(fam, {}))
            p.update((params or {}).get(fam, {}))
            p.setdefault("seed", seed)
            out = run_family(fam, con=con, store=store, inputs=inputs, params=p, n_boot=n_boot)
            outcomes[fam] = out
            plots[out.entry.version] = [u for n, u in out.files.items() if n.endswith((".png", ".md"))]
            cls = (out.entry.training or {}).get("classification") or {}
            acc = ", ".join(f"{k} accuracy {v['accuracy']:.0%}" for k, v in cls.items() if v.get("accuracy") is not None)
            say(f"  {out.entry.version}: {out.decision.status if out.decision else out.entry.status}"
                f"{'; ' + acc if acc else ''}")
        comparison = compare_families(con, latest=True, families=list(dict.fromkeys([*families, *(
            [SIAMESE] if registry.list_models(con, family=SIAMESE) else [])])))
        snap = None
        if snapshot:
            from musim import serving

            snap = str(serving.publish(con, settings))
    say("\n" + comparison.text())
    say("\nviews and cards:")
    for version, urls in plots.items():
        for u in urls:
            say(f"  {version}: {u}")
    if snap:
        say(f"\nthe champions' audio neighbours are in the serving snapshot {Path(snap).name}; "
            "details: musim models show <version>")
    return {"outcomes": {k: v.to_json() for k, v in outcomes.items()}, "comparison": comparison.to_json(),
            "plots": plots, "snapshot": snap}
