"""``similar-audio`` through the ANN index: the few best tracks from the version's stored index, artists by
exact cosine of their mean embeddings (one matrix-vector product over the artist view).

Used by :func:`musim.models.new_audio.similar_audio` for the cosine families when :func:`track_index` finds an
index to search (see :mod:`musim.models.ann` for when); the scores are those of the exact path (cosine of
the query's mean embedding with each track's and each artist's mean embedding), only the track candidates
come from the index.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import duckdb
import numpy as np

from musim import sql, warehouse
from musim.config import get_settings
from musim.errors import ParameterError
from musim.models.ann import AnnIndex, cached_index, load_index, search_mode, unit_rows
from musim.storage import ObjectStore

__all__ = ["search_through_index", "track_index"]

log = logging.getLogger(__name__)

#: Candidates fetched per result wanted (tracks or artists missing from the snapshot are dropped by the join).
_SLACK = 2


def _forced(search: str | None) -> bool:
    return (search or get_settings().models.audio_search).strip().lower() == "ann"


def track_index(store: ObjectStore, manifest: Mapping[str, Any], *,
                search: str | None = None) -> tuple[AnnIndex, list[str]] | None:
    """The index of a published version's track embeddings to search, or None to search exactly: the
    version's stored index when the catalogue is large enough (or ``search="ann"``); a forced search
    without a stored index builds one from the online store (kept for this process)."""
    pair_mean = manifest.get("scoring") == "pair_mean"
    if search_mode(int(manifest.get("tracks") or 0), search) == "exact":
        return None
    if pair_mean:
        if search is not None and _forced(search):  # asked for this query; the deployment's setting is no order
            raise ParameterError(f"{manifest.get('version')} scores with its pair head (siamese): an ANN index "
                                 "of embeddings cannot serve it; search exactly (--search exact)")
        return None  # MUSIM_AUDIO_SEARCH=ann serves the other families; the siamese family is always exact
    found = load_index(store, manifest.get("ann"))
    if found is not None or manifest.get("ann"):
        return found  # None: load_index said why, and exact search follows
    if not _forced(search):
        log.warning("%s has no stored ANN index (published exactly): searching exactly; republish it to build one",
                    manifest.get("version"))
        return None
    from musim.features.online import online_store

    name, _, view_version = str(manifest["track_view"]).partition(":")
    tracks = online_store(name, int(view_version))
    return cached_index(f"online:{manifest['track_view']}:{tracks.created_at}", np.asarray(tracks.matrix),
                        np.asarray(tracks.ids).astype(str).tolist())


def search_through_index(con: duckdb.DuckDBPyConnection, query: np.ndarray, k: int,
                         found: tuple[AnnIndex, list[str]], manifest: Mapping[str, Any]
                         ) -> tuple[list[tuple], list[tuple]]:
    """The ``k`` best tracks (``(track_id, score, artist_id, artist, title, listeners)``) and artists
    (``(artist_id, score, artist, listeners)``) for a query embedding ``(1, d)``, best first (ties: id),
    from a serving snapshot ``con``."""
    import pandas as pd

    from musim.features.online import online_store

    index, ids = found
    q = unit_rows(np.asarray(query, dtype=np.float32).reshape(1, -1))
    pos, _ = index.search(q, _SLACK * k)
    pos = pos[0][pos[0] >= 0]
    # rescored exactly on the stored (normalised) vectors: the scores of the exact path
    scores = (index.index.get_vectors(pos.tolist()) @ q[0]).astype(np.float64) if pos.size else np.zeros(0)
    con.complete()
    with warehouse.registered(con, "q_tracks", pd.DataFrame({"track_id": [ids[p] for p in pos.tolist()],
                                                              "score": scores})):
        rows = con.execute(sql.load("models/similar_audio_tracks.sql")).fetchall()
    tracks = sorted(rows, key=lambda r: (-float(r[1]), str(r[0])))[:k]

    name, _, view_version = str(manifest["artist_view"]).partition(":")
    artists = online_store(name, int(view_version))
    a_scores = (unit_rows(np.asarray(artists.matrix)) @ q[0]).astype(np.float64)
    a_ids = np.asarray(artists.ids).astype(np.int64)
    top = np.lexsort((a_ids, -a_scores))[:_SLACK * k]
    with warehouse.registered(con, "q_artists", pd.DataFrame({"artist_id": a_ids[top], "score": a_scores[top]})):
        a_rows = con.execute(sql.load("models/similar_audio_artists.sql")).fetchall()
    return tracks, sorted(a_rows, key=lambda r: (-float(r[1]), int(r[0])))[:k]
