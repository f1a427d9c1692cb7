"""The feature build's process pool (the one pool of the audio path) gives what one process gives."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np

from musim.features import BuildOptions, build, load_tensor
from musim.features.extract import extractors_for, plan_build, select_views
from musim.features.pool import compute
from tests.features.helpers import clip, encode


def _run(items, extractors, store, workers: int) -> dict[str, tuple]:
    """audio id -> (rejection, {extractor hash: array}) computed with ``workers`` processes."""
    out = {}
    for r in compute(items, extractors, store=store, options=BuildOptions(workers=workers, progress=False)):
        arrays = {h: load_tensor(store, o["object_key"]) for h, o in r.outputs.items()}
        out[r.item.audio_id] = (r.reject, arrays)
    return out


def test_two_workers_compute_what_one_process_computes(catalogue, con, store):
    for i in range(5):
        catalogue.add_clip(f"t{i}", 1 + i % 2, community=i, fmt="mp3" if i % 2 else "wav")
    catalogue.add("junk", 2, b"not audio at all" * 50, fmt="mp3", duration_s=6.0)
    extractors = extractors_for(select_views(["track_log_mel", "track_slices"]))
    items = plan_build(con, extractors).items
    assert len(items) == 6

    one, two = _run(items, extractors, store, 1), _run(items, extractors, store, 2)
    assert sorted(one) == sorted(two) == sorted(i.audio_id for i in items)
    assert sorted(r[0][0] for r in two.values() if r[0]) == ["not_audio"]
    for audio_id, (reject, arrays) in one.items():
        assert (two[audio_id][0] or [None])[0] == (reject or [None])[0]  # the reason (details name the bytes)
        assert arrays.keys() == two[audio_id][1].keys()
        for h, a in arrays.items():
            np.testing.assert_array_equal(a, two[audio_id][1][h])

    result = build(["track_log_mel"], con=con, store=store, options=BuildOptions(workers=2, progress=False),
                   publish=False)
    assert (result.computed, result.rejects_by_reason) == (5, {"not_audio": 1})


def _dies_on_some_files(real, flaky_mark):
    """``_extract`` as it is, but its process dies (SIGKILL: what a decoder's crash or the out-of-memory killer does)
    on audio whose bytes end with b"POISON", and on those ending with b"FLAKY" the first time only."""

    def extract(data, key, *args):
        raw = data if isinstance(data, bytes) else Path(data).read_bytes()  # the worker reads a stored file itself
        if raw.endswith(b"POISON") or (raw.endswith(b"FLAKY") and not flaky_mark.exists()):
            flaky_mark.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return real(data, key, *args)

    return extract


def test_a_worker_that_dies_costs_only_its_file(catalogue, con, store, tmp_path, monkeypatch):
    # A dead worker broke the whole pool: the build stopped on "BrokenProcessPool" and every rerun met the same file
    # again. Now the items in flight are computed again one by one in a process of their own: the file that kills
    # that one too is rejected with a reason, the others (and the rest of the build) are computed.
    from musim.features import pool

    for i in range(4):
        catalogue.add_clip(f"t{i}", 1, community=i)
    wav = encode(clip(5, 1009, 1))
    catalogue.add("poison", 2, wav + b"POISON", duration_s=6.0)
    catalogue.add("flaky", 2, wav + b"FLAKY", duration_s=6.0)
    monkeypatch.setattr(pool, "_extract", _dies_on_some_files(pool._extract, tmp_path / "flaky-died"))
    extractors = extractors_for(select_views(["track_log_mel"]))
    items = plan_build(con, extractors).items
    got = {r.item.track_ids[0]: r for r in compute(items, extractors, store=store,
                                                   options=BuildOptions(workers=2, batch_size=2, progress=False))}
    assert sorted(got) == ["flaky", "poison", "t0", "t1", "t2", "t3"]
    assert got["poison"].reject == pool.WORKER_DIED and got["poison"].reject[0] == "undecodable"
    assert (tmp_path / "flaky-died").exists() and got["flaky"].reject is None
    for track in ("flaky", "t0", "t1", "t2", "t3"):
        (h,) = got[track].outputs
        assert load_tensor(store, got[track].outputs[h]["object_key"]).shape == (256, 64)

    result = build(["track_log_mel"], con=con, store=store, options=BuildOptions(workers=2, progress=False),
                   publish=False)
    assert (result.computed, result.rejects_by_reason) == (5, {"undecodable": 1})


def _arrays(items, extractors, store, workers=1) -> dict[str, tuple]:
    """audio id -> (rejection reason, {extractor hash: array as lists})."""
    return {a: (rej and rej[0], {h: arr.tolist() for h, arr in arrays.items()})
            for a, (rej, arrays) in _run(items, extractors, store, workers).items()}


def test_the_worker_reads_the_window_itself_and_computes_the_same(catalogue, con, store, tmp_path, monkeypatch):
    # The audio was read whole in this process (store.get_bytes) and sent to the workers as bytes. Now a local
    # store's file goes by its path and another store's large object through a scratch file under MUSIM_TMP (removed
    # after): the features are the same as from the bytes, for every way.
    from musim.features import pool

    for i, fmt in enumerate(["wav", "mp3", "wav"]):
        catalogue.add_clip(f"t{i}", 1 + i % 2, community=i, fmt=fmt)
    catalogue.add("junk", 2, b"not audio at all" * 50, fmt="mp3", duration_s=6.0)
    extractors = extractors_for(select_views(["track_log_mel", "track_slices"]))
    items = plan_build(con, extractors).items
    by_path = _arrays(items, extractors, store)
    monkeypatch.setattr(pool, "LocalStore", type("NotLocal", (), {}))  # as a store without local files
    as_bytes = _arrays(items, extractors, store)
    scratch = tmp_path / "scratch"
    monkeypatch.setenv("MUSIM_TMP", str(scratch))
    monkeypatch.setattr(pool, "SMALL_OBJECT_BYTES", 100)  # every object through a scratch copy
    copied = _arrays(items, extractors, store)
    assert by_path == as_bytes == copied
    assert sorted(rej for rej, _ in by_path.values() if rej) == ["not_audio"]
    assert scratch.is_dir() and not list(scratch.iterdir())  # made, and every copy removed


def test_a_long_stored_file_is_not_read_whole(catalogue, con, store, monkeypatch):
    # A whole local file stored by the local-folder provider (hours of WAV) was read whole into memory for each item
    # (store.get_bytes), up to 4 x workers of them at once, though only its excerpt window is decoded.
    import tracemalloc

    long = encode(np.tile(clip(3, 1003, 1, duration=10.0), 60))  # 10 minutes: 26 MB of WAV
    key = catalogue.add("long", 1, long, duration_s=600.0, offset_s=300.0, excerpt_s=6.0)
    extractors = extractors_for(select_views(["track_log_mel"]))
    items = plan_build(con, extractors).items
    read_whole = []
    real = store.get_bytes
    monkeypatch.setattr(store, "get_bytes", lambda k: read_whole.append(k) or real(k))
    tracemalloc.start()
    try:
        (result,) = compute(items, extractors, store=store, options=BuildOptions(workers=1, progress=False))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.reject is None and key not in read_whole
    assert peak < len(long) / 4, f"{peak:,} bytes held for a {len(long):,} byte file"


def _descriptor_vectors(items, extractors, store, workers: int) -> dict[str, np.ndarray]:
    out = {}
    for r in compute(items, extractors, store=store, options=BuildOptions(workers=workers, progress=False)):
        ((_, o),) = r.outputs.items()
        out[r.item.audio_id] = np.asarray(o["vec"], dtype=np.float32)
    return out


def test_descriptors_are_bit_identical_across_worker_counts(catalogue, con, store):
    # `--workers 1` computed in this process with every BLAS thread it had, the pool's workers with one: a matrix
    # product summed by several threads in another order (musicnn's layers, the timbre model) gave descriptors
    # that differed in their last bits from one worker count to another. Now this process computes under the
    # workers' limit, whatever its own BLAS threads.
    from threadpoolctl import threadpool_limits

    for i in range(2):
        catalogue.add_clip(f"t{i}", 1 + i, community=i, fmt="mp3" if i else "wav")
    extractors = extractors_for(select_views(["track_descriptors"]))
    items = plan_build(con, extractors).items
    with threadpool_limits(limits=4, user_api="blas"):  # a parent with several BLAS threads (a multi-core host)
        one = _descriptor_vectors(items, extractors, store, 1)
    two = _descriptor_vectors(items, extractors, store, 2)
    assert sorted(one) == sorted(two) and len(one) == 2
    for audio_id, vec in one.items():
        assert np.isfinite(vec).all()
        np.testing.assert_array_equal(vec, two[audio_id])
