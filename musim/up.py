"""``make up``: Airflow standalone with musim's DAGs and plugin on the embedded defaults.

Prints the UI address and the login, then keeps Airflow running until Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from musim.config import get_settings
from musim.demo import airflow_env, prepare_airflow


def main() -> int:
    settings = get_settings()
    settings.ensure_dirs()
    env = airflow_env(settings.home)
    port = os.environ.get("AIRFLOW__API__PORT", "8080")
    env.setdefault("AIRFLOW__API__PORT", port)
    env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = env.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin")
    log = settings.home / "logs" / "up-setup.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    prepare_airflow(env, log)
    airflow = Path(sys.executable).with_name("airflow")
    proc = subprocess.Popen([str(airflow), "standalone"], env=env, start_new_session=True)
    passwords = Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None and not passwords.exists():
        time.sleep(1)
    login = json.loads(passwords.read_text()) if passwords.exists() else {}
    print(f"\nmusim: Airflow UI at http://localhost:{port}  (DAGs from {env['AIRFLOW__CORE__DAGS_FOLDER']})")
    for user, password in login.items():
        print(f"musim: log in as {user} / {password}   (stored in {passwords})")
    print("musim: the musim page is under Browse / musim; Ctrl-C stops Airflow\n", flush=True)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        os.killpg(proc.pid, signal.SIGTERM)
        return proc.wait()


if __name__ == "__main__":
    sys.exit(main())
