"""Where the training DAGs train: the queue ``MUSIM_TRAIN_QUEUE`` names while a live Celery worker consumes it,
else the CPU queue (Airflow's ``[operators] default_queue``, ``default``), with one warning line.

Airflow fixes a task's queue when the DAG is parsed, so both DAGs (``train_siamese``, ``train_embeddings``) carry two
paths of the same phases and a branch before them (:func:`staged_training`)::

    prepare → route ─→ train     → evaluate     ─┐  (queue $MUSIM_TRAIN_QUEUE)
                    └→ train_cpu → evaluate_cpu ─┴→ promote → publish  (the CPU queue)

``route`` follows one path and Airflow skips the other; ``promote`` joins them (trigger rule :data:`JOIN`) and reads
the evaluations of the path taken. The decision (:func:`choose_route`) needs no Airflow; the question to the workers
(:func:`live_worker_queues`, Celery's ``active_queues`` through the CeleryExecutor's app) is asked only where
Airflow's executor is Celery's: the LocalExecutor (``airflow standalone``, ``airflow dags test``) ignores queues,
so there ``route`` always follows ``train`` and asks nothing; nor does it ask where ``MUSIM_TRAIN_QUEUE`` is the CPU
queue (``default``, its default), which it follows.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk.definitions.xcom_arg import XComArg

log = logging.getLogger(__name__)

#: Seconds ``route`` waits for the Celery workers' answers (a live worker answers in milliseconds, busy or not: its
#: main process answers, its pool's processes train).
INSPECT_TIMEOUT_S = 2.0
#: The trigger rule of the task after both paths (``promote``): it runs when the path taken succeeded, the other
#: skipped; a failure on the path taken fails it (upstream_failed), and a run skipped before the branch skips it.
JOIN = "none_failed_min_one_success"
#: The task ids of the two paths: ``train``/``evaluate`` on ``MUSIM_TRAIN_QUEUE``, these on the CPU queue.
TRAIN, EVALUATE = "train", "evaluate"
TRAIN_CPU, EVALUATE_CPU = "train_cpu", "evaluate_cpu"
#: Executors whose workers consume queues (Airflow's ``[core] executor``, its first entry: the default).
_CELERY_EXECUTORS = ("CeleryExecutor", "CeleryKubernetesExecutor")


@dataclass(frozen=True)
class Route:
    """Where train and evaluate go: ``queue``, whether that is the CPU fallback, and the line ``route`` logs (a
    warning when ``fallback``)."""

    queue: str
    fallback: bool
    line: str


def celery_executor(setting: str) -> bool:
    """Whether Airflow's ``[core] executor`` setting (``CeleryExecutor``, ``LocalExecutor,CeleryExecutor``,
    ``alias:module.path.CeleryExecutor``…) makes Celery the default executor: its first entry."""
    first = setting.split(",")[0].strip()
    name = first.rpartition(":")[2].rpartition(".")[2]
    return name in _CELERY_EXECUTORS


def worker_queues(reply: Mapping[str, Sequence[Mapping[str, Any]]] | None) -> dict[str, list[str]]:
    """Celery's ``inspect().active_queues()`` answer (``{worker: [{"name": queue, …}, …]}``, None when no worker
    answered) as ``{worker: [queue, …]}``."""
    return {worker: sorted(q["name"] for q in queues if "name" in q) for worker, queues in (reply or {}).items()}


def choose_route(train_queue: str, cpu_queue: str, workers: Mapping[str, Collection[str]] | None, *,
                 timeout_s: float = INSPECT_TIMEOUT_S) -> Route:
    """Where train and evaluate go, given the queues each live worker consumes (:func:`worker_queues`; None where the
    executor ignores queues and nobody was asked).

    ``train_queue`` (``MUSIM_TRAIN_QUEUE``) when the executor ignores queues, when it is the CPU queue itself, or when
    a worker consumes it; else ``cpu_queue``, the queue of every other task (its worker ran ``route``), with a line
    saying that no worker consumes ``train_queue`` and where training goes instead.
    """
    if workers is None:
        return Route(train_queue, False, f"training on queue {train_queue!r} (MUSIM_TRAIN_QUEUE) as it is: Airflow's "
                                         "executor is not Celery's and ignores queues (no worker was asked)")
    if train_queue == cpu_queue:
        return Route(train_queue, False, f"training on queue {train_queue!r} (MUSIM_TRAIN_QUEUE), the CPU queue")
    consumers = sorted(w for w, queues in workers.items() if train_queue in queues)
    if consumers:
        return Route(train_queue, False, f"training on queue {train_queue!r} (MUSIM_TRAIN_QUEUE): consumed by "
                                         + ", ".join(consumers))
    live = "; ".join(f"{w} [{', '.join(q)}]" for w, q in sorted(workers.items())) or f"none answered in {timeout_s:g} s"
    return Route(cpu_queue, True,
                 f"queue {train_queue!r} (MUSIM_TRAIN_QUEUE): no worker consumes it (live Celery workers: {live}); "
                 f"training on queue {cpu_queue!r} (the CPU worker) instead; start a worker for queue {train_queue!r} "
                 "(docker compose --profile gpu) to train on the GPU")


def live_worker_queues(timeout_s: float = INSPECT_TIMEOUT_S) -> dict[str, list[str]] | None:
    """The queues each live Celery worker consumes (:func:`worker_queues`), asked through the CeleryExecutor's app
    (its broker and transport options) with a ``timeout_s`` wait; None, asking nothing, where Airflow's default
    executor is not Celery's. Needs Airflow (and, under Celery, its Celery provider)."""
    from airflow.sdk.configuration import conf

    if not celery_executor(conf.get("core", "executor", fallback="LocalExecutor")):
        return None
    import kombu.pools
    from airflow.providers.celery.executors.celery_executor_utils import app
    from celery import Celery

    # a throwaway app with the executor's configuration, as the provider's `celery worker` command asks: kombu's
    # pools are global to the process (and this one was forked from a worker)
    probe = Celery()
    probe.conf.update(app.conf)
    try:
        return worker_queues(probe.control.inspect(timeout=timeout_s).active_queues())
    finally:
        probe.close()
        kombu.pools.reset()


