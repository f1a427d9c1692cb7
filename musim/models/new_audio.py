"""New audio against any family's model: featurise files as the feature store featurises previews, embed them
with the family's own embedding, and rank the known artists and tracks (``musim similar-audio``, ``musim embed``).

The model is a named version, a family's champion, or by default the serving model (:func:`serving_choice`:
the champion whose neighbours were published last; without a published champion, the version published last, as
``similar --audio`` and ``similar-tracks`` serve it, said in one line). Everything comes from published data only:
the serving snapshot, the online store and the object store (the model, and the serving manifest of the publication
that snapshot serves), never the
writer's warehouse (``models evaluate --labels --model VERSION`` alone resolves a registered version in the
warehouse, read-only: :func:`resolve_version` with its connection; so does ``embed --model VERSION`` for a version
the published snapshot does not know, registered but never published). Files are found and featurised as the library
reads them by :mod:`musim.models.audio_files` (only the analysed window of a longer file is decoded, cut where the
version's library cut its whole tracks: its serving manifest's ``excerpt_s`` and ``excerpt_anchor``, the middle 30 s
without them, :func:`~musim.models.audio_files.analysis_window`; a zip archive is the album it holds), held to the
shortest audio the version's features were built from (its serving manifest's ``min_duration_s``; 5 s in a manifest
from before it was recorded) unless ``--min-duration`` is given:
:func:`~musim.models.audio_files.min_duration`.

This module imports Keras only inside the functions that load a model.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from musim import sql
from musim.errors import NotFoundError, ParameterError
from musim.models.audio_files import analysis_window, featurise_files, find_audio, min_duration
from musim.models.manifests import read_manifest
from musim.models.neighbours import _cosine
from musim.storage import DamagedObject, ObjectStore

__all__ = ["Champion", "Match", "SimilarAudio", "embed_files", "encode_featurised", "load_champion", "resolve_version",
           "serving_choice", "serving_model", "similar_audio"]

log = logging.getLogger(__name__)


def serving_model(con: duckdb.DuckDBPyConnection) -> str:
    """The version served when no family or version is named (:func:`serving_choice`)."""
    return serving_choice(con)[0]


def serving_choice(con: duckdb.DuckDBPyConnection, family: str | None = None) -> tuple[str, str | None]:
    """The version served when no version is named, and a line saying why when it is no champion.

    Without ``family``: among the champions, the one whose audio neighbours were published last; without a
    published champion, the version published last (what ``similar --audio`` and ``similar-tracks`` serve); else
    the most recently promoted champion (never published: ``embed`` can use it). With ``family``: its champion,
    else its version published last. Reads the registry only (no model is loaded): nothing served fails at once.
    """
    present = {r[0] for r in sql.query(con, "models/present_tables.sql").fetchall()}
    if "model_registry" not in present:
        raise NotFoundError("no model registry yet: train a model first (the train_siamese or train_embeddings "
                            "DAG, or `musim models train`)")
    published = "artist_neighbors_audio" in present
    if family is not None:
        from musim.models import registry

        champ = registry.champion(con, family)
        if champ is not None:
            return champ.version, None
        row = sql.query(con, "models/family_published_last.sql", family=family).fetchone() if published else None
        if row is None:
            registry.get_model(con, f"{family}:champion")  # raises, naming the family's versions
        return str(row[0]), (f"{family} has no champion: {row[0]}, its version published last, answers "
                             "(`musim models promote VERSION` makes a champion)")
    name = "serving_model.sql" if published else "serving_model_unpublished.sql"
    row = sql.query(con, f"models/{name}").fetchone()
    if row is not None and row[1] is not None:
        return str(row[0]), None
    last = sql.query(con, "models/published_versions.sql").fetchone() if published else None
    if last is not None:
        why = f"the champion {row[0]} is not published" if row is not None else "no champion is published"
        return str(last[0]), (f"{why}: {last[0]}, the version published last, answers (as `musim similar --audio` "
                              "and `similar-tracks` do)")
    if row is None:  # no champion, nothing published
        from musim.models.registry import recent_versions

        recent = recent_versions(con)
        named = f"; registered: {', '.join(recent)}" if recent else ""
        raise NotFoundError("no model is served: the published snapshot has no champion and no published version: "
                            "publish one (`musim models publish VERSION`) or name one with `--model VERSION`"
                            f"{named}")
    return str(row[0]), None


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
    note: str | None = None  # why this version serves when it is no champion (see :func:`serving_choice`)

    @property
    def family(self) -> str:
        return str(self.entry.family)

    @property
    def mel_params(self) -> Any:
        """The log-mel parameters (families on log-mels), else None."""
        return self.params if self.input == "log_mel" else None


def _input_of(family: str, manifest: Mapping[str, Any] | None, model: Any,
              trained: Mapping[str, Any] | None = None, *, version: str | None = None) -> tuple[str, Any]:
    """The input kind and feature parameters a version embeds: from its manifest, else the family's
    input with the feature store's default parameters, checked against the model's input shape (a family that
    embeds crops of the log-mel, as contrastive does, takes ``crop_frames`` of its ``trained`` parameters)."""
    from musim.features.params import params_from_dict
    from musim.models.families import get_family

    kind = (manifest or {}).get("input") or get_family(family).inputs[0]
    saved = (manifest or {}).get("input_params") or (manifest or {}).get("mel_params" if kind == "log_mel" else "")
    want = tuple(model.inputs[0].shape[1:]) if hasattr(model, "inputs") else None
    if saved:
        params = params_from_dict(kind, dict(saved))
        if kind == "log_mel" and want is not None and len(want) == 2 and want[-1] != params.n_mels:
            # a manifest edited by hand, or one of another version: new audio would reach the model in a shape it
            # was not built for (a Keras ValueError deep in the first layer)
            raise DamagedObject(f"the serving manifest of {version or family} gives log-mels of {params.n_mels} mel "
                                f"bands, its model takes {want[-1]}: publish it again (`musim models publish "
                                f"{version or 'VERSION'}`)")
        return kind, params
    from musim.audio import MelParams, SliceParams
    from musim.features.params import DescriptorParams

    params = {"log_mel": MelParams, "slices": SliceParams, "descriptors": DescriptorParams}[kind]()
    shape = (None if kind == "descriptors"  # a vector of descriptors: no frames, no mel bands
             else ((trained or {}).get("crop_frames") or params.frames, params.n_mels))
    if want is not None and shape is not None and tuple(want) != shape:
        raise NotFoundError(f"the model expects inputs of shape {want} and names no {kind} parameters")
    return kind, params


def open_published() -> duckdb.DuckDBPyConnection:
    """The published snapshot (read-only), or a NotFoundError saying how to publish a model version (a library
    without listening data has no similarity build to publish)."""
    from musim import serving
    from musim.config import get_settings

    try:
        return serving.open_snapshot()
    except serving.NothingPublished:
        where = get_settings().serving_dir
        raise NotFoundError(f"no model has been published under {where} yet: publish a registered version "
                            "(`musim models publish VERSION`; `musim models list` shows them) or train one "
                            "(`musim models train`)") from None


def resolve_version(family: str | None = None, *, con: duckdb.DuckDBPyConnection | None = None,
                    version: str | None = None) -> tuple[Any, str | None]:
    """The registry entry of ``version`` if given, else of ``family``'s champion (else its version published last),
    else of the serving model (:func:`serving_choice`), read from the published snapshot (or ``con``: the
    warehouse's registry for a version registered but not published yet), and the line saying why a version that is
    no champion serves. No model is loaded: a version that does not exist fails at once."""
    from musim.models import registry

    if family is not None and version is None:
        from musim.models.families import get_family

        get_family(family)
    own = con is None
    con = open_published() if own else con
    note = None
    try:
        try:
            wanted = version
            if wanted is None:
                wanted, note = serving_choice(con, family)
            entry = registry.get_model(con, wanted)
        except duckdb.CatalogException:
            raise NotFoundError("the published snapshot has no model registry yet: train a model first "
                                "(the train_siamese DAG or `musim models train`)") from None
        except NotFoundError as exc:
            if version is None and family is not None:  # promoted since the snapshot was published?
                raise NotFoundError(f"{exc}; this reads the published snapshot, where a version promoted since "
                                    "appears once published (`musim models publish VERSION`)") from None
            raise
    finally:
        if own:
            con.close()
    if family is not None and entry.family != family:
        raise ParameterError(f"{entry.version} is a {entry.family} model, not {family}")
    return entry, note


def load_champion(family: str | None = None, *, con: duckdb.DuckDBPyConnection | None = None,
                  store: ObjectStore | None = None, version: str | None = None,
                  require_manifest: bool = True, entry: Any = None) -> Champion:
    """A version, loaded: ``entry`` (a registry entry) if given, else the one :func:`resolve_version` names
    (``version``, else the champion of ``family``, else the serving model), read from the published snapshot (or
    ``con``), with the serving manifest of the publication that snapshot serves (:func:`served_manifest`). Keras is
    imported once the version is known."""
    from musim.models import registry
    from musim.storage import open_store

    note = None
    if entry is None:
        entry, note = resolve_version(family, con=con, version=version)
    elif family is not None and entry.family != family:
        raise ParameterError(f"{entry.version} is a {entry.family} model, not {family}")
    store = store or open_store()
    manifest = None
    try:
        manifest = served_manifest(store, entry, con)
    except NotFoundError:
        if require_manifest:
            raise
    from musim.models.siamese import load_model

    model = load_model(registry.fetch_model_file(store, entry))
    kind, params = _input_of(entry.family, manifest, model, entry.params, version=entry.version)
    return Champion(entry, model, kind, params, manifest, note)


def served_manifest(store: ObjectStore, entry: Any, con: duckdb.DuckDBPyConnection | None = None) -> dict[str, Any]:
    """The serving manifest of ``entry``'s version as the published snapshot (or ``con``) serves it (its index,
    views, inputs: :func:`musim.models.manifests.read_manifest`, following the snapshot as its online vectors do); the
    version's ``embedding.json`` where no snapshot records one (nothing published, a warehouse connection, a
    snapshot from before manifests were recorded)."""
    from musim import serving

    if con is not None:
        return read_manifest(store, entry.family, entry.version, snapshot=con)
    try:
        snapshot = serving.open_snapshot()
    except serving.NothingPublished:
        return read_manifest(store, entry.family, entry.version)
    try:
        return read_manifest(store, entry.family, entry.version, snapshot=snapshot)
    finally:
        snapshot.close()


def _embedding_version(family: str | None, version: str | None) -> tuple[Any, str | None]:
    """The registry entry :func:`embed_files` embeds with, and the line saying why a version that is no champion
    serves: as :func:`resolve_version` reads it from the published snapshot; a named ``version`` that the snapshot
    does not know (registered since, or nothing published yet: a challenger evaluated before it is published) from
    the warehouse's registry (read-only), where any registered version is. NotFoundError, in one line naming it, for a
    version registered nowhere."""
    try:
        return resolve_version(family, version=version)
    except NotFoundError:
        if version is None:
            raise
    from musim import sandbox
    from musim.models import registry

    with sandbox.reader() as con:
        try:
            entry = registry.get_model(con, version)
        except (NotFoundError, duckdb.CatalogException):
            if version.endswith(":champion"):
                raise
            raise NotFoundError(f"no model version {version!r} is registered: `musim models list` shows the "
                                "registered versions") from None
    if family is not None and entry.family != family:
        raise ParameterError(f"{entry.version} is a {entry.family} model, not {family}")
    log.info("%s is not in the published snapshot: embedding with it as the warehouse's registry has it "
             "(registered, not published)", entry.version)
    return entry, None


def _unpublished(snapshot: duckdb.DuckDBPyConnection, version: str | None) -> NotFoundError | None:
    """Why ``similar-audio --model VERSION`` cannot search with a ``version`` that the published snapshot does not
    know but the warehouse's registry holds (registered since it was published: a challenger never published), or
    None (no version named, one the snapshot knows, or one registered nowhere: the snapshot's error says so). It said
    ``no model version 'V'; recent: ...`` while `musim models list` showed V."""
    from musim import sandbox
    from musim.errors import MusimError
    from musim.models import registry

    if version is None or version.endswith(":champion"):
        return None
    with contextlib.suppress(NotFoundError, duckdb.Error):  # the snapshot does not know it: ask the warehouse
        registry.get_model(snapshot, version)
        return None  # the snapshot knows it: the error was another one (e.g. never published)
    try:
        with sandbox.reader() as con:
            entry = registry.get_model(con, version)
    except (MusimError, duckdb.Error):
        return None
    return NotFoundError(f"{entry.version} is registered but not published (the published snapshot does not serve "
                         f"it): publish it to rank the catalogue with it (`musim models publish {entry.version}`), or "
                         f"embed files with it as it is (`musim embed FILE... --model {entry.version}`)")


def encode_featurised(champ: Champion, features: Sequence[np.ndarray]) -> np.ndarray:
    """The version's embeddings of featurised files (one row per file, as
    :func:`~musim.models.audio_files.featurise_file` gives them for ``champ.params``): each family's own embedding
    (:func:`musim.models.families.embed_features`)."""
    from musim.models.families import embed_features

    if champ.input == "slices":
        counts = [int(f.shape[0]) for f in features]
    params = champ.entry.params  # how the version embeds (the contrastive family's crops): as it was published
    if champ.input == "slices":
        counts = [int(f.shape[0]) for f in features]
        return embed_features(champ.family, champ.model, slices=np.concatenate(list(features)),
                              slice_track=np.repeat(np.arange(len(counts)), counts), n=len(counts), params=params)
    stacked = np.stack(list(features))
    if champ.input == "descriptors":
        return embed_features(champ.family, champ.model, descriptors=stacked, params=params)
    return embed_features(champ.family, champ.model, mel=stacked, params=params)


def embed_files(paths: Sequence[str | Path], *, family: str | None = None, version: str | None = None,
                store: ObjectStore | None = None, champion: Champion | None = None, workers: int | None = None,
                min_duration_s: float | None = None) -> tuple[list[str], np.ndarray, list[tuple[str, str]], Champion]:
    """Each audio file's embedding by ``version``, else ``family``'s champion (else its version published last),
    else the serving model (:func:`serving_choice`; folders and zip archives are searched for audio files): the
    family's own embedding of the features it was trained on (siamese: encoder of the log-mel; cnn_classifier:
    mean over the 256 x 256 slices of the 128-unit layer; autoencoder: flattened encoder output; descriptors:
    z-scored descriptors). Files are featurised in the audio path's process pool (``workers``, default one per
    CPU; see :func:`~musim.models.audio_files.featurise_files`). A file shorter than ``min_duration_s`` (default:
    the threshold in the version's serving manifest, :func:`~musim.models.audio_files.min_duration`) fails
    ``too_short``.

    Returns ``(files embedded, embeddings (n, d) float32, [(file, error)] of files that failed, champion)``.
    """
    if champion is None:
        entry, note = _embedding_version(family, version)
        champion = load_champion(family, store=store, entry=entry, require_manifest=False)
        champion.note = note
    champ = champion
    files = find_audio(paths)
    shortest = min_duration(min_duration_s, champ.manifest)
    good, feats, failed = [], [], []
    cut = featurise_files(files, champ.params, workers=workers, min_duration_s=shortest,
                          window=analysis_window(champ.manifest))  # cut as the version's library cut its tracks
    for f, x in zip(files, cut, strict=True):
        if isinstance(x, str):
            failed.append((str(f.path), x))
            continue
        if champ.input == "slices" and x.shape[0] == 0:
            failed.append((str(f.path), "too short for one slice"))
            continue
        feats.append(x)
        good.append(str(f.path))
    if not feats:
        raise ParameterError("no usable audio file: " + "; ".join(f"{f}: {e}" for f, e in failed))
    return good, np.asarray(encode_featurised(champ, feats), dtype=np.float32), failed, champ


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
    note: str | None = None  # why the version serves when it is no champion

    def to_json(self) -> dict[str, Any]:
        return {"files": self.files, "failed": [{"file": f, "error": e} for f, e in self.failed],
                "model_version": self.version, "family": self.family, "scoring": self.scoring,
                "search": self.search, "model_note": self.note,
                "artists": [m.to_json() for m in self.artists], "tracks": [m.to_json() for m in self.tracks]}


def similar_audio(paths: Sequence[str | Path], *, k: int = 10, family: str | None = None,
                  version: str | None = None, store: ObjectStore | None = None,
                  search: str | None = None, min_duration_s: float | None = None) -> SimilarAudio:
    """The known artists and tracks most similar to new audio, by a model's embeddings alone: ``version``
    if given, else ``family``'s champion (else its version published last), else the serving model
    (:func:`serving_choice`). The version must have published embeddings (its neighbour tables and online
    vectors).

    The files are taken as clips of **one** query (say, a new artist without listening data). Scores are
    the ones the family's evaluation and ``artist_neighbors_audio`` use:

    - siamese (``pair_mean``): an artist's score is the model's own output averaged over every (query
      clip, artist clip) pair, a track's the mean over the query clips;
    - the embedding families (``cosine``: cnn_classifier, autoencoder, descriptors): the cosine of the
      query's mean embedding with the artist's mean track embedding, and with the track's embedding.

    ``search`` (``auto``: ``MUSIM_AUDIO_SEARCH``, else the index from ``MUSIM_ANN_MIN_TRACKS`` tracks;
    ``exact``; ``ann``): the cosine families search the version's stored ANN index for the tracks
    (:mod:`musim.models.audio_search`); siamese always scores every track.

    ``min_duration_s``: the shortest usable file (default: the threshold in the version's serving manifest:
    :func:`~musim.models.audio_files.min_duration`); a shorter one is skipped ``too_short``.

    Reads the published snapshot (registry, ``track``, ``artist``), the online store (the version's track
    embeddings) and the object store (model, manifest, index).
    """
    from musim.features import open_online
    from musim.models.audio_search import search_through_index, track_index
    from musim.storage import open_store

    if k < 1:
        raise ParameterError(f"k must be >= 1, got {k}")
    store = store or open_store()
    con = open_published()
    try:
        try:
            champ = load_champion(family, con=con, store=store, version=version)
        except NotFoundError as exc:
            raise _unpublished(con, version) or exc from None
        files, q, failed, _ = embed_files(paths, champion=champ, min_duration_s=min_duration_s)
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
                champ.family, "ann", champ.note)
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
        rows = sql.query(con, "models/similar_audio_tracks.sql").fetchall()
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
                        champ.family, note=champ.note)
