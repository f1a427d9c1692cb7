"""Run ids as object-key segments: one rule for every staged run (features, model training)."""

from __future__ import annotations

import hashlib
import re

__all__ = ["run_key"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX = 120


def run_key(run_id: str) -> str:
    """``run_id`` as one object-key segment, a different one for every run id: letters, digits, ``.``, ``_`` and ``-``
    are kept, every run of other characters becomes ``_`` (Airflow run ids hold ``:``, ``+`` and ``/``), at most 120
    characters. When that changed it (or left only dots, ``..``), ``-`` and 10 hex digits of the run id's SHA-256
    follow: ``a:b`` and ``a_b``, or two run ids alike in their first 120 characters, had one key, and a run found the
    model the other staged there and took it as its own, trained on other params, instead of training."""
    safe = _UNSAFE.sub("_", run_id).strip("_")[:_MAX]
    if safe == run_id and safe.strip("."):
        return safe
    digest = hashlib.sha256(run_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{safe[:_MAX - 11].strip('.') or 'run'}-{digest}"
