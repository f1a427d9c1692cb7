"""The store_gc DAG: the weekly garbage collection of the object store, once through Airflow (`airflow dags test`)
and its refusals through its task called as the task runner calls it."""

from __future__ import annotations

import os
import time

import pytest

from musim import demo, warehouse
from musim.storage import open_store
from tests.dags.dag_child import child_env, run_child

TEN_DAYS_AGO = time.time() - 10 * 24 * 3600

# store_gc's task, called as the task runner calls it: the DAG's params with the conf merged in, and the DAG.
CHILD = r"""
import json, sys
from airflow.sdk.exceptions import AirflowFailException
sys.path.insert(0, "dags")
import store_gc

dag = store_gc.store_gc()
out = {}
for name, conf in (("typo", {"dry_run": True}), ("dry run", {"delete": False}), ("default", {})):
    try:
        out[name] = dag.get_task("collect").python_callable(params={k: dag.params[k] for k in dag.params} | conf,
                                                            dag=dag)
    except AirflowFailException as exc:
        out[name] = str(exc)
print(json.dumps(out))
"""


def _preview_row(con, key: str) -> None:
    con.execute("INSERT INTO preview (track_id, artist_id, provider, provider_track_id, title, status, attempts, "
                "updated_at, object_key) VALUES ('p1', 1, 'local', 'a.mp3', 'a', 'downloaded', 1, now(), ?)", [key])


def _old(store, *keys: str) -> None:
    for key in keys:
        store.put_bytes(key, b"x" * 10)
        os.utime(store.root / key, (TEN_DAYS_AGO, TEN_DAYS_AGO))


@pytest.mark.slow
def test_store_gc_deletes_old_unreferenced_objects_and_keeps_the_rest(airflow):
    env, log = airflow
    store = open_store()
    _old(store, "audio/previews/kept.mp3", "audio/previews/old.mp3", "landing/x.tsv")
    store.put_bytes("audio/previews/young.mp3", b"x" * 10)
    with warehouse.writer() as con:
        _preview_row(con, "audio/previews/kept.mp3")
    demo.run_dag("store_gc", env, log)
    assert {o.key for o in store.list("")} == {"audio/previews/kept.mp3", "audio/previews/young.mp3", "landing/x.tsv"}
    assert "1 objects, 0.0 MB unreferenced" in log.read_text(errors="replace")


def test_a_typo_a_dry_run_and_a_warehouse_naming_no_object_delete_nothing(tmp_path):
    """A conf key that is no param (a typo such as {"dry_run": true} must not run the deleting default) fails the task
    before anything is looked at; `delete` off counts; a warehouse that names no object fails, nothing deleted."""
    home = tmp_path / "home"
    env = child_env(tmp_path, MUSIM_HOME=str(home))
    store = open_store(f"file://{home / 'objects'}")
    _old(store, "audio/previews/old.mp3")
    out = run_child(CHILD, env=env)
    assert out["typo"].startswith("store_gc has no param 'dry_run' (a typo?): it takes delete, older_than_hours")
    assert out["dry run"]["unreferenced"] == 1 and out["dry run"]["deleted"] is False
    assert "the warehouse refers to no object" in out["default"] and "nothing was deleted" in out["default"]
    assert store.exists("audio/previews/old.mp3")
