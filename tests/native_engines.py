"""Tests of the optional C extensions (:mod:`musim.native`): running as on a machine where one was not built."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from musim.native import NativeEngine


def not_built(monkeypatch: pytest.MonkeyPatch, engine: NativeEngine) -> Iterator[None]:
    """As on a machine where ``engine``'s extension was not built: importing it fails, and ``engine`` forgets what it
    found before and after (a fixture's body: ``yield from not_built(monkeypatch, engine)``)."""
    monkeypatch.setitem(sys.modules, engine.module, None)
    engine.reset()
    yield
    engine.reset()
