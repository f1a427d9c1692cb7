"""A training set pinned at a moment judges rejections as they stood then (sql/quality/training_entities.sql).

The training set of a feature service (what the ``training_sets`` quality suite builds) is the catalogue's tracks at
the service's ``as_of`` that extraction had not rejected, with their features as of then. A later
``musim features build --recompute`` that rejects a track, or accepts one that was rejected, must not change it;
reads that are not pinned follow the current state.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

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


def _same_audio_silent(catalogue, con, track, artist, like):
    """``track``: a preview that decodes as silence (12 s: too long to be too short) under the audio id of ``like``
    (the same sha256): a build copies its rejection onto ``like`` as identical audio's."""
    catalogue.add(track, artist, silent_bytes(12.0), duration_s=12.0)
    con.execute("UPDATE track SET sha256 = (SELECT sha256 FROM track WHERE track_id = ?) WHERE track_id = ?",
                [like, track])


def _build_min(con, store, min_duration_s, recompute=()):
    return build([d.track_descriptors], con=con, store=store, publish=False, recompute=recompute,
                 options=BuildOptions(workers=1, progress=False, min_duration_s=min_duration_s))


def test_a_rejection_copied_onto_a_track_already_rejected_keeps_its_moment(catalogue, con, store):
    """x (6 s) is rejected too short under --min-duration 10, then pinned; y, the same audio id, is rejected silent by
    its recompute; a build under --min-duration 5 examines x again and copies y's final rejection onto it. x was
    rejected all along: the set pinned before still leaves it out (the copy re-stamped x's rejection with its own
    moment, so the pinned set took x in)."""
    catalogue.add_clip("x", 1, community=2)
    catalogue.add_clip("t2", 2, community=3, duration=12.0)
    assert _build_min(con, store, 10.0).rejects_by_reason == {"too_short": 1}
    at = _pin(con, "pinned")
    assert list(_entities(con, at)["track_id"]) == ["t2"]
    _same_audio_silent(catalogue, con, "y", 3, "x")
    assert _build_min(con, store, 10.0, recompute=["y"]).rejects_by_reason == {"silent": 1}
    _build_min(con, store, 5.0)
    assert con.execute("SELECT reason FROM feature_reject WHERE track_id = 'x'").fetchall() == [("silent",)]
    assert list(_entities(con, at)["track_id"]) == ["t2"]
    assert list(_entities(con, None)["track_id"]) == ["t2"]


def test_a_rejection_copied_onto_a_track_whose_other_audio_had_a_value_since_ends_that_value(catalogue, con, store):
    """x's audio A was rejected too short (under --min-duration 10), then x had audio B (accepted), then A again; y, of
    audio A, is rejected silent; the next build copies y's rejection onto x: it is of now (keeping A's first moment,
    older than B's value, would serve B's values for a track whose audio is A), and the old one holds for its moments."""
    catalogue.add_clip("x", 1, community=2)
    a = con.execute("SELECT object_key, sha256 FROM track WHERE track_id = 'x'").fetchone()
    assert _build_min(con, store, 10.0).rejects_by_reason == {"too_short": 1}
    rejected = dt.datetime.now(dt.UTC)
    b = store.put_content_addressed(_long_clip(), prefix="audio/previews", ext="wav")
    con.execute("UPDATE track SET object_key = ?, sha256 = ?, duration_s = 12.0, excerpt_duration_s = 12.0 "
                "WHERE track_id = 'x'", [b.key, b.sha256])
    assert _build_min(con, store, 10.0).computed == 1
    with_b = dt.datetime.now(dt.UTC)
    con.execute("UPDATE track SET object_key = ?, sha256 = ?, duration_s = 6.0, excerpt_duration_s = 6.0 "
                "WHERE track_id = 'x'", list(a))
    _same_audio_silent(catalogue, con, "y", 3, "x")
    # y rejected; x, back on A whose rejection is final under 10 s, has that rejection as of this build (plan.sql)
    assert _build_min(con, store, 10.0, recompute=["y"]).rejects_by_reason == {"silent": 1, "too_short": 1}
    _build_min(con, store, 5.0)

    def desc(when):
        frame = get_training_frame(FeatureService("d", (d.track_descriptors,)), ["x"], when, con=con)
        return frame[DESC].to_numpy(dtype=float)[0]

    assert np.isnan(desc(None)).all()
    assert not np.isnan(desc(with_b)).any()
    assert np.isnan(desc(rejected)).all()
    # with B's value current x is in (its readers serve B; A's rejection is not of the audio it had then)
    assert [list(_entities(con, t)["track_id"]) for t in (rejected, with_b, None)] == [[], ["x"], []]


