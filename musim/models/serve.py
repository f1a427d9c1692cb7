"""Serving any model family's embeddings: feature views, neighbour tables, and audio-only queries.

Family-agnostic: a family gives one embedding per track (rows in the order of ``track_ids``) and,
optionally, a pair similarity of two sets of embeddings (the siamese head); everything else is here::

    result = publish_neighbors(con, "cnn_classifier", "cnn_classifier-2", track_ids, track_embeddings)
    result = publish_neighbors(con, "siamese", "siamese-3", track_ids, e,
                               pair_similarity=lambda a, b: pair_scores(model, a, b))

:func:`publish_neighbors`

- registers the embeddings as feature views (``track_<family>_embedding`` and ``artist_<family>_embedding``,
  version = the model's seq number, ``model_version`` set), writes them (artist = mean of its tracks'
  embeddings) and publishes both to the online store (:func:`musim.features.lookup` serves an artist's
  mean embedding);
- computes, for **every artist and track with audio** (artists without listening data included: cold
  start), the top-k most similar artists and tracks, and replaces the family's rows of
  ``artist_neighbors_audio`` and ``track_neighbors`` (migration 008) in one transaction (the tables:
  :mod:`musim.models.neighbours`, exact or, for the cosine families from ``MUSIM_ANN_MIN_TRACKS`` tracks,
  through a Voyager index that is stored next to the model: :mod:`musim.models.ann`);
- writes ``models/<family>/<version>/embedding.json`` (the input features and the views; what
  :func:`similar_audio` and :func:`embed_files` read) when given the store;
- and (``snapshot=True``) publishes a new serving snapshot.

Scores: with ``pair_similarity`` (siamese), an artist pair scores the mean of the pair similarity over
their clip pairs (what :func:`musim.models.siamese.siamese_scorer` evaluates) and a track pair its pair
similarity; without it, cosine similarity of the artists' mean embeddings (what
:func:`musim.models.evaluate.embedding_scorer` evaluates) and of the track embeddings. A track's
neighbours are tracks of *other* artists.

:func:`similar_audio` and :func:`embed_files` work on new audio files with any family's model (a named
version, a family's champion, or by default the serving model: :func:`serving_model`), each with its own
embedding of its own features (:func:`featurise_file`: log-mels, 256 x 256 slices or descriptors, as the
feature store computes them), from the published snapshot, the online store and the object store only
(never the writer's warehouse).

This module imports Keras only inside the functions that load a model.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from musim import sql
from musim.errors import NotFoundError, ParameterError
from musim.features.registry import ARTIST, TRACK, FeatureView, embedding_view
from musim.models.ann import AnnIndex, AnnParams, index_key, save_index, search_mode, stored_index
from musim.models.neighbours import (
    PairSimilarity,
    _cosine,
    _group,
    artist_neighbors,
    artist_scores,
    track_neighbors,
)
from musim.storage import ObjectStore

__all__ = [
    "AUDIO_SUFFIXES",
    "EMBEDDING_FILE",
    "Match",
    "NeighborsResult",
    "SimilarAudio",
    "artist_neighbors",
    "artist_scores",
    "embed_files",
    "embedding_views",
    "featurise_file",
    "find_audio_files",
    "load_champion",
    "publish_neighbors",
    "read_manifest",
    "serving_model",
    "similar_audio",
    "track_neighbors",
]

log = logging.getLogger(__name__)

#: The serving manifest of a published version, next to its model: ``models/<family>/<version>/embedding.json``.
EMBEDDING_FILE = "embedding.json"
#: What :func:`find_audio_files` picks up in a folder.
AUDIO_SUFFIXES = (".mp3", ".wav", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac")


# -- feature views ---------------------------------------------------------------------------------------

def _seq(version: str) -> int:
    tail = version.rsplit("-", 1)[-1]
    if not tail.isdigit() or int(tail) < 1:
        raise ParameterError(f"model versions are '<family>-<n>', got {version!r}")
    return int(tail)


def embedding_views(family: str, version: str, dim: int) -> tuple[FeatureView, FeatureView]:
    """The track and artist embedding views of a model version (view version = the version's number)."""
    seq = _seq(version)
    track = embedding_view(f"track_{family}_embedding", seq, entity=TRACK, dim=dim, model_version=version,
                           description=f"{family} embedding of the track's audio, by model {version}")
    artist = embedding_view(f"artist_{family}_embedding", seq, entity=ARTIST, dim=dim, model_version=version,
                            description=f"mean {family} embedding of the artist's tracks, by model {version}")
    return track, artist


# -- publishing ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NeighborsResult:
    """What :func:`publish_neighbors` wrote."""

    family: str
    version: str
    tracks: int
    artists: int
    cold_start: int
    k: int
    track_view: str
    artist_view: str
    artist_rows: int
    track_rows: int
    created_at: dt.datetime
    online: list[str] = field(default_factory=list)
    snapshot: str | None = None
    manifest_key: str | None = None
    search: str = "exact"
    ann_key: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in self.__dict__.items()}


