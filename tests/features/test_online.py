"""Online lookup: published snapshots held in memory, vectors by entity id in microseconds."""

from __future__ import annotations

import numpy as np
import pytest

from musim.errors import NotFoundError
from musim.features import (
    ARTIST,
    OnlineStore,
    clear_cache,
    embedding_view,
    lookup,
    open_online,
    publish_online,
    write_vectors,
)
from musim.features import definitions as d


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


def test_published_artist_means_match_the_warehouse(built):
    path = publish_online(built.con, d.artist_descriptors_mean)
    assert path.exists()
    expected = dict(built.con.execute("""SELECT entity_id, vec FROM feature_value
                                         WHERE view_name = 'artist_descriptors_mean'""").fetchall())
    for artist_id, vec in expected.items():
        got = lookup("artist_descriptors_mean", int(artist_id))
        assert got.dtype == np.float32 and got.shape == (len(vec),)
        np.testing.assert_allclose(got, vec, rtol=1e-6)
    assert lookup("artist_descriptors_mean", 999) is None
    store = open_online("artist_descriptors_mean")
    mat, found = store.get_many([1, 999, 2])
    assert found.tolist() == [True, False, True] and np.isnan(mat[1]).all()
    with pytest.raises(ValueError):
        store.get(1)[0] = 0.0  # read-only


@pytest.mark.usefixtures("artist_con")
def test_new_snapshot_is_picked_up_and_versions_are_separate(con):
    view = embedding_view("artist_embedding", 1, entity=ARTIST, dim=2, model_version="m1", description="t")
    write_vectors(con, view, [1, 2], np.array([[1.0, 0.0], [0.0, 1.0]]))
    publish_online(con, view)
    assert lookup("artist_embedding", 1, refresh_s=0).tolist() == [1.0, 0.0]
    write_vectors(con, view, [1], np.array([[0.5, 0.5]]))
    publish_online(con, view)
    assert lookup("artist_embedding", 1, refresh_s=0).tolist() == [0.5, 0.5]
    assert lookup("artist_embedding", 2, refresh_s=0).tolist() == [0.0, 1.0]
    v2 = embedding_view("artist_embedding", 2, entity=ARTIST, dim=3, model_version="m2", description="t")
    write_vectors(con, v2, [1], np.array([[1.0, 2.0, 3.0]]))
    publish_online(con, v2)
    assert lookup("artist_embedding", 1, refresh_s=0).shape == (3,)  # latest version by default
    assert lookup("artist_embedding", 1, version=1, refresh_s=0).tolist() == [0.5, 0.5]
    with pytest.raises(NotFoundError):
        lookup("never_published", 1)


@pytest.mark.usefixtures("artist_con")
def test_lookup_returns_each_published_vector(con):
    """Many single lookups against one loaded snapshot return exactly what was written (latency: bench_feature_store)."""
    rng = np.random.default_rng(0)
    n, dim = 5000, 64
    vectors = rng.normal(size=(n, dim))
    view = embedding_view("artist_embedding", 1, entity=ARTIST, dim=dim, model_version="m", description="t")
    write_vectors(con, view, list(range(n)), vectors)
    publish_online(con, view)
    for i in rng.integers(0, n, 2000):
        np.testing.assert_allclose(lookup("artist_embedding", int(i)), vectors[i], rtol=1e-6)


def test_online_store_from_warehouse(built):
    store = OnlineStore.from_warehouse(built.con, d.track_descriptors)
    assert len(store) == 4 and "a1t1" in store and "bad" not in store
    assert store.names == tuple(f.name for f in d.track_descriptors.schema)


