"""``musim store gc``: a dry run by default, ``--delete``, ``--json``, ``--older-than`` and its one-line errors."""

from __future__ import annotations

import json
import os
import time

import pytest

from musim import warehouse
from musim.storage import open_store
from tests.cli_output import run

OLD = time.time() - 3 * 24 * 3600


def _store_with_garbage():
    """A warehouse whose one preview row names one object, beside an old and a young object no row names."""
    with warehouse.writer() as con:
        con.execute("INSERT INTO preview (track_id, artist_id, provider, provider_track_id, title, status, attempts, "
                    "updated_at, object_key) VALUES ('p1', 1, 'local', 'a.mp3', 'a', 'downloaded', 1, now(), "
                    "'audio/previews/kept.mp3')")
    store = open_store()
    for key, size in (("audio/previews/kept.mp3", 1000), ("audio/previews/old.mp3", 1_500_000),
                      ("audio/previews/young.mp3", 2_000_000), ("landing/other.tsv", 5)):
        store.put_bytes(key, b"x" * size)
    for key in ("audio/previews/kept.mp3", "audio/previews/old.mp3", "landing/other.tsv"):
        os.utime(store.root / key, (OLD, OLD))
    return store


def test_gc_is_a_dry_run_with_one_summary_line(capsys):
    store = _store_with_garbage()
    code, out, err = run(capsys, "store", "gc")
    assert code == 0 and err == ""
    assert out == (f"1 objects, 1.5 MB unreferenced in {store.root_url}: would be deleted (dry run: --delete deletes "
                   "them); kept 1 unreferenced younger than 24 h or in a run's staging changed within 168 h (2.0 MB) and 1 "
                   "referenced (0.0 MB)\n")
    assert store.exists("audio/previews/old.mp3")


def test_gc_delete_json(capsys):
    store = _store_with_garbage()
    code, out, _err = run(capsys, "store", "gc", "--delete", "--json")
    doc = json.loads(out)
    assert code == 0
    assert (doc["deleted"], doc["unreferenced"], doc["unreferenced_bytes"], doc["keys"]) == (
        True, 1, 1_500_000, ["audio/previews/old.mp3"])
    assert (doc["young"], doc["referenced"], doc["older_than_s"]) == (1, 1, 86400.0)
    assert not store.exists("audio/previews/old.mp3")
    assert all(store.exists(k) for k in ("audio/previews/kept.mp3", "audio/previews/young.mp3", "landing/other.tsv"))


def test_gc_older_than(capsys):
    store = _store_with_garbage()
    code, out, _err = run(capsys, "store", "gc", "--older-than", "0s", "--delete")
    assert code == 0 and out.startswith("2 objects, 3.5 MB unreferenced") and ": deleted; kept 0 unreferenced" in out
    assert {o.key for o in store.list("")} == {"audio/previews/kept.mp3", "landing/other.tsv"}


def test_gc_staging_older_than(capsys):
    """A DAG run's staging folder three days old is kept by the default staging grace period (7 days) and goes with
    --staging-older-than 2d."""
    store = _store_with_garbage()
    store.put_bytes("models/runs/r1/inputs.npz", b"x" * 10)
    os.utime(store.root / "models/runs/r1/inputs.npz", (OLD, OLD))
    code, out, _err = run(capsys, "store", "gc", "--delete", "--json")
    assert code == 0 and json.loads(out)["keys"] == ["audio/previews/old.mp3"]
    code, out, _err = run(capsys, "store", "gc", "--delete", "--json", "--staging-older-than", "2d")
    doc = json.loads(out)
    assert code == 0 and doc["keys"] == ["models/runs/r1/inputs.npz"] and doc["staging_older_than_s"] == 2 * 86400
    assert not store.exists("models/runs/r1/inputs.npz")


def test_gc_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        run(capsys, "store", "gc", "--older-than", "3 fortnights")
    out, err = capsys.readouterr()
    assert exit_.value.code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "'3 fortnights' is no duration: give a number and a unit" in err
    open_store().put_bytes("models/x/x-1/model.keras", b"m")
    code, out, err = run(capsys, "store", "gc", "--older-than", "0s", "--delete")
    assert code == 2 and out == "" and err.startswith("musim: error: the warehouse refers to no object")
    assert len(err.strip().splitlines()) == 1
