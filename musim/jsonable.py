"""Values as strict JSON holds them: one helper for every JSON musim writes (model cards and metrics, ``--json``)."""

from __future__ import annotations

import math
import sys
from typing import Any

__all__ = ["json_safe"]


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
