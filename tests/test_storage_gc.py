"""Garbage collection of the object store (musim.storage_gc), on the local folder and on S3 (moto)."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest

from musim import storage_gc, warehouse
from musim.errors import StorageError
from musim.storage import open_store
from musim.storage_gc import References, collect_garbage, delete_objects, referenced_keys
from tests.storage.conftest import moto_server, s3_env  # noqa: F401 - fixtures (S3 on moto)

NOW = dt.datetime.now(dt.UTC)
LATER = NOW + dt.timedelta(days=2)  # every object written by a test is two days old then

REFERENCED = {
    "audio/previews/aaa.mp3",                      # preview.object_key
    "audio/previews/lib.flac",                     # library_track.object_key
    "features/mel/p1/t1.d1.npy",                   # track_mel.object_key: the current value
    "features/mel/p1/t1.d0.npy",                   # feature_superseded.object_key: kept for as_of reads
    "models/siamese/siamese-1/model.keras",        # under model_registry.object_prefix
    "models/siamese/siamese-1/ann/idx.voy",
    "quality/docs/run1/index.html",                # under quality_result.docs_url's folder
    "quality/docs/run1/static/logo.png",
}
GARBAGE = {
    "audio/previews/bbb.mp3",                      # a preview no row names (a failed build's, a removed track's)
    "features/mel/p1/t1.d2.npy",                   # a recompute's bytes no row names
    "features/slices/p2/t1.d3.npy",
    "models/siamese/siamese-2/model.keras",        # a deleted model version's folder
    "quality/docs/run0/index.html",                # a quality run whose rows are gone
}
OUTSIDE = {
    "acquire/journal/b1/7.json",                   # state of its writer, outside the collected prefixes
    "library/examined/abc.json",
    "landing/lastfm/dump.tsv",                     # not musim's objects
}
STAGED = {                                         # DAG runs' staging: kept a week after the run's newest object
    "features/runs/r1/batch-00001.json",
    "models/runs/r1/inputs.npz",
}
WEEK_LATER = NOW + dt.timedelta(days=8)


def _record_rows(con) -> None:
    con.execute("INSERT INTO preview (track_id, artist_id, provider, provider_track_id, title, status, attempts, "
                "updated_at, object_key) VALUES ('p1', 1, 'local', 'a.mp3', 'a', 'downloaded', 1, now(), "
                "'audio/previews/aaa.mp3'), ('p2', 1, 'local', 'b.mp3', 'b', 'failed', 1, now(), NULL)")
    con.execute("INSERT INTO library_track (track_id, artist_id, name_key, artist_spelling, artist_rule, title, "
                "source_path, source_sha256, source_bytes, source_format, duration_s, excerpt_offset_s, "
                "excerpt_duration_s, stored, object_key, sha256, added_at, excerpt_reader) VALUES ('l1', 1, 'k', "
                "'A', 'artist', 't', '/m/a.flac', 's', 1, 'flac', 30, 0, 30, 'excerpt', 'audio/previews/lib.flac', "
                "'lib', now(), 1)")
    con.execute("INSERT INTO track_mel (kind, params_hash, track_id, sha256, audio_id, object_key, shape, dtype, "
                "min_db, max_db, bytes, run_id, created_at) VALUES ('log_mel', 'p1', 't1', 's', 'a1', "
                "'features/mel/p1/t1.d1.npy', [1, 1], 'float16', 0, 0, 1, 'r2', now())")
    con.execute("INSERT INTO feature_superseded (kind, params_hash, track_id, sha256, audio_id, object_key, run_id, "
                "created_at, superseded_at) VALUES ('log_mel', 'p1', 't1', 's', 'a1', 'features/mel/p1/t1.d0.npy', "
                "'r1', now() - INTERVAL 2 DAY, now())")
    con.execute("INSERT INTO model_registry (version, family, seq, status, params, target_metric, test_set_id, "
                "primary_metric, metrics, object_prefix, created_at, status_at) VALUES ('siamese-1', 'siamese', 1, "
                "'archived', '{}', 'pmi', 't', 'ndcg', '{}', 'models/siamese/siamese-1/', now(), now())")
    con.execute("INSERT INTO feature_build (run_id, status, extractors, tracks, items_planned, reused, computed, "
                "rejected, preview_set, started_at, heartbeat_key) VALUES ('r3', 'interrupted', '[]', 1, 1, 0, 0, 0, "
                "'p', now(), 'features/runs/r3/heartbeat.json')")
    con.execute("INSERT INTO quality_result (run_id, dataset, status, success, expectations, failed, rows_validated, "
                "sampled, failures, seconds, created_at, docs_url) VALUES ('run1', 'features', 'passed', true, 1, 0, "
                "1, false, '[]', 0.1, now(), 's3://bucket/musim/quality/docs/run1/index.html')")


@pytest.fixture
def con():
    con = warehouse.connect()
    _record_rows(con)
    yield con
    con.close()


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.server)])
def store(request):
    """The local folder store (MUSIM_HOME/objects) and S3 on moto, in turn."""
    if request.param == "local":
        return open_store()
    return open_store(request.getfixturevalue("s3_env").url)


def _gc(store, con, **kw):
    """A collection whose references are read from ``con`` (the test's open warehouse)."""
    return collect_garbage(store, references=lambda: referenced_keys(con), progress=False, **kw)


def _fill(store, keys) -> None:
    for key in sorted(keys):
        store.put_bytes(key, b"x" * 10)


def _keys(store) -> set[str]:
    return {o.key for o in store.list("")}


def test_dry_run_finds_the_unreferenced_and_deletes_nothing(store, con):
    _fill(store, REFERENCED | GARBAGE | OUTSIDE | STAGED)
    result = _gc(store, con, now=LATER)
    assert {o.key for o in result.unreferenced} == GARBAGE
    assert (result.referenced, result.referenced_bytes) == (len(REFERENCED), 10 * len(REFERENCED))
    assert result.young == len(STAGED)  # two days old: within the staging grace period
    assert result.unreferenced_bytes == 10 * len(GARBAGE) and not result.deleted
    assert _keys(store) == REFERENCED | GARBAGE | OUTSIDE | STAGED
    assert result.summary().startswith(f"{len(GARBAGE)} objects, 0.0 MB unreferenced in {store.root_url}: "
                                       "would be deleted")


def test_delete_removes_only_the_unreferenced(store, con):
    """Referenced objects, superseded feature values, model versions' and Data Docs' folders and everything outside
    the collected prefixes survive; the unreferenced old objects go."""
    _fill(store, REFERENCED | GARBAGE | OUTSIDE | STAGED)
    result = _gc(store, con, now=LATER, delete=True)
    assert result.deleted and {o.key for o in result.unreferenced} == GARBAGE
    assert _keys(store) == REFERENCED | OUTSIDE | STAGED


def test_the_staging_of_a_run_goes_once_the_staging_grace_period_is_over(store, con):
    """Before, nothing under models/runs/ or features/runs/ was ever collected: every nightly training run left its
    inputs and models there for good. A run's folder goes a week after its newest object; a heartbeat a
    feature_build row names stays."""
    heartbeat = "features/runs/r3/heartbeat.json"
    _fill(store, REFERENCED | STAGED | {heartbeat})
    result = _gc(store, con, now=WEEK_LATER, delete=True)
    assert {o.key for o in result.unreferenced} == STAGED
    assert _keys(store) == REFERENCED | {heartbeat}
    assert "or in a run's staging changed within 168 h" in result.summary()


def test_a_run_s_staging_goes_whole_or_not_at_all(con):
    """One object of a run changed within the staging grace period (a retry staging again, a build still beating)
    keeps the whole folder: its other objects are what the retry reads back."""
    store = open_store()
    keys = {"models/runs/old/inputs.npz", "models/runs/old/siamese/model.keras", "models/runs/busy/inputs.npz",
            "models/runs/busy/siamese/trained.json", "features/runs/b/batch-00001.json", "features/runs/b/heartbeat.json"}
    _fill(store, keys)
    old = time.time() - 3 * 24 * 3600
    for key in keys - {"models/runs/busy/siamese/trained.json", "features/runs/b/heartbeat.json"}:
        os.utime(store.root / key, (old, old))
    result = _gc(store, con, staging_older_than=dt.timedelta(days=2), delete=True)
    assert {o.key for o in result.unreferenced} == {"models/runs/old/inputs.npz", "models/runs/old/siamese/model.keras"}
    assert _keys(store) == keys - {o.key for o in result.unreferenced}
    assert storage_gc.staged_run("models/runs/old/siamese/model.keras") == "models/runs/old/"
    assert storage_gc.staged_run("features/runs/loose.json") == "features/runs/loose.json"
    assert storage_gc.staged_run("models/siamese/siamese-1/model.keras") is None


def test_young_unreferenced_objects_are_kept(store, con):
    """A build in flight writes its objects before its rows: within the grace period nothing goes."""
    _fill(store, REFERENCED | GARBAGE)
    result = _gc(store, con, delete=True)
    assert (result.young, result.young_bytes, result.unreferenced) == (len(GARBAGE), 10 * len(GARBAGE), [])
    assert _keys(store) == REFERENCED | GARBAGE
    assert f"kept {len(GARBAGE)} unreferenced younger than 24 h" in result.summary()


def test_only_the_unreferenced_older_than_the_grace_period_go(con):
    store = open_store()
    _fill(store, REFERENCED | GARBAGE)
    old = time.time() - 3 * 24 * 3600
    os.utime(store.root / "audio/previews/bbb.mp3", (old, old))
    os.utime(store.root / "audio/previews/aaa.mp3", (old, old))  # old and referenced: kept
    result = _gc(store, con, older_than=dt.timedelta(days=2), delete=True)
    assert [o.key for o in result.unreferenced] == ["audio/previews/bbb.mp3"]
    assert result.young == len(GARBAGE) - 1
    assert _keys(store) == REFERENCED | GARBAGE - {"audio/previews/bbb.mp3"}


def test_a_row_recorded_while_the_store_was_listed_keeps_its_object(store, con):
    _fill(store, REFERENCED | GARBAGE)
    reads = []

    def references():
        reads.append(1)
        if len(reads) == 2:  # a build records its row between the first read and the deletion
            con.execute("UPDATE preview SET object_key = 'audio/previews/bbb.mp3' WHERE track_id = 'p2'")
        return referenced_keys(con)

    result = collect_garbage(store, references=references, now=LATER, delete=True, progress=False)
    assert len(reads) == 2 and "audio/previews/bbb.mp3" not in {o.key for o in result.unreferenced}
    assert _keys(store) == REFERENCED | {"audio/previews/bbb.mp3"}


def test_an_object_touched_by_a_reuse_while_the_collection_ran_is_kept(con):
    """An acquisition that reuses an old unreferenced copy touches it before its row is written: the store is listed
    again before deleting, so the copy stays (counted young)."""
    store = open_store()
    _fill(store, REFERENCED | GARBAGE)
    old = time.time() - 3 * 24 * 3600
    for key in REFERENCED | GARBAGE:
        os.utime(store.root / key, (old, old))
    reads = []

    def references():
        reads.append(1)
        if len(reads) == 2:  # after the first listing: a reuse touches bbb.mp3
            store.touch("audio/previews/bbb.mp3")
        return referenced_keys(con)

    result = collect_garbage(store, references=references, delete=True, progress=False)
    assert "audio/previews/bbb.mp3" not in {o.key for o in result.unreferenced} and result.young == 1
    assert _keys(store) == REFERENCED | {"audio/previews/bbb.mp3"}


def test_a_warehouse_that_names_no_object_is_refused_for_deletion(store):
    """A store shared with another warehouse (a new MUSIM_HOME beside a bucket) must not lose every object."""
    _fill(store, GARBAGE)
    assert len(collect_garbage(store, now=LATER, progress=False).unreferenced) == len(GARBAGE)
    with pytest.raises(StorageError, match="refers to no object.*nothing was deleted"):
        collect_garbage(store, now=LATER, delete=True, progress=False)
    assert _keys(store) == GARBAGE


def test_a_key_gone_meanwhile_is_no_error_and_no_key_outside_is_deleted(store):
    store.put_bytes("landing/x.tsv", b"x")
    delete_objects(store, ["audio/previews/gone.mp3"])
    with pytest.raises(StorageError, match="refusing to delete 'landing/x.tsv'"):
        delete_objects(store, ["audio/previews/gone.mp3", "landing/x.tsv"])
    with pytest.raises(StorageError, match="refusing to delete 'acquire/journal/b/1.json'"):
        delete_objects(store, ["acquire/journal/b/1.json"])
    assert _keys(store) == {"landing/x.tsv"}


@pytest.mark.server
def test_s3_listing_follows_every_page(s3_env, con):  # noqa: F811
    store = open_store(s3_env.url)
    store.list_page_size = 2
    garbage = {f"audio/previews/g{i:02d}.mp3" for i in range(7)}
    _fill(store, REFERENCED | garbage)
    pages = []
    store.client.meta.events.register("before-parameter-build.s3.ListObjectsV2",
                                      lambda **kw: pages.append(dict(kw["params"])))
    deletes = []
    store.client.meta.events.register("before-parameter-build.s3.DeleteObjects",
                                      lambda **kw: deletes.append(len(kw["params"]["Delete"]["Objects"])))
    result = _gc(store, con, now=LATER, delete=True)
    assert {o.key for o in result.unreferenced} == garbage and result.referenced == len(REFERENCED)
    # 9 keys, 2 a page; listed twice: before the references are read, and again just before deleting
    assert sum(p["Prefix"] == "musim/audio/previews/" for p in pages) == 2 * 5
    assert all(p["MaxKeys"] == 2 for p in pages)
    assert _keys(store) == REFERENCED
    assert deletes == [len(garbage)]  # one DeleteObjects request for the 7 keys


def test_references_by_prefix_with_prefixes_inside_others():
    refs = References.of([("models/a/", True), ("models/a/v1/", True), ("models/b/v1/", True), ("k", False)])
    assert refs.prefixes == ("models/a/", "models/b/v1/")
    assert refs.holds("models/a/v2/x") and refs.holds("models/a/v1/x") and refs.holds("models/b/v1/y")
    assert refs.holds("k") and not refs.holds("models/b/v2/y") and not refs.holds("models/") and not refs.holds("k2")


def test_collected_prefixes_are_the_writers():
    from musim.acquire.journal import PREVIEW_PREFIX
    from musim.features.params import _PREFIX as TENSOR_PREFIXES
    from musim.features.work import MANIFEST_PREFIX
    from musim.library.add_files import OBJECT_PREFIX
    from musim.models.families.staged import STAGING_PREFIX
    from musim.models.registry import object_prefix
    from musim.quality.report import DOCS_PREFIX

    writers = {PREVIEW_PREFIX + "/", OBJECT_PREFIX + "/", *(p + "/" for p in TENSOR_PREFIXES.values()),
               object_prefix("f", "v").split("/")[0] + "/", DOCS_PREFIX + "/"}
    assert writers == set(storage_gc.COLLECTED_PREFIXES)
    assert storage_gc.STAGING_PREFIXES == (MANIFEST_PREFIX + "/", STAGING_PREFIX + "/")



def test_what_musims_writers_store_is_referenced(tmp_path):
    """The objects a real acquisition, feature build and its quality gate's Data Docs leave are all referenced by the
    rows they record (the query reads each writer's keys as it records them); a deleted model version's go."""
    from tests.pipeline_data import prepare

    prepare(tmp_path, users=60, artists=4, communities=2, clips=1)
    store = open_store()
    store.put_bytes("models/siamese/siamese-9/model.keras", b"a deleted version's")
    written = [o.key for o in store.list("") if storage_gc.is_collected(o.key)]
    result = collect_garbage(store, now=LATER, progress=False)  # the warehouse's references, read by itself
    assert [o.key for o in result.unreferenced] == ["models/siamese/siamese-9/model.keras"]
    assert {"/".join(k.split("/")[:2]) for k in written} == {"audio/previews", "features/mel", "features/slices",
                                                             "models/siamese", "quality/docs"}
    assert result.referenced == len(written) - 1
