"""Airflow's CeleryExecutor for real: metadata DB on this machine's PostgreSQL, broker on its Redis, workers on
the default queue and on ``gpu``. The training DAG runs on tiny data: with MUSIM_TRAIN_QUEUE=gpu its training
tasks run on the gpu worker while one runs, else on the default worker (the CPU fallback); every other task on
the default worker."""

from __future__ import annotations

import pytest

from tests.deploy.celery_cluster import REPO, CeleryCluster, services_available
from tests.pipeline_data import prepare

pytestmark = [pytest.mark.slow, pytest.mark.server]


#: a tiny training run (the data of tests.pipeline_data)
TRAIN_CONF = {"epochs": 1, "batch_size": 32, "train_pairs": 600, "hparams": {"test_share": 0.3, "validation_share": 0.2}}


def _assert_on_their_workers(hosts: dict, train_queue: str, workdir) -> None:
    """Every task that ran did so on the worker of its queue, and train and evaluate ran on ``train_queue``."""
    ran = {t: (host, queue) for t, (host, queue, state) in hosts.items() if state != "skipped"}
    assert {ran[t][1] for t in ran if t.startswith(("train", "evaluate"))} == {train_queue}, hosts
    for task_id, (host, queue) in ran.items():
        expected = CeleryCluster.WORKER_NAMES[queue]
        assert host == expected, f"{task_id} (queue {queue}) ran on {host}, not {expected}; logs in {workdir}"


@pytest.mark.skipif(services_available() is not None, reason=str(services_available()))
def test_training_falls_back_to_the_cpu_worker_then_goes_to_the_gpu_worker_and_the_audio_pool_runs_in_a_task(
        tmp_path, musim_home):
    """One cluster (each start costs half a minute), two stories.

    MUSIM_TRAIN_QUEUE=gpu (the harness's) with only the default worker: `route` finds no worker consuming gpu, says so
    in one warning line, and train and evaluate run on the default worker (before, train sat queued until the
    scheduler failed it). Once a gpu worker runs, the next run trains on it, every other task on the default worker.

    From a review: a Celery prefork worker's task process is daemonic, and library_scan.scan and
    audio_features.compute failed there (`daemonic processes are not allowed to have children`) as soon as they
    started their process pool; they passed only with one worker. Here both run with two."""
    from musim import warehouse
    from musim.synth.folders import write_music_folder

    prepare(tmp_path / "data")
    music = tmp_path / "music"
    write_music_folder(music, [("Pool Artist A", 0), ("Pool Artist B", 1)], tracks_per_artist=2, fmt="wav",
                       duration=8.0)
    workdir = tmp_path / "cluster"
    workdir.mkdir()
    env = {"MUSIM_HOME": str(musim_home), "MUSIM_DUCKDB_THREADS": "1", "MUSIM_DUCKDB_MEMORY": "1GB"}
    with CeleryCluster(workdir, REPO / "dags", env, workers=("default",)) as cluster:
        fallback = cluster.run_dag("train_siamese", TRAIN_CONF, timeout=900)
        fallback_hosts = cluster.task_hosts("train_siamese")
        route_log = cluster.task_log("train_siamese", "route")
        cluster.start_worker("gpu")
        cluster.wait_for_worker("gpu")
        on_gpu = cluster.run_dag("train_siamese", TRAIN_CONF, timeout=900)
        gpu_hosts = cluster.task_hosts("train_siamese")
        gpu_route_log = cluster.task_log("train_siamese", "route")
        # the scan's pool takes one worker per CPU the task may use (two, or more, where the machine has them)
        scan = cluster.run_dag("library_scan", {"folder": str(music)}, timeout=600)
        scan_tasks = cluster.task_hosts("library_scan")
        features = cluster.run_dag("audio_features", {"workers": 2, "publish": False}, timeout=600)
        feature_tasks = cluster.task_hosts("audio_features")

    assert fallback == "success", f"train_siamese ended {fallback}; tasks: {fallback_hosts}; logs in {workdir}"
    assert fallback_hosts["train"][2] == fallback_hosts["evaluate"][2] == "skipped", fallback_hosts
    assert fallback_hosts["train_cpu"][2] == "success" and fallback_hosts["promote"][2] == "success", fallback_hosts
    _assert_on_their_workers(fallback_hosts, "default", workdir)
    said = [line for line in route_log.splitlines() if "no worker consumes it" in line]
    assert len(said) == 1, route_log[-3000:]
    assert "queue 'gpu' (MUSIM_TRAIN_QUEUE): no worker consumes it (live Celery workers: default-" in said[0]
    assert "training on queue 'default' (the CPU worker) instead" in said[0] and "warning" in said[0].lower()

    assert on_gpu == "success", f"train_siamese ended {on_gpu}; tasks: {gpu_hosts}; logs in {workdir}"
    assert gpu_hosts["train_cpu"][2] == gpu_hosts["evaluate_cpu"][2] == "skipped", gpu_hosts
    assert gpu_hosts["train"][:2] == ("musim-gpu-worker", "gpu") and gpu_hosts["train"][2] == "success", gpu_hosts
    _assert_on_their_workers(gpu_hosts, "gpu", workdir)
    assert "no worker consumes it" not in gpu_route_log
    assert "training on queue 'gpu' (MUSIM_TRAIN_QUEUE): consumed by gpu-" in gpu_route_log, gpu_route_log[-3000:]

    assert scan == "success", f"library_scan ended {scan}; tasks: {scan_tasks}; logs in {workdir}"
    assert features == "success", f"audio_features ended {features}; tasks: {feature_tasks}; logs in {workdir}"
    assert feature_tasks["compute"][2] == "success"
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM track WHERE provider = 'library'").fetchone()[0] == 4
        assert con.execute("SELECT count(*) FROM track_descriptors JOIN track USING (track_id) "
                           "WHERE provider = 'library'").fetchone()[0] == 4


