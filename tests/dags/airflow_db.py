"""Reading what a `dag.test()` run left in the test's Airflow metadata database (task states, tries, asset events)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def airflow_db(env: dict[str, str], query: str) -> list[tuple]:
    """The rows of ``query`` over the SQLite metadata database of the Airflow home in ``env``."""
    db = sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db")
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()
