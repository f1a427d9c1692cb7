"""Reading a view's values: its source as a temp table ``fs_source(entity_key, created_at, payload)``.

The payload is the object key of a tensor view, or the stored vector (``DOUBLE[]``) of a scalars or vector
view. Offline retrieval, online snapshots, materialisation and the local cache all start here.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

import duckdb

from musim import sql
from musim.errors import ParameterError
from musim.features.registry import FeatureView


def load_source(con: duckdb.DuckDBPyConnection, view: FeatureView) -> None:
    """Create (or replace) the temp table ``fs_source`` with every value of ``view``."""
    ex = view.source.extractor
    if ex is not None and ex.is_tensor:
        sql.run(con, "features/source_tensor.sql", kind=ex.kind, params_hash=ex.params_hash)
    elif ex is not None:
        sql.run(con, "features/source_descriptors.sql", params_hash=ex.params_hash)
    elif view.source.type in ("derived", "push"):
        sql.run(con, "features/source_values.sql", view_name=view.name, view_version=view.version)
    else:  # pragma: no cover - Source validates its type
        raise ParameterError(f"view {view.ref}: unknown source {view.source!r}")


def load_latest(con: duckdb.DuckDBPyConnection, view: FeatureView, as_of: dt.datetime | None = None) -> None:
    """Create ``fs_latest(entity_key, payload, created_at)``: each entity's latest value at ``as_of`` (default now).

    A descriptor view's are the rows ``descriptor_rows_read`` (migration 031) takes: the rows the features quality
    gate checks. A naive ``as_of`` is UTC (DuckDB would read it in the session's time zone)."""
    as_of = utc(as_of, what="as_of") or dt.datetime.now(dt.UTC)
    ex = view.source.extractor
    if ex is not None and not ex.is_tensor:
        sql.run(con, "features/latest_descriptors.sql", params_hash=ex.params_hash, as_of=as_of)
        return
    load_source(con, view)
    sql.run(con, "features/latest.sql", as_of=as_of)


def utc(value: dt.datetime | str | None, *, what: str = "the moment") -> dt.datetime | None:
    """A timezone-aware UTC datetime from a datetime (naive = UTC) or an ISO string; None (or pandas' NaT) is None."""
    if value is None or value is getattr(_pandas(), "NaT", None):  # pandas' missing moment (a frame's empty cell)
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ParameterError(f"{what} {value!r} is not an ISO date and time, e.g. 2026-01-31T12:00:00+00:00") from None
    if not isinstance(value, dt.datetime):
        raise ParameterError(f"{what} must be a datetime or ISO string, got {type(value).__name__}")
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _pandas() -> Any:
    """pandas if some code imported it already (a NaT can come only from there), else None: never imported here."""
    return sys.modules.get("pandas")
