"""Values as strict JSON holds them: one helper for every JSON musim writes (model cards and metrics, ``--json``),
and :func:`plain` for rows read from DuckDB (times, blobs, UUIDs) that a JSON answer carries."""

from __future__ import annotations

import datetime as dt
import math
import sys
from typing import Any

__all__ = ["json_safe", "plain"]


def json_safe(obj: Any) -> Any:
    """``obj`` with NaN and infinite floats as None (strict JSON has neither: ``jq`` and most parsers refuse
    them), tuples as lists and numpy scalars as Python numbers."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
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
