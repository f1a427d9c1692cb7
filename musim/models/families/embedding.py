"""Serving any family's embeddings: :func:`embed_tracks` (the catalogue's track embeddings of any
registered version), :func:`publish_version` (make a version's neighbours the served ones, scored as its
family scores pairs: cosine, or the siamese head),
:func:`embed_features` (new audio already featurised: what ``similar-audio`` and ``embed`` use) and
:func:`cosine_top_k` (the recommender of the embedding families)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musim.models import registry
from musim.models.families.base import load_keras, need
from musim.models.families.inputs import FamilyInputs, load_inputs
from musim.models.families.lookup import get_family, serving_manifest
from musim.models.neighbours import top_k

if TYPE_CHECKING:  # pragma: no cover
    import duckdb
    import keras

    from musim.storage import ObjectStore

__all__ = ["cosine_top_k", "embed_features", "embed_tracks", "publish_version"]


def _embed_all(con: duckdb.DuckDBPyConnection, entry: registry.ModelEntry, store: ObjectStore,
               track_ids: Sequence[str] | None = None) -> tuple[list[str], np.ndarray, keras.Model]:
    fam = get_family(entry.family)
    inputs = load_inputs(con, store=store, needs=fam.inputs, with_targets=False, track_ids=track_ids)
    model = load_keras(registry.fetch_model_file(store, entry))
    vectors = fam.embed(model, inputs, np.arange(len(inputs)), fam.version_params(entry.params))
    return list(inputs.track_ids), vectors, model


def embed_tracks(con: duckdb.DuckDBPyConnection, version: str, *, store: ObjectStore | None = None,
                 track_ids: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
    """Track embeddings ``(ids, (n, d))`` of any registered version (``<family>:champion`` works), embedded with
    the version's own parameters: the serving path shared by every family (``similar-audio``, ``embed``, neighbour
    tables)."""
    from musim.storage import open_store

    ids, vectors, _ = _embed_all(con, registry.get_model(con, version), store or open_store(), track_ids)
    return ids, vectors


def publish_version(con: duckdb.DuckDBPyConnection, version: str, *, store: ObjectStore | None = None,
                    k: int = 10, snapshot: bool = True, run_id: str | None = None,
                    embeddings: tuple[Sequence[str], np.ndarray] | None = None,
                    model_path: str | Path | None = None, defer_online: bool = False) -> dict[str, Any]:
    """Serve ``version`` (any family; ``autoencoder:champion`` works): its track embeddings (``embeddings``:
    computed already, e.g. while training; else every track with features is embedded now), its family's
    neighbour tables (scored with the family's pair similarity) and online vectors, ``embedding.json``, and a
    new serving snapshot (``snapshot``). ``model_path``: a local copy of the model, if there is one.
    ``defer_online``: the online pointers stay put until the caller's snapshot (see :func:`publish_neighbors`)."""
    from musim.models.serve import publish_neighbors
    from musim.storage import open_store

    store = store or open_store()
    entry = registry.get_model(con, version)
    fam = get_family(entry.family)
    model = None
    if embeddings is None:
        ids, vectors, model = _embed_all(con, entry, store)
    else:
        ids, vectors = list(embeddings[0]), np.asarray(embeddings[1], dtype=np.float32)
    pair = None
    if fam.pair_similarity is not None:
        if model is None:
            model = load_keras(model_path or registry.fetch_model_file(store, entry))
        pair = fam.pair_similarity(model)
    result = publish_neighbors(con, fam.name, entry.version, [str(t) for t in ids], np.asarray(vectors, np.float32),
                               pair_similarity=pair, k=k, store=store, run_id=run_id, snapshot=snapshot,
                               manifest={**serving_manifest(fam.name), **_how_audio_was_cut(con)},
                               defer_online=defer_online)
    return {"version": entry.version, **result.to_json()}


def _how_audio_was_cut(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The manifest fields that say how the version's features cut their audio, so that new audio is cut alike: the
    shortest audio the feature builds took (``min_duration_s``) and the analysis window of whole tracks
    (``excerpt_s``, ``excerpt_anchor``; null for a catalogue of previews)."""
    from musim.features.builds import built_min_duration, built_window

    window = built_window(con)
    return {"min_duration_s": built_min_duration(con), "excerpt_s": None if window is None else window[0],
            "excerpt_anchor": None if window is None else window[1]}


def embed_features(family: str, model: keras.Model, *, mel: np.ndarray | None = None,
                   slices: np.ndarray | None = None, slice_track: np.ndarray | None = None,
                   descriptors: np.ndarray | None = None, n: int | None = None,
                   params: Mapping[str, Any] | None = None) -> np.ndarray:
    """Embeddings of new audio already featurised (one row per file/track): ``mel`` ``(n, 256, 64)``
    (siamese, autoencoder), ``slices`` ``(m, frames, n_mels)`` with ``slice_track`` ``(m,)`` in 0..n-1
    (cnn_classifier; track = mean of its slices; ``n`` default ``max(slice_track) + 1``), or
    ``descriptors`` ``(n, D)``. ``params``: the version's recorded parameters (its registry entry's ``params``),
    which say how it embeds (the contrastive family's ``embed_crops``); None: the family's defaults. What
    ``similar-audio`` and ``embed`` use (:mod:`musim.models.new_audio`)."""
    fam = get_family(family)
    if n is None:
        n = next(int(a.shape[0]) for a in (mel, descriptors) if a is not None) if (
            mel is not None or descriptors is not None) else int(np.max(need(slice_track, "slice_track")) + 1)
    inputs = FamilyInputs([str(i) for i in range(n)], np.zeros(n, np.int64), [""] * n, [None] * n, {}, [None] * n,
                          [None] * n, descriptors, mel=mel, slices=slices,
                          slice_track=None if slice_track is None else np.asarray(slice_track, np.int64))
    return fam.embed(model, inputs, np.arange(n), fam.version_params(params))


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
    return top_k(sims, min(k, v.shape[0] - (1 if exclude_self else 0)))


