"""Airflow's CeleryExecutor for real: metadata DB on this machine's PostgreSQL, broker on its Redis, one
worker on the default queue and one on ``gpu``. The training DAG runs on tiny data; its training task must
run on the gpu worker and every other task on the default worker."""

from __future__ import annotations

import pytest

from tests.deploy.celery_cluster import REPO, CeleryCluster, services_available
from tests.pipeline_data import prepare

pytestmark = [pytest.mark.slow, pytest.mark.server]


@pytest.mark.skipif(services_available() is not None, reason=str(services_available()))
def test_training_runs_on_the_gpu_worker(tmp_path, musim_home):
    prepare(tmp_path / "data")
    workdir = tmp_path / "cluster"
    workdir.mkdir()
    env = {"MUSIM_HOME": str(musim_home), "MUSIM_DUCKDB_THREADS": "1", "MUSIM_DUCKDB_MEMORY": "1GB"}
    with CeleryCluster(workdir, REPO / "dags", env) as cluster:
        state = cluster.run_dag("train_siamese", {"epochs": 1, "batch_size": 32, "train_pairs": 600,
                                                  "hparams": {"test_share": 0.3, "validation_share": 0.2}},
                                timeout=900)
        hosts = cluster.task_hosts("train_siamese")
    assert state == "success", f"train_siamese ended {state}; tasks: {hosts}; logs in {workdir}"
    gpu_tasks = {t for t, (_, queue, _) in hosts.items() if queue == "gpu"}
    assert gpu_tasks, f"no task of train_siamese is on queue gpu: {hosts}"
    for task_id, (host, queue, task_state) in hosts.items():
        if task_state == "skipped":
            continue
        expected = "musim-gpu-worker" if queue == "gpu" else "musim-cpu-worker"
        assert host == expected, f"{task_id} (queue {queue}) ran on {host}, not {expected}"
