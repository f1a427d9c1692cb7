"""The training queue's routing decision: MUSIM_TRAIN_QUEUE while a live worker consumes it, else the CPU queue with one
line saying so; nothing asked, nothing changed where the executor ignores queues."""

from __future__ import annotations

import pytest

from musim.models.routing import celery_executor, choose_route, worker_queues

#: Celery's inspect().active_queues() answer, as two workers give it (trimmed of the exchange details)
REPLY = {"default-x@host1": [{"name": "default", "exclusive": False, "routing_key": "default"}],
         "gpu-x@host2": [{"name": "gpu", "exclusive": False}, {"name": "extra"}]}


@pytest.mark.parametrize(("setting", "celery"), [
    ("CeleryExecutor", True), (" CeleryExecutor ", True), ("CeleryKubernetesExecutor", True),
    ("airflow.providers.celery.executors.celery_executor.CeleryExecutor", True),
    ("my_celery:airflow.providers.celery.executors.celery_executor.CeleryExecutor,LocalExecutor", True),
    ("LocalExecutor", False), ("LocalExecutor,CeleryExecutor", False),  # the first is the default executor
    ("KubernetesExecutor", False), ("SequentialExecutor", False), ("", False), ("NotCeleryExecutorX", False)])
def test_celery_executor_is_the_default_executor_s_name(setting, celery):
    assert celery_executor(setting) is celery


def test_worker_queues_reads_celery_s_answer():
    assert worker_queues(REPLY) == {"default-x@host1": ["default"], "gpu-x@host2": ["extra", "gpu"]}
    assert worker_queues(None) == {}  # no worker answered in time
    assert worker_queues({"w@h": [{"exchange": "no name"}]}) == {"w@h": []}


def test_a_live_worker_on_the_train_queue_gets_the_training():
    route = choose_route("gpu", "default", worker_queues(REPLY))
    assert (route.queue, route.fallback) == ("gpu", False)
    assert route.line == "training on queue 'gpu' (MUSIM_TRAIN_QUEUE): consumed by gpu-x@host2"


def test_no_worker_on_the_train_queue_sends_training_to_the_cpu_queue_and_says_so():
    route = choose_route("gpu", "default", {"default-x@host1": ["default"], "w2@h": ["default", "audio"]})
    assert (route.queue, route.fallback) == ("default", True)
    assert route.line == (
        "queue 'gpu' (MUSIM_TRAIN_QUEUE): no worker consumes it (live Celery workers: default-x@host1 [default]; "
        "w2@h [default, audio]); training on queue 'default' (the CPU worker) instead; start a worker for queue 'gpu' "
        "(docker compose --profile gpu) to train on the GPU")
    assert "\n" not in route.line


def test_no_answer_at_all_is_no_consumer():
    route = choose_route("gpu", "cpu", {}, timeout_s=2.0)
    assert (route.queue, route.fallback) == ("cpu", True)
    assert "(live Celery workers: none answered in 2 s)" in route.line and "training on queue 'cpu'" in route.line


@pytest.mark.parametrize("workers", [None, {}, {"default-x@host1": ["default"]}])
def test_the_cpu_queue_itself_is_kept(workers):
    route = choose_route("default", "default", workers)
    assert (route.queue, route.fallback) == ("default", False)


def test_an_executor_that_ignores_queues_changes_nothing():
    route = choose_route("gpu", "default", None)  # the LocalExecutor: nobody asked
    assert (route.queue, route.fallback) == ("gpu", False)
    assert "not Celery's" in route.line and "no worker was asked" in route.line