@pytest.mark.skipif(services_available() is not None, reason=str(services_available()))
def test_a_failed_task_s_log_holds_no_secret_as_written_and_as_the_ui_reads_it(tmp_path, musim_home):
    """The deployment's settings (docker-compose.yaml's, musim.task_log): a Celery worker's supervisor writes the log
    through musim's redaction, and the API server still reads it from the file (musim's logging config names a
    remote-log handler, which has no remote copy to give)."""
    import json
    import urllib.request

    from tests.supervised_task import LEAKING_DAG, assert_the_rest_is_kept, leaked_secrets, planted_secrets

    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "task_log_secrets.py").write_text(LEAKING_DAG)
    workdir = tmp_path / "cluster"
    workdir.mkdir()
    planted = planted_secrets()
    env = {"MUSIM_HOME": str(musim_home), "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True", **planted}
    with CeleryCluster(workdir, dags, env, workers=("default",)) as cluster:
        state = cluster.run_dag("task_log_secrets", timeout=300)
        written = cluster.task_log("task_log_secrets", "leak")
        api = f"http://127.0.0.1:{cluster.port}"
        with urllib.request.urlopen(f"{api}/auth/token", timeout=30) as answer:
            token = json.load(answer)["access_token"]
        request = urllib.request.Request(
            f"{api}/api/v2/dags/task_log_secrets/dagRuns/{cluster.last_run_id}/taskInstances/leak/logs/1",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            read = json.load(answer)["content"]
    assert state == "failed", f"task_log_secrets ended {state}; logs in {workdir}"
    assert not leaked_secrets(written, planted) and not leaked_secrets(json.dumps(read), planted), written
    assert_the_rest_is_kept([json.loads(line) for line in written.splitlines()], planted)
    assert_the_rest_is_kept([event for event in read if isinstance(event, dict) and "event" in event], planted)
