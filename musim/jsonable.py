"""Values as strict JSON holds them: one helper for every JSON musim writes (model cards and metrics, ``--json``),
and :func:`plain` for rows read from DuckDB (times, blobs, UUIDs) that a JSON answer carries."""

from __future__ import annotations

import datetime as dt
import math
import sys
from typing import Any

__all__ = ["exact_floats", "json_key", "json_safe", "plain", "unique_names"]


def json_key(key: Any) -> Any:
    """A dict key as JSON can hold it (``json.dumps`` refuses a NaN or infinite float key under ``allow_nan=False``,
    and any key besides text, numbers, booleans and None: a DuckDB MAP's DATE, DECIMAL, UUID or BLOB keys): a numpy
    scalar as its Python number, a NaN or infinite float as ``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` (a key
    cannot be null: distinct keys must stay distinct), anything else as its ``str``, as ``default=str`` writes such a
    value. Text, finite numbers, booleans and None are left for ``json.dumps`` (``1.5`` → ``"1.5"``, ``True`` →
    ``"true"``)."""
    np = sys.modules.get("numpy")
    if np is not None and isinstance(key, np.generic):
        key = key.item()
    if isinstance(key, float) and not math.isfinite(key):
        return NON_FINITE[repr(key)]
    return key if key is None or isinstance(key, str | int | float | bool) else str(key)


def json_safe(obj: Any) -> Any:
    """``obj`` with NaN and infinite floats as None (strict JSON has neither: ``jq`` and most parsers refuse
    them), tuples as lists, numpy scalars as Python numbers and dict keys as :func:`json_key` makes them."""
    if isinstance(obj, dict):
        return {json_key(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    np = sys.modules.get("numpy")  # a numpy scalar exists only once numpy is imported: no import for it here
    if np is not None and isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def plain(obj: Any) -> Any:
    """``obj`` as :func:`json_safe` makes it, with what a DuckDB row holds besides numbers and text written as
    JSON can: dates and times in ISO 8601, a blob as ``"<N bytes>"``, anything else (a UUID, a decimal) as its
    ``str``; dict keys become strings."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if isinstance(obj, dt.datetime | dt.date | dt.time):
        return obj.isoformat()
    if isinstance(obj, bytes | bytearray | memoryview):
        return f"<{len(bytes(obj))} bytes>"
    obj = json_safe(obj)
    return obj if obj is None or isinstance(obj, bool | int | float | str) else str(obj)


#: How :func:`exact_floats` writes the floats strict JSON has no number for (JavaScript's spelling).
NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def exact_floats(obj: Any) -> Any:
    """``obj`` with each NaN or infinite float (in lists, tuples and dict values too) as the string ``"NaN"``,
    ``"Infinity"`` or ``"-Infinity"``: where a value must not read as SQL NULL (``musim sql --json``), not
    :func:`json_safe`'s ``null``; dict keys as :func:`json_key` makes them."""
    if isinstance(obj, dict):
        return {json_key(k): exact_floats(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [exact_floats(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return NON_FINITE[repr(obj)]
    return obj


def unique_names(names: list[str]) -> list[str]:
    """``names`` with each repeat made unique by a suffix (``a, a`` → ``a, a_1``), skipping a suffixed name that is
    another column's own: JSON object keys for a query's columns, none lost."""
    taken = set(names)
    used: set[str] = set()
    out = []
    for name in names:
        new, n = name, 0
        while new in used or (n and new in taken):
            n += 1
            new = f"{name}_{n}"
        used.add(new)
        out.append(new)
    return out
