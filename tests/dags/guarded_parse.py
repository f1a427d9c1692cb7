"""Parse one DAG file with every way of reaching a database or the network blocked.

Run as ``python guarded_parse.py DAG_FILE``; prints one JSON line describing the DAGs found.
"""

import json
import socket
import sys


def _blocked(*args, **kwargs):
    raise RuntimeError("DAG parsing must not open connections or query databases")


socket.socket.connect = _blocked  # type: ignore[method-assign]
socket.create_connection = _blocked  # type: ignore[assignment]

import duckdb  # noqa: E402

duckdb.connect = _blocked  # type: ignore[assignment]

import sqlalchemy.engine  # noqa: E402

sqlalchemy.engine.Engine.connect = _blocked  # type: ignore[method-assign]

from airflow.dag_processing.dagbag import DagBag  # noqa: E402

bag = DagBag(dag_folder=sys.argv[1])
out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    tasks = {t.task_id: {"pool": t.pool, "queue": t.queue, "outlets": [getattr(o, "name", str(o)) for o in t.outlets],
                         "upstream": sorted(t.get_flat_relative_ids(upstream=True)),
                         "retries": t.retries, "retry_delay_s": t.retry_delay.total_seconds()} for t in dag.tasks}
    out["dags"][dag_id] = {
        "schedule": type(dag.timetable).__name__, "start_date": str(dag.start_date),
        "tz": str(dag.timezone), "catchup": dag.catchup, "tags": sorted(dag.tags), "doc_md": bool(dag.doc_md),
        "params": {k: dag.params.get_param(k).description for k in dag.params}, "tasks": tasks,
        "schemas": {k: dag.params.get_param(k).schema for k in dag.params},
        "defaults": {k: dag.params.get_param(k).value for k in dag.params},
    }
print(json.dumps(out, default=str))
