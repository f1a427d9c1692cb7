"""A training set pinned at a moment judges rejections as they stood then (sql/quality/training_entities.sql).

The training set of a feature service (what the ``training_sets`` quality suite builds) is the catalogue's tracks at
the service's ``as_of`` that extraction had not rejected, with their features as of then. A later
``musim features build --recompute`` that rejects a track, or accepts one that was rejected, must not change it;
reads that are not pinned follow the current state.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from musim import sql
from musim.features import BuildOptions, FeatureService, build, get_training_frame, register_service
from musim.features import definitions as d
from musim.features.online import OnlineStore
from musim.features.registry import get_service
from tests.features.helpers import silent_bytes

VIEWS = [d.track_descriptors, d.track_log_mel]
DESC = [f"track_descriptors__{f.name}" for f in d.track_descriptors.schema]
MEL = "track_log_mel__log_mel"


def _build(con, store, recompute=()):
    return build(VIEWS, con=con, store=store, publish=False, options=BuildOptions(workers=1, progress=False),
                 recompute=recompute)


def _entities(con, as_of):
    return sql.query(con, "quality/training_entities.sql", as_of=as_of).df()


def _training_set(con, name):
    """The service's training set as the training_sets suite reads it: its entities at its as_of, then the frame."""
    service = get_service(con, name)
    frame = get_training_frame(service, _entities(con, service.as_of), con=con)
    return list(frame["track_id"]), frame[DESC].to_numpy(dtype=float), list(frame[MEL])


def _online(con, as_of):
    store = OnlineStore.from_warehouse(con, d.track_descriptors, as_of=as_of)
    return sorted(store.index), {k: store.get(k).copy() for k in store.index}


def _pin(con, name):
    """A service pinned to now (a moment strictly after every row made so far and before every later one)."""
    at = dt.datetime.now(dt.UTC)
    register_service(con, FeatureService(name, tuple(VIEWS), as_of=at))
    return at


def _silence(con, store, track):
    """The track's preview object now decodes as silence; its audio id (sha256) is kept, so the recompute of the
    track replaces its rows of that audio."""
    info = store.put_content_addressed(silent_bytes(), prefix="audio/previews", ext="wav")
    old = con.execute("SELECT object_key FROM track WHERE track_id = ?", [track]).fetchone()[0]
    con.execute("UPDATE track SET object_key = ? WHERE track_id = ?", [info.key, track])
    return old


def _assert_same(before, after):
    ids, desc, mel = before
    assert after[0] == ids and after[2] == mel
    np.testing.assert_array_equal(after[1], desc)


def _assert_same_online(before, after):
    assert after[0] == before[0]
    for k in before[0]:
        np.testing.assert_array_equal(after[1][k], before[1][k])


def test_a_track_rejected_after_the_pin_stays_in_the_pinned_training_set(catalogue, con, store):
    """t1 extracted, then pinned; a recompute rejects t1's audio (now silent) and t3, in the catalogue at the pin but
    extracted only after it, is rejected by its first extraction: the set pinned before still has both (t1 with its
    values, t3 as the gap it was), while the current set has neither."""
    catalogue.add_clip("t1", 1, community=2)
    catalogue.add_clip("t2", 2, community=3)
    _build(con, store)
    catalogue.add("t3", 3, silent_bytes(), duration_s=6.0)  # in the catalogue at the pin, never extracted before it
    _pin(con, "pinned")
    before, online = _training_set(con, "pinned"), _online(con, get_service(con, "pinned").as_of)
    assert before[0] == ["t1", "t2", "t3"]
    assert not np.isnan(before[1][:2]).any() and np.isnan(before[1][2]).all() and before[2][2] is None

    _silence(con, store, "t1")
    result = _build(con, store, recompute=["t1"])
    assert result.rejects_by_reason == {"silent": 4}  # t1 and t3, descriptors and log-mel

    _assert_same(before, _training_set(con, "pinned"))
    _assert_same_online(online, _online(con, get_service(con, "pinned").as_of))
    register_service(con, FeatureService("current", tuple(VIEWS)))  # not pinned: the state of now
    assert _training_set(con, "current")[0] == ["t2"]
    assert list(_entities(con, None)["track_id"]) == ["t2"]
    assert _online(con, None)[0] == ["t2"]


def test_a_track_rejected_at_the_pin_and_accepted_later_stays_out_of_the_pinned_training_set(catalogue, con, store):
    """t1's preview decoded as silence when extracted (rejected), then pinned; the preview is fixed and a recompute
    accepts t1: the set pinned before still leaves t1 out, the current set has it."""
    catalogue.add_clip("t1", 1, community=2)
    catalogue.add_clip("t2", 2, community=3)
    good = _silence(con, store, "t1")
    assert _build(con, store).rejects_by_reason == {"silent": 2}
    at = _pin(con, "pinned")
    before, online = _training_set(con, "pinned"), _online(con, at)
    assert before[0] == ["t2"] and online[0] == ["t2"]

    con.execute("UPDATE track SET object_key = ? WHERE track_id = 't1'", [good])
    result = _build(con, store, recompute=["t1"])
    assert result.computed == 2 and not result.rejects_by_reason
    assert con.execute("SELECT count(*) FROM feature_reject").fetchone()[0] == 0  # the rejections are history now

    _assert_same(before, _training_set(con, "pinned"))
    _assert_same_online(online, _online(con, at))
    register_service(con, FeatureService("current", tuple(VIEWS)))
    ids, desc, mel = _training_set(con, "current")
    assert ids == ["t1", "t2"] and not np.isnan(desc).any() and all(mel)
    assert _online(con, None)[0] == ["t1", "t2"]


def test_a_pin_between_a_rejection_and_the_value_that_cleared_it_reads_the_rejection(catalogue, con, store):
    """Rejected, then accepted, then rejected again: each moment's set judges t1 by the rejection current then."""
    catalogue.add_clip("t1", 1, community=2)
    good = _silence(con, store, "t1")
    _build(con, store)
    rejected = dt.datetime.now(dt.UTC)
    con.execute("UPDATE track SET object_key = ? WHERE track_id = 't1'", [good])
    _build(con, store, recompute=["t1"])
    accepted = dt.datetime.now(dt.UTC)
    _silence(con, store, "t1")
    _build(con, store, recompute=["t1"])
    assert [list(_entities(con, t)["track_id"]) for t in (rejected, accepted, None)] == [[], ["t1"], []]