def _track_artists(con: duckdb.DuckDBPyConnection, track_ids: Sequence[str]) -> np.ndarray:
    import pandas as pd

    con.complete()  # a caller's half-read result (a fetchone()) would make register() fail
    con.register("models_track_ids", pd.DataFrame({"track_id": [str(t) for t in track_ids],
                                                   "pos": np.arange(len(track_ids), dtype=np.int64)}))
    try:
        rows = con.execute(sql.load("models/track_artists.sql")).fetchall()
    finally:
        con.unregister("models_track_ids")
    owner = np.full(len(track_ids), -1, dtype=np.int64)
    for pos, artist in rows:
        owner[int(pos)] = int(artist)
    if np.any(owner < 0):
        missing = [str(track_ids[i]) for i in np.flatnonzero(owner < 0)[:5]]
        raise NotFoundError(f"{int((owner < 0).sum())} tracks are not in the `track` table, e.g. {', '.join(missing)}")
    return owner


def publish_neighbors(con: duckdb.DuckDBPyConnection, family: str, version: str, track_ids: Sequence[str],
                      track_embeddings: np.ndarray, *, pair_similarity: PairSimilarity | None = None, k: int = 10,
                      store: ObjectStore | None = None, manifest: Mapping[str, Any] | None = None,
                      created_at: dt.datetime | None = None, run_id: str | None = None, online: bool = True,
                      snapshot: bool = False, settings: Any = None, search: str | None = None,
                      ann_params: AnnParams | None = None) -> NeighborsResult:
    """Register and write a model version's embeddings, compute and replace the family's neighbour rows.

    Parameters
    ----------
    con : the warehouse writer's connection
    family, version : the model (``version`` is ``<family>-<n>``)
    track_ids : the embedded tracks (every track with audio, ideally: the tables hold what is given)
    track_embeddings : np.ndarray [shape=(len(track_ids), d)] float
    pair_similarity : the family's pair similarity of embeddings (see the module docstring); default cosine
    k : neighbours per artist and per track
    store : where ``embedding.json`` goes (with ``manifest``: extra keys for it, e.g. the input features)
    created_at : the rows' and vectors' time (default now)
    online : publish both views to the online store
    snapshot : publish a new serving snapshot afterwards
    search : ``auto`` / ``exact`` / ``ann`` for the cosine tables (:func:`musim.models.ann.search_mode`); with
        ANN, the track index (``ann_params``) is stored next to the model (``store``) and named in the manifest
    """
    from musim.features import publish_online, write_vectors

    ids = [str(t) for t in track_ids]
    e = np.asarray(track_embeddings, dtype=np.float32)
    if e.ndim != 2 or e.shape[0] != len(ids) or not ids:
        raise ParameterError(f"track_embeddings must be (len(track_ids) > 0, d), got {e.shape} for {len(ids)} ids")
    if len(set(ids)) != len(ids):
        raise ParameterError("track_ids must be distinct")
    if not np.all(np.isfinite(e)):
        raise ParameterError(f"{version}: embeddings contain NaN or infinite values")
    if k < 1:
        raise ParameterError(f"k must be >= 1, got {k}")
    at = created_at or dt.datetime.now(dt.UTC)
    owner = _track_artists(con, ids)
    track_view, artist_view = embedding_views(family, version, e.shape[1])
    order, artists, starts, counts = _group(owner)
    means = np.add.reduceat(e[order].astype(np.float64), starts, axis=0) / counts[:, None]
    lineage = {"run_id": run_id, "tracks": len(ids)}
    write_vectors(con, track_view, ids, e, created_at=at, lineage=lineage)
    write_vectors(con, artist_view, artists.tolist(), means, created_at=at, lineage=lineage)

    mode = "exact" if pair_similarity is not None else search_mode(len(ids), search)
    index, ann = _track_index(store, family, version, ids, e, ann_params) if mode == "ann" else (None, None)
    a_ids, a_nb, a_sc = artist_neighbors(e, owner, k=k, pair_similarity=pair_similarity, search=search,
                                         params=ann_params)
    t_nb, t_sc = track_neighbors(e, owner, k=k, pair_similarity=pair_similarity, search=mode, index=index)
    import pyarrow as pa

    ranks = np.broadcast_to(np.arange(1, a_nb.shape[1] + 1), a_nb.shape)
    ok = a_nb >= 0
    artist_rows = pa.table({"artist_id": np.repeat(a_ids, a_nb.shape[1])[ok.ravel()],
                            "rank": ranks[ok], "neighbor_id": a_nb[ok], "score": a_sc[ok]})
    tranks = np.broadcast_to(np.arange(1, t_nb.shape[1] + 1), t_nb.shape)
    tok = t_nb >= 0
    id_arr = np.array(ids, dtype=object)
    track_rows = pa.table({"track_id": pa.array(np.repeat(id_arr, t_nb.shape[1])[tok.ravel()].tolist(), pa.string()),
                           "rank": tranks[tok],
                           "neighbor_track_id": pa.array(id_arr[t_nb[tok]].tolist(), pa.string()),
                           "score": t_sc[tok]})
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("models_artist_neighbors", artist_rows)
        con.register("models_track_neighbors", track_rows)
        sql.run(con, "models/publish_neighbors.sql", family=family, model_version=version, created_at=at, k=k,
                tracks=len(ids), artists=int(artists.size),
                track_view=track_view.ref, artist_view=artist_view.ref, run_id=run_id)
        con.unregister("models_artist_neighbors")
        con.unregister("models_track_neighbors")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    cold = int(con.execute("""SELECT cold_start FROM audio_neighbors_build WHERE model_version = ? AND created_at = ?""",
                           [version, at]).fetchone()[0])
    manifest_key = None
    if store is not None:
        from musim.models.registry import object_prefix

        if index is not None and ann is None:
            ann = save_index(store, family, version, index, ids, e)
        doc = {"family": family, "version": version, "dim": int(e.shape[1]), "track_view": track_view.ref,
               "artist_view": artist_view.ref, "scoring": "pair_mean" if pair_similarity else "cosine",
               "k": k, "search": mode, "ann": ann, "tracks": len(ids), "artists": int(artists.size),
               "created_at": at.isoformat(),
               **dict(manifest or {})}
        manifest_key = object_prefix(family, version) + EMBEDDING_FILE
        store.put_bytes(manifest_key, json.dumps(doc, indent=1, default=str).encode(), content_type="application/json")
    published: list[str] = []
    if online:
        published = [str(publish_online(con, v, settings=settings)) for v in (track_view, artist_view)]
    snap = None
    if snapshot:
        from musim import serving

        snap = str(serving.publish(con, settings))
    log.info("%s: neighbours of %d artists (%d cold start) and %d tracks published (%s search)", version,
             artists.size, cold, len(ids), mode)
    return NeighborsResult(family, version, len(ids), int(artists.size), cold, k, track_view.ref, artist_view.ref,
                           int(artist_rows.num_rows), int(track_rows.num_rows), at, published, snap, manifest_key, mode,
                           ann["key"] if store is not None and ann else None)


