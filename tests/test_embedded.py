"""The embedded-Airflow helpers shared by the demo, `make up`, the UI runner and the tests."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from musim import embedded, up
from musim.ui import standalone


def test_airflow_env_points_airflow_at_this_repo_and_home(tmp_path):
    env = embedded.airflow_env(tmp_path, port=8123, all_admins=True)
    assert env["MUSIM_HOME"] == str(tmp_path)
    assert env["AIRFLOW_HOME"] == str(tmp_path / "airflow") and (tmp_path / "airflow").is_dir()
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(embedded.REPO / "dags")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path / 'airflow' / 'airflow.db'}"
    assert env["AIRFLOW__API__PORT"] == "8123"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] == "True"
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)


def test_airflow_env_points_tasks_at_the_execution_api_on_its_port(tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", raising=False)
    monkeypatch.delenv("AIRFLOW__API__BASE_URL", raising=False)
    env = embedded.airflow_env(tmp_path, port=8391)
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://localhost:8391/execution/"
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "http://api.example:9000/execution/")
    assert embedded.airflow_env(tmp_path, port=8391)["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        "http://api.example:9000/execution/")


def test_airflow_env_keeps_the_logs_under_this_home(tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW__LOGGING__BASE_LOG_FOLDER", raising=False)
    monkeypatch.delenv("AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY", raising=False)
    env = embedded.airflow_env(tmp_path / "moved")
    assert env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] == str(tmp_path / "moved" / "airflow" / "logs")
    assert env["AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY"] == str(
        tmp_path / "moved" / "airflow" / "logs" / "dag_processor")


def _fake_airflow(monkeypatch):
    calls: list = []
    monkeypatch.setattr(embedded, "_airflow", lambda args, env, log: calls.append(("airflow", *args)))

    def execve(exe, argv, env):
        calls.append(("execve", *argv[1:], env["AIRFLOW__API__PORT"]))
        raise SystemExit(0)

    monkeypatch.setattr(embedded.os, "execve", execve)
    return calls


@pytest.mark.parametrize("entry", ["make up", "ui standalone"])
def test_both_entry_points_run_the_one_standalone_runner(entry, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MUSIM_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__API__PORT", "8456")
    calls = _fake_airflow(monkeypatch)
    with pytest.raises(SystemExit):
        up.main() if entry == "make up" else standalone.main(["airflow", "--port", "8456"])
    assert calls[0] == ("airflow", "db", "migrate")
    assert {c[3] for c in calls if c[:3] == ("airflow", "pools", "set")} == set(embedded.POOLS)
    assert calls[-1] == ("execve", "standalone", "8456")
    assert "http://localhost:8456/plugin/musim" in capsys.readouterr().out


def test_a_failing_airflow_command_names_its_log(tmp_path, monkeypatch):
    env = embedded.airflow_env(tmp_path)
    fake = tmp_path / "bin" / "airflow"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'boom: no such table' ; exit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(embedded, "_airflow_exe", lambda: str(fake))
    log = tmp_path / "logs" / "setup.log"
    with pytest.raises(embedded.AirflowRunError, match=r"`airflow db migrate` failed \(exit 3\); log: .*setup.log"):
        embedded.prepare_airflow(env, log)
    assert "boom: no such table" in log.read_text()


def test_what_airflow_dags_test_prints_of_its_in_process_tasks_is_redacted_in_its_log(tmp_path, monkeypatch):
    """``airflow dags test`` (the demo's runner) runs each task in its own process, with no supervisor and no task log
    file: the task's lines, a signed URL in a library's error say, come out on its output."""
    env = embedded.airflow_env(tmp_path)
    fake = tmp_path / "bin" / "airflow"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'GET https://cdn.example/a.mp3?X-Amz-Signature=5eC7e7aa0 403'\n"
                    "echo 'Authorization: Bearer eyJq8x.y'\necho 'DagRun Finished: dag_id=x, state=success'\n")
    fake.chmod(0o755)
    monkeypatch.setattr(embedded, "_airflow_exe", lambda: str(fake))
    log = tmp_path / "demo.log"

    embedded.run_dag("x", env, log)

    assert log.read_text() == ("GET https://cdn.example/a.mp3?X-Amz-Signature=*** 403\nAuthorization: Bearer ***\n"
                               "DagRun Finished: dag_id=x, state=success\n")


def test_a_port_in_use_or_not_a_number_is_one_line_before_airflow_starts(tmp_path, monkeypatch):
    """Airflow's API server failed with a traceback after the migration, the UI address already printed; a port
    that was no number was a ValueError traceback."""
    import socket
    import subprocess

    from musim.errors import ConfigError

    monkeypatch.setenv("MUSIM_HOME", str(tmp_path))
    calls = _fake_airflow(monkeypatch)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.setenv("AIRFLOW__API__PORT", str(port))
        with pytest.raises(ConfigError, match=rf"port {port} is in use \(.*\): stop what listens there, or choose "
                                              rf"another port, e.g. AIRFLOW__API__PORT={port + 1} make up"):
            up.main()
        with pytest.raises(ConfigError, match=rf"port {port} is in use"):
            standalone.main(["airflow", "--port", str(port)])
    assert calls == []
    env = dict(os.environ, MUSIM_HOME=str(tmp_path), AIRFLOW__API__PORT="eighty")
    proc = subprocess.run([sys.executable, "-m", "musim.up"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""  # 2, as `musim` for an error of musim's
    assert proc.stderr == "musim up: error: AIRFLOW__API__PORT must be a port number, got 'eighty'\n"


def test_the_app_alone_checks_its_port_and_host_before_printing_an_address(tmp_path, monkeypatch, capsys):
    """`app --port 70000` printed http://127.0.0.1:70000/ and listened on 4464 (70000 mod 65536); a host that is
    no address here ended in uvicorn's "[Errno -8]" after the address was printed."""
    import socket

    from musim.errors import ConfigError

    monkeypatch.setenv("MUSIM_HOME", str(tmp_path))
    for argv in (["app", "--port", "70000"], ["app", "--port", "-1"], ["env", "--port", "0"]):
        with pytest.raises(SystemExit) as exc:
            standalone.main(argv)
        assert exc.value.code == 2 and "is not a port number (1-65535)" in capsys.readouterr().err
    with pytest.raises(ConfigError, match=r"^host 'no-such-host.invalid' is no address of this machine"):
        standalone.main(["app", "--host", "no-such-host.invalid"])
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"^port {port} is in use .* another port, e.g. --port {port + 1}$"):
            standalone.main(["app", "--port", str(port)])
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("name", ["a?b", "a#b", "a%41b", "a b@c:d", "a%3Fb?x=1", "Ärger €"])
def test_airflow_database_lands_in_the_home_whatever_its_name(name, tmp_path):
    """`sqlite:///{path}` unquoted: a MUSIM_HOME with `?` put Airflow's database at the part before it, `%41` at
    `A`; the URL now reads back (SQLAlchemy's parser) as the path, and a database opened by it is made there."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    home = tmp_path / name
    env = embedded.airflow_env(home)
    url = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    wanted = home / "airflow" / "airflow.db"
    assert make_url(url).database == str(wanted) and not make_url(url).query
    engine = create_engine(url)
    with engine.connect() as con:
        con.execute(text("CREATE TABLE t (x INTEGER)"))
    engine.dispose()
    assert wanted.is_file() and sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_home_with_a_dollar_is_refused_before_anything_is_made(tmp_path):
    """Airflow expands `$HOME` in AIRFLOW_HOME: its home and logs went to `<home up to $>/root/airflow`."""
    home = tmp_path / "a$HOME"
    with pytest.raises(embedded.ConfigError, match=r"holds '\$'.*choose a MUSIM_HOME without '\$'"):
        embedded.airflow_env(home)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["--bogus"], ["--help"]])
def test_make_up_takes_no_arguments_and_its_help_starts_nothing(argv, tmp_path, monkeypatch, capsys):
    """`python -m musim.up --help` (or any argument) was ignored: it started Airflow. Now `--help` prints its usage
    and anything else is one usage line (exit 2), as at every entry point; neither starts Airflow."""
    def started(*_a, **_k):
        raise AssertionError("Airflow was started")

    monkeypatch.setenv("MUSIM_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(up, "standalone", started)
    with pytest.raises(SystemExit) as stop:
        up.main(argv)
    out, err = capsys.readouterr()
    if argv == ["--help"]:
        assert stop.value.code == 0 and "usage: python -m musim.up" in out and "AIRFLOW__API__PORT" in out
    else:
        assert stop.value.code == 2 and err.splitlines() == [
            "python -m musim.up: error: unrecognized arguments: --bogus; see `python -m musim.up --help`"]


def test_a_checkout_with_a_dollar_is_refused_in_one_line_naming_it(tmp_path):
    """A checkout at `/src/a$HOME/musim` gave Airflow `AIRFLOW__CORE__DAGS_FOLDER=/src/a$HOME/musim/dags`, which it
    expands (again until nothing changes, no escape for a `$`) to `/src/a/root/musim/dags`: `make up` and the demo
    found no DAGs. Now the page's runner, run from a copy of the package at such a path, refuses it in one line."""
    import shutil
    import subprocess

    checkout = tmp_path / "src$HOME" / "musim"
    shutil.copytree(embedded.REPO / "musim", checkout / "musim", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(checkout), "MUSIM_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-m", "musim.ui.standalone", "env"], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == "", done.stdout
    assert done.stderr.splitlines() == [
        f"python -m musim.ui.standalone: error: the musim checkout {checkout} holds '$', which Airflow reads as a "
        "variable in the paths of its DAGs and plugins folders (it would find no DAGs there): move or clone the "
        "repository to a path without '$'"]


