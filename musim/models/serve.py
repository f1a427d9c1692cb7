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
  ``artist_neighbors_audio`` and ``track_neighbors`` (migration 008) in one transaction;
- writes ``models/<family>/<version>/embedding.json`` (the input features and the views; what
  :func:`similar_audio` and :func:`embed_files` read) when given the store;
- and (``snapshot=True``) publishes a new serving snapshot.

Scores: with ``pair_similarity`` (siamese), an artist pair scores the mean of the pair similarity over
their clip pairs (what :func:`musim.models.siamese.siamese_scorer` evaluates) and a track pair its pair
similarity; without it, cosine similarity of the artists' mean embeddings (what
:func:`musim.models.evaluate.embedding_scorer` evaluates) and of the track embeddings. A track's
neighbours are tracks of *other* artists.

:func:`similar_audio` and :func:`embed_files` work on new audio files with a family's champion, from the
published snapshot, the online store and the object store only (never the writer's warehouse).

This module imports Keras only inside the functions that load a model.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from musim import sql
from musim.errors import NotFoundError, ParameterError
from musim.features.registry import ARTIST, TRACK, FeatureView, embedding_view
from musim.storage import ObjectStore

__all__ = [
    "AUDIO_SUFFIXES",
    "EMBEDDING_FILE",
    "Match",
    "NeighborsResult",
    "SimilarAudio",
    "artist_neighbors",
    "embed_files",
    "embedding_views",
    "featurise_file",
    "find_audio_files",
    "load_champion",
    "publish_neighbors",
    "read_manifest",
    "similar_audio",
    "track_neighbors",
]

log = logging.getLogger(__name__)

PairSimilarity = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: The serving manifest of a published version, next to its model: ``models/<family>/<version>/embedding.json``.
EMBEDDING_FILE = "embedding.json"
#: What :func:`find_audio_files` picks up in a folder.
AUDIO_SUFFIXES = (".mp3", ".wav", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac")
#: Track rows per block when scoring (bounds memory: block x tracks x dim floats inside the pair head).
_BLOCK = 256


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


# -- neighbours (numpy) ----------------------------------------------------------------------------------

def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    return (a / np.where(na > 0, na, 1.0)) @ (b / np.where(nb > 0, nb, 1.0)).T


def _top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: positions of the ``k`` highest finite scores (ties: lower position first) and the scores."""
    n = scores.shape[1]
    k = min(k, n)
    s = np.where(np.isfinite(scores), scores, -np.inf)
    # lexicographic (score desc, position asc): stable argsort of -score
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(s, order, axis=1)


def _group(owner: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows sorted by owner: ``(order, owners (A,), starts (A,), counts (A,))``."""
    order = np.argsort(owner, kind="stable")
    owners, starts, counts = np.unique(owner[order], return_index=True, return_counts=True)
    return order, owners, starts, counts


def track_neighbors(embeddings: np.ndarray, owner: np.ndarray, *, k: int = 10,
                    pair_similarity: PairSimilarity | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most similar tracks of other artists for every track.

    Parameters
    ----------
    embeddings : np.ndarray [shape=(N, d)]
    owner : np.ndarray [shape=(N,)] the artist of each track
    pair_similarity : ``f(a (n, d), b (m, d)) -> (n, m)``, higher = more similar (default: cosine)

    Returns
    -------
    (neighbors, scores) : np.ndarray [shape=(N, k')] int64 row positions (-1 where fewer exist), float64
    """
    e = np.asarray(embeddings, dtype=np.float32)
    own = np.asarray(owner, dtype=np.int64)
    sim = pair_similarity or _cosine
    n = e.shape[0]
    kk = max(0, min(k, n - 1))
    nb = np.full((n, kk), -1, dtype=np.int64)
    sc = np.full((n, kk), np.nan, dtype=np.float64)
    for s in range(0, n, _BLOCK):
        block = np.asarray(sim(e[s:s + _BLOCK], e), dtype=np.float64)
        block[own[s:s + _BLOCK, None] == own[None, :]] = -np.inf  # itself and its artist's other tracks
        pos, val = _top_k(block, kk)
        ok = np.isfinite(val)
        nb[s:s + _BLOCK] = np.where(ok, pos, -1)
        sc[s:s + _BLOCK] = np.where(ok, val, np.nan)
    return nb, sc


def artist_scores(embeddings: np.ndarray, owner: np.ndarray, *, pair_similarity: PairSimilarity | None = None,
                  rows: Sequence[int] | np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Artist x artist similarity: ``(artists (A,), S (A, A))`` (or the rows of the artists ``rows``).

    With ``pair_similarity``: the mean over the two artists' track pairs; without: cosine of their mean
    embeddings. Memory is bounded by scoring a block of artists' tracks against all tracks at a time.
    """
    e = np.asarray(embeddings, dtype=np.float32)
    own = np.asarray(owner, dtype=np.int64)
    order, artists, starts, counts = _group(own)
    want = np.arange(artists.size) if rows is None else np.asarray(rows, dtype=np.int64)
    if pair_similarity is None:
        sums = np.add.reduceat(e[order].astype(np.float64), starts, axis=0)
        means = sums / counts[:, None]
        return artists, _cosine(means[want], means)
    es = e[order]
    out = np.empty((want.size, artists.size), dtype=np.float64)
    i = 0
    while i < want.size:
        # a block of artists whose tracks make at most ~_BLOCK rows
        j, rows_n = i, 0
        while j < want.size and (rows_n == 0 or rows_n + counts[want[j]] <= _BLOCK):
            rows_n += counts[want[j]]
            j += 1
        block_artists = want[i:j]
        idx = np.concatenate([np.arange(starts[a], starts[a] + counts[a]) for a in block_artists])
        s = np.asarray(pair_similarity(es[idx], es), dtype=np.float64)       # (rows, N)
        cols = np.add.reduceat(s, starts, axis=1) / counts[None, :]          # (rows, A): mean over b's tracks
        local = np.repeat(np.arange(block_artists.size), counts[block_artists])
        sums = np.zeros((block_artists.size, artists.size))
        np.add.at(sums, local, cols)
        out[i:j] = sums / counts[block_artists][:, None]                     # mean over a's tracks
        i = j
    return artists, out


def artist_neighbors(embeddings: np.ndarray, owner: np.ndarray, *, k: int = 10,
                     pair_similarity: PairSimilarity | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` most similar other artists of every artist with tracks.

    Returns
    -------
    (artists (A,), neighbors (A, k') artist ids (-1 where fewer), scores (A, k'))
    """
    own = np.asarray(owner, dtype=np.int64)
    artists = np.unique(own)
    kk = max(0, min(k, artists.size - 1))
    nb = np.full((artists.size, kk), -1, dtype=np.int64)
    sc = np.full((artists.size, kk), np.nan)
    step = max(1, _BLOCK // 3)
    for s in range(0, artists.size, step):
        rows = np.arange(s, min(s + step, artists.size))
        _, S = artist_scores(embeddings, own, pair_similarity=pair_similarity, rows=rows)
        S[np.arange(rows.size), rows] = -np.inf
        pos, val = _top_k(S, kk)
        ok = np.isfinite(val)
        nb[rows] = np.where(ok, artists[pos], -1)
        sc[rows] = np.where(ok, val, np.nan)
    return artists, nb, sc


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

    def to_json(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in self.__dict__.items()}


def _track_artists(con: duckdb.DuckDBPyConnection, track_ids: Sequence[str]) -> np.ndarray:
    import pandas as pd

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
                      snapshot: bool = False, settings: Any = None) -> NeighborsResult:
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

    a_ids, a_nb, a_sc = artist_neighbors(e, owner, k=k, pair_similarity=pair_similarity)
    t_nb, t_sc = track_neighbors(e, owner, k=k, pair_similarity=pair_similarity)
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

        doc = {"family": family, "version": version, "dim": int(e.shape[1]), "track_view": track_view.ref,
               "artist_view": artist_view.ref, "scoring": "pair_mean" if pair_similarity else "cosine",
               "k": k, "tracks": len(ids), "artists": int(artists.size), "created_at": at.isoformat(),
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
    log.info("%s: neighbours of %d artists (%d cold start) and %d tracks published", version, artists.size, cold,
             len(ids))
    return NeighborsResult(family, version, len(ids), int(artists.size), cold, k, track_view.ref, artist_view.ref,
                           int(artist_rows.num_rows), int(track_rows.num_rows), at, published, snap, manifest_key)


# -- new audio: featurise, embed, query ------------------------------------------------------------------

def read_manifest(store: ObjectStore, family: str, version: str) -> dict[str, Any]:
    """The ``embedding.json`` of a published version (NotFoundError if it was never published)."""
    from musim.models.registry import object_prefix

    key = object_prefix(family, version) + EMBEDDING_FILE
    if not store.exists(key):
        raise NotFoundError(f"{version} has no published embeddings ({key}): run the train_siamese DAG "
                            "(or `musim models train`) to embed the catalogue with it")
    return json.loads(store.get_bytes(key))


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


def featurise_file(path: str | Path, mel_params: Any, *, anchor: str | float = "middle") -> np.ndarray:
    """The log-mel of an audio file as the feature store computes it for a preview: ``(frames, n_mels)``.

    A file longer than the spectrogram's span (30 s by default) is cut to a window of that span, placed
    like the acquisition places it in whole local tracks (``anchor``, default the middle).
    """
    from musim.acquire.models import excerpt_window
    from musim.audio import load_audio, log_mel

    y, sr = load_audio(Path(path), sr=mel_params.sr, key=str(path))
    span = mel_params.seconds
    if span is not None and y.size / sr > span:
        offset, length = excerpt_window(y.size / sr, length_s=span, anchor=anchor)
        y = y[int(round(offset * sr)):int(round((offset + length) * sr))]
    return log_mel(y, params=mel_params).astype(np.float16)


@dataclass
class Champion:
    """A family's champion as the serving side sees it: entry, Keras model, input features, manifest."""

    entry: Any
    model: Any
    mel_params: Any
    manifest: dict[str, Any] | None


def _mel_params_of(manifest: Mapping[str, Any] | None, model: Any) -> Any:
    from musim.audio import MelParams

    if manifest and manifest.get("mel_params"):
        return MelParams.from_dict(dict(manifest["mel_params"]))
    params = MelParams()
    want = tuple(model.inputs[0].shape[1:]) if hasattr(model, "inputs") else None
    if want is not None and tuple(want) != params.shape:
        raise NotFoundError(f"the model expects inputs of shape {want} and names no log-mel parameters")
    return params


def load_champion(family: str = "siamese", *, con: duckdb.DuckDBPyConnection | None = None,
                  store: ObjectStore | None = None, version: str | None = None,
                  require_manifest: bool = True) -> Champion:
    """The champion (or ``version``) of ``family`` from the published snapshot (or ``con``), loaded."""
    from musim import serving
    from musim.models import registry
    from musim.models.siamese import load_model
    from musim.storage import open_store

    store = store or open_store()
    own = con is None
    con = serving.open_snapshot() if own else con
    try:
        try:
            entry = registry.get_model(con, version or f"{family}:champion")
        except duckdb.CatalogException:
            raise NotFoundError("the published snapshot has no model registry yet: train a model first "
                                "(the train_siamese DAG or `musim models train`)") from None
    finally:
        if own:
            con.close()
    manifest = None
    try:
        manifest = read_manifest(store, entry.family, entry.version)
    except NotFoundError:
        if require_manifest:
            raise
    model = load_model(registry.fetch_model_file(store, entry))
    return Champion(entry, model, _mel_params_of(manifest, model), manifest)


def _encode(champ: Champion, x: np.ndarray) -> np.ndarray:
    from musim.models.siamese import embed, encoder_of

    if champ.entry.family != "siamese":
        raise ParameterError(f"audio queries support the siamese family for now, not {champ.entry.family!r}")
    return embed(encoder_of(champ.model), x)


def embed_files(paths: Sequence[str | Path], *, family: str = "siamese", version: str | None = None,
                store: ObjectStore | None = None, champion: Champion | None = None
                ) -> tuple[list[str], np.ndarray, list[tuple[str, str]], Champion]:
    """The champion's embedding of each audio file (folders are searched for audio files).

    Returns ``(files embedded, embeddings (n, d) float32, [(file, error)] of files that failed, champion)``.
    """
    from musim.errors import AudioError

    champ = champion or load_champion(family, store=store, version=version, require_manifest=False)
    files = find_audio_files(paths)
    good, mels, failed = [], [], []
    for f in files:
        try:
            mels.append(featurise_file(f, champ.mel_params))
            good.append(str(f))
        except AudioError as exc:
            failed.append((str(f), str(exc)))
    if not mels:
        raise ParameterError("no file could be decoded: " + "; ".join(f"{f}: {e}" for f, e in failed))
    return good, _encode(champ, np.stack(mels)), failed, champ


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

    def to_json(self) -> dict[str, Any]:
        return {"files": self.files, "failed": [{"file": f, "error": e} for f, e in self.failed],
                "model_version": self.version, "scoring": self.scoring,
                "artists": [m.to_json() for m in self.artists], "tracks": [m.to_json() for m in self.tracks]}


def similar_audio(paths: Sequence[str | Path], *, k: int = 10, family: str = "siamese", version: str | None = None,
                  store: ObjectStore | None = None) -> SimilarAudio:
    """The known artists and tracks most similar to new audio, by the champion's embeddings alone.

    The files are taken as clips of **one** query (say, a new artist without listening data): an artist's
    score is the mean of the pair similarity over every (query clip, artist clip) pair — for the siamese
    family the model's own output, as in evaluation and in ``artist_neighbors_audio`` — and a track's the
    mean over the query clips. Reads the published snapshot (``track``, ``artist``), the online store
    (the version's track embeddings) and the object store (model, manifest).
    """
    from musim import serving
    from musim.features import open_online
    from musim.models.siamese import pair_scores
    from musim.storage import open_store

    if k < 1:
        raise ParameterError(f"k must be >= 1, got {k}")
    store = store or open_store()
    champ = load_champion(family, store=store, version=version)
    files, q, failed, _ = embed_files(paths, champion=champ)
    manifest = champ.manifest or {}
    name, _, view_version = str(manifest["track_view"]).partition(":")
    tracks = open_online(name, int(view_version))
    t_ids = np.asarray(tracks.ids).astype(str)
    t_emb = tracks.matrix
    if manifest.get("scoring") == "pair_mean":
        per_track = pair_scores(champ.model, q, t_emb, chunk=16).mean(axis=0).astype(np.float64)
    else:
        per_track = _cosine(q.mean(axis=0, keepdims=True), t_emb)[0]
    con = serving.open_snapshot()
    try:
        import pandas as pd

        con.register("q_tracks", pd.DataFrame({"track_id": t_ids, "score": per_track}))
        rows = con.execute(sql.load("models/similar_audio_tracks.sql")).fetchall()
        con.unregister("q_tracks")
    finally:
        con.close()
    # rows: track_id, score, artist_id, artist, title, listeners
    by_artist: dict[int, list[float]] = {}
    meta: dict[int, tuple[str | None, int | None]] = {}
    for _tid, score, aid, aname, _title, listeners in rows:
        by_artist.setdefault(int(aid), []).append(float(score))
        meta[int(aid)] = (aname, None if listeners is None else int(listeners))
    artist_rank = sorted(by_artist, key=lambda a: (-float(np.mean(by_artist[a])), a))[:k]
    artists = [Match(i + 1, float(np.mean(by_artist[a])), a, meta[a][0], listeners=meta[a][1])
               for i, a in enumerate(artist_rank)]
    top_tracks = sorted(rows, key=lambda r: (-float(r[1]), str(r[0])))[:k]
    track_matches = [Match(i + 1, float(r[1]), int(r[2]), r[3], track_id=str(r[0]), title=r[4],
                           listeners=None if r[5] is None else int(r[5])) for i, r in enumerate(top_tracks)]
    return SimilarAudio(files, failed, champ.entry.version, str(manifest.get("scoring")), artists, track_matches)
