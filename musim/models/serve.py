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
- writes the publication's serving manifest (the input features, the views, the ANN index) when given the store:
  ``models/<family>/<version>/manifests/<created_at>.json`` before its commit point, never overwritten, which every
  snapshot serving the publication's rows records (``served_manifest``), and after the commit a copy as
  ``models/<family>/<version>/embedding.json``, the manifest of the version's newest publication;
- and (``snapshot=True``) publishes a new serving snapshot.

The serving manifests (where they are, how a version's is read and pruned) are :mod:`musim.models.manifests`'.

Scores: with ``pair_similarity`` (siamese), an artist pair scores the mean of the pair similarity over
their clip pairs (what :func:`musim.models.siamese.siamese_scorer` evaluates) and a track pair its pair
similarity; without it, cosine similarity of the artists' mean embeddings (what
:func:`musim.models.evaluate.embedding_scorer` evaluates) and of the track embeddings. A track's
neighbours are tracks of *other* artists.

New audio files (``similar-audio``, ``embed``) are :mod:`musim.models.new_audio`'s: it reads what this
module published.

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

from musim import sql, warehouse
from musim.errors import MusimError, NotFoundError, ParameterError, QualityError, StorageError
from musim.features.registry import ARTIST, TRACK, FeatureView, embedding_view
from musim.models.ann import AnnIndex, AnnParams, index_key, save_index, search_mode, stored_index
from musim.models.manifests import (
    EMBEDDING_FILE,
    _manifest_key,
    _prune_manifests,
    read_kept_snapshots,
    read_manifest,
)
from musim.models.neighbours import (
    PairSimilarity,
    _group,
    artist_neighbors,
    artist_scores,
    track_neighbors,
)
from musim.params import whole_number
from musim.storage import DamagedObject, ObjectStore

__all__ = [
    "NeighborsResult",
    "artist_neighbors",
    "artist_scores",
    "embedding_views",
    "publish_neighbors",
    "mend_online_pointers",
    "align_online_pointers",
    "commit_staged",
    "kept_online_files",
    "track_neighbors",
]

log = logging.getLogger(__name__)


# -- feature views ---------------------------------------------------------------------------------------

def _seq(version: str) -> int:
    tail = version.rsplit("-", 1)[-1]
    seq = whole_number(tail, max_digits=9) if tail == tail.strip() else None
    if seq is None or seq < 1:
        raise ParameterError(f"model versions are '<family>-<n>', got {version!r}")
    return seq


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
    staged_online: list[str] = field(default_factory=list)
    #: the object keys this publish pruned (after its commit): the version's serving manifests that no kept snapshot
    #: records, then its ANN index objects that no remaining manifest names (:func:`musim.models.manifests._prune_manifests`)
    pruned: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in self.__dict__.items()}


def _track_artists(con: duckdb.DuckDBPyConnection, track_ids: Sequence[str]) -> np.ndarray:
    owner = track_owners(con, track_ids)
    if np.any(owner < 0):
        missing = [str(track_ids[i]) for i in np.flatnonzero(owner < 0)[:5]]
        raise NotFoundError(f"{int((owner < 0).sum())} tracks are not in the `track` table, e.g. {', '.join(missing)}")
    return owner


def track_owners(con: duckdb.DuckDBPyConnection, track_ids: Sequence[str]) -> np.ndarray:
    """The artist id of each of ``track_ids`` in the ``track`` table, ``-1`` for a track not there (removed)."""
    import pandas as pd

    con.complete()  # a caller's half-read result (a fetchone()) would make register() fail
    con.register("models_track_ids", pd.DataFrame({"track_id": [str(t) for t in track_ids],
                                                   "pos": np.arange(len(track_ids), dtype=np.int64)}))
    try:
        rows = sql.query(con, "models/track_artists.sql").fetchall()
    finally:
        con.unregister("models_track_ids")
    owner = np.full(len(track_ids), -1, dtype=np.int64)
    for pos, artist in rows:
        owner[int(pos)] = int(artist)
    return owner