@pytest.mark.parametrize("entry", ["make up", "demo"])
def test_make_up_and_the_demo_refuse_a_checkout_with_a_dollar_before_airflow_starts(entry, tmp_path, monkeypatch):
    import musim.demo as demo

    def started(*_a, **_k):
        raise AssertionError("Airflow was started")

    monkeypatch.setenv("MUSIM_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(embedded, "REPO", tmp_path / "a$PATH")
    for module, name in ((up, "standalone"), (demo, "prepare_airflow"), (demo, "demo_dump")):
        monkeypatch.setattr(module, name, started)
    with pytest.raises(embedded.ConfigError, match=r"checkout .*a\$PATH holds '\$'.*a path without '\$'"):
        up.main() if entry == "make up" else demo.main([])
    assert not (tmp_path / "home" / "airflow").exists()


def test_a_second_start_names_the_running_airflow_and_a_killed_ones_record_is_stale(tmp_path, monkeypatch):
    """A second `make up` on the same home said only "port 8080 is in use", or, on another port, started a second
    Airflow (scheduler and all) on the same SQLite database. Now it names the running one and its address; the
    record of one that was killed (or of a pid now used by another program) does not stop the next start."""
    import json
    import subprocess

    from musim.errors import ConfigError

    monkeypatch.setenv("MUSIM_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__API__PORT", "8457")
    calls = _fake_airflow(monkeypatch)
    with pytest.raises(SystemExit):
        up.main()  # the first start records itself (its pid becomes Airflow's)
    record = tmp_path / "airflow" / embedded.RUNNING_FILE
    assert json.loads(record.read_text()) == {"pid": os.getpid(), "port": 8457}
    # an Airflow that runs: a process whose command line names airflow
    airflow = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "airflow", "standalone"])
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        # until the child has exec'd, its command line is this test's (forked): under load that took long enough
        # for the start below to find no Airflow at the recorded pid
        cmdline = Path(f"/proc/{airflow.pid}/cmdline")
        deadline = time.monotonic() + 60
        while b"airflow" not in cmdline.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)
        record.write_text(json.dumps({"pid": airflow.pid, "port": 8457}))
        calls.clear()
        monkeypatch.setenv("AIRFLOW__API__PORT", "8458")
        with pytest.raises(ConfigError) as refused:
            up.main()
        assert str(refused.value) == (f"Airflow is already running on MUSIM_HOME {tmp_path} (pid {airflow.pid}) at "
                                      f"http://localhost:8457/: use it, or stop it first (Ctrl-C where it runs, or "
                                      f"`kill {airflow.pid}`)")
        assert calls == []
        with pytest.raises(ConfigError, match=rf"already running .*\(pid {airflow.pid}\)"):
            standalone.main(["airflow", "--port", "8459"])
        record.write_text(json.dumps({"pid": other.pid, "port": 8457}))  # a pid reused by another program
        with pytest.raises(SystemExit):
            up.main()
        assert calls[-1] == ("execve", "standalone", "8458")
    finally:
        for p in (airflow, other):
            p.kill()
            p.wait()
    record.write_text(json.dumps({"pid": airflow.pid, "port": 8457}))  # killed: its record is stale
    calls.clear()
    with pytest.raises(SystemExit):
        up.main()
    assert calls[-1] == ("execve", "standalone", "8458")
    assert json.loads(record.read_text()) == {"pid": os.getpid(), "port": 8458}
    record.write_text("{not json")  # half-written by a start killed midway
    with pytest.raises(SystemExit):
        up.main()
