"""Run ids as object-key segments: one rule for every staged run (features, model training)."""

from __future__ import annotations

import re

__all__ = ["run_key"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def run_key(run_id: str) -> str:
    """``run_id`` as one object-key segment: Airflow run ids hold ``:``, ``+`` and ``/``; every other character
    than letters, digits, ``.``, ``_`` and ``-`` becomes ``_`` (at most 120 characters; ``run`` if empty)."""
    return _UNSAFE.sub("_", run_id).strip("_")[:120] or "run"