def publish_neighbors(con: duckdb.DuckDBPyConnection, family: str, version: str, track_ids: Sequence[str],
                      track_embeddings: np.ndarray, *, pair_similarity: PairSimilarity | None = None, k: int = 10,
                      store: ObjectStore | None = None, manifest: Mapping[str, Any] | None = None,
                      created_at: dt.datetime | None = None, run_id: str | None = None, online: bool = True,
                      snapshot: bool = False, settings: Any = None, search: str | None = None,
                      ann_params: AnnParams | None = None, defer_online: bool = False) -> NeighborsResult:
    """Register and write a model version's embeddings, compute and replace the family's neighbour rows.

    Parameters
    ----------
    con : the warehouse writer's connection
    family, version : the model (``version`` is ``<family>-<n>``)
    track_ids : the embedded tracks (every track with audio, ideally: the tables hold what is given)
    track_embeddings : np.ndarray [shape=(len(track_ids), d)] float
    pair_similarity : the family's pair similarity of embeddings (see the module docstring); default cosine
    k : neighbours per artist and per track
    store : where the serving manifest goes (with ``manifest``: extra keys for it, e.g. the input features): the
        publication's own (``manifests/<created_at>.json``, before the commit point) and ``embedding.json`` (after it)
    created_at : the rows' and vectors' time (default now)
    online : publish both views to the online store
    snapshot : publish a new serving snapshot afterwards
    search : ``auto`` / ``exact`` / ``ann`` for the cosine tables (:func:`musim.models.ann.search_mode`); with
        ANN, the track index (``ann_params``) is stored next to the model (``store``) and named in the manifest
    defer_online : leave the online pointers where they are: the caller publishes the snapshot that serves the
        rows and then commits ``result.staged_online`` (:func:`commit_staged`), as a publish of several families
        with one snapshot does
    """
    from musim.features import write_vectors

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
    placeholders = [r[0] for r in sql.query(con, "models/placeholder_artists.sql").fetchall()]
    real = ~np.isin(owner, placeholders)  # a placeholder groups unrelated files: no artist's neighbour
    a_ids, a_nb, a_sc = artist_neighbors(e[real], owner[real], k=k, pair_similarity=pair_similarity, search=search,
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
    # what lives outside the warehouse first (the ANN index and the manifest under names of their own, the online
    # vectors staged under names of their own: no reader sees them yet), then the neighbour rows in one transaction,
    # with the staged names and the created_at that names the manifest: the commit point. Only then does
    # embedding.json (the newest publication's manifest) follow, and (after the snapshot, with ``snapshot``) the
    # online pointers move to the staged vectors. A publish killed or failed before the commit leaves the warehouse,
    # every snapshot published later, every online lookup (with a version or without: `latest`) and every manifest
    # read as they were; one killed after it, before the pointers moved, is mended by the next publish
    # (mend_online_pointers), from the names the rows recorded. Readers take the manifest a snapshot records, so
    # neither a publish stopped before its snapshot nor one under a rollback's pin changes what they read.
    from musim.features.online import stage_online

    mend_online_pointers(con, settings)
    manifest_key = body = None
    if store is not None:
        if index is not None and ann is None:
            ann = save_index(store, family, version, index, ids, e)
        doc = {"family": family, "version": version, "dim": int(e.shape[1]), "track_view": track_view.ref,
               "artist_view": artist_view.ref, "scoring": "pair_mean" if pair_similarity else "cosine",
               "k": k, "search": mode, "ann": ann, "tracks": len(ids), "artists": int(artists.size),
               "created_at": at.isoformat(),
               **dict(manifest or {})}
        body = json.dumps(doc, indent=1, default=str).encode()
        manifest_key = _manifest_key(con, family, version, at)
        store.put_bytes(manifest_key, body, content_type="application/json")
    staged = [stage_online(con, v, settings=settings) for v in (track_view, artist_view)] if online else []
    try:
        with warehouse.transaction(con):
            con.register("models_artist_neighbors", artist_rows)
            con.register("models_track_neighbors", track_rows)
            try:
                sql.run(con, "models/publish_neighbors.sql", family=family, model_version=version, created_at=at,
                        k=k, tracks=len(ids), artists=int(artists.size), track_view=track_view.ref,
                        artist_view=artist_view.ref, run_id=run_id,
                        track_online=staged[0].name if staged else None,
                        artist_online=staged[1].name if staged else None)
            finally:
                con.unregister("models_artist_neighbors")
                con.unregister("models_track_neighbors")
    except BaseException:
        _drop_uncommitted(con, staged)
        raise
    if store is not None and body is not None:  # committed: the version's newest publication
        from musim.models.registry import object_prefix

        store.put_bytes(object_prefix(family, version) + EMBEDDING_FILE, body, content_type="application/json")
    cold = int(sql.query(con, "models/neighbors_cold_start.sql", model_version=version, created_at=at).fetchone()[0])
    snap = None
    if snapshot:  # the snapshot that serves the rows first, so that no lookup runs ahead of the neighbours it serves
        from musim import serving

        try:
            snap = str(serving.publish(con, settings))
        except QualityError:  # refused (a similarity build failed its gate): the rows are committed, so are the vectors
            if not defer_online:
                commit_staged(staged, settings)
            raise
        except Exception as exc:  # not served (e.g. a full disk): the pointers stay, the next publish mends them
            said = unserved([version], exc, settings)
            if said is exc:
                raise
            raise said from exc
    published = [] if defer_online else commit_staged(staged, settings)  # none under a rollback's pin
    pruned = _prune_manifests(store, family, version, manifest_key, settings) if (
        store is not None and manifest_key is not None) else []
    log.info("%s: neighbours of %d artists (%d cold start) and %d tracks published (%s search)", version,
             artists.size, cold, len(ids), mode)
    return NeighborsResult(family, version, len(ids), int(artists.size), cold, k, track_view.ref, artist_view.ref,
                           int(artist_rows.num_rows), int(track_rows.num_rows), at, published, snap, manifest_key, mode,
                           ann["key"] if store is not None and ann else None,
                           [str(path) for path in staged] if defer_online else [], pruned)


def unserved(versions: Sequence[str], exc: Exception, settings: Any = None) -> Exception:
    """The error to raise when the snapshot that was to serve the committed neighbours of ``versions`` failed with
    ``exc`` (not a quality refusal): the online lookup stays on what the snapshot now serving matches, and the
    message says so and how to finish. ``exc`` itself, with that as a note, where it is neither musim's own error
    nor a DuckDB failure musim can explain in one line (its text then shows, with ``-v``, as it was)."""
    full = warehouse.full_disk(exc)
    why = (exc if isinstance(exc, MusimError) else warehouse.explain(exc, settings) if full is None
           else f"cannot write {full or 'a DuckDB file'}: No space left on device")
    done = (f"the neighbours of {', '.join(versions)} are committed to the warehouse, but no snapshot serves them "
            "and the online lookup stays on the previous version: `musim publish` publishes them and moves the "
            "online lookup once the cause is fixed")
    if why is None:
        exc.add_note(done)
        return exc
    return StorageError(f"{why}. Meanwhile {done}")


def commit_staged(staged_online: Sequence[str | Path], settings: Any = None) -> list[str]:
    """Move the online pointers to the vectors a publish staged (after the snapshot that serves its rows); return
    the files now current. None while a rollback pins the served snapshot (:class:`musim.snapshots.Pin`): the
    lookup stays on what it serves, and the staged files wait for the release (:func:`align_online_pointers`).
    Then, pinned or not, each version's files that no kept snapshot records (:func:`kept_online_files`; the pinned
    one's among them, so a rollback to any kept snapshot finds its vectors) are removed, but the current and the
    newest two (:func:`musim.features.online.prune_online`); nothing while what the snapshots record is unknown."""
    from musim import snapshots
    from musim.features.online import commit_online, prune_online

    paths = [Path(path) for path in staged_online]
    pinned = snapshots.read_pin(settings) is not None
    committed = [] if pinned else [str(commit_online(path, keep=None)) for path in paths]
    kept = kept_online_files(settings) if paths else None  # after the commit
    if kept is not None:
        for path in paths:
            prune_online(path, keep_files=kept.get(path.parent.name, set()))
    return committed


def kept_online_files(settings: Any = None) -> dict[str, set[str]] | None:
    """The online vector files that the kept serving snapshots record (their ``served_online`` tables), by view name
    (the folder under ``online/``); None while one of them cannot be read (another process holds it open: what it
    records is unknown) or its table cannot be read. A snapshot published before snapshots recorded them records
    none."""
    def recorded(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
        present = {r[0] for r in sql.query(con, "models/present_tables.sql").fetchall()}
        rows = sql.query(con, "serving/served_online.sql").fetchall() if "served_online" in present else []
        return [(ref.rpartition(":")[0], file_name) for row in rows
                for ref, file_name in zip(row[:2], row[2:], strict=True) if ref and file_name]

    try:
        found = read_kept_snapshots(recorded, settings)
    except Exception as exc:  # noqa: BLE001 - committed: a pruning failure only warns
        log.warning("the online vectors that the kept serving snapshots record could not be read (%s: %s): none is "
                    "pruned (the next publish of the version tries again)", type(exc).__name__, exc)
        return None
    if found is None:
        return None
    kept: dict[str, set[str]] = {}
    for view, file_name in (pair for pairs in found for pair in pairs):
        kept.setdefault(view, set()).add(file_name)
    return kept


def _drop_uncommitted(con: duckdb.DuckDBPyConnection, staged: Sequence[Any]) -> None:
    """Remove the staged online files of a publish that failed before its commit (never current: no reader holds
    them); a file that a committed row names stays (the failure came after the commit) for the next publish to
    point at, and when the warehouse cannot say, all stay (a later publish of the version prunes them)."""
    try:
        drop = [p for p in staged
                if not sql.query(con, "models/online_files_committed.sql", file_name=p.name).fetchone()[0]]
    except (duckdb.Error, KeyboardInterrupt):
        return
    for path in drop:
        path.unlink(missing_ok=True)


def publish_snapshot(con: duckdb.DuckDBPyConnection, settings: Any = None, *, force: bool = False) -> Path:
    """Publish a serving snapshot of the warehouse ``con`` (:func:`musim.serving.publish`), then move the online
    lookup pointers to what it now serves (:func:`mend_online_pointers`: a ``models publish`` whose own snapshot
    failed left its online vectors unpointed; no lookup runs ahead of what is served). Every publish goes through
    here: ``musim publish``, ``musim similarity build`` and the artist_similarity DAG."""
    from musim import serving

    path = serving.publish(con, settings, force=force)
    mend_online_pointers(con, settings)
    return path


def mend_online_pointers(con: duckdb.DuckDBPyConnection, settings: Any = None) -> list[str]:
    """Point the online store at the embeddings of each version's newest committed publication (the files its row
    names, migration 021) where a publish killed after its commit point left the pointers behind; return the views
    mended (``name:version``). While a rollback pins the served snapshot, at what that snapshot was published with
    instead (:func:`align_online_pointers`): the lookup never runs ahead of what is served."""
    from musim import snapshots
    from musim.features.online import mend_online

    if snapshots.read_pin(settings) is not None:
        return align_online_pointers(settings)
    mended = []
    for row in sql.query(con, "models/committed_online.sql").fetchall():
        for ref, file_name in ((row[0], row[2]), (row[1], row[3])):
            name, _, view_version = ref.rpartition(":")
            if mend_online(name, int(view_version), file_name, settings=settings):
                mended.append(ref)
    if mended:
        log.warning("online vectors of %s pointed again at their committed publication (a publish was cut short "
                    "after it committed)", ", ".join(mended))
    return mended


def align_online_pointers(settings: Any = None) -> list[str]:
    """Point the online lookup of each model version that the current snapshot serves at the vectors that snapshot
    was published with (its ``served_online`` table), and each embedding view's ``latest`` at the newest such
    version: after a rollback or its release (the snapshot served changed without a publish) and under a pin. Return
    the views moved (``name:version``). A snapshot published before it recorded them, or vectors removed since, leave
    those pointers where they are, with a warning."""
    from musim import serving
    from musim.features.online import point_online

    try:
        con = serving.open_snapshot(settings)
    except NotFoundError:  # nothing published: nothing to follow
        return []
    try:
        name = serving.current_path(settings).name
        present = {r[0] for r in sql.query(con, "models/present_tables.sql").fetchall()}
        rows = sql.query(con, "serving/served_online.sql").fetchall() if "served_online" in present else None
    finally:
        con.close()
    if rows is None:
        log.warning("the served snapshot %s was published before snapshots recorded their online vectors: the "
                    "online lookup of its model versions stays where it is (`musim publish` records them)", name)
        return []
    views = [ref for row in rows for ref in zip(row[:2], row[2:], strict=True)]  # (name:version, file)
    newest: dict[str, int] = {}
    for ref, _ in views:
        view, _, version = ref.rpartition(":")
        newest[view] = max(newest.get(view, 0), int(version))
    moved, gone = [], []
    for ref, file_name in views:
        view, _, version = ref.rpartition(":")
        done = point_online(view, int(version), file_name, latest=newest[view], settings=settings)
        if done is None:
            gone.append(f"{ref} ({file_name})")
        elif done:
            moved.append(ref)
    if gone:
        log.warning("the online vectors that the served snapshot %s was published with are gone for %s: their "
                    "lookup stays where it is (publish the version again once released: `musim models publish "
                    "VERSION`)", name, ", ".join(gone))
    return moved


def _track_index(store: ObjectStore | None, family: str, version: str, ids: list[str], e: np.ndarray,
                 params: AnnParams | None) -> tuple[AnnIndex, dict[str, Any] | None]:
    """The index of these tracks' embeddings: the one this version stored before when it is the same
    (republishing the same vectors), else a new one (stored by the caller); with the stored entry."""
    params = params or AnnParams.configured()
    if store is not None:
        try:
            previous = read_manifest(store, family, version).get("ann")
        except (NotFoundError, DamagedObject):  # never published, or its manifest damaged: publishing heals it
            previous = None
        reused = stored_index(store, previous, index_key(family, version, params, ids, e), ids)
        if reused is not None:
            log.info("%s: reusing the stored ANN index %s", version, previous["key"])
            reused.tune(params, e)  # the search depth is not part of the key
            return reused, dict(previous, params=asdict(reused.params))
    return AnnIndex.build(e, params=params), None