def test_a_snapshot_that_cannot_be_written_leaves_nothing_in_the_folder(tmp_path, monkeypatch):
    """A failed write (a full disk) left `.v1-....npz.<pid>.tmp` in the serving folder for good."""
    import errno

    store = OnlineStore("v:1", np.array(["a", "b"]), np.ones((2, 3), np.float32), ("x",), None)

    def disk_full(fh, **arrays):
        fh.write(b"PK half an archive")
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:  # only savez (undo() would drop the test's MUSIM_HOME too)
        patch.setattr(np, "savez", disk_full)
        with pytest.raises(OSError, match="No space left on device"):
            store.save(tmp_path / "v1-20261205T000000000000Z.npz")
    assert list(tmp_path.iterdir()) == []
    store.save(tmp_path / "v1-20261205T000000000000Z.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["v1-20261205T000000000000Z.npz"]


@pytest.mark.parametrize("damage", ["cut", "overwritten", "no meta"])
def test_a_damaged_snapshot_names_itself_and_how_to_publish_it_again(tmp_path, damage):
    """A snapshot cut short was "BadZipFile: File is not a zip file"; other bytes gave numpy's advice to load the
    file with pickles allowed."""
    from musim.errors import StorageError

    store = OnlineStore("v:1", np.array(["a", "b"]), np.ones((2, 3), np.float32), ("x",), None)
    folder = tmp_path / "track_siamese_embedding"
    folder.mkdir()
    path = folder / "v1-20261205T000000000000Z.npz"
    store.save(path)
    if damage == "cut":
        path.write_bytes(path.read_bytes()[:300])
    elif damage == "overwritten":
        path.write_bytes(b"\x80\x04" + bytes(500))
    else:
        np.savez(path, ids=np.array(["a"]), matrix=np.ones((1, 3), np.float32))
    why = r"\(KeyError: 'meta is not a file in the archive'\)" if damage == "no meta" else r"\(not an .npz archive\)"
    with pytest.raises(StorageError, match=rf"^the online snapshot {path} is damaged {why}: publish it again with "
                                           r"`musim models publish VERSION`"):
        OnlineStore.load(path)
    features = tmp_path / "track_descriptors" / path.name
    features.parent.mkdir()
    features.write_bytes(b"")
    with pytest.raises(StorageError, match=r"damaged \(not an .npz archive\): publish it again with `musim features "
                                           r"build`$"):
        OnlineStore.load(features)


@pytest.mark.usefixtures("artist_con")
@pytest.mark.parametrize(("pointer", "text"), [("latest", ""), ("latest", "v1"), ("v1.current", ""),
                                               ("v1.current", "../../.."), ("v1.current", "v9-20261205T000000000000Z.npz")])
def test_a_damaged_pointer_is_named_on_read_and_mended_by_the_next_publish(con, pointer, text):
    """An empty `latest` was ``ValueError: invalid literal for int()`` (the file unnamed), and `features build`
    stopped with one view published and the other not; a pointer naming a folder was ``IsADirectoryError``."""
    from musim.config import get_settings
    from musim.errors import StorageError

    view = embedding_view("artist_embedding", 1, entity=ARTIST, dim=2, model_version="m", description="t")
    write_vectors(con, view, [1], np.array([[1.0, 0.0]]))
    publish_online(con, view)
    folder = get_settings().serving_dir / "online" / "artist_embedding"
    (folder / pointer).write_text(text)
    clear_cache()
    with pytest.raises(StorageError, match=rf"^the online pointer {folder / pointer} (is damaged|names .*, which is no "
                                           r"snapshot of the folder): publish the view again with `musim features build`"):
        lookup("artist_embedding", 1)
    publish_online(con, view)  # the next publish writes both pointers from what the folder holds
    clear_cache()
    np.testing.assert_allclose(lookup("artist_embedding", 1.0), [1.0, 0.0])
    assert (folder / "latest").read_text() == "1"


@pytest.mark.usefixtures("artist_con")
def test_a_publish_keeps_the_files_named_and_a_pruning_failure_only_warns(con, caplog):
    """``commit_online`` removed every file of the version but the newest two, and a file it could not remove
    failed the publish after its pointers had moved. Files named in ``keep_files`` (what kept serving snapshots
    record) now stay, the others still go, and one that cannot be removed only warns."""
    import logging

    from musim.config import get_settings
    from musim.features.online import commit_online, stage_online

    view = embedding_view("artist_embedding", 1, entity=ARTIST, dim=2, model_version="m", description="t")
    folder = get_settings().serving_dir / "online" / "artist_embedding"
    paths = []
    for i in range(4):
        write_vectors(con, view, [1], np.array([[float(i), 1.0]]))
        paths.append(commit_online(stage_online(con, view), keep_files={paths[0].name} if paths else None))
    assert sorted(p.name for p in folder.glob("v1-*.npz")) == [paths[0].name, paths[2].name, paths[3].name]
    assert OnlineStore.load(paths[0]).get(1).tolist() == [0.0, 1.0]  # named: kept, and whole

    stuck = folder / "v1-20000101T000000000000Z.npz"  # older than all, and no file: it cannot be unlinked
    stuck.mkdir()
    (stuck / "x").write_text("x")
    caplog.set_level(logging.WARNING)
    write_vectors(con, view, [1], np.array([[9.0, 1.0]]))
    last = commit_online(stage_online(con, view))  # nothing named: the newest two stay
    assert lookup("artist_embedding", 1, refresh_s=0).tolist() == [9.0, 1.0]
    assert sorted(p.name for p in folder.glob("v1-*.npz") if p.is_file()) == [paths[3].name, last.name]
    assert [r.getMessage() for r in caplog.records if stuck.name in r.getMessage()]


@pytest.mark.parametrize("name", [None, "../online/artist_embedding", "/etc", "a__b", 5])
def test_a_name_that_is_no_view_name_is_refused_before_any_path_is_made(name):
    from musim.errors import ParameterError

    with pytest.raises(ParameterError, match="is not a feature view's name"):
        lookup(name, 1)


def test_lookups_take_ids_of_any_numeric_type_and_refuse_a_bare_string():
    from musim.errors import ParameterError

    store = OnlineStore("v:1", np.array(["1", "a1t1"]), np.eye(2, dtype=np.float32), ("x",), None)
    assert store.get(1.0) is not None and store.get(np.int64(1)) is not None and 1.0 in store
    assert store.get(None) is None and store.get("a1t1") is not None
    vectors, found = store.get_many([1, 2.0, None, "a1t1"])
    assert found.tolist() == [True, False, False, True]
    with pytest.raises(ParameterError, match="got one string '101'"):
        store.get_many("101")
    with pytest.raises(ParameterError, match="not a whole number"):
        store.get(1.5)


@pytest.mark.usefixtures("artist_con")
def test_an_artist_id_online_is_the_same_key_as_offline_and_a_version_that_is_no_number_is_refused(con):
    from musim.errors import ParameterError
    from musim.features import FeatureService, get_training_frame

    view = embedding_view("artist_embedding", 1, entity=ARTIST, dim=2, model_version="m1", description="t")
    write_vectors(con, view, [7], np.array([[1.0, 2.0]]))
    publish_online(con, view)
    offline = get_training_frame(FeatureService("s", (view,)), ["07", " 7 "], con=con)["artist_embedding__embedding"]
    assert [v.tolist() for v in offline] == [[1.0, 2.0], [1.0, 2.0]]
    # online: the same ids give the same vector (they gave None: the digits were matched as they came)
    assert lookup("artist_embedding", "07").tolist() == [1.0, 2.0]
    assert lookup("artist_embedding", " 7 ").tolist() == [1.0, 2.0]
    assert "07" in open_online("artist_embedding")
    _, found = open_online("artist_embedding").get_many(["07", 7.0, np.int64(7), 8])
    assert found.tolist() == [True, True, True, False]
    with pytest.raises(ParameterError, match="is not a whole number"):
        lookup("artist_embedding", "seven")
    # a version that is no whole number from 1 is refused as such, not "no snapshot ... run a build first"
    for bad in (True, 1.5, "abc", "", 0, -1):
        with pytest.raises(ParameterError, match=r"artist_embedding: version .* is no view version"):
            lookup("artist_embedding", 7, version=bad)
    assert lookup("artist_embedding", 7, version="1").tolist() == [1.0, 2.0]
    with pytest.raises(NotFoundError, match="no online snapshot of artist_embedding:9"):
        lookup("artist_embedding", 7, version=9)


@pytest.mark.usefixtures("artist_con")
def test_a_naive_as_of_is_utc_whatever_the_session_time_zone(con):
    """OnlineStore.from_warehouse passed a naive as_of to DuckDB as a TIMESTAMP, which a session in another time zone
    read as its local time (14 h early in Kiritimati): the value written at 12:00 UTC was missing at 12:30 UTC."""
    import datetime as dt

    view = embedding_view("artist_zone_embedding", 1, entity=ARTIST, dim=2, model_version="zone-1",
                          description="test")
    write_vectors(con, view, [1], np.ones((1, 2)), created_at=dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC))
    con.execute("SET TimeZone = 'Pacific/Kiritimati'")
    at = OnlineStore.from_warehouse(con, view, as_of=dt.datetime(2026, 1, 1, 12, 30))
    assert 1 in at
    before = OnlineStore.from_warehouse(con, view, as_of=dt.datetime(2026, 1, 1, 11, 30))
    assert 1 not in before