def staged_training(items: XComArg, *, train_queue: str) -> XComArg:
    """The training DAGs' shared wiring after ``prepare`` (``items``: its staged items): ``route`` (a branch) →
    ``train`` → ``evaluate`` mapped over the items on ``train_queue``, or ``train_cpu`` → ``evaluate_cpu`` on the CPU
    queue (Airflow's default queue); both in pool ``gpu``. Returns the evaluations of the path taken (the skipped
    path's are none) for a task with trigger rule :data:`JOIN`. Call it inside a ``@dag`` function."""
    import pendulum
    from airflow.sdk import task
    from airflow.sdk.configuration import conf

    cpu_queue = conf.get("operators", "default_queue")

    @task.branch(task_id="route", retries=1, retry_delay=pendulum.duration(seconds=30))
    def route() -> str:
        # MUSIM_TRAIN_QUEUE is the CPU queue (its default): nothing to choose, no worker to ask (the question waits
        # its whole timeout, and needs a broker that takes remote control)
        chosen = choose_route(train_queue, cpu_queue, {} if train_queue == cpu_queue else live_worker_queues())
        log.log(logging.WARNING if chosen.fallback else logging.INFO, chosen.line)
        return TRAIN_CPU if chosen.fallback else TRAIN

    def phases(queue: str, train_id: str, evaluate_id: str):
        opts = {"pool": "gpu", "retries": 1, "retry_delay": pendulum.duration(minutes=2)}

        @task(task_id=train_id, queue=queue, **opts)
        def train(item: dict) -> dict:
            from musim.models.families import train_staged
            from musim.models.train import no_gpu_line

            # the queue it was sent to (the runtime `ti.queue` reads `default` under `airflow dags test` whatever it
            # is); on a GPU worker whose TensorFlow sees no GPU: say so in one line, train on the CPU
            if queue != cpu_queue and (line := no_gpu_line(queue)):
                log.warning(line)
            return train_staged(item)

        @task(task_id=evaluate_id, queue=queue, **opts)
        def evaluate(item: dict, params=None) -> dict:
            from musim.models.families import evaluate_staged

            # train_embeddings sets the bootstrap resamples; train_siamese keeps evaluate_staged's
            return evaluate_staged(item, **({"n_boot": params["n_boot"]} if "n_boot" in params else {}))

        return train, evaluate

    chosen = route()
    items >> chosen
    evaluated = []
    for queue, train_id, evaluate_id in ((train_queue, TRAIN, EVALUATE), (cpu_queue, TRAIN_CPU, EVALUATE_CPU)):
        train, evaluate = phases(queue, train_id, evaluate_id)
        trained = train.expand(item=items)
        chosen >> trained
        evaluated.append(evaluate.expand(item=trained))
    return evaluated[0].concat(evaluated[1])
