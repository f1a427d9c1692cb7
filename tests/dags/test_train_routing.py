"""The training DAGs' CPU fallback: both paths (train/evaluate on MUSIM_TRAIN_QUEUE, train_cpu/evaluate_cpu on the
CPU queue) joined before promote, and their `route` task asking real Celery workers (on this machine's Redis) which
queues they consume; under the LocalExecutor it asks nothing and needs no broker.

The whole DAG on a real CeleryExecutor, both ways: tests/deploy/test_celery.py."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.deploy.celery_cluster import free_port, services_available

REPO = Path(__file__).resolve().parents[2]
DAGS = ["train_siamese", "train_embeddings"]

STRUCTURE = r"""
import json, sys
sys.path.insert(0, "dags")
import importlib
dags = {dag_id: getattr(importlib.import_module(dag_id), dag_id)() for dag_id in sys.argv[1:]}
print("@@" + json.dumps({dag_id: {t.task_id: {"queue": t.queue, "pool": t.pool, "trigger_rule": getattr(t.trigger_rule, "value", t.trigger_rule),
                                              "mapped": t.is_mapped, "downstream": sorted(t.downstream_task_ids),
                                              "branch": type(t).__name__} for t in dag.tasks}
                         for dag_id, dag in dags.items()}))
"""

ROUTE = r"""
import logging, sys
sys.path.insert(0, "dags")
import importlib
route = getattr(importlib.import_module(sys.argv[1]), sys.argv[1])().get_task("route")
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="LOG %(levelname)s %(message)s", force=True)
print("FOLLOWS", route.python_callable())
print("CELERY IMPORTED", "airflow.providers.celery.executors.celery_executor_utils" in sys.modules)
"""

#: a plain Celery worker with the CeleryExecutor's configuration (broker, key prefix), consuming queue gpu only
WORKER = r"""
import sys
from airflow.providers.celery.executors.celery_executor_utils import app
app.worker_main(["worker", "-Q", "gpu", "-n", sys.argv[1], "-P", "solo", "--without-mingle", "--without-gossip",
                 "-l", "INFO"])
"""


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env.update(AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path / 'never-used.db'}",
               PYTHONPATH=str(REPO))
    env.update({"MUSIM_TRAIN_QUEUE": "gpu", **extra})
    return env


def _route(dag_id: str, env: dict[str, str]) -> tuple[str, list[str], bool]:
    done = subprocess.run([sys.executable, "-c", ROUTE, dag_id], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    out = done.stdout.splitlines()
    follows = next(line.split()[1] for line in out if line.startswith("FOLLOWS "))
    logged = [line for line in out if line.startswith("LOG ") and "MUSIM_TRAIN_QUEUE" in line]
    return follows, logged, "CELERY IMPORTED True" in out


@pytest.mark.parametrize("queue", ["gpu", "default"])
def test_both_paths_join_before_promote(queue, tmp_path):
    """route branches to train (MUSIM_TRAIN_QUEUE) or train_cpu (the default queue); each path's evaluate follows its
    train on the same queue in pool gpu; promote waits for the path taken and skips nothing because the other was
    skipped (trigger rule none_failed_min_one_success)."""
    done = subprocess.run([sys.executable, "-c", STRUCTURE, *DAGS], cwd=REPO, capture_output=True, text=True,
                          env=_env(tmp_path, MUSIM_TRAIN_QUEUE=queue), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for dag_id, tasks in json.loads(done.stdout.split("@@")[-1]).items():
        assert tasks["prepare"]["downstream"] == ["route", "train", "train_cpu"], dag_id  # items: the mapped trains'
        assert tasks["route"]["downstream"] == ["train", "train_cpu"] and "Branch" in tasks["route"]["branch"]
        for train, evaluate, on in (("train", "evaluate", queue), ("train_cpu", "evaluate_cpu", "default")):
            assert tasks[train]["queue"] == tasks[evaluate]["queue"] == on
            assert tasks[train]["pool"] == tasks[evaluate]["pool"] == "gpu"
            assert tasks[train]["mapped"] and tasks[evaluate]["mapped"]
            assert tasks[train]["downstream"] == [evaluate] and tasks[evaluate]["downstream"] == ["promote"]
        assert tasks["promote"]["trigger_rule"] == "none_failed_min_one_success"
        assert tasks["publish"]["trigger_rule"] == "all_success" and tasks["route"]["queue"] == "default"
        assert {t for t, v in tasks.items() if v["pool"] == "gpu"} == {"train", "evaluate", "train_cpu", "evaluate_cpu"}


@pytest.mark.parametrize("dag_id", DAGS)
def test_under_the_local_executor_route_follows_train_and_asks_no_broker(dag_id, tmp_path):
    """`airflow standalone` and `airflow dags test` (the demo) run the LocalExecutor, which ignores queues: route
    follows `train` without importing Celery nor reaching a broker (this one listens nowhere)."""
    env = _env(tmp_path, AIRFLOW__CORE__EXECUTOR="LocalExecutor",
               AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
    follows, logged, celery_imported = _route(dag_id, env)
    assert follows == "train" and not celery_imported
    assert logged == ["LOG INFO training on queue 'gpu' (MUSIM_TRAIN_QUEUE) as it is: Airflow's executor is not "
                      "Celery's and ignores queues (no worker was asked)"]


@pytest.mark.parametrize("dag_id", DAGS)
def test_under_celery_with_the_default_train_queue_route_asks_no_worker(dag_id, tmp_path):
    """From a review: MUSIM_TRAIN_QUEUE left at its default is the CPU queue, so there is nothing to choose: under the
    CeleryExecutor route follows `train` without asking the workers (the question waited its whole 2 s, and failed
    the task with a broker that takes no remote control; this one listens nowhere)."""
    env = _env(tmp_path, MUSIM_TRAIN_QUEUE="default", AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
               AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
    follows, logged, celery_imported = _route(dag_id, env)
    assert follows == "train" and not celery_imported
    assert logged == ["LOG INFO training on queue 'default' (MUSIM_TRAIN_QUEUE), the CPU queue"]


@pytest.mark.server
@pytest.mark.skipif(services_available() is not None, reason=str(services_available()))
def test_under_celery_route_follows_a_live_gpu_worker_else_the_cpu_queue(tmp_path):
    """The CeleryExecutor's broker (a Redis database and key prefix of this test's own) with no worker on queue gpu:
    route follows train_cpu and says so in one warning line; with a worker consuming gpu, it follows train."""
    prefix = f"musim_route_{os.getpid()}_{secrets.token_hex(3)}:"
    env = _env(tmp_path, AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
               AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:6379/{8 + secrets.randbelow(8)}",
               AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX=prefix)

    follows, logged, _ = _route("train_siamese", env)
    assert follows == "train_cpu"
    assert logged == ["LOG WARNING queue 'gpu' (MUSIM_TRAIN_QUEUE): no worker consumes it (live Celery workers: none "
                      "answered in 2 s); training on queue 'default' (the CPU worker) instead; start a worker for "
                      "queue 'gpu' (docker compose --profile gpu) to train on the GPU"]

    name = f"gpu-{prefix.rstrip(':')}@test"
    log = tmp_path / "worker.log"
    with open(log, "w") as out:
        worker = subprocess.Popen([sys.executable, "-c", WORKER, name], cwd=REPO, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while " ready." not in log.read_text(errors="replace"):
            assert worker.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.5)
        follows, logged, _ = _route("train_embeddings", env)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
    assert follows == "train"
    assert logged == [f"LOG INFO training on queue 'gpu' (MUSIM_TRAIN_QUEUE): consumed by {name}"]
