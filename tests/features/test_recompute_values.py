"""`musim features build --recompute` judges a log-mel changed by its bytes, and never writes over the object a row
(and a training set pinned before) points at.

A log-mel is normalised: every one of a parameter set has the same shape, dB range (-80..0) and size. A recompute
that compared those (and the object key, which named only the audio and parameters) found other values of the same
audio id "unchanged": it wrote them over the old object, the row kept its build and moment, and a training set pinned
before read the new values.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from musim.features import (
    BuildOptions,
    FeatureService,
    build,
    cache_log_mels,
    get_training_frame,
    load_tensor,
)
from musim.features import definitions as d
from tests.features.helpers import clip, encode

MEL = "track_log_mel__log_mel"
SERVICE = FeatureService("recompute-values", (d.track_log_mel,))


def _build(con, store, recompute=()):
    return build([d.track_log_mel], con=con, store=store, publish=False,
                 options=BuildOptions(workers=1, progress=False), recompute=list(recompute))


def _keys(con, when):
    return list(get_training_frame(SERVICE, ["t1", "t2"], when, con=con)[MEL])


def _row(con, track="t1"):
    return con.execute("SELECT object_key, run_id, created_at FROM track_mel WHERE track_id = ?", [track]).fetchone()


def _other_audio_same_id(con, store, track="t1"):
    """The track's preview now holds other audio of the same length under the same audio id (the sha256 it was
    recorded with): what a library file replaced in place gives the next recompute."""
    info = store.put_content_addressed(encode(clip(5, 1777, 2)), prefix="audio/previews", ext="wav")
    con.execute("UPDATE track SET object_key = ? WHERE track_id = ?", [info.key, track])


def _built(catalogue, con, store):
    catalogue.add_clip("t1", 1, community=0)
    catalogue.add_clip("t2", 2, community=3)
    _build(con, store)
    return dt.datetime.now(dt.UTC)


def test_a_recompute_giving_other_values_of_the_same_shape_is_a_new_row_and_a_pinned_set_reads_the_old(
        catalogue, con, store, tmp_path):
    pinned = _built(catalogue, con, store)
    old_key, old_run, old_at = _row(con)
    old = load_tensor(store, old_key)
    assert _keys(con, pinned)[0] == old_key
    _other_audio_same_id(con, store)
    result = _build(con, store, recompute=["t1"])
    new_key, new_run, new_at = _row(con)
    new = load_tensor(store, new_key)
    assert new.shape == old.shape and (new.min(), new.max()) == (old.min(), old.max())  # what was compared before
    assert not np.array_equal(new, old)
    # a new row: the recompute's build and moment; the old row is history for the moments it was current
    assert (result.computed, result.unchanged) == (1, 0)
    assert new_key != old_key and new_run == result.run_id != old_run and new_at > old_at
    assert con.execute("SELECT object_key, run_id FROM feature_superseded WHERE track_id = 't1'").fetchall() == [
        (old_key, old_run)]
    # the set pinned before reads the old values, its bytes untouched; the latest reads and the cache the new ones
    assert _keys(con, pinned)[0] == old_key
    np.testing.assert_array_equal(load_tensor(store, old_key), old)
    latest = _keys(con, None)
    assert latest[0] == new_key and latest[1] == _row(con, "t2")[0]
    np.testing.assert_array_equal(cache_log_mels(["t1"], con=con, store=store, folder=tmp_path).array()[0], new)


def test_a_recompute_giving_the_same_values_writes_no_row(catalogue, con, store):
    _built(catalogue, con, store)
    before = con.execute("SELECT * FROM track_mel ORDER BY track_id").fetchall()
    result = _build(con, store, recompute=["t1"])
    assert (result.computed, result.unchanged) == (0, 1)
    assert con.execute("SELECT * FROM track_mel ORDER BY track_id").fetchall() == before
    assert con.execute("SELECT count(*) FROM feature_superseded").fetchone()[0] == 0


def _as_made_before_keys_named_bytes(con, store, track="t1"):
    """The track's row as builds made it before keys held the digest: its object at ``<audio_id>.npy``."""
    key, params_hash, audio_id = con.execute("SELECT object_key, params_hash, audio_id FROM track_mel "
                                             "WHERE track_id = ?", [track]).fetchone()
    legacy = f"features/mel/{params_hash}/{audio_id}.npy"
    if key != legacy:
        store.put_bytes(legacy, store.get_bytes(key))
        store.delete(key)
    con.execute("UPDATE track_mel SET object_key = ? WHERE track_id = ?", [legacy, track])
    return legacy


def test_a_row_made_before_keys_named_bytes_is_compared_by_its_bytes(catalogue, con, store):
    """An old row's key names no digest: equal bytes keep the row as it was (its key, build and moment), other bytes
    are a new row under a key of their own, the old object untouched."""
    pinned = _built(catalogue, con, store)
    legacy = _as_made_before_keys_named_bytes(con, store)
    old = load_tensor(store, legacy)
    before = _row(con)
    result = _build(con, store, recompute=["t1"])
    assert (result.computed, result.unchanged) == (0, 1) and _row(con) == before
    _other_audio_same_id(con, store)
    result = _build(con, store, recompute=["t1"])
    assert result.computed == 1 and _row(con)[0] != legacy and _row(con)[1] == result.run_id
    assert _keys(con, pinned)[0] == legacy
    np.testing.assert_array_equal(load_tensor(store, legacy), old)
    assert not np.array_equal(load_tensor(store, _row(con)[0]), old)


def test_the_dag_s_recompute_of_other_values_is_a_new_row_too(catalogue, con, store):
    """plan -> compute_batch -> record_batches with the `recompute` param, as the audio_features DAG runs them."""
    from musim.features.extract import extractors_for, plan_build
    from musim.features.staged import compute_batch, record_batches

    pinned = _built(catalogue, con, store)
    old_key, old_run, _ = _row(con)
    old = load_tensor(store, old_key)
    _other_audio_same_id(con, store)
    plan = plan_build(con, extractors_for([d.track_log_mel]), run_id="dag-recompute", recompute=["t1"])
    manifests = [compute_batch(b, store=store, workers=1)["manifest"] for b in plan.batches(4)]
    result = record_batches("dag-recompute", manifests, con=con, store=store, views=[d.track_log_mel],
                            publish=False, replace=True)
    assert (result.computed, result.unchanged) == (1, 0)
    new_key, new_run, _ = _row(con)
    assert new_key != old_key and new_run == "dag-recompute"
    assert _keys(con, pinned)[0] == old_key
    np.testing.assert_array_equal(load_tensor(store, old_key), old)
    assert not np.array_equal(load_tensor(store, new_key), old)
