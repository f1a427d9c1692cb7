"""Shared fixtures: every test gets its own MUSIM_HOME, so nothing touches ./.musim or another test's data."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(autouse=True)
def musim_home(tmp_path_factory, monkeypatch):
    """A fresh MUSIM_HOME per test; all other paths default beneath it."""
    home = tmp_path_factory.mktemp("musim_home")
    monkeypatch.setenv("MUSIM_HOME", str(home))
    for var in ("MUSIM_WAREHOUSE", "MUSIM_SERVING_DIR", "MUSIM_OBJECT_STORE", "MUSIM_LANDING", "MUSIM_TMP"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MUSIM_DUCKDB_MEMORY", "2GB")
    monkeypatch.setenv("MUSIM_DUCKDB_THREADS", "2")
    return home
