"""``[core] hostname_callable`` for the Celery test: each worker reports the name it was started with."""

import os
import socket


def worker_name() -> str:
    return os.environ.get("MUSIM_WORKER_NAME") or socket.getfqdn()