def _track_index(store: ObjectStore | None, family: str, version: str, ids: list[str], e: np.ndarray,
                 params: AnnParams | None) -> tuple[AnnIndex, dict[str, Any] | None]:
    """The index of these tracks' embeddings: the one this version stored before when it is the same
    (republishing the same vectors), else a new one (stored by the caller); with the stored entry."""
    params = params or AnnParams()
    if store is not None:
        try:
            previous = read_manifest(store, family, version).get("ann")
        except NotFoundError:
            previous = None
        reused = stored_index(store, previous, index_key(family, version, params, ids, e), ids)
        if reused is not None:
            log.info("%s: reusing the stored ANN index %s", version, previous["key"])
            reused.params, reused.index.ef = params, params.ef  # the search depth is not part of the key
            return reused, dict(previous, params=asdict(params))
    return AnnIndex.build(e, params=params), None


# -- new audio: featurise, embed, query ------------------------------------------------------------------

def read_manifest(store: ObjectStore, family: str, version: str) -> dict[str, Any]:
    """The ``embedding.json`` of a published version (NotFoundError if it was never published)."""
    from musim.models.registry import object_prefix

    key = object_prefix(family, version) + EMBEDDING_FILE
    if not store.exists(key):
        how = ("the train_siamese DAG or `musim models train`" if family == "siamese" else
               f"the train_embeddings DAG, `musim models train --family {family}` or `musim models publish {version}`")
        raise NotFoundError(f"{version} has no published embeddings ({key}): publish them with {how}")
    return json.loads(store.get_bytes(key))


