"""Every line of an Airflow task's log through :func:`musim.redact.redact`, a secret no one registered included.

Airflow 3 writes a task's log in the task's supervisor (``airflow.sdk.execution_time.supervisor``): the task process
sends it each event as JSON (the task's own logger, stdlib logging of every library, the exception of a failed task
with its traceback's frames), its stdout and stderr line by line (``print``, a traceback a library prints), and the
supervisor adds its own lines; all of them pass one structlog chain, ``airflow.sdk.log.logging_processors``, before
the file. That chain masks with Airflow's ``SecretsMasker`` alone: the values given to ``mask_secret`` (musim hands
it every secret it registers, :func:`musim.redact.forward_to_airflow`) and the fields with a sensitive name. A
secret musim never resolved (a provider's signed preview URL in a library's error, ``Authorization: Bearer ...``,
``password=...`` in an exception's text) went into the file whole.

The one supported place to add a processor to that chain is the ``[logging] logging_config_class`` contract:
besides the ``dictConfig`` dict, Airflow reads the module's ``REMOTE_TASK_LOG`` (a ``RemoteLogIO``), whose
``processors`` are "installed in the task write path ... to transform the structured log messages as they are being
written to a file" (``airflow.sdk._shared.logging.remote.RemoteLogIO``), after Airflow's own masking and before the
line is rendered. This module is such a config: :data:`LOGGING_CONFIG` is Airflow's default, unchanged, and
:data:`REMOTE_TASK_LOG` adds :func:`musim.redact.redact_log_event` (musim's one rule set, nothing copied) and hands
the remote-logging work to the handler Airflow's default config would have made (``[logging] remote_logging``), so
turning remote logging on still uploads and reads the logs. :data:`AIRFLOW_SETTINGS` are the settings that install
it: :func:`musim.embedded.airflow_env` (``make up``, the demo, the tests) and ``docker-compose.yaml`` set them, with
``[logging] min_length_masked_secret`` lowered to the 4 characters musim registers (Airflow's default 5 let a
4-character password through).

What this does not reach: a task run in-process by ``airflow dags test`` / ``dag.test()`` (no supervisor, no task
log file: its lines go to the command's own console output, whose processors Airflow offers no setting for); the
demo's runner (:func:`musim.embedded.run_dag`) redacts that output itself as it writes it to its log.
"""

from __future__ import annotations

import copy
import os
from typing import Any

from airflow.config_templates import airflow_local_settings

from musim.redact import MIN_SECRET_LEN, redact_log_event

#: Airflow's default ``dictConfig`` dict, as Airflow's docs say to start a custom one.
LOGGING_CONFIG: dict[str, Any] = copy.deepcopy(airflow_local_settings.DEFAULT_LOGGING_CONFIG)

#: The Airflow settings (environment variables) that make every task log pass :func:`musim.redact.redact`.
AIRFLOW_SETTINGS = {
    "AIRFLOW__LOGGING__LOGGING_CONFIG_CLASS": f"{__name__}.LOGGING_CONFIG",
    "AIRFLOW__LOGGING__MIN_LENGTH_MASKED_SECRET": str(MIN_SECRET_LEN),
}


class RedactingTaskLog:
    """A ``RemoteLogIO`` whose processors redact every line written to a task log; uploading and reading remote logs
    is ``remote``'s (the handler of ``[logging] remote_logging``), or nothing when there is none (the local file is
    read, as without remote logging)."""

    def __init__(self, remote: Any = None):
        self.remote = remote

    @property
    def processors(self) -> tuple:
        return (redact_log_event, *(getattr(self.remote, "processors", None) or ()))

    def upload(self, path: os.PathLike | str, ti: Any = None) -> None:
        if self.remote is not None:
            self.remote.upload(path, ti)

    def read(self, relative_path: str, ti: Any) -> tuple[list[str], list[str]]:
        if self.remote is None:
            return [], []  # no remote copy: Airflow reads the local file
        return self.remote.read(relative_path, ti)

    def __getattr__(self, name: str) -> Any:  # the rest of remote's interface (``stream``), only where it has one
        remote = self.__dict__.get("remote")
        if remote is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(remote, name)


# Only the remote handler Airflow's default config module builds (its per-scheme chain) is kept; a provider known only
# through the providers registry (Airflow's second way to find one) is not, since a custom config takes precedence
# over it. No musim deployment turns remote logging on.
REMOTE_TASK_LOG = RedactingTaskLog(airflow_local_settings.REMOTE_TASK_LOG)
DEFAULT_REMOTE_CONN_ID = airflow_local_settings.DEFAULT_REMOTE_CONN_ID
