"""Materialising scalar/vector features into the warehouse (``feature_value``).

- :func:`materialise` computes a derived view (``mean_by_artist`` of a track view) from its input's latest
  values and writes the values that changed, all stamped with one ``created_at``.
- :func:`write_vectors` writes values computed elsewhere (embeddings of a model version) for a ``push`` view.

Values are appended, never updated: every value keeps the moment it became available, which is what
point-in-time retrieval (:func:`musim.features.get_training_frame`) compares with. An entity whose value did
not change gets no new row, so materialising the same inputs twice writes nothing. A derived value that ends (an
artist none of whose tracks has a current value any more) gets a row with a NULL ``vec``: no value from then on.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from musim import sql, warehouse
from musim.errors import ParameterError
from musim.features.keys import entity_keys, not_in_future
from musim.features.registry import ARTIST, FeatureView, get_view, register_view
from musim.features.sources import load_latest, utc

__all__ = ["MaterialiseResult", "materialise", "write_vectors"]


@dataclass(frozen=True)
class MaterialiseResult:
    view: str
    created_at: dt.datetime
    entities: int
    rows_written: int


def _write(con: duckdb.DuckDBPyConnection, view: FeatureView, created_at: dt.datetime,
           lineage: Mapping[str, Any] | None) -> MaterialiseResult:
    bad = sql.query(con, "features/bad_dimension.sql", dim=view.dim).fetchone()[0]
    if bad:
        raise ParameterError(f"{bad} values for {view.ref} do not have its dimension {view.dim}")
    latest = sql.query(con, "features/last_created.sql", view_name=view.name,
                       view_version=view.version).fetchone()[0]
    if latest is not None and created_at <= latest:
        raise ParameterError(f"{view.ref} already has values created at {latest.isoformat()}; "
                             f"new values must be later than that, got {created_at.isoformat()}")
    sql.run(con, "features/write_values.sql", view_name=view.name, view_version=view.version,
            created_at=created_at, lineage=json.dumps(dict(lineage or {}), default=str))
    entities, written = sql.query(con, "features/materialization.sql", view_name=view.name,
                                  view_version=view.version, created_at=created_at).fetchone()
    return MaterialiseResult(view.ref, created_at, int(entities), int(written))


def _view(con: duckdb.DuckDBPyConnection, view: FeatureView | str) -> FeatureView:
    """``view`` itself, or the registered view it names (``"name"`` or ``"name:version"``)."""
    if isinstance(view, FeatureView):
        return view
    return get_view(con, view)


def _stamp(created_at: dt.datetime | str | None) -> dt.datetime:
    """When the values became available: given (naive = UTC), never later than now; default now."""
    at = utc(created_at, what="created_at")
    return not_in_future(at, "created_at") if at is not None else dt.datetime.now(dt.UTC)


#: The writes of values in one process take turns (one DuckDB file has one writing process): two threads
#: materialising a view on their own cursors failed in DuckDB ("TransactionContext Error: Conflict on update!"),
#: and a stamp taken before the other's commit was refused as not later than its values.
_WRITING = threading.RLock()


def _transaction(con: duckdb.DuckDBPyConnection, view: FeatureView, fn: Any) -> Any:
    """Register ``view``, then ``fn()`` in one transaction on ``con``, after the other writes of values of this
    process (``fn`` takes the values' moment inside)."""
    with _WRITING:
        register_view(con, view)
        with warehouse.transaction(con):
            return fn()


def materialise(con: duckdb.DuckDBPyConnection, view: FeatureView | str, *, created_at: dt.datetime | None = None,
                lineage: Mapping[str, Any] | None = None) -> MaterialiseResult:
    """Compute the derived ``view`` from its input's latest values and write what changed.

    ``view`` is a view or a registered view's name. ``created_at`` (default now) stamps the new values; it
    must be later than the view's last values and not in the future.
    """
    view = _view(con, view)
    if view.source.type != "derived":
        raise ParameterError(f"{view.ref} is not a derived view (its source is {view.source.type})")
    _stamp(created_at)  # a moment in the future is refused before anything is written
    input_view = get_view(con, view.source.inputs[0])

    def run() -> MaterialiseResult:
        at = _stamp(created_at)
        load_latest(con, input_view, as_of=at)
        sql.run(con, "features/artist_mean.sql")
        # An artist none of whose tracks has a current value any more (rejected new audio): its mean ends too.
        sql.run(con, "features/derived_gone.sql", view_name=view.name, view_version=view.version)
        lin = {"inputs": [input_view.ref], **dict(lineage or {})}
        return _write(con, view, at, lin)

    return _transaction(con, view, run)


def write_vectors(con: duckdb.DuckDBPyConnection, view: FeatureView | str, entity_ids: Sequence[Any],
                  vectors: np.ndarray, *, created_at: dt.datetime | None = None,
                  lineage: Mapping[str, Any] | None = None) -> MaterialiseResult:
    """Write vectors computed elsewhere (e.g. embeddings) for a ``push`` view; registers the view.

    Parameters
    ----------
    view : the view, or a registered view's name
    entity_ids : sequence of artist ids (int) or track ids (str) of the warehouse, length n, distinct
    vectors : np.ndarray [shape=(n, view.dim)]
    created_at : when the values became available (default now); later than the view's last values, not in
        the future
    lineage : recorded with the materialisation (the model version is always added)
    """
    view = _view(con, view)
    if view.source.type != "push":
        raise ParameterError(f"{view.ref} is not a push view; use materialise() for derived views")
    import pyarrow as pa

    try:
        vectors = np.asarray(vectors, dtype=np.float64)
    except (ValueError, TypeError):
        raise ParameterError(f"vectors must be an (n, {view.dim}) array of numbers") from None
    ids = entity_keys(entity_ids, view.entity is ARTIST, what="entity_ids")
    if None in ids:
        raise ParameterError(f"entity_ids has a missing id (None or NaN) at position {ids.index(None)}")
    if vectors.ndim != 2 or vectors.shape != (len(ids), view.dim):
        raise ParameterError(f"vectors must have shape ({len(ids)}, {view.dim}), got {vectors.shape}")
    if len(set(ids)) != len(ids):
        raise ParameterError("entity_ids must be distinct")
    if not np.all(np.isfinite(vectors)):
        raise ParameterError("vectors contain NaN or infinite values")
    # Training frames read a vector view in its field's dtype and online snapshots hold float32: a value beyond
    # either's range (e.g. 1e39) was stored and then read back as an infinity.
    narrow = np.finfo(np.float16 if view.schema[0].dtype == "float16" else np.float32).max
    big = np.flatnonzero((np.abs(vectors) > narrow).any(axis=1))
    if big.size:
        raise ParameterError(f"vectors has values beyond ±{float(narrow):.4g} (row {int(big[0])} of {len(ids)}: "
                             f"{len(big)} rows), which the view's {view.schema[0].dtype} values and float32 online "
                             "snapshots cannot hold: scale them (e.g. normalise the vectors) and push them again")
    _stamp(created_at)  # a moment in the future is refused before anything is written
    table = pa.table({"entity_key": pa.array(ids, pa.string()),
                      "vec": pa.array(list(vectors), pa.list_(pa.float64()))})

    def run() -> MaterialiseResult:
        at = _stamp(created_at)
        con.register("fs_push", table)
        try:
            sql.run(con, "features/new_from_push.sql")
        finally:
            con.unregister("fs_push")
        unknown, examples = sql.query(con, "features/unknown_entities.sql", entity=view.entity.name).fetchone()
        if unknown:
            raise ParameterError(f"{unknown} of the entity_ids are no {view.entity.name} of the warehouse "
                                 f"(e.g. {', '.join(map(repr, examples))}): push vectors of its "
                                 f"{view.entity.name}s only")
        return _write(con, view, at, {"model_version": view.model_version, **dict(lineage or {})})

    return _transaction(con, view, run)
