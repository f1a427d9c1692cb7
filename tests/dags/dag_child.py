"""Running a DAG test's script in a fresh Python, as the task runner would: an Airflow home of its own under the
test's ``tmp_path`` (no examples, a metadata database that is never created), the repository on ``PYTHONPATH``,
and the script's answer as the JSON of its last line of output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def child_env(tmp_path: Path, **more: str) -> dict[str, str]:
    """This process's environment with an Airflow home under ``tmp_path``, the repository on ``PYTHONPATH`` and
    ``more`` (``MUSIM_HOME=...``)."""
    return dict(os.environ, AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
                AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path / 'never-used.db'}", PYTHONPATH=str(REPO),
                **more)


def run_child(script: str, *args: object, env: dict[str, str]) -> Any:
    """Run ``python -c script args...`` in the repository with ``env``; it must exit 0 (else its stderr's end is the
    failure). Returns the JSON its last line of output prints."""
    proc = subprocess.run([sys.executable, "-c", script, *map(str, args)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
