"""``make up``: Airflow standalone with musim's DAGs and plugin on the embedded defaults.

Prints the UI address and where the login is, then runs ``airflow standalone`` until Ctrl-C. The same
runner serves ``python -m musim.ui.standalone airflow`` (see :mod:`musim.embedded`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from musim.config import get_settings
from musim.embedded import airflow_env, standalone
from musim.errors import ConfigError
from musim.terminal import Parser, run_entry_point


def main(argv: Sequence[str] = ()) -> int:
    """``make up`` (``python -m musim.up``, its arguments ``argv``: none but ``--help``)."""
    Parser(prog="python -m musim.up",
           description="Airflow standalone with musim's DAGs and plugin on the embedded defaults, until Ctrl-C; its "
                       "port is $AIRFLOW__API__PORT (default 8080). Takes no arguments.").parse_args(argv)
    settings = get_settings()
    settings.ensure_dirs()
    text = os.environ.get("AIRFLOW__API__PORT", "8080")
    try:
        port = int(text)
    except ValueError:
        raise ConfigError(f"AIRFLOW__API__PORT must be a port number, got {text!r}") from None
    env = airflow_env(settings.home, port=port)
    env.setdefault("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin")
    standalone(env, settings.home / "logs" / "up-setup.log", port=port)
    return 0  # pragma: no cover - standalone() becomes the airflow process


if __name__ == "__main__":
    raise SystemExit(run_entry_point("musim up", lambda: main(sys.argv[1:])))