def serving_model(con: duckdb.DuckDBPyConnection) -> str:
    """The version served when no family or version is named: among the champions, the one whose audio
    neighbours were published last (else the most recently promoted champion)."""
    present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() "
                                         "WHERE database_name = current_database()").fetchall()}
    if "model_registry" not in present:
        raise NotFoundError("no model registry yet: train a model first (the train_siamese or train_embeddings "
                            "DAG, or `musim models train`)")
    name = "serving_model.sql" if "artist_neighbors_audio" in present else "serving_model_unpublished.sql"
    row = con.execute(sql.load(f"models/{name}")).fetchone()
    if row is None:
        raise NotFoundError("no family has a champion yet: promote a model (`musim models promote VERSION`)")
    return str(row[0])


def find_audio_files(paths: Sequence[str | Path]) -> list[Path]:
    """Files given, and the audio files under folders given (recursively, sorted); missing paths raise."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES)
        elif p.is_file():
            out.append(p)
        else:
            raise NotFoundError(f"no such file or folder: {p}")
    if not out:
        raise NotFoundError(f"no audio files in {', '.join(map(str, paths))}")
    return list(dict.fromkeys(out))


#: Seconds of audio analysed in a longer file when the features have no fixed span (slices, descriptors):
#: the acquisition's window of whole local tracks (``MUSIM_EXCERPT_S``' default).
WINDOW_S = 30.0


def featurise_file(path: str | Path, params: Any, *, anchor: str | float = "middle",
                   window_s: float = WINDOW_S) -> np.ndarray:
    """An audio file's features as the feature store computes them for a preview, by the type of
    ``params``: :class:`~musim.audio.MelParams` → log-mel ``(frames, n_mels)`` float16;
    :class:`~musim.audio.SliceParams` → slices ``(n, frames, n_mels)`` float16;
    :class:`~musim.features.params.DescriptorParams` → descriptor vector ``(D,)`` float32.

    A file longer than the analysed span (the log-mel's span, 30 s by default; ``window_s`` otherwise) is
    cut to a window of that span, placed like the acquisition places it in whole local tracks (``anchor``,
    default the middle).
    """
    from musim.audio import MelParams, SliceParams, load_audio, log_mel, slices
    from musim.audio.excerpt import excerpt_window
    from musim.features.params import DescriptorParams

    if not isinstance(params, MelParams | SliceParams | DescriptorParams):
        raise ParameterError(f"no features for parameters of type {type(params).__name__}")
    y, sr = load_audio(Path(path), sr=params.sr, key=str(path))
    span = params.seconds if isinstance(params, MelParams) and params.seconds is not None else window_s
    if y.size / sr > span:
        offset, length = excerpt_window(y.size / sr, length_s=span, anchor=anchor)
        y = y[int(round(offset * sr)):int(round((offset + length) * sr))]
    if isinstance(params, MelParams):
        return log_mel(y, params=params).astype(np.float16)
    if isinstance(params, SliceParams):
        return slices(y, params=params).astype(np.float16)
    from musim.audio import descriptor_vector, descriptors

    return np.asarray(descriptor_vector(descriptors(y, sr=sr)), dtype=np.float32)


@dataclass
class Champion:
    """A registered version as the serving side sees it (the champion, unless a version was named):
    entry, Keras model, the input it embeds (``log_mel``, ``slices`` or ``descriptors``) with its
    feature parameters, and the serving manifest (None when never published)."""

    entry: Any
    model: Any
    input: str
    params: Any
    manifest: dict[str, Any] | None

    @property
    def family(self) -> str:
        return str(self.entry.family)

    @property
    def mel_params(self) -> Any:
        """The log-mel parameters (families on log-mels), else None."""
        return self.params if self.input == "log_mel" else None


def _input_of(family: str, manifest: Mapping[str, Any] | None, model: Any) -> tuple[str, Any]:
    """The input kind and feature parameters a version embeds: from its manifest, else the family's
    input with the feature store's default parameters (checked against the model's input shape)."""
    from musim.features.params import params_from_dict
    from musim.models.families import get_family

    kind = (manifest or {}).get("input") or get_family(family).inputs[0]
    saved = (manifest or {}).get("input_params") or (manifest or {}).get("mel_params" if kind == "log_mel" else "")
    if saved:
        return kind, params_from_dict(kind, dict(saved))
    from musim.audio import MelParams, SliceParams
    from musim.features.params import DescriptorParams

    params = {"log_mel": MelParams, "slices": SliceParams, "descriptors": DescriptorParams}[kind]()
    want = tuple(model.inputs[0].shape[1:]) if hasattr(model, "inputs") else None
    shape = None if kind == "descriptors" else (params.frames, params.n_mels)
    if want is not None and shape is not None and tuple(want) != shape:
        raise NotFoundError(f"the model expects inputs of shape {want} and names no {kind} parameters")
    return kind, params


def load_champion(family: str | None = None, *, con: duckdb.DuckDBPyConnection | None = None,
                  store: ObjectStore | None = None, version: str | None = None,
                  require_manifest: bool = True) -> Champion:
    """A version, loaded: ``version`` if given, else the champion of ``family``, else the serving model
    (:func:`serving_model`), read from the published snapshot (or ``con``)."""
    from musim import serving
    from musim.models import registry
    from musim.models.siamese import load_model
    from musim.storage import open_store

    if family is not None and version is None:
        from musim.models.families import get_family

        get_family(family)
    store = store or open_store()
    own = con is None
    con = serving.open_snapshot() if own else con
    try:
        try:
            entry = registry.get_model(con, version or (f"{family}:champion" if family else serving_model(con)))
        except duckdb.CatalogException:
            raise NotFoundError("the published snapshot has no model registry yet: train a model first "
                                "(the train_siamese DAG or `musim models train`)") from None
    finally:
        if own:
            con.close()
    if family is not None and entry.family != family:
        raise ParameterError(f"{entry.version} is a {entry.family} model, not {family}")
    manifest = None
    try:
        manifest = read_manifest(store, entry.family, entry.version)
    except NotFoundError:
        if require_manifest:
            raise
    model = load_model(registry.fetch_model_file(store, entry))
    kind, params = _input_of(entry.family, manifest, model)
    return Champion(entry, model, kind, params, manifest)


def _encode(champ: Champion, features: Sequence[np.ndarray]) -> np.ndarray:
    """The version's embeddings of featurised files (one row per file): each family's own embedding
    (:func:`musim.models.families.embed_features`)."""
    from musim.models.families import embed_features

    if champ.input == "slices":
        counts = [int(f.shape[0]) for f in features]
        return embed_features(champ.family, champ.model, slices=np.concatenate(list(features)),
                              slice_track=np.repeat(np.arange(len(counts)), counts), n=len(counts))
    stacked = np.stack(list(features))
    if champ.input == "descriptors":
        return embed_features(champ.family, champ.model, descriptors=stacked)
    return embed_features(champ.family, champ.model, mel=stacked)


def embed_files(paths: Sequence[str | Path], *, family: str | None = None, version: str | None = None,
                store: ObjectStore | None = None, champion: Champion | None = None
                ) -> tuple[list[str], np.ndarray, list[tuple[str, str]], Champion]:
    """Each audio file's embedding by ``version``, else ``family``'s champion, else the serving model
    (folders are searched for audio files): the family's own embedding of the features it was trained on
    (siamese: encoder of the log-mel; cnn_classifier: mean over the 256 x 256 slices of the 128-unit
    layer; autoencoder: flattened encoder output; descriptors: z-scored descriptors).

    Returns ``(files embedded, embeddings (n, d) float32, [(file, error)] of files that failed, champion)``.
    """
    from musim.errors import AudioError

    champ = champion or load_champion(family, store=store, version=version, require_manifest=False)
    files = find_audio_files(paths)
    good, feats, failed = [], [], []
    for f in files:
        try:
            x = featurise_file(f, champ.params)
        except AudioError as exc:
            failed.append((str(f), str(exc)))
            continue
        if champ.input == "slices" and x.shape[0] == 0:
            failed.append((str(f), "too short for one slice"))
            continue
        feats.append(x)
        good.append(str(f))
    if not feats:
        raise ParameterError("no file could be decoded: " + "; ".join(f"{f}: {e}" for f, e in failed))
    return good, np.asarray(_encode(champ, feats), dtype=np.float32), failed, champ


@dataclass(frozen=True)
class Match:
    """One similar artist or track of a query."""

    rank: int
    score: float
    artist_id: int
    artist: str | None
    track_id: str | None = None
    title: str | None = None
    listeners: int | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SimilarAudio:
    """The result of :func:`similar_audio`."""

    files: list[str]
    failed: list[tuple[str, str]]
    version: str
    scoring: str
    artists: list[Match]
    tracks: list[Match]
    family: str = ""
    search: str = "exact"

    def to_json(self) -> dict[str, Any]:
        return {"files": self.files, "failed": [{"file": f, "error": e} for f, e in self.failed],
                "model_version": self.version, "family": self.family, "scoring": self.scoring,
                "search": self.search,
                "artists": [m.to_json() for m in self.artists], "tracks": [m.to_json() for m in self.tracks]}


def similar_audio(paths: Sequence[str | Path], *, k: int = 10, family: str | None = None,
                  version: str | None = None, store: ObjectStore | None = None,
                  search: str | None = None) -> SimilarAudio:
    """The known artists and tracks most similar to new audio, by a model's embeddings alone: ``version``
    if given, else ``family``'s champion, else the serving model (:func:`serving_model`). The version
    must have published embeddings (its neighbour tables and online vectors).

    The files are taken as clips of **one** query (say, a new artist without listening data). Scores are
    the ones the family's evaluation and ``artist_neighbors_audio`` use:

    - siamese (``pair_mean``): an artist's score is the model's own output averaged over every (query
      clip, artist clip) pair, a track's the mean over the query clips;
    - the embedding families (``cosine``: cnn_classifier, autoencoder, descriptors): the cosine of the
      query's mean embedding with the artist's mean track embedding, and with the track's embedding.

    ``search`` (``auto``: ``MUSIM_AUDIO_SEARCH``, else the index from ``MUSIM_ANN_MIN_TRACKS`` tracks;
    ``exact``; ``ann``): the cosine families search the version's stored ANN index for the tracks
    (:mod:`musim.models.audio_search`); siamese always scores every track.

    Reads the published snapshot (registry, ``track``, ``artist``), the online store (the version's track
    embeddings) and the object store (model, manifest, index).
    """
    from musim import serving
    from musim.features import open_online
    from musim.models.audio_search import search_through_index, track_index
    from musim.storage import open_store

    if k < 1:
        raise ParameterError(f"k must be >= 1, got {k}")
    store = store or open_store()
    con = serving.open_snapshot()
    try:
        champ = load_champion(family, con=con, store=store, version=version)
        files, q, failed, _ = embed_files(paths, champion=champ)
        manifest = champ.manifest or {}
        found = track_index(store, manifest, search=search)
        if found is not None:
            t_rows, a_rows = search_through_index(con, q.mean(axis=0, keepdims=True), k, found, manifest)
            return SimilarAudio(
                files, failed, champ.entry.version, str(manifest.get("scoring")),
                [Match(i + 1, float(r[1]), int(r[0]), r[2], listeners=None if r[3] is None else int(r[3]))
                 for i, r in enumerate(a_rows)],
                [Match(i + 1, float(r[1]), int(r[2]), r[3], track_id=str(r[0]), title=r[4],
                       listeners=None if r[5] is None else int(r[5])) for i, r in enumerate(t_rows)],
                champ.family, "ann")
        name, _, view_version = str(manifest["track_view"]).partition(":")
        tracks = open_online(name, int(view_version))
        t_ids = np.asarray(tracks.ids).astype(str)
        t_emb = np.asarray(tracks.matrix, dtype=np.float32)
        pair_mean = manifest.get("scoring") == "pair_mean"
        if pair_mean:
            from musim.models.siamese import pair_scores

            per_track = pair_scores(champ.model, q, t_emb, chunk=16).mean(axis=0).astype(np.float64)
        else:
            query = q.mean(axis=0, keepdims=True)
            per_track = _cosine(query, t_emb)[0].astype(np.float64)
        import pandas as pd

        con.complete()
        con.register("q_tracks", pd.DataFrame({"track_id": t_ids, "score": per_track}))
        rows = con.execute(sql.load("models/similar_audio_tracks.sql")).fetchall()
        con.unregister("q_tracks")
    finally:
        con.close()
    # rows: track_id, score, artist_id, artist, title, listeners
    position = {t: i for i, t in enumerate(t_ids.tolist())}
    by_artist: dict[int, list[int]] = {}
    meta: dict[int, tuple[str | None, int | None]] = {}
    for tid, _score, aid, aname, _title, listeners in rows:
        by_artist.setdefault(int(aid), []).append(position[str(tid)])
        meta[int(aid)] = (aname, None if listeners is None else int(listeners))
    if pair_mean:
        artist_score = {a: float(per_track[idx].mean()) for a, idx in by_artist.items()}
    else:
        ids = list(by_artist)
        means = np.stack([t_emb[by_artist[a]].astype(np.float64).mean(axis=0) for a in ids]) if ids else \
            np.zeros((0, t_emb.shape[1]))
        artist_score = dict(zip(ids, _cosine(query, means)[0].astype(float).tolist(), strict=True))
    artist_rank = sorted(artist_score, key=lambda a: (-artist_score[a], a))[:k]
    artists = [Match(i + 1, artist_score[a], a, meta[a][0], listeners=meta[a][1]) for i, a in enumerate(artist_rank)]
    top_tracks = sorted(rows, key=lambda r: (-float(r[1]), str(r[0])))[:k]
    track_matches = [Match(i + 1, float(r[1]), int(r[2]), r[3], track_id=str(r[0]), title=r[4],
                           listeners=None if r[5] is None else int(r[5])) for i, r in enumerate(top_tracks)]
    return SimilarAudio(files, failed, champ.entry.version, str(manifest.get("scoring")), artists, track_matches,
                        champ.family)
