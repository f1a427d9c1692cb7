"""Shared fixtures: every test gets its own MUSIM_HOME, so nothing touches ./.musim or another test's data."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Under the per-test MUSIM_HOME (``musim_home``), a home of the process: a test that undoes every monkeypatch
# (``monkeypatch.undo()``) falls back to this one, never to ./.musim (the developer's demo home) or the user's.
os.environ["MUSIM_HOME"] = tempfile.mkdtemp(prefix="musim-tests-")
atexit.register(shutil.rmtree, os.environ["MUSIM_HOME"], ignore_errors=True)


@pytest.fixture(autouse=True)
def musim_home(tmp_path_factory, monkeypatch):
    """A fresh MUSIM_HOME per test; all other paths default beneath it."""
    home = tmp_path_factory.mktemp("musim_home")
    monkeypatch.setenv("MUSIM_HOME", str(home))
    for var in ("MUSIM_WAREHOUSE", "MUSIM_SERVING_DIR", "MUSIM_OBJECT_STORE", "MUSIM_LANDING", "MUSIM_TMP"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MUSIM_DUCKDB_MEMORY", "2GB")
    monkeypatch.setenv("MUSIM_DUCKDB_THREADS", "2")
    monkeypatch.setenv("MUSIM_LANDING_SETTLE_S", "0")  # tests write a dump whole before they scan for it
    return home


@pytest.fixture(scope="session")
def airflow_db_template(tmp_path_factory) -> Path:
    """An embedded Airflow metadata DB (SQLite), migrated and with musim's pools, made once per session."""
    from musim import embedded

    home = tmp_path_factory.mktemp("airflow_template")
    embedded.prepare_airflow(embedded.airflow_env(home), home / "airflow.log")
    return home / "airflow" / "airflow.db"


@pytest.fixture
def airflow(airflow_db_template, tmp_path_factory, musim_home) -> tuple[dict[str, str], Path]:
    """``(env, log)`` for ``musim.embedded.run_dag``: this test's own copy of the migrated metadata DB, this repo's
    DAGs and plugin, and the test's MUSIM_HOME."""
    from musim import embedded

    home = tmp_path_factory.mktemp("airflow_home")
    env = dict(embedded.airflow_env(home), MUSIM_HOME=str(musim_home))
    shutil.copy(airflow_db_template, home / "airflow" / "airflow.db")
    return env, home / "airflow.log"