def _new_audio(con, store, track, data, duration_s):
    """The track has new audio (a library re-add, a new preview): its object, sha256 and duration; its old audio's
    rows stay (they are that audio's)."""
    info = store.put_content_addressed(data, prefix="audio/previews", ext="wav")
    con.execute("UPDATE track SET object_key = ?, sha256 = ?, duration_s = ?, excerpt_duration_s = ? "
                "WHERE track_id = ?", [info.key, info.sha256, duration_s, duration_s, track])


@pytest.mark.parametrize(("bad", "reason"), [(lambda: _clip_bytes(2.0), "too_short"),
                                             (silent_bytes, "silent")], ids=["too_short", "silent"])
def test_a_track_rejected_for_its_old_audio_is_in_once_its_new_audio_is_accepted(catalogue, con, store, bad, reason):
    """t1's audio A is rejected (too short, or silent), then pinned; t1 gets audio B (good), which the next build
    accepts. A's rejections stay in feature_reject (they are A's verdict) but every reader serves B's values: the
    current set has t1 with them, the set pinned between the two still leaves t1 out."""
    catalogue.add("t1", 1, bad(), duration_s=2.0 if reason == "too_short" else 6.0)
    catalogue.add_clip("t2", 2, community=3)
    assert _build(con, store).rejects_by_reason == {reason: 2}
    at = _pin(con, "pinned")
    before = _training_set(con, "pinned")
    assert before[0] == ["t2"]

    _new_audio(con, store, "t1", _clip_bytes(6.0), 6.0)
    result = _build(con, store)
    assert result.computed == 2 and not result.rejects_by_reason
    assert con.execute("SELECT count(*) FROM feature_reject WHERE track_id = 't1'").fetchone()[0] == 2

    assert list(_entities(con, None)["track_id"]) == ["t1", "t2"]
    register_service(con, FeatureService("current", tuple(VIEWS)))
    ids, desc, mel = _training_set(con, "current")
    assert ids == ["t1", "t2"] and not np.isnan(desc).any() and all(mel)
    assert _online(con, None)[0] == ["t1", "t2"]
    assert list(_entities(con, at)["track_id"]) == ["t2"]
    _assert_same(before, _training_set(con, "pinned"))


def _long_clip():
    return _clip_bytes(12.0)


def _clip_bytes(duration):
    from tests.features.helpers import clip, encode

    return encode(clip(4, 1004, 2, duration))


def test_a_track_back_on_its_rejected_audio_is_out_from_the_build_that_sees_it(catalogue, con, store):
    """x's audio A is rejected (silent), x gets audio B (accepted), then A again: A's rejection is final, so the build
    examines nothing, and that rejection, older than B's value, left B's values served and x in the training sets for
    a track whose audio is A. The build makes it x's verdict of now: the current set and reads leave x out, a set
    pinned while B's value was current keeps x with it, one pinned at A's first rejection leaves it out."""
    catalogue.add("x", 1, silent_bytes(), duration_s=6.0)
    catalogue.add_clip("t2", 2, community=3)
    a = con.execute("SELECT object_key, sha256 FROM track WHERE track_id = 'x'").fetchone()
    assert _build(con, store).rejects_by_reason == {"silent": 2}
    _pin(con, "rejected")
    _new_audio(con, store, "x", _clip_bytes(6.0), 6.0)
    assert _build(con, store).computed == 2
    _pin(con, "with-b")
    with_b = _training_set(con, "with-b")
    assert with_b[0] == ["t2", "x"] and not np.isnan(with_b[1]).any() and all(with_b[2])

    con.execute("UPDATE track SET object_key = ?, sha256 = ? WHERE track_id = 'x'", list(a))
    result = _build(con, store)
    assert result.planned == 0 and result.computed == 0  # A is not decoded again

    assert list(_entities(con, None)["track_id"]) == ["t2"]
    frame = get_training_frame(FeatureService("d", tuple(VIEWS)), ["x"], None, con=con)
    assert np.isnan(frame[DESC].to_numpy(dtype=float)).all() and frame[MEL][0] is None
    assert _online(con, None)[0] == ["t2"]
    _assert_same(with_b, _training_set(con, "with-b"))
    assert _training_set(con, "rejected")[0] == ["t2"]
    assert con.execute("SELECT count(*) FROM feature_superseded WHERE track_id = 'x' AND object_key IS NULL "
                       "AND vec IS NULL").fetchone()[0] == 2  # A's first rejections, for their moments
    assert result.rejects_by_reason == {"silent": 2}  # the build's verdicts: x's rejections are of it now
