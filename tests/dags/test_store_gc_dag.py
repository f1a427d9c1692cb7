"""The store_gc DAG through Airflow (`airflow dags test`): the weekly garbage collection of the object store."""

from __future__ import annotations

import os
import time

import pytest

from musim import demo, warehouse
from musim.embedded import AirflowRunError
from musim.storage import open_store

pytestmark = pytest.mark.slow


def _preview_row(con, key: str) -> None:
    con.execute("INSERT INTO preview (track_id, artist_id, provider, provider_track_id, title, status, attempts, "
                "updated_at, object_key) VALUES ('p1', 1, 'local', 'a.mp3', 'a', 'downloaded', 1, now(), ?)", [key])


def test_store_gc_deletes_old_unreferenced_objects_and_keeps_the_rest(airflow):
    env, log = airflow
    store = open_store()
    for key in ("audio/previews/kept.mp3", "audio/previews/old.mp3", "audio/previews/young.mp3",
                "landing/x.tsv"):
        store.put_bytes(key, b"x" * 10)
    old = time.time() - 10 * 24 * 3600
    for key in ("audio/previews/kept.mp3", "audio/previews/old.mp3", "landing/x.tsv"):
        os.utime(store.root / key, (old, old))
    with warehouse.writer() as con:
        _preview_row(con, "audio/previews/kept.mp3")

    demo.run_dag("store_gc", env, log, conf={"delete": False})  # a dry run: counted, kept
    assert store.exists("audio/previews/old.mp3")
    assert "1 objects, 0.0 MB unreferenced" in log.read_text(errors="replace")

    demo.run_dag("store_gc", env, log)
    assert {o.key for o in store.list("")} == {"audio/previews/kept.mp3", "audio/previews/young.mp3", "landing/x.tsv"}


def test_store_gc_refused_or_failed_deletes_nothing(airflow):
    """A conf key that is no param (a typo such as {"dry_run": true} must not run the deleting default) fails the
    task before anything is looked at; a warehouse that names no object fails it, nothing deleted."""
    env, log = airflow
    store = open_store()
    store.put_bytes("audio/previews/old.mp3", b"x")
    old = time.time() - 10 * 24 * 3600
    os.utime(store.root / "audio/previews/old.mp3", (old, old))
    with pytest.raises(AirflowRunError):
        demo.run_dag("store_gc", env, log, conf={"dry_run": True})
    assert "store_gc has no param 'dry_run' (a typo?): it takes delete, older_than_hours" in log.read_text(
        errors="replace")
    with pytest.raises(AirflowRunError):
        demo.run_dag("store_gc", env, log)
    assert store.exists("audio/previews/old.mp3")
    assert "the warehouse refers to no object" in log.read_text(errors="replace")
