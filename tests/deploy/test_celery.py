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


@pytest.mark.skipif(services_available() is not None, reason=str(services_available()))
def test_the_audio_pool_runs_in_a_celery_task(tmp_path, musim_home):
    """From a review: a Celery prefork worker's task process is daemonic, and library_scan.scan and
    audio_features.compute failed there (`daemonic processes are not allowed to have children`) as soon as they
    started their process pool; they passed only with one worker. Here both run with two."""
    from musim import warehouse
    from musim.synth.folders import write_music_folder

    music = tmp_path / "music"
    write_music_folder(music, [("Pool Artist A", 0), ("Pool Artist B", 1)], tracks_per_artist=2, fmt="wav",
                       duration=8.0)
    workdir = tmp_path / "cluster"
    workdir.mkdir()
    env = {"MUSIM_HOME": str(musim_home), "MUSIM_DUCKDB_THREADS": "1", "MUSIM_DUCKDB_MEMORY": "1GB"}
    with CeleryCluster(workdir, REPO / "dags", env) as cluster:
        # the scan's pool takes one worker per CPU the task may use (two, or more, where the machine has them)
        scan = cluster.run_dag("library_scan", {"folder": str(music)}, timeout=600)
        scan_tasks = cluster.task_hosts("library_scan")
        features = cluster.run_dag("audio_features", {"workers": 2, "publish": False}, timeout=600)
        feature_tasks = cluster.task_hosts("audio_features")
    assert scan == "success", f"library_scan ended {scan}; tasks: {scan_tasks}; logs in {workdir}"
    assert features == "success", f"audio_features ended {features}; tasks: {feature_tasks}; logs in {workdir}"
    assert feature_tasks["compute"][2] == "success"
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM track WHERE provider = 'library'").fetchone()[0] == 4
        assert con.execute("SELECT count(*) FROM track_descriptors").fetchone()[0] == 4
