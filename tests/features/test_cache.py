"""The local log-mel cache: one (N, 256, 64) float16 array + index, reused when the selection repeats."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musim.features import cache_log_mels, load_tensor


def test_cache_materialises_and_reuses(built, tmp_path):
    tracks = ["a2t1", "a1t1", "bad", "a2local", "a1t1"]
    cache = cache_log_mels(tracks, con=built.con, store=built.store, folder=tmp_path)
    assert not cache.reused
    assert cache.track_ids == ("a2t1", "a1t1", "a2local") and cache.missing == ("bad",)
    arr = cache.array()
    assert isinstance(arr, np.memmap) and arr.shape == (3, 256, 64) and arr.dtype == np.float16
    for i, key in enumerate(cache.object_keys):
        np.testing.assert_array_equal(arr[i], load_tensor(built.store, key))
    assert cache.row("a2local") == 2
    index = json.loads(cache.index_path.read_text())
    assert index["track_ids"] == list(cache.track_ids) and index["shape"] == [3, 256, 64]
    again = cache_log_mels(tracks, con=built.con, store=built.store, folder=tmp_path)
    assert again.reused and again.path == cache.path
    other = cache_log_mels(["a1t1"], con=built.con, store=built.store, folder=tmp_path)
    assert other.path != cache.path and other.array().shape == (1, 256, 64)
    empty = cache_log_mels(["bad"], con=built.con, store=built.store, folder=tmp_path)
    assert empty.array().shape == (0, 256, 64)


def test_a_killed_writers_temp_file_is_removed_by_the_next_and_a_live_ones_kept(built, tmp_path):
    from musim.features.cache import TMP_PREFIX
    from tests.scratch_owner import kill, scratch_owner

    cache = cache_log_mels(["a1t1"], con=built.con, store=built.store, folder=tmp_path)
    folder = cache.path.parent
    with scratch_owner(folder, TMP_PREFIX) as (live, live_tmp), scratch_owner(folder, TMP_PREFIX) as (dead, dead_tmp):
        kill(dead)  # a writer killed half-way through its (large) temp file
        cache_log_mels(["a2t1", "a1t1"], con=built.con, store=built.store, folder=tmp_path)
        assert live_tmp.exists() and not dead_tmp.exists()
        assert sorted(p.name for p in folder.iterdir() if p.name.startswith(TMP_PREFIX)) == \
            sorted([live_tmp.name, live_tmp.name + ".lock"])


def test_an_empty_or_cut_array_object_is_named(tmp_path):
    """An empty object was a bare EOFError ("No data left in file")."""
    import io

    from musim.errors import StorageError
    from musim.storage import open_store

    store = open_store(f"file://{tmp_path}")
    buf = io.BytesIO()
    np.save(buf, np.ones((10, 10), np.float16))
    store.put_bytes("features/empty.npy", b"")
    store.put_bytes("features/cut.npy", buf.getvalue()[:150])
    for key in ("features/empty.npy", "features/cut.npy"):
        with pytest.raises(StorageError, match=rf"^{store.url(key)} is not a valid .npy array: "):
            load_tensor(store, key)


def test_a_cut_cache_file_is_built_again_not_reused(built, tmp_path):
    """A cache file cut in half was reused (only its existence was checked), then ``mmap length is greater than
    file size`` at the first read."""
    cache = cache_log_mels(["a1t1", "a2t1"], con=built.con, store=built.store, folder=tmp_path)
    whole = cache.path.read_bytes()
    cache.path.write_bytes(whole[:len(whole) // 2])
    again = cache_log_mels(["a1t1", "a2t1"], con=built.con, store=built.store, folder=tmp_path)
    assert not again.reused and cache.path.read_bytes() == whole
    np.testing.assert_array_equal(again.array()[0], load_tensor(built.store, cache.object_keys[0]))


def test_track_ids_are_a_list_of_strings(built, tmp_path):
    from musim.errors import ParameterError

    with pytest.raises(ParameterError, match="got one string 'a1t1'"):
        cache_log_mels("a1t1", con=built.con, store=built.store, folder=tmp_path)
    with pytest.raises(ParameterError, match="track ids are strings"):
        cache_log_mels([7], con=built.con, store=built.store, folder=tmp_path)


def test_values_made_again_under_the_same_key_are_cached_anew(catalogue, con, store, tmp_path):
    """An object written again under the same key with the same shape (as `--recompute` did before keys named their
    bytes: other audio under the same audio id); the cache keyed on the object keys alone was reused: the old
    log-mel. The file of the old values is removed, not left beside the new one."""
    from musim.features import BuildOptions, build
    from musim.features import definitions as d

    catalogue.add_clip("t1", 1, community=0)
    catalogue.add_clip("t2", 2, community=3)
    options = BuildOptions(workers=1, progress=False)
    build([d.track_log_mel], con=con, store=store, publish=False, options=options)
    first = cache_log_mels(["t1", "t2"], con=con, store=store, folder=tmp_path)
    other = cache_log_mels(["t2"], con=con, store=store, folder=tmp_path)
    old = np.array(first.array())
    store.put_bytes(first.object_keys[0], store.get_bytes(first.object_keys[1]))
    again = cache_log_mels(["t1", "t2"], con=con, store=store, folder=tmp_path)
    assert again.object_keys == first.object_keys and not again.reused and again.path != first.path
    new = again.array()
    np.testing.assert_array_equal(new[0], load_tensor(store, again.object_keys[0]))
    assert not np.array_equal(new[0], old[0])
    np.testing.assert_array_equal(new[1], old[1])
    # the file of the values written over is removed (each rewrite left a whole array behind); another selection stays
    assert not first.path.exists() and not first.index_path.exists()
    assert cache_log_mels(["t2"], con=con, store=store, folder=tmp_path).reused and other.path.exists()


def test_the_view_can_be_named(built, tmp_path):
    """A view given by name (as materialise() and write_vectors() take it) was an AttributeError: 'str' object has no
    attribute 'kind'."""
    from musim.errors import ParameterError

    named = cache_log_mels(["a1t1"], con=built.con, store=built.store, folder=tmp_path, view="track_log_mel:1")
    assert named.reused is False and named.array().shape == (1, 256, 64)
    with pytest.raises(ParameterError, match="^view must be a FeatureView or a registered view's name, got int$"):
        cache_log_mels(["a1t1"], con=built.con, store=built.store, folder=tmp_path, view=7)
    with pytest.raises(ParameterError, match="track_descriptors:4 is not a fixed-shape tensor view"):
        cache_log_mels(["a1t1"], con=built.con, store=built.store, folder=tmp_path, view="track_descriptors")
