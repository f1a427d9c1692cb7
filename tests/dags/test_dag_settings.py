"""A bad setting is no import error: the DAG stays in the UI, and its first task fails with the setting's one line."""

from __future__ import annotations

import pytest

from tests.dags.dag_child import REPO, child_env, run_child
from tests.dags.test_dag_integrity import parse

BAD_QUEUE = "default gpu"  # two queues where one is meant

CHILD = r"""
import json, sys
from airflow.sdk.exceptions import AirflowFailException
sys.path.insert(0, "dags")
import train_embeddings, train_siamese

out = {}
for module in (train_embeddings, train_siamese):
    dag = getattr(module, module.__name__)()
    try:
        dag.get_task("prepare").python_callable(dag.dag_id + "/r1", params={k: dag.params[k] for k in dag.params},
                                                dag=dag)
        out[dag.dag_id] = "ran"
    except AirflowFailException as exc:
        out[dag.dag_id] = str(exc)
print(json.dumps(out))
"""


@pytest.mark.parametrize("dag_id", ["train_siamese", "train_embeddings"])
def test_a_bad_train_queue_is_no_import_error(dag_id, tmp_path):
    """MUSIM_TRAIN_QUEUE was read when the file was parsed and its ConfigError was the file's import error: the DAG
    vanished from the UI. It parses, with train and evaluate on `default` (prepare refuses the run, below)."""
    result = parse(REPO / "dags" / f"{dag_id}.py", tmp_path, MUSIM_TRAIN_QUEUE=BAD_QUEUE)
    assert result["errors"] == {}
    tasks = result["dags"][dag_id]["tasks"]
    assert tasks["train"]["queue"] == tasks["evaluate"]["queue"] == "default"


def test_a_bad_train_queue_fails_the_first_task_in_one_line(tmp_path):
    home = tmp_path / "home"
    out = run_child(CHILD, env=child_env(tmp_path, MUSIM_HOME=str(home), MUSIM_TRAIN_QUEUE=BAD_QUEUE))
    for dag_id in ("train_embeddings", "train_siamese"):
        assert out[dag_id].startswith("MUSIM_TRAIN_QUEUE must be one Celery queue name"), out[dag_id]
        assert out[dag_id].endswith("then trigger the run again; nothing was done") and "\n" not in out[dag_id]
    assert not home.exists() or not any(p.is_file() for p in home.rglob("*"))  # no warehouse, no object written
