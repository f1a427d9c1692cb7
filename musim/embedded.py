"""Embedded Airflow: one environment and one runner for the demo, ``make up``, the UI runner and the tests.

Airflow runs against a SQLite metadata DB under ``$MUSIM_HOME/airflow`` with the LocalExecutor, this repo's
``dags/`` and ``plugins/`` and ``PYTHONPATH=<repo>``, so the DAGs and the musim page read and write the same
``MUSIM_HOME``. :func:`prepare_airflow` migrates the DB and creates the pools, :func:`run_dag` runs one DAG
to completion with ``airflow dags test``, :func:`standalone` starts ``airflow standalone`` (UI + scheduler).
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from musim.errors import ConfigError, MusimError
from musim.redact import MIN_SECRET_LEN, redact

REPO = Path(__file__).resolve().parent.parent
#: The pools every deployment has (the compose init creates the same ones).
POOLS = {"duckdb_writer": (1, "one DuckDB writer at a time"),
         "audio_fetch": (1, "one provider fetch at a time (its concurrency param: artists at once)"),
         "gpu": (1, "one training job per GPU")}
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"


class AirflowRunError(MusimError):
    """An embedded ``airflow`` command or DAG run failed; the message names the log to read, and its tail."""

    multiline = True


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of the SQLite database at absolute ``path``, the path percent-quoted: SQLAlchemy reads
    ``?`` as the start of the URL's query and decodes ``%XX``, and Airflow expands ``$NAME`` in a setting's value, so a
    ``MUSIM_HOME`` holding any of them put Airflow's database elsewhere (``/tmp/a?b/airflow.db`` at ``/tmp/a``;
    ``/tmp/a%41/airflow.db`` at ``/tmp/aA/``)."""
    return "sqlite:///" + quote(str(path), safe="/")


def airflow_env(home: Path, *, port: int | None = None, all_admins: bool = False) -> dict[str, str]:
    """The environment of embedded Airflow processes (``os.environ`` plus Airflow's and musim's settings).

    ``port`` sets the API server's port; ``all_admins`` turns the login off (a single-user machine). The database
    URL is quoted (:func:`sqlite_url`); a ``home`` holding ``$`` is a :class:`~musim.errors.ConfigError`, and so is
    a checkout (:data:`REPO`, its real path) holding one: Airflow expands ``$NAME`` in its DAGs and plugins folders
    (``expand_env_var``, again until nothing changes) and has no escape for a ``$`` meant as itself.
    """
    if "$" in str(REPO):  # `/src/a$HOME/musim`: Airflow read its DAGs from /src/a/root/musim/dags, none there
        raise ConfigError(f"the musim checkout {REPO} holds '$', which Airflow reads as a variable in the paths of "
                          "its DAGs and plugins folders (it would find no DAGs there): move or clone the repository "
                          "to a path without '$'")
    if "$" in str(home):  # Airflow expands $NAME in AIRFLOW_HOME and its log folders: `a$HOME` is `a/root`
        raise ConfigError(f"MUSIM_HOME {home} holds '$', which Airflow reads as a variable in the paths of its home "
                          "and logs (they would land elsewhere): choose a MUSIM_HOME without '$'")
    airflow_home = home / "airflow"
    airflow_home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({
        "MUSIM_HOME": str(home),
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlite_url(airflow_home / "airflow.db"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    })
    # airflow.cfg, written once, pins the logs under the home it was made in: follow a copied or moved home
    env.setdefault("AIRFLOW__LOGGING__BASE_LOG_FOLDER", str(airflow_home / "logs"))
    env.setdefault("AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY",
                   str(airflow_home / "logs" / "dag_processor"))
    # every task log through musim's redaction (musim.task_log: the setting names the module, which imports Airflow)
    env.setdefault("AIRFLOW__LOGGING__LOGGING_CONFIG_CLASS", "musim.task_log.LOGGING_CONFIG")
    env.setdefault("AIRFLOW__LOGGING__MIN_LENGTH_MASKED_SECRET", str(MIN_SECRET_LEN))
    # `airflow standalone` starts its components as `airflow …` found on PATH: this virtualenv's first
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bindir, *[p for p in env.get("PATH", "").split(os.pathsep) if p and p != bindir]])
    if port is not None:
        env["AIRFLOW__API__PORT"] = str(port)
        # task processes reach the execution API at http://localhost:8080/ unless told otherwise
        if "AIRFLOW__API__BASE_URL" not in env:
            env.setdefault("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", f"http://localhost:{port}/execution/")
    if all_admins:
        env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] = "True"
    return env


