"""Offline retrieval: training frames by point-in-time join.

:func:`get_training_frame` gives, for each entity row, the value of every view of a feature service as it
was at the row's ``as_of``: the latest value created at or before that moment (DuckDB ``ASOF JOIN`` on
``created_at``), never a later one, NULL (NaN / None) when there was none yet. Together with the service's
pinned views and versions (and its pinned ``as_of``) this rebuilds a model's training set exactly.

Columns: the entity frame's own columns, ``as_of``, then per view ``<view>__<feature>``:

- scalars views: one float column per feature;
- vector views: one column of ``np.ndarray`` (or None);
- tensor views: one column of object keys (load with :func:`musim.features.load_tensor` or materialise a
  local array with :func:`musim.features.cache_log_mels`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np

from musim import sql, warehouse
from musim.errors import NotFoundError, ParameterError
from musim.features.keys import entity_keys, not_in_future
from musim.features.registry import (
    ARTIST,
    FeatureService,
    FeatureView,
    RegistryError,
    get_service,
    view_names,
)
from musim.features.sources import load_source, utc

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["get_training_frame"]


def _entity_frame(service: FeatureService, entities: Any) -> pd.DataFrame:
    import pandas as pd

    if isinstance(entities, pd.DataFrame):
        doubled = sorted({str(c) for c in entities.columns[entities.columns.duplicated()]})
        if doubled:
            raise ParameterError(f"the entity frame has the column(s) {', '.join(doubled)} twice: keep one")
        return entities.reset_index(drop=True).copy()
    keys = {v.entity.key for v in service.views}
    if len(keys) != 1:
        raise ParameterError(f"service {service.name} has views of several entities ({sorted(keys)}): "
                             "pass a DataFrame with one column per entity key")
    key = keys.pop()
    one_id = isinstance(entities, (str, bytes, Mapping)) or not isinstance(entities, Iterable)
    values = entities if one_id else list(entities)
    entity_keys(values, what="entities")  # a bare string, a mapping or a number is refused here
    return pd.DataFrame({key: values})


def _refuse_feature_columns(service: FeatureService, frame: pd.DataFrame) -> None:
    """Refuse an entity frame that holds a column the service's views write (a training frame given back, e.g. to
    read it at another moment): a scalars view's column came out twice, the old values first, and a vector or tensor
    view's was silently replaced."""
    written = {f"{view.name}__{f.name}" for view in service.views for f in view.schema}
    clash = [str(c) for c in frame.columns if c in written]
    if clash:
        more = f" and {len(clash) - 3} more" if len(clash) > 3 else ""
        raise ParameterError(f"the entity frame already has the feature column(s) {', '.join(clash[:3])}{more} of "
                             f"service {service.name}: pass only the entity columns and as_of (e.g. "
                             f"frame[{sorted({v.entity.key for v in service.views})}])")


def _require_registered(con: duckdb.DuckDBPyConnection, view: FeatureView) -> None:
    """Refuse a view whose name:version the registry holds with another definition (its stored values are of
    that one: another dimension, another model), or a pushed / derived view never registered (no value of it
    was ever written: every row would be NaN, not "no value yet")."""
    row = sql.query(con, "features/view_hash.sql", view_name=view.name, view_version=view.version).fetchone()
    if row is not None:
        if row[0] != view.definition_hash():
            raise RegistryError(f"feature view {view.ref} is registered with another definition than the one given; "
                                f"read the registered one (get_view(con, {view.name!r}, {view.version})) or give the "
                                f"changed definition a new version (e.g. {view.name}:{view.version + 1})")
        return
    if view.source.type in ("push", "derived"):
        raise NotFoundError(f"no feature view {view.ref!r}: nothing was ever written to it; registered: "
                            f"{', '.join(view_names(con)) or 'none'} (`musim features list` shows their versions)")


