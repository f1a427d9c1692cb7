"""Serving any family's embeddings: :func:`embed_tracks` (the catalogue's track embeddings of any
registered version), :func:`publish_version` (make a version's neighbours the served ones),
:func:`embed_features` (new audio already featurised: what ``similar-audio`` and ``embed`` use) and
:func:`cosine_top_k` (the recommender of the embedding families)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from musim.errors import ParameterError
from musim.models import registry
from musim.models.constants import SIAMESE
from musim.models.families.base import load_keras, need
from musim.models.families.inputs import FamilyInputs, load_inputs
from musim.models.families.lookup import get_family
from musim.models.families.record import publish_embeddings

if TYPE_CHECKING:  # pragma: no cover
    import duckdb
    import keras

    from musim.storage import ObjectStore

__all__ = ["cosine_top_k", "embed_features", "embed_tracks", "publish_version"]

def embed_tracks(con: duckdb.DuckDBPyConnection, version: str, *, store: ObjectStore | None = None,
                 track_ids: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
    """Track embeddings ``(ids, (n, d))`` of any registered version (``<family>:champion`` works): the
    serving path shared by every family (``similar-audio``, ``embed``, neighbour tables)."""
    from musim.storage import open_store

    store = store or open_store()
    entry = registry.get_model(con, version)
    fam = get_family(entry.family)
    inputs = load_inputs(con, store=store, needs=fam.inputs, with_targets=False, track_ids=track_ids)
    model = load_keras(registry.fetch_model_file(store, entry))
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
                   descriptors: np.ndarray | None = None, n: int | None = None) -> np.ndarray:
    """Embeddings of new audio already featurised (one row per file/track): ``mel`` ``(n, 256, 64)``
    (siamese, autoencoder), ``slices`` ``(m, frames, n_mels)`` with ``slice_track`` ``(m,)`` in 0..n-1
    (cnn_classifier; track = mean of its slices; ``n`` default ``max(slice_track) + 1``), or
    ``descriptors`` ``(n, D)``. What ``similar-audio`` and ``embed`` use (:mod:`musim.models.serve`)."""
    fam = get_family(family)
    if n is None:
        n = next(int(a.shape[0]) for a in (mel, descriptors) if a is not None) if (
            mel is not None or descriptors is not None) else int(np.max(need(slice_track, "slice_track")) + 1)
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


