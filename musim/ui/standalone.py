"""See the musim page: ``airflow standalone`` with this repo's DAGs and plugins, or the app alone.

Usage (from the repo root, with the project's virtualenv)::

    python -m musim.ui.standalone env       # print the environment (shell `export` lines)
    python -m musim.ui.standalone airflow   # migrate, create the pools, then `airflow standalone`
    python -m musim.ui.standalone app       # only the musim app (no Airflow, no login) on 127.0.0.1:8089

The environment is :func:`musim.embedded.airflow_env` — SQLite metadata DB and logs under
``$MUSIM_HOME/airflow``, LocalExecutor, ``AIRFLOW__CORE__DAGS_FOLDER=<repo>/dags``,
``AIRFLOW__CORE__PLUGINS_FOLDER=<repo>/plugins``, ``AIRFLOW__CORE__PARALLELISM=4``, ``PYTHONPATH=<repo>``
— so the DAGs and the page read and write the same ``MUSIM_HOME``. Then open
``http://localhost:8080/plugin/musim`` (the "musim" entry in the UI's navigation; the page alone is
``/musim/``, its JSON API ``/musim/api/...``). Log in as ``admin`` with the password in
``$MUSIM_HOME/airflow/simple_auth_manager_passwords.json.generated`` (``airflow standalone`` prints it), or
set ``AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True`` for a single-user machine (no login at all).
``airflow plugins`` lists ``musim_ui`` (and ``musim``, the Data Docs link) with this environment.
"""

from __future__ import annotations

import argparse
import os
import shlex

from musim.config import get_settings
from musim.embedded import airflow_env, check_port_free, standalone
from musim.params import whole_number
from musim.terminal import Parser, run_entry_point


def changed(env: dict[str, str]) -> dict[str, str]:
    """The variables ``env`` sets or changes compared with this process's environment."""
    return {k: v for k, v in env.items() if os.environ.get(k) != v}


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 1-65535 (uvicorn took 70000 as 70000 mod 65536 and printed 70000)."""
    value = whole_number(text, max_digits=5) or 0
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m musim.ui.standalone", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    for name in ("env", "airflow"):
        p = sub.add_parser(name)
        p.add_argument("--port", type=port_number, default=8080)
        p.add_argument("--all-admins", action="store_true", help="no login (SimpleAuthManager all-admins mode)")
    p_app = sub.add_parser("app", help="serve only the musim app, without Airflow or login")
    p_app.add_argument("--host", default="127.0.0.1")
    p_app.add_argument("--port", type=port_number, default=8089)
    args = parser.parse_args(argv)

    if args.cmd == "app":
        import uvicorn

        from musim.ui.app import create_app

        check_port_free(args.port, host=args.host, another="--port {port}")
        print(f"musim page on http://{args.host}:{args.port}/ (MUSIM_HOME={get_settings().home})")
        uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")
        return 0

    settings = get_settings()
    env = airflow_env(settings.home, port=args.port, all_admins=args.all_admins)
    if args.cmd == "env":
        for key, value in sorted((changed(env) | {"MUSIM_HOME": env["MUSIM_HOME"]}).items()):
            print(f"export {key}={shlex.quote(value)}")
        return 0

    standalone(env, settings.home / "logs" / "airflow-standalone-setup.log", port=args.port)
    return 0  # pragma: no cover - execve does not return


if __name__ == "__main__":
    raise SystemExit(run_entry_point("python -m musim.ui.standalone", main))
