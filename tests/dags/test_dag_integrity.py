"""Every DAG file: imports with no errors, parsing opens no connection, house conventions hold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((REPO / "dags").glob("*.py"))
WRITERS = {"ingest", "build", "publish", "plan", "record"}
#: DAGs whose data must pass a quality gate before their asset is announced.
GATED = {"lastfm_ingest", "artist_similarity", "audio_acquire", "audio_features", "library_scan"}


def parse(path: Path, tmp_path: Path) -> dict:
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path / 'never-used.db'}",
               PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("guarded_parse.py")), str(path)],
                          env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("path", DAG_FILES, ids=[p.stem for p in DAG_FILES])
def test_dag_file_parses_cleanly_and_follows_conventions(path, tmp_path):
    result = parse(path, tmp_path)
    assert result["errors"] == {}
    assert list(result["dags"]) == [path.stem], "one DAG per file, dag_id = file name"
    dag = result["dags"][path.stem]
    assert dag["catchup"] is False and dag["doc_md"] and "musim" in dag["tags"]
    assert dag["tz"] in ("UTC", "Timezone('UTC')") and dag["start_date"].endswith("+00:00")
    assert all(desc for desc in dag["params"].values()), "every Param has a description for the trigger form"
    for task_id, task in dag["tasks"].items():
        if task_id in WRITERS:
            assert task["pool"] == "duckdb_writer", f"{task_id} writes the warehouse: pool duckdb_writer"
    if path.stem in GATED:
        emitters = [t for t in dag["tasks"].values() if t["outlets"]]
        assert emitters and all("check_quality" in t["upstream"] for t in emitters), \
            "the asset is announced only after the check_quality gate passed"
    assert not (tmp_path / "never-used.db").exists() or (tmp_path / "never-used.db").stat().st_size == 0
