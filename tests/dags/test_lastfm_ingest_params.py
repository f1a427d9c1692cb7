"""The lastfm_ingest DAG's landing folder that does not exist (its `landing` param, or $MUSIM_LANDING): the run's
first task fails at once in one line, not retried, nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# The DAG's first task, called as the task runner calls it (its params, the conf merged in; the DAG); a retry is
# told by the exception's type: AirflowFailException fails the task without spending its retries.
CHILD = r"""
import json, sys
sys.path.insert(0, "dags")
import lastfm_ingest as module

dag = module.lastfm_ingest()
out = {"retries": dag.get_task("find_new_dumps").retries}
for name, conf in (("param", {"landing": sys.argv[1]}), ("a file", {"landing": sys.argv[2]}), ("default", {})):
    try:
        dag.get_task("find_new_dumps").python_callable(params={k: dag.params[k] for k in dag.params} | conf, dag=dag)
        out[name] = ["ran", ""]
    except Exception as exc:
        out[name] = [type(exc).__name__, str(exc)]
print(json.dumps(out))
"""


def test_a_landing_folder_that_does_not_exist_fails_at_once_in_one_line(tmp_path):
    """It raised NotFoundError, which the task's retries (meant for a busy warehouse) ran twice more, a minute apart,
    before the run failed."""
    home, missing, a_file = tmp_path / "home", tmp_path / "no-such-landing", tmp_path / "plays.tsv"
    a_file.write_text("x\n")
    env = dict(
        os.environ,
        AIRFLOW_HOME=str(tmp_path / "airflow"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path / 'never-used.db'}",
        PYTHONPATH=str(REPO),
        MUSIM_HOME=str(home),
        MUSIM_LANDING=str(tmp_path / "no-default-landing"),
    )
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(missing), str(a_file)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out.pop("retries") > 0  # the task is retried, for a busy warehouse
    for name, folder in (
        ("param", missing),
        ("a file", a_file),
        ("default", tmp_path / "no-default-landing"),
    ):
        kind, message = out[name]
        assert kind == "AirflowFailException", (name, kind, message)
        assert message.startswith(
            f"the landing folder {folder} is no folder: create it, or set MUSIM_LANDING"
        )
        assert message.endswith(" (not retried)") and "\n" not in message
    assert not home.exists() or not any(
        p.is_file() for p in home.rglob("*")
    )  # no warehouse, no object written