def _airflow_exe() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def _airflow(args: list[str], env: dict[str, str], log: Path) -> None:
    """Run ``airflow ARGS``, its output appended to ``log`` line by line through :func:`musim.redact.redact`: ``airflow
    dags test`` runs the tasks in its own process and prints their log lines, which no task log's redaction
    (:mod:`musim.task_log`) reaches."""
    with open(log, "a") as fh, subprocess.Popen([_airflow_exe(), *args], env=env, stdout=subprocess.PIPE,
                                                stderr=subprocess.STDOUT, encoding="utf-8", errors="replace") as proc:
        try:
            for line in proc.stdout:
                fh.write(redact(line))
        except BaseException:  # Ctrl-C, a full disk: the command is not left running (as subprocess.run does)
            proc.kill()
            raise
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise AirflowRunError(f"`airflow {' '.join(args)}` failed (exit {proc.returncode}); log: {log}\n{tail}")


def prepare_airflow(env: dict[str, str], log: Path) -> None:
    """Migrate the metadata DB and create the pools (idempotent)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    _airflow(["db", "migrate"], env, log)
    for name, (slots, what) in POOLS.items():
        _airflow(["pools", "set", name, str(slots), what], env, log)


def run_dag(dag_id: str, env: dict[str, str], log: Path, conf: dict | None = None) -> float:
    """Run ``dag_id`` once to completion (``airflow dags test``); its wall time in seconds.

    Raises :class:`AirflowRunError` naming the log unless the run finished in state success.
    """
    started = time.perf_counter()
    args = ["dags", "test", dag_id] + (["-c", json.dumps(conf)] if conf else [])
    before = log.stat().st_size if log.exists() else 0
    _airflow(args, env, log)
    with open(log, errors="replace") as fh:
        fh.seek(before)
        text = fh.read()
    finished = [line for line in text.splitlines() if f"DagRun Finished: dag_id={dag_id}" in line]
    if not finished or "state=success" not in finished[-1]:
        raise AirflowRunError(f"DAG {dag_id} did not succeed; see {log}")
    return time.perf_counter() - started


def check_port_free(port: int, *, host: str = "0.0.0.0", another: str = "AIRFLOW__API__PORT={port} make up") -> None:  # noqa: S104
    """:class:`ConfigError` unless ``port`` is a port number nothing listens on at ``host`` (a server would
    otherwise fail after its address was printed, with a traceback). ``another`` shows how to choose another
    port (``{port}``: the next one)."""
    if isinstance(port, bool) or not 1 <= port <= 65535:
        raise ConfigError(f"port {port} is not a port number (1-65535)")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(f"host {host!r} is no address of this machine ({getattr(exc, 'strerror', None) or exc}): "
                          "give one such as 127.0.0.1") from None
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)  # only tried, then closed
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                raise ConfigError(f"host {host!r} is no address of this machine: give one such as 127.0.0.1") from None
            raise ConfigError(f"port {port} is in use ({exc.strerror}): stop what listens there, or choose "
                              f"another port, e.g. {another.format(port=port + 1)}") from None


#: Under ``AIRFLOW_HOME``: the pid and port of the ``airflow standalone`` started there (the runner's own pid: it
#: becomes Airflow), so a second start names the first instead of a second scheduler on the same database.
RUNNING_FILE = "musim-standalone.json"


def _is_airflow(pid: int) -> bool:
    """Whether process ``pid`` lives and is Airflow (not a later process given a dead one's pid)."""
    if pid <= 0 or pid == os.getpid():
        return False
    proc = Path("/proc")
    if proc.is_dir():
        try:
            return b"airflow" in (proc / str(pid) / "cmdline").read_bytes()
        except OSError:
            return False
    try:  # no /proc (macOS): whether it lives
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_standalone(airflow_home: Path) -> tuple[int, int] | None:
    """The pid and port of the ``airflow standalone`` running on ``airflow_home``, or None (none recorded, or the
    one recorded is gone: killed, or the machine restarted)."""
    try:
        data = json.loads((airflow_home / RUNNING_FILE).read_text())
        pid, port = int(data["pid"]), int(data["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return (pid, port) if _is_airflow(pid) else None


def standalone(env: dict[str, str], log: Path, *, port: int) -> None:
    """Refuse if Airflow already runs on this home; check the port, migrate, create the pools, print the UI address
    and login, then become ``airflow standalone``."""
    airflow_home = Path(env["AIRFLOW_HOME"])
    running = running_standalone(airflow_home)
    if running is not None:
        pid, at = running
        raise ConfigError(f"Airflow is already running on MUSIM_HOME {env['MUSIM_HOME']} (pid {pid}) at "
                          f"http://localhost:{at}/: use it, or stop it first (Ctrl-C where it runs, or `kill {pid}`)")
    check_port_free(port)
    prepare_airflow(env, log)
    login = ("no login (all admins)" if env.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS") == "True" else
             f"user admin, password in {airflow_home / PASSWORDS_FILE} (written once Airflow is up)")
    print(f"Airflow UI: http://localhost:{port}/  ·  musim page: http://localhost:{port}/plugin/musim  ·  {login}\n"
          "Ctrl-C stops Airflow.", flush=True)
    exe = _airflow_exe()
    (airflow_home / RUNNING_FILE).write_text(json.dumps({"pid": os.getpid(), "port": port}))  # kept by the exec
    os.execve(exe, [exe, "standalone"], env)
