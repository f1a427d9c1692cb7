"""How many worker processes audio work may use.

The audio path has one process pool, :func:`musim.features.pool.audio_pool`: the feature build's
(:func:`musim.features.pool.compute`, which decodes each preview once and runs every extractor on it), and
:func:`musim.features.pool.pool_map` for files outside the store (``musim embed``, ``similar-audio``,
``models evaluate --labels``). This module only sizes it.
"""

from __future__ import annotations

import os

__all__ = ["default_workers"]


def default_workers() -> int:
    """Number of CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)
