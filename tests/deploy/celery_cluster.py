"""A real Airflow 3 CeleryExecutor deployment on this machine's PostgreSQL and Redis, for tests.

Starts api-server, scheduler, dag-processor and Celery workers (by default two: queue ``default`` and queue
``gpu``; :meth:`CeleryCluster.start_worker` starts one later), each worker reporting its own hostname, in a fresh
Postgres database and a dedicated Redis database; stops every process and drops the database on exit.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

from musim.task_log import AIRFLOW_SETTINGS as TASK_LOG_SETTINGS

REPO = Path(__file__).resolve().parents[2]
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def services_available() -> str | None:
    """None when PostgreSQL and Redis answer on 127.0.0.1, else why not."""
    for port, name in ((5432, "PostgreSQL"), (6379, "Redis")):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            return f"{name} is not listening on 127.0.0.1:{port}"
    return None


class CeleryCluster:
    #: The hostname each worker reports (the task_instance's hostname), by its queue.
    WORKER_NAMES = {"default": "musim-cpu-worker", "gpu": "musim-gpu-worker"}

    def __init__(self, workdir: Path, dags_folder: Path, extra_env: dict[str, str] | None = None,
                 workers: tuple[str, ...] = ("default", "gpu")):
        self.workdir = workdir
        self.workers = workers
        self.db = f"musim_celery_{os.getpid()}_{secrets.token_hex(3)}"
        # a broker of its own: a Redis database and key prefix that no other cluster on this machine uses
        self.redis_db = 8 + secrets.randbelow(8)
        self.prefix = f"{self.db}:"
        self.port = free_port()
        home = workdir / "airflow"
        home.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ)
        self.env.update({
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",  # only the DAG under test is unpaused
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.deploy.hostname.worker_name",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://postgres@127.0.0.1:5432/{self.db}",
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{self.redis_db}",
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": self.prefix,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://postgres@127.0.0.1:5432/{self.db}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            # only the runs a test triggers: unpausing a scheduled DAG made a scheduled run too (catchup=False still
            # runs the latest interval), which a later triggered run waited for (max_active_runs=1)
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "MUSIM_TRAIN_QUEUE": "gpu",  # as docker compose --profile gpu with MUSIM_TRAIN_QUEUE=gpu
            **TASK_LOG_SETTINGS,  # as docker-compose.yaml: every task log through musim's redaction
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            **(extra_env or {}),
        })
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.last_run_id: str | None = None
        self.airflow = str(Path(sys.executable).with_name("airflow"))

    # -- lifecycle -------------------------------------------------------------------------------------
    def __enter__(self) -> CeleryCluster:
        self._admin(f'CREATE DATABASE "{self.db}"')
        self.cli("db", "migrate")
        for pool, slots in (("duckdb_writer", 1), ("audio_fetch", 1), ("gpu", 1)):
            self.cli("pools", "set", pool, str(slots), pool)
        self.start("api-server", ["api-server", "--port", str(self.port), "--host", "127.0.0.1"])
        self.start("scheduler", ["scheduler"])
        self.start("dag-processor", ["dag-processor"])
        for queue in self.workers:
            self.start_worker(queue)
        self._wait_http(f"http://127.0.0.1:{self.port}/api/v2/version", 180)
        return self

    def __exit__(self, *exc) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for _, proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        keys = subprocess.run(["redis-cli", "-n", str(self.redis_db), "--scan", "--pattern", f"{self.prefix}*"],
                              capture_output=True, text=True, check=False).stdout.split()
        if keys:
            subprocess.run(["redis-cli", "-n", str(self.redis_db), "DEL", *keys], check=False, capture_output=True)
        self._admin(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        log = open(self.workdir / f"{name}.log", "w")
        proc = subprocess.Popen([self.airflow, *args], env={**self.env, **(env or {})}, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, proc))

    def start_worker(self, queue: str) -> None:
        """A Celery worker consuming ``queue`` only (``default``: two processes, ``gpu``: one)."""
        self.start(f"worker-{queue}", ["celery", "worker", "--queues", queue,
                                       "--concurrency", "2" if queue == "default" else "1",
                                       "--celery-hostname", f"{queue}-{self.db}@%h"],
                   {"MUSIM_WORKER_NAME": self.WORKER_NAMES[queue]})

    def wait_for_worker(self, queue: str, timeout: float = 120) -> None:
        """Until the worker of ``queue`` says it is ready (it then answers the control messages)."""
        log = self.workdir / f"worker-{queue}.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if " ready." in log.read_text(errors="replace"):  # celery's "<hostname> ready."
                return
            time.sleep(1)
        raise TimeoutError(f"the worker of queue {queue} was not ready in {timeout} s; log: {log}")

    def cli(self, *args: str) -> str:
        proc = subprocess.run([self.airflow, *args], env=self.env, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
        return proc.stdout

    # -- queries ---------------------------------------------------------------------------------------
    def _admin(self, statement: str) -> None:
        con = psycopg2.connect(dbname="postgres", **PG)
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(statement)
        con.close()

    def query(self, statement: str, params: tuple = ()) -> list[tuple]:
        con = psycopg2.connect(dbname=self.db, **PG)
        try:
            with con.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall()
        finally:
            con.close()

    def _wait_http(self, url: str, timeout: float) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                urllib.request.urlopen(url, timeout=5).read()
                return
            except OSError:
                time.sleep(1)
        raise TimeoutError(f"{url} did not answer in {timeout} s; logs in {self.workdir}")

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                tail = (self.workdir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"airflow {name} exited with {proc.returncode}:\n{tail}")

    def wait_for_dag(self, dag_id: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if self.query("SELECT 1 FROM serialized_dag WHERE dag_id = %s", (dag_id,)):
                return
            time.sleep(2)
        raise TimeoutError(f"DAG {dag_id} was not parsed in {timeout} s; logs in {self.workdir}")

    def run_dag(self, dag_id: str, conf: dict | None = None, timeout: float = 600) -> str:
        """Trigger ``dag_id`` and wait until its run finishes; return the final state."""
        self.wait_for_dag(dag_id)
        run_id = f"celery_test_{secrets.token_hex(4)}"
        self.cli("dags", "trigger", dag_id, "--run-id", run_id, "--conf", json.dumps(conf or {}))
        self.cli("dags", "unpause", dag_id)
        self.last_run_id = run_id
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            self.check_alive()
            rows = self.query("SELECT state FROM dag_run WHERE dag_id = %s AND run_id = %s", (dag_id, run_id))
            state = rows[0][0] if rows else None
            if state in ("success", "failed"):
                return state
            time.sleep(2)
        raise TimeoutError(f"{dag_id} run {run_id} still {state} after {timeout} s; logs in {self.workdir}")

    def task_hosts(self, dag_id: str) -> dict[str, tuple[str, str, str]]:
        """task_id -> (hostname, queue, state) of the last run's task instances."""
        rows = self.query("""SELECT task_id, hostname, queue, state FROM task_instance WHERE dag_id = %s
                             AND run_id = %s AND map_index IN (-1, 0)""", (dag_id, self.last_run_id))
        return {t: (h, q, s) for t, h, q, s in rows}

    def task_log(self, dag_id: str, task_id: str) -> str:
        """The log text of every try of ``task_id`` in the last run (written by the worker on this machine)."""
        folder = Path(self.env["AIRFLOW_HOME"]) / "logs" / f"dag_id={dag_id}" / f"run_id={self.last_run_id}"
        return "".join(p.read_text(errors="replace") for p in sorted(folder.glob(f"task_id={task_id}/**/*.log")))