def _as_of_column(column: pd.Series, default: dt.datetime) -> pd.Series:
    """The frame's ``as_of`` column as UTC timestamps (naive = UTC; missing = ``default``)."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        raise ParameterError(f"the as_of column holds numbers ({column.dtype}): give datetimes or ISO strings")
    try:
        stamps = pd.to_datetime(column, utc=True, format="ISO8601")
    except (ValueError, TypeError, OverflowError) as exc:
        bad = next((v for v in column if _unparsable(v)), None)
        what = f"{bad!r}" if bad is not None else str(exc).splitlines()[0]
        raise ParameterError(f"the as_of column has {what}, which is not a moment: give datetimes or ISO "
                             "strings such as 2026-01-31T12:00:00+00:00") from None
    # to the microsecond, down, as the warehouse keeps moments (a nanosecond stamp read the same, with pandas'
    # "Discarding nonzero nanoseconds" warning on the user's screen)
    stamps = stamps.fillna(pd.Timestamp(default)).dt.floor("us")
    if len(stamps):
        not_in_future(stamps.max().to_pydatetime(), "the as_of column's latest moment")
    return stamps


def _unparsable(value: Any) -> bool:
    import pandas as pd

    try:
        pd.to_datetime(pd.Series([value]), utc=True, format="ISO8601")
    except (ValueError, TypeError, OverflowError):
        return True
    return False


def get_training_frame(service: FeatureService | str, entities: pd.DataFrame | Sequence[Any],
                       as_of: dt.datetime | str | None = None, *,
                       con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """Point-in-time correct features of ``entities`` for every view of ``service``.

    Parameters
    ----------
    service : FeatureService or the name of a registered one
    entities : DataFrame with the entity key columns the views need (``track_id``, ``artist_id``) and
        optionally an ``as_of`` column (one moment per row), or a sequence of ids of the service's entity.
    as_of : datetime or ISO string
        The moment for rows without their own; default: the service's pinned ``as_of``, else now.
        Naive datetimes are UTC.
    con : warehouse connection (default: the warehouse opened read-only for this call)

    Returns
    -------
    pandas.DataFrame
        One row per entity row, in order (see the module docstring for the columns).
    """
    import pandas as pd

    if con is None:
        own = warehouse.connect(read_only=True)
        try:
            return get_training_frame(service, entities, as_of, con=own)
        finally:
            own.close()
    if isinstance(service, str):
        service = get_service(con, service)
    if not isinstance(service, FeatureService):
        raise ParameterError(f"service must be a FeatureService or a registered service's name, "
                             f"got {type(service).__name__}")
    frame = _entity_frame(service, entities)
    _refuse_feature_columns(service, frame)
    given = utc(as_of, what="as_of")
    default_as_of = not_in_future(given, "as_of") if given else service.as_of or dt.datetime.now(dt.UTC)
    if "as_of" in frame.columns:
        stamps = _as_of_column(frame["as_of"], default_as_of)
    else:
        stamps = pd.Series(pd.Timestamp(default_as_of), index=frame.index)
    frame["as_of"] = stamps.dt.tz_convert("UTC")
    n = len(frame)
    for view in service.views:
        key = view.entity.key
        if key not in frame.columns:
            raise ParameterError(f"view {view.ref} needs an entity column {key!r}; the frame has {list(frame.columns)}")
        ids = entity_keys(frame[key], view.entity is ARTIST, what=f"the column {key}")
        ents = pd.DataFrame({"row_id": np.arange(n, dtype=np.int64), "entity_key": pd.Series(ids, dtype=object),
                             "as_of": frame["as_of"]})
        _require_registered(con, view)
        load_source(con, view)
        with warehouse.registered(con, "fs_entities", ents):
            sql.run(con, "features/pit.sql")
        payload = [r[0] for r in sql.query(con, "features/pit_payloads.sql").fetchall()]
        prefix = f"{view.name}__"
        if view.kind == "tensor":
            frame[prefix + view.schema[0].name] = pd.Series(payload, dtype=object)
        elif view.kind == "vector":
            frame[prefix + view.schema[0].name] = pd.Series(
                [None if p is None else np.asarray(p, dtype=view.schema[0].dtype) for p in payload], dtype=object)
        else:
            mat = np.full((n, view.dim), np.nan, dtype=np.float64)
            for i, p in enumerate(payload):
                if p is not None:
                    if len(p) != view.dim:
                        raise ParameterError(f"{view.ref}: stored vector of length {len(p)}, schema has {view.dim}")
                    mat[i] = p
            cols = pd.DataFrame(mat, columns=[prefix + f.name for f in view.schema], index=frame.index)
            frame = pd.concat([frame, cols], axis=1)
    return frame
