"""Point-in-time training frames: never a value created after as_of; services pin views and versions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from musim.errors import ParameterError
from musim.features import (
    ARTIST,
    FeatureService,
    embedding_view,
    get_training_frame,
    register_service,
    write_vectors,
)
from musim.features import definitions as d

T1 = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)
T2 = dt.datetime(2026, 2, 10, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def _emb(version: int, model: str):
    return embedding_view("artist_embedding", version, entity=ARTIST, dim=3, model_version=model,
                          description="test embedding")


def _col(frame):
    return [None if v is None else v.tolist() for v in frame["artist_embedding__embedding"]]


@pytest.mark.usefixtures("artist_con")
def test_point_in_time_join_never_uses_later_values(con):
    v1 = _emb(1, "m1")
    write_vectors(con, v1, [1, 2], np.array([[1, 1, 1], [2, 2, 2]]), created_at=T1)
    write_vectors(con, v1, [1, 2], np.array([[10, 10, 10], [2, 2, 2]]), created_at=T2)  # artist 1 changes
    svc = FeatureService("emb-test", (v1,))
    before = get_training_frame(svc, [1, 2], T1 - DAY, con=con)
    assert _col(before) == [None, None]
    at_t1 = get_training_frame(svc, [1, 2], T1, con=con)  # created exactly at as_of: available
    assert _col(at_t1) == [[1, 1, 1], [2, 2, 2]]
    between = get_training_frame(svc, [1, 2], T2 - dt.timedelta(microseconds=1), con=con)
    assert _col(between) == [[1, 1, 1], [2, 2, 2]]
    after = get_training_frame(svc, [1, 2, 3], T2 + DAY, con=con)
    assert _col(after) == [[10, 10, 10], [2, 2, 2], None]
    # unchanged artist 2 got no second row
    assert con.execute("SELECT count(*) FROM feature_value WHERE entity_id = '2'").fetchone()[0] == 1


@pytest.mark.usefixtures("artist_con")
def test_per_row_as_of(con):
    v1 = _emb(1, "m1")
    write_vectors(con, v1, [1], np.array([[1, 1, 1]]), created_at=T1)
    write_vectors(con, v1, [1], np.array([[5, 5, 5]]), created_at=T2)
    ents = pd.DataFrame({"artist_id": [1, 1, 1], "as_of": [T1 - DAY, T1 + DAY, T2 + DAY], "label": ["a", "b", "c"]})
    frame = get_training_frame(FeatureService("s", (v1,)), ents, con=con)
    assert _col(frame) == [None, [1, 1, 1], [5, 5, 5]]
    assert list(frame["label"]) == ["a", "b", "c"]


@pytest.mark.usefixtures("artist_con")
def test_two_versions_of_a_view_with_different_values(con):
    v1, v2 = _emb(1, "m1"), _emb(2, "m2")
    write_vectors(con, v1, [1], np.array([[1, 2, 3]]), created_at=T1)
    write_vectors(con, v2, [1], np.array([[7, 8, 9]]), created_at=T2)  # the retrained model, later
    s1 = FeatureService("model-m1", (v1,), model_version="m1", as_of=T1 + DAY)
    s2 = FeatureService("model-m2", (v2,), model_version="m2")
    register_service(con, s1)
    register_service(con, s2)
    # the service of model m1 keeps giving m1's values, even now that v2 exists
    assert _col(get_training_frame("model-m1", [1], con=con)) == [[1, 2, 3]]
    assert _col(get_training_frame("model-m1", [1], T2 + DAY, con=con)) == [[1, 2, 3]]
    assert _col(get_training_frame("model-m2", [1], T2 + DAY, con=con)) == [[7, 8, 9]]
    # v2's values did not exist at m1's training time
    assert _col(get_training_frame("model-m2", [1], T1 + DAY, con=con)) == [None]


def test_extracted_views_point_in_time(built):
    created = built.con.execute("SELECT min(created_at), max(created_at) FROM track_mel").fetchone()
    svc = FeatureService("extracted", (d.track_log_mel, d.track_descriptors))
    tracks = ["a1t1", "a2local", "bad", "nope"]
    before = get_training_frame(svc, tracks, created[0] - dt.timedelta(seconds=1), con=built.con)
    assert before["track_log_mel__log_mel"].isna().all()
    assert before["track_descriptors__tempo_bpm"].isna().all()
    now = get_training_frame(svc, tracks, con=built.con)
    keys = list(now["track_log_mel__log_mel"])
    assert keys[0].startswith("features/mel/") and "-3000-6000." in keys[1] and keys[2:] == [None, None]
    desc = [c for c in now.columns if c.startswith("track_descriptors__")]
    assert len(desc) == len(d.track_descriptors.schema)
    assert now.loc[0, desc].notna().all() and now.loc[2:, desc].isna().all().all()
    vec = built.con.execute("SELECT vec FROM track_descriptors WHERE track_id = 'a1t1'").fetchone()[0]
    np.testing.assert_allclose(now.loc[0, desc].to_numpy(dtype=float), vec)


def test_mixed_entities_frame(built):
    svc = FeatureService("mixed", (d.track_log_mel, d.artist_descriptors_mean))
    ents = pd.DataFrame({"track_id": ["a1t1", "a2t1"], "artist_id": [1, 2]})
    frame = get_training_frame(svc, ents, con=built.con)
    assert frame["track_log_mel__log_mel"].notna().all()
    means = frame["artist_descriptors_mean__track_descriptors_mean"]
    assert all(m.shape == (d.track_descriptors.dim,) for m in means)
    with pytest.raises(ParameterError, match="several entities"):
        get_training_frame(svc, ["a1t1"], con=built.con)
    with pytest.raises(ParameterError, match="artist_id"):
        get_training_frame(svc, pd.DataFrame({"track_id": ["a1t1"]}), con=built.con)


def test_materialise_appends_only_changes(built, con):
    """Re-materialising the derived view with unchanged inputs writes nothing new."""
    from musim.features import materialise

    res = materialise(built.con, d.artist_descriptors_mean)
    assert res.rows_written == 0 and res.entities == 2
    with pytest.raises(ParameterError, match="later"):
        materialise(built.con, d.artist_descriptors_mean, created_at=T1)


@pytest.mark.usefixtures("artist_con")
def test_ids_in_a_float_column_match_and_a_missing_one_misses_alone(con):
    """One missing id made the column float64 and every row lost its features (``'1.0'`` matched no ``'1'``)."""
    v1 = _emb(1, "m1")
    write_vectors(con, v1, [1, 2], np.array([[1, 1, 1], [2, 2, 2]]), created_at=T1)
    svc = FeatureService("emb-test", (v1,))
    assert _col(get_training_frame(svc, [1, 2, None], T2, con=con)) == [[1, 1, 1], [2, 2, 2], None]
    frame = pd.DataFrame({"artist_id": [1.0, 2.0, np.nan]})
    assert _col(get_training_frame(svc, frame, T2, con=con)) == [[1, 1, 1], [2, 2, 2], None]
    with pytest.raises(ParameterError, match=r"the column artist_id: the id 1\.5 is not a whole number"):
        get_training_frame(svc, pd.DataFrame({"artist_id": [1.5]}), T2, con=con)


@pytest.mark.usefixtures("artist_con")
@pytest.mark.parametrize(("entities", "as_of", "message"), [
    ("abc", None, "entities must be a list of ids, got one string 'abc'"),
    ({"artist_id": [1]}, None, "got a mapping: pass a pandas.DataFrame"),
    (5, None, "entities must be a list of ids, got int"),
    ([1], "yesterday", "as_of 'yesterday' is not an ISO date and time"),
    ([1], "9999-12-31", r"as_of 9999-12-31T00:00:00\+00:00 is in the future"),
    (pd.DataFrame({"artist_id": [1, 2], "as_of": ["garbage", None]}), None, "the as_of column has 'garbage'"),
    (pd.DataFrame({"artist_id": [1, 2], "as_of": [1, 2]}), None, r"the as_of column holds numbers \(int64\)"),
    (pd.DataFrame({"artist_id": [1], "as_of": ["2100-01-01"]}), None, "the as_of column's latest moment .* future"),
    (pd.DataFrame([[1, 2]], columns=["artist_id", "artist_id"]), None, "has the column.s. artist_id twice"),
])
def test_what_is_no_entity_list_or_moment_is_refused_in_one_line(con, entities, as_of, message):
    """These were raw pandas/ValueError tracebacks, or silently wrong frames: a string split into characters,
    integers read as nanoseconds after 1970 (every feature missing), a future moment whose frame changed later."""
    v1 = _emb(1, "m1")
    write_vectors(con, v1, [1], np.array([[1, 1, 1]]), created_at=T1)
    with pytest.raises(ParameterError, match=message):
        get_training_frame(FeatureService("emb-test", (v1,)), entities, as_of, con=con)
    with pytest.raises(ParameterError, match="must be a FeatureService or a registered service's name"):
        get_training_frame(None, [1], con=con)


@pytest.mark.usefixtures("artist_con")
def test_mixed_offsets_in_the_as_of_column_are_each_converted_to_utc(con):
    v1 = _emb(1, "m1")
    write_vectors(con, v1, [1], np.array([[1, 1, 1]]), created_at=T1)
    stamps = ["2026-01-10T01:00:00+02:00", "2026-01-10T01:00:00-02:00", "2026-01-10"]  # 23:00 the day before, 03:00, 00:00
    frame = get_training_frame(FeatureService("s", (v1,)), pd.DataFrame({"artist_id": [1, 1, 1], "as_of": stamps}),
                               con=con)
    assert _col(frame) == [None, [1, 1, 1], [1, 1, 1]]


@pytest.mark.usefixtures("artist_con")
def test_an_as_of_with_nanoseconds_is_read_to_the_microsecond_down_without_a_warning(con):
    import warnings

    v1 = _emb(1, "m1")
    write_vectors(con, v1, [1], np.array([[1, 1, 1]]), created_at=T1)
    stamps = [pd.Timestamp(T1) - pd.Timedelta(nanoseconds=1), pd.Timestamp(T1) + pd.Timedelta(nanoseconds=999)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = get_training_frame(FeatureService("s", (v1,)), pd.DataFrame({"artist_id": [1, 1], "as_of": stamps}),
                                   con=con)
    assert _col(frame) == [None, [1, 1, 1]]  # T1 - 1 ns is T1 - 1 us; T1 + 999 ns is T1


@pytest.mark.usefixtures("artist_con")
def test_pushed_vectors_are_refused_for_ids_the_warehouse_does_not_have_or_a_future_moment(con):
    """``write_vectors`` stored ``'not-an-artist'``, ``'1.0'`` (so artist 1 kept its old vector) and one row per
    character of ``"ab"``; a ``created_at`` in the future hid the values and refused every later write."""
    v1 = _emb(1, "m1")
    with pytest.raises(ParameterError, match="the id 'not-an-artist' is not a whole number"):
        write_vectors(con, v1, ["not-an-artist"], np.ones((1, 3)))
    with pytest.raises(ParameterError, match=r"^1 of the entity_ids are no artist of the warehouse \(e\.g\. '999999'\)"):
        write_vectors(con, v1, [1, 999_999], np.ones((2, 3)))
    with pytest.raises(ParameterError, match="got one string 'ab'"):
        write_vectors(con, v1, "ab", np.ones((2, 3)))
    with pytest.raises(ParameterError, match="^created_at .* is in the future"):
        write_vectors(con, v1, [1], np.ones((1, 3)), created_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))
    assert con.execute("SELECT count(*) FROM feature_value").fetchone()[0] == 0
    write_vectors(con, v1, [1.0], np.ones((1, 3)), created_at=T1)  # 1.0 is artist 1
    write_vectors(con, "artist_embedding:1", [np.int64(1)], np.full((1, 3), 2.0), created_at=T2)  # by its name
    assert con.execute("SELECT DISTINCT entity_id FROM feature_value").fetchall() == [("1",)]


@pytest.mark.usefixtures("artist_con")
def test_pushed_vectors_beyond_float32_are_refused_not_read_back_as_infinities(con):
    """A finite 1e39 passed the NaN check, was stored, and every training frame and online snapshot read it as inf."""
    v1 = _emb(1, "m1")
    with pytest.raises(ParameterError, match=r"^vectors has values beyond ±3\.403e\+38 \(row 1 of 2: 1 rows\)"):
        write_vectors(con, v1, [1, 2], np.array([[1.0, 2.0, 3.0], [1e39, 0.0, 0.0]]), created_at=T1)
    assert con.execute("SELECT count(*) FROM feature_value").fetchone()[0] == 0
    write_vectors(con, v1, [1], np.array([[3e38, -3e38, 0.0]]), created_at=T1)  # within float32: kept
    assert np.isfinite(get_training_frame(FeatureService("s", (v1,)), [1], con=con)["artist_embedding__embedding"][0]).all()


def test_a_service_cannot_pin_a_future_moment_or_take_a_name_show_cannot_tell_apart(con):
    """A pinned ``as_of`` in the future let values written after the pin into the "exact" training set."""
    from musim.features.registry import RegistryError

    with pytest.raises(ParameterError, match="^service s: as_of .* is in the future"):
        FeatureService("s", (d.track_log_mel,), as_of=dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
    for name in ("team:baseline", "../../x", "a;b'--", ""):
        with pytest.raises(ParameterError, match="^service name .* must be letters, digits"):
            FeatureService(name, (d.track_log_mel,))
    with pytest.raises(RegistryError, match="'track_log_mel' is the name of a feature view"):
        register_service(con, FeatureService("track_log_mel", (d.track_log_mel,)))


def test_a_view_cannot_take_a_registered_service_s_name(con):
    """The other way round it was taken: a view registered under a service's name hid the service from `musim features
    show NAME` (the view is shown first)."""
    from musim.features.registry import RegistryError, get_service

    register_service(con, FeatureService("emb_svc", (d.track_log_mel,)))
    with pytest.raises(RegistryError, match="^'emb_svc' is the name of a feature service: give the view another name"):
        write_vectors(con, embedding_view("emb_svc", 1, entity=ARTIST, dim=3, model_version="m", description="x"),
                      [], np.ones((0, 3)))
    assert get_service(con, "emb_svc").views == (d.track_log_mel,)


def test_a_view_reads_only_its_own_parameters_values_even_when_others_are_newer(catalogue, con, store):
    """Descriptors at 22050 Hz, then (later) at 16000 Hz, and log-mels at the default then at smaller parameters:
    each view's frame, after both, still gives its own parameters' values, not the newest row of the track."""
    from musim.audio import MelParams
    from musim.features import BuildOptions, Extractor, build, extraction_view
    from musim.features.params import DescriptorParams

    options = BuildOptions(workers=2, progress=False)
    catalogue.add_clip("t1", 1, community=2)
    catalogue.add_clip("t2", 2, community=3)
    tracks = ["t1", "t2"]
    build([d.track_descriptors, d.track_log_mel], con=con, store=store, options=options, publish=False)
    low = DescriptorParams(sr=16000)
    small = MelParams(n_mels=32, frames=128, hop_length=1024)
    views = [extraction_view("track_descriptors_16k", 1, extractor=Extractor("descriptors", low), description="t"),
             extraction_view("track_log_mel_small", 1, extractor=Extractor("log_mel", small), description="t")]
    build(views, con=con, store=store, options=options, publish=False)
    desc = {(h, t): (c, np.asarray(v)) for h, t, c, v in con.execute(
        "SELECT params_hash, track_id, created_at, vec FROM track_descriptors").fetchall()}
    mel = {(h, t): (c, k) for h, t, c, k in con.execute(
        "SELECT params_hash, track_id, created_at, object_key FROM track_mel WHERE kind = 'log_mel'").fetchall()}
    default, default_mel = DescriptorParams().hash(), MelParams().hash()
    assert set(desc) == {(h, t) for h in (default, low.hash()) for t in tracks}
    assert set(mel) == {(h, t) for h in (default_mel, small.hash()) for t in tracks}
    for t in tracks:  # the other parameters' values are the newer ones, and differ
        assert desc[(low.hash(), t)][0] > desc[(default, t)][0]
        assert mel[(small.hash(), t)][0] > mel[(default_mel, t)][0]
        assert not np.allclose(desc[(low.hash(), t)][1], desc[(default, t)][1], equal_nan=True)
    frame = get_training_frame(FeatureService("own-params", (d.track_descriptors, d.track_log_mel)), tracks,
                               con=con)  # as of now: after both builds
    cols = [c for c in frame.columns if c.startswith("track_descriptors__")]
    for i, t in enumerate(tracks):
        np.testing.assert_allclose(frame.loc[i, cols].to_numpy(dtype=float), desc[(default, t)][1])
        assert frame.loc[i, "track_log_mel__log_mel"] == mel[(default_mel, t)][1]
        assert frame.loc[i, "track_log_mel__log_mel"].startswith(f"features/mel/{default_mel}/")


def test_an_artist_whose_tracks_all_lost_their_values_loses_its_mean(catalogue, con, store):
    """Artist 7's only track got new audio, which the next build rejected: the track has no value any more, and its
    artist's mean (made of the old audio alone) ended with it instead of staying in lookups, the online snapshot,
    `features list` and training sets; a training set pinned before still gets it."""
    from musim.features import BuildOptions, build
    from musim.features.online import OnlineStore
    from musim.features.registry import list_views
    from tests.features.helpers import silent_bytes

    catalogue.add_clip("solo", 7, community=1)
    catalogue.add_clip("x1", 8, community=2)
    options = BuildOptions(workers=1, progress=False)
    build(["artist_descriptors_mean"], con=con, store=store, options=options, publish=False)
    pin = dt.datetime.now(dt.UTC)
    assert sorted(OnlineStore.from_warehouse(con, d.artist_descriptors_mean).index) == ["7", "8"]

    info = store.put_content_addressed(silent_bytes(), prefix="audio/previews", ext="wav")
    con.execute("UPDATE track SET object_key = ?, sha256 = ? WHERE track_id = 'solo'", [info.key, info.sha256])
    again = build(["artist_descriptors_mean"], con=con, store=store, options=options, publish=False)
    assert again.rejects_by_reason == {"silent": 1} and again.materialised == {"artist_descriptors_mean:4": 1}

    assert sorted(OnlineStore.from_warehouse(con, d.artist_descriptors_mean).index) == ["8"]
    (row,) = [v for v in list_views(con) if v["name"] == "artist_descriptors_mean"]
    assert row["entities"] == 1
    column = "artist_descriptors_mean__track_descriptors_mean"
    frames = {when: get_training_frame(d.descriptor_baseline, pd.DataFrame({"track_id": ["solo", "x1"],
                                                                             "artist_id": [7, 8]}), when, con=con)
              for when in (pin, None)}
    assert frames[pin][column].notna().all() and frames[None][column].tolist()[0] is None
    assert frames[None][column].tolist()[1] is not None
    # Accepted audio again: the mean comes back.
    catalogue.add_clip("solo2", 7, community=3)
    build(["artist_descriptors_mean"], con=con, store=store, options=options, publish=False)
    assert sorted(OnlineStore.from_warehouse(con, d.artist_descriptors_mean).index) == ["7", "8"]


# -- `musim features build --recompute`: what a pinned training set got stays what it gets -------------------------
TEMPO = 2  # tempo_bpm's 1-based index in the descriptor vector
PIT_SERVICE = FeatureService("pit-recompute", (d.track_descriptors, d.track_log_mel))
DESC = [f"track_descriptors__{f.name}" for f in d.track_descriptors.schema]
MEL = "track_log_mel__log_mel"


def _pit_built(catalogue, con, store):
    """t1 and t2 extracted (descriptors and log-mels); the moment after."""
    from musim.features import BuildOptions, build

    catalogue.add_clip("t1", 1, community=2)
    catalogue.add_clip("t2", 2, community=3)
    build([d.track_descriptors, d.track_log_mel], con=con, store=store, options=BuildOptions(workers=1, progress=False),
          publish=False)
    return dt.datetime.now(dt.UTC)


def _recompute(con, store, track="t1"):
    from musim.features import BuildOptions, build

    result = build([d.track_descriptors, d.track_log_mel], con=con, store=store, publish=False,
                   options=BuildOptions(workers=1, progress=False), recompute=[track])
    return result, dt.datetime.now(dt.UTC)


def _bad_tempo(con, track="t1"):
    """A bad row in place (what a failed features gate names and a recompute repairs): tempo 999 BPM."""
    con.execute(f"UPDATE track_descriptors SET vec = list_transform(vec, lambda x, i: CASE WHEN i = {TEMPO} "
                "THEN 999.0 ELSE x END) WHERE track_id = ?", [track])


def _reads_as_it_was(con, d, t1, desc_t1, mel_t1) -> None:
    """A training set and an online snapshot pinned at ``t1`` read what they read then."""
    from musim.features.online import OnlineStore

    desc, mel = _frame(con, t1)
    np.testing.assert_array_equal(desc, desc_t1)
    assert mel == mel_t1
    np.testing.assert_allclose(OnlineStore.from_warehouse(con, d.track_descriptors, as_of=t1).get("t1"),
                               desc_t1[0], rtol=1e-6)  # the snapshot holds float32


def _frame(con, when, tracks=("t1", "t2")):
    frame = get_training_frame(PIT_SERVICE, list(tracks), when, con=con)
    return frame[DESC].to_numpy(dtype=float), list(frame[MEL])


def _history(con, track="t1"):
    return con.execute("SELECT count(*) FROM feature_superseded WHERE track_id = ?", [track]).fetchone()[0]


def test_a_recompute_that_changes_nothing_leaves_a_pinned_training_set_as_it_was(catalogue, con, store):
    """`--recompute t1` re-stamped t1's rows with the recompute's moment: the training set as of before it (T1) had
    NaN descriptors and no log-mel for t1. Its values did not even change: now T1 gives them, and no history row."""

    t1 = _pit_built(catalogue, con, store)
    desc_t1, mel_t1 = _frame(con, t1)
    assert not np.isnan(desc_t1).any() and all(mel_t1)
    run_ids = con.execute("SELECT run_id FROM track_descriptors UNION ALL SELECT run_id FROM track_mel").fetchall()
    result, _ = _recompute(con, store)
    # t1 was extracted again and gave the values it holds: its two rows are unchanged (kept as they were, build
    # included), not computed (the build counted them computed, and stamped them as its own)
    assert (result.planned, result.computed) == (1, 0)
    assert (result.unchanged, result.skipped) == (2, 0)
    assert con.execute("SELECT run_id FROM track_descriptors UNION ALL SELECT run_id FROM track_mel").fetchall() == run_ids
    _reads_as_it_was(con, d, t1, desc_t1, mel_t1)
    now_desc, now_mel = _frame(con, None)  # the latest read: the same values
    np.testing.assert_array_equal(now_desc, desc_t1)
    assert now_mel == mel_t1 and _history(con) == 0


def test_a_recompute_that_repairs_a_row_keeps_the_old_values_for_sets_pinned_before_it(catalogue, con, store):
    """A bad row (tempo 999) repaired by `--recompute t1`: a training set pinned before the recompute still gets the
    values it was trained on, the latest reads (frames, the online snapshot) the new ones; t2 is untouched."""
    from musim.features.online import OnlineStore

    _pit_built(catalogue, con, store)
    _bad_tempo(con)
    t1 = dt.datetime.now(dt.UTC)
    desc_t1, mel_t1 = _frame(con, t1)
    assert desc_t1[0, TEMPO - 1] == 999.0
    _, t2 = _recompute(con, store)
    _reads_as_it_was(con, d, t1, desc_t1, mel_t1)
    for when in (t2, None):
        now_desc, now_mel = _frame(con, when)
        assert 0 <= now_desc[0, TEMPO - 1] <= 320 and not np.isnan(now_desc).any()
        np.testing.assert_array_equal(now_desc[1], desc_t1[1])
        assert now_mel == mel_t1
    latest = _frame(con, None)[0][0]
    np.testing.assert_allclose(OnlineStore.from_warehouse(con, d.track_descriptors).get("t1"), latest, rtol=1e-6)
    vec = con.execute("SELECT vec FROM descriptor_rows_read(NULL) WHERE track_id = 't1'").fetchone()[0]
    np.testing.assert_array_equal(vec, latest)  # what the features gate checks: the new row alone
    assert con.execute("SELECT count(*) FROM track_descriptors WHERE track_id = 't1'").fetchone()[0] == 1
    assert _history(con) == 1


def test_two_recomputes_each_moment_reads_its_values_and_history_grows_only_with_changes(catalogue, con, store):
    """Bad row, recompute (repaired), bad again, recompute, recompute (nothing changes): every moment's training set
    keeps the values it got then; the third recompute adds no history row."""
    _pit_built(catalogue, con, store)
    _bad_tempo(con)
    seen = {}  # moment -> t1's descriptors read then

    def note():
        when = dt.datetime.now(dt.UTC)
        seen[when] = _frame(con, when)[0][0]
        return seen[when]

    assert note()[TEMPO - 1] == 999.0
    _recompute(con, store)
    good = _frame(con, None)[0][0]  # not noted: the next damage rewrites this row in place, its past included
    assert 0 <= good[TEMPO - 1] <= 320
    con.execute("UPDATE track_descriptors SET vec = list_transform(vec, lambda x, i: CASE WHEN i = 3 THEN -1.0 "
                "ELSE x END) WHERE track_id = 't1'")  # damaged again, in place
    assert note()[2] == -1.0
    _recompute(con, store)
    np.testing.assert_array_equal(note(), good)
    assert _history(con) == 2
    _recompute(con, store)
    assert _history(con) == 2  # unchanged values: nothing more kept
    for when, values in seen.items():
        np.testing.assert_array_equal(_frame(con, when)[0][0], values)
    np.testing.assert_array_equal(_frame(con, None)[0][0], good)


def test_a_training_set_as_of_before_the_first_build_stays_empty_after_recomputes(catalogue, con, store):
    before = dt.datetime.now(dt.UTC)
    _pit_built(catalogue, con, store)
    _bad_tempo(con)
    _recompute(con, store)
    _recompute(con, store)
    desc, mel = _frame(con, before)
    assert np.isnan(desc).all() and mel == [None, None]


def test_a_recompute_whose_audio_is_rejected_ends_the_value_only_from_then(catalogue, con, store):
    """t1's preview object now decodes as silence under the same audio id: the recompute rejects it and withdraws
    t1's values (latest reads have none), while a training set pinned before still gets them."""
    from musim.features.online import OnlineStore
    from tests.features.helpers import silent_bytes

    t1 = _pit_built(catalogue, con, store)
    desc_t1, mel_t1 = _frame(con, t1)
    info = store.put_content_addressed(silent_bytes(), prefix="audio/previews", ext="wav")
    con.execute("UPDATE track SET object_key = ? WHERE track_id = 't1'", [info.key])  # sha256 (the audio id) kept
    result, t2 = _recompute(con, store)
    assert result.rejects_by_reason == {"silent": 2}
    _reads_as_it_was(con, d, t1, desc_t1, mel_t1)
    for when in (t2, None):
        now_desc, now_mel = _frame(con, when)
        assert np.isnan(now_desc[0]).all() and now_mel[0] is None
        np.testing.assert_array_equal(now_desc[1], desc_t1[1])
    assert "t1" not in OnlineStore.from_warehouse(con, d.track_descriptors)
    assert con.execute("SELECT count(*) FROM descriptor_rows_read(NULL) WHERE track_id = 't1'").fetchone()[0] == 0


def test_a_rejection_a_later_value_cleared_still_holds_for_the_moments_it_was_current(catalogue, con, store):
    """t1 got new audio whose preview was missing: the build's 'missing object' rejection ended t1's old values. Once
    the object was back, the next build accepted it and deleted the rejection, so the moments in between read the
    old audio's values again; now they still read none."""
    from musim.features import BuildOptions, build
    from tests.features.helpers import clip, encode

    options = BuildOptions(workers=1, progress=False)
    catalogue.add_clip("t1", 1, community=2)
    build([d.track_descriptors], con=con, store=store, options=options, publish=False)
    old = _frame(con, None, ("t1",))[0][0]
    data = encode(clip(5, 1005, 2))
    info = store.put_content_addressed(data, prefix="audio/previews", ext="wav")
    store.delete(info.key)
    con.execute("UPDATE track SET object_key = ?, sha256 = ? WHERE track_id = 't1'", [info.key, info.sha256])
    assert build([d.track_descriptors], con=con, store=store, options=options,
                 publish=False).rejects_by_reason == {"missing object": 1}
    between = dt.datetime.now(dt.UTC)
    assert np.isnan(_frame(con, between, ("t1",))[0]).all()
    store.put_content_addressed(data, prefix="audio/previews", ext="wav")
    assert build([d.track_descriptors], con=con, store=store, options=options, publish=False).computed == 1
    assert np.isnan(_frame(con, between, ("t1",))[0]).all()
    new = _frame(con, None, ("t1",))[0][0]
    assert not np.isnan(new).any() and not np.allclose(new, old)


def test_audio_rejected_again_after_another_audio_had_a_value_ends_that_value(catalogue, con, store):
    """t1's audio A was missing ('missing object'), then t1 got audio B (accepted), then A again, still missing: the
    rejection recorded again kept A's first moment, older than B's value, so every read served B's values for a track
    whose audio is A. Now the rejection is of now (the one of before stays in the history for its moments)."""
    from musim.features import BuildOptions, build
    from tests.features.helpers import clip, encode

    options = BuildOptions(workers=1, progress=False)
    catalogue.add_clip("t1", 1, community=2)
    a = store.put_content_addressed(encode(clip(5, 1005, 2)), prefix="audio/previews", ext="wav")
    store.delete(a.key)
    b = con.execute("SELECT object_key, sha256 FROM track WHERE track_id = 't1'").fetchone()

    def audio(key, sha):
        con.execute("UPDATE track SET object_key = ?, sha256 = ? WHERE track_id = 't1'", [key, sha])
        return build([d.track_descriptors], con=con, store=store, options=options, publish=False)

    assert audio(a.key, a.sha256).rejects_by_reason == {"missing object": 1}
    missing_a = dt.datetime.now(dt.UTC)
    assert audio(*b).computed == 1
    with_b = dt.datetime.now(dt.UTC)
    assert not np.isnan(_frame(con, with_b, ("t1",))[0]).any()
    assert audio(a.key, a.sha256).rejects_by_reason == {"missing object": 1}
    assert np.isnan(_frame(con, None, ("t1",))[0]).all()
    assert con.execute("SELECT count(*) FROM descriptor_rows_read(NULL) WHERE track_id = 't1'").fetchone()[0] == 0
    assert np.isnan(_frame(con, missing_a, ("t1",))[0]).all()  # the first rejection still holds for its moments
    assert not np.isnan(_frame(con, with_b, ("t1",))[0]).any()  # and B's value for its own


def test_a_value_and_a_rejection_of_the_same_moment_read_as_the_value_point_in_time_as_latest(catalogue, con, store):
    """At the same moment a value wins over a rejection, in the point-in-time join (pit.sql) as in the latest read
    (latest.sql). No build makes such a tie (a build stamps one moment per track and audio, and records a value or a
    rejection of it), so it is constructed in the warehouse tables: t1's real log-mel row copied onto 200 tracks, each
    with a rejection of another audio stamped with the value's very moment. The ASOF join took either row of a tie,
    so about half of them read as rejected."""
    from musim.features import BuildOptions, build
    from musim.features.sources import load_latest

    catalogue.add_clip("t1", 1, community=2)
    build([d.track_log_mel], con=con, store=store, options=BuildOptions(workers=1, progress=False), publish=False)
    key, made = con.execute("SELECT object_key, created_at FROM track_mel WHERE track_id = 't1'").fetchone()
    tracks = [f"c{i:03d}" for i in range(200)]
    for t in tracks:
        con.execute("INSERT INTO track_mel SELECT * REPLACE (? AS track_id) FROM track_mel WHERE track_id = 't1'", [t])
        con.execute("INSERT INTO feature_reject (kind, params_hash, track_id, sha256, audio_id, reason, detail, run_id, "
                    "created_at) SELECT kind, params_hash, ?, 'other', 'other', 'silent', 'silent', run_id, created_at "
                    "FROM track_mel WHERE track_id = 't1'", [t])
    service = FeatureService("tie", (d.track_log_mel,))
    assert list(get_training_frame(service, tracks, made, con=con)[MEL]) == [key] * 200
    assert list(get_training_frame(service, tracks, None, con=con)[MEL]) == [key] * 200
    assert list(get_training_frame(service, tracks, made - dt.timedelta(microseconds=1), con=con)[MEL]) == [None] * 200
    load_latest(con, d.track_log_mel)
    assert con.execute("SELECT count(*) FROM fs_latest WHERE payload = ? AND entity_key LIKE 'c%'",
                       [key]).fetchone()[0] == 200


@pytest.mark.usefixtures("artist_con")
def test_a_training_set_of_a_changed_or_never_written_view_version_is_refused_not_read_as_another(con):
    from musim.errors import NotFoundError
    from musim.features.registry import RegistryError

    v1 = _emb(1, "m1")
    write_vectors(con, v1, [1], np.array([[1, 2, 3]]), created_at=T1)
    # the same name:version with another definition (another dimension): its stored values are not of this one
    changed = embedding_view("artist_embedding", 1, entity=ARTIST, dim=4, model_version="m1",
                             description="test embedding")
    with pytest.raises(RegistryError, match=r"artist_embedding:1 is registered with another definition.*:2"):
        get_training_frame(FeatureService("s", (changed,)), [1], con=con)
    # a version nothing was ever written to: refused, not a column of NaN that reads as "no value yet"
    with pytest.raises(NotFoundError, match=r"no feature view 'artist_embedding:7'.*registered: artist_embedding"):
        get_training_frame(FeatureService("s", (_emb(7, "m7"),)), [1], con=con)
    # the registered definition still reads its values
    assert _col(get_training_frame(FeatureService("s", (v1,)), [1], con=con)) == [[1, 2, 3]]


def test_rematerialising_unchanged_inputs_writes_nothing_whatever_order_the_threads_sum_in(con):
    """An artist's mean is the same bits every time: a parallel avg() summed the tracks in the order the threads met
    them, so unchanged inputs gave means a few ulps apart and each rerun wrote "changed" values and history."""
    from musim.features import TRACK, derived_view, materialise

    con.execute("SET threads = 4")
    artists, per_artist, dim = 40, 60, 32
    con.execute("INSERT INTO artist (artist_id, artist_key, name, name_norm, first_dump_id) "
                "SELECT i, 'artist-' || i, 'Artist ' || i, 'artist ' || i, 'test' FROM range(?) t(i)", [artists])
    con.execute("INSERT INTO track (track_id, artist_id, title, provider, provider_track_id, provider_rank, object_key, "
                "sha256, format, duration_s, sample_rate, channels, excerpt_offset_s, excerpt_duration_s, added_at) "
                "SELECT 't' || i, i % ?, 'title ' || i, 'test', 't' || i, 1, 'audio/previews/t' || i || '.wav', "
                "'00', 'wav', 6.0, 22050, 1, 0.0, 6.0, now() FROM range(?) t(i)",
                [artists, artists * per_artist])
    ids = [f"t{i}" for i in range(artists * per_artist)]
    rng = np.random.default_rng(7)
    vecs = rng.standard_normal((len(ids), dim)) * 10.0 ** rng.integers(-3, 4, (len(ids), 1))
    tracks = embedding_view("track_emb", 1, entity=TRACK, dim=dim, model_version="m1", description="test")
    write_vectors(con, tracks, ids, vecs, created_at=T1)
    means = derived_view("artist_emb_mean", 1, input_view=tracks, description="test")
    assert materialise(con, means).rows_written == artists
    assert [materialise(con, means).rows_written for _ in range(6)] == [0] * 6
    assert con.execute("SELECT count(*) FROM feature_value WHERE view_name = 'artist_emb_mean'").fetchone()[0] == artists


@pytest.mark.usefixtures("artist_con")
def test_a_training_frame_given_back_as_entities_is_refused_not_doubled(con):
    """A frame holding a view's columns (a training frame given back to read it at another moment) came out with a
    scalars view's columns twice, the old values first, and a vector view's column silently replaced."""
    v1 = _emb(1, "m1")
    write_vectors(con, v1, [1], np.array([[1, 2, 3]]), created_at=T1)
    svc = FeatureService("s", (v1,))
    old = get_training_frame(svc, [1], T1, con=con)
    with pytest.raises(ParameterError, match=r"^the entity frame already has the feature column\(s\) "
                                             r"artist_embedding__embedding of service s: pass only the entity columns "
                                             r"and as_of \(e\.g\. frame\[\['artist_id'\]\]\)"):
        get_training_frame(svc, old, con=con)
    scalars = FeatureService("d", (d.track_descriptors,))
    clash = pd.DataFrame({"track_id": ["t1"], "track_descriptors__tempo_bpm": [120.0]})
    with pytest.raises(ParameterError, match="already has the feature column"):
        get_training_frame(scalars, clash, con=con)
    assert _col(get_training_frame(svc, old[["artist_id", "as_of"]], con=con)) == [[1, 2, 3]]


@pytest.mark.usefixtures("artist_con")
def test_a_missing_as_of_given_as_pandas_nat_is_the_default_moment(con):
    """``as_of=row.as_of`` of an empty cell (pandas' NaT) raised pandas' TypeError "Cannot convert tz-naive
    timestamps"; it is missing, as an empty cell of an as_of column is: the default moment."""
    v1 = _emb(1, "m1")
    write_vectors(con, v1, [1], np.array([[1, 2, 3]]), created_at=T1)
    assert _col(get_training_frame(FeatureService("s", (v1,)), [1], pd.NaT, con=con)) == [[1, 2, 3]]


@pytest.mark.usefixtures("artist_con")
def test_two_threads_materialising_a_view_take_turns(con, monkeypatch):
    """Two threads materialising one view on their own cursors failed in DuckDB ("TransactionContext Error: Conflict
    on update!"), a raw error for a write the other thread had just made: now the second waits for the first, then
    finds nothing changed."""
    import threading

    from musim.features import TRACK, derived_view, materialise
    from musim.features import materialize as m

    con.execute("INSERT INTO track (track_id, artist_id, title, provider, provider_track_id, provider_rank, object_key, "
                "sha256, format, duration_s, sample_rate, channels, excerpt_offset_s, excerpt_duration_s, added_at) "
                "SELECT 't' || i, i % 2, 'title', 'test', 't' || i, 1, 'audio/previews/t.wav', '00', 'wav', 6.0, "
                "22050, 1, 0.0, 6.0, now() FROM range(4) t(i)")
    tracks = embedding_view("track_emb", 1, entity=TRACK, dim=2, model_version="m1", description="test")
    write_vectors(con, tracks, ["t0", "t1", "t2", "t3"], np.arange(8.0).reshape(4, 2), created_at=T1)
    means = derived_view("artist_emb_mean", 1, input_view=tracks, description="test")
    go, inside, write = threading.Event(), threading.Event(), m._write

    def first_waits(*args, **kwargs):  # the first materialisation holds its transaction open until told to go on
        if not inside.is_set():
            inside.set()
            go.wait(30)
        return write(*args, **kwargs)

    monkeypatch.setattr(m, "_write", first_waits)
    results, errors = [], []

    def run():
        try:
            results.append(materialise(con.cursor(), means).rows_written)
        except Exception as exc:  # noqa: BLE001 - what the test reports
            errors.append(f"{type(exc).__name__}: {exc}")

    first = threading.Thread(target=run)
    first.start()
    assert inside.wait(30)
    second = threading.Thread(target=run)
    second.start()
    second.join(2)  # the old code ran it through meanwhile, into the first one's write; the new one waits
    go.set()
    first.join(30)
    second.join(30)
    assert errors == [] and sorted(results) == [0, 2]


def test_a_track_back_on_audio_it_had_serves_that_audio_s_values_again(catalogue, con, store):
    """t1's audio A was replaced by B, then restored (a library file replaced and put back); t2's by silence (rejected),
    then restored. A was done for each track, so nothing was computed, and B's row (or the rejection) stayed the newest:
    every reader served B's values, or none, for tracks whose audio is A again. Moments before keep what they read."""
    from musim.features import BuildOptions, build
    from musim.features.online import OnlineStore
    from tests.features.helpers import clip, encode, silent_bytes

    first = _pit_built(catalogue, con, store)
    audio = {t: con.execute("SELECT object_key, sha256 FROM track WHERE track_id = ?", [t]).fetchone()
             for t in ("t1", "t2")}
    desc_a, mel_a = _frame(con, first)

    def put(track, data):
        info = store.put_content_addressed(data, prefix="audio/previews", ext="wav")
        con.execute("UPDATE track SET object_key = ?, sha256 = ? WHERE track_id = ?", [info.key, info.sha256, track])

    def build_now():
        build([d.track_descriptors, d.track_log_mel], con=con, store=store, publish=False,
              options=BuildOptions(workers=1, progress=False))
        return dt.datetime.now(dt.UTC)

    put("t1", encode(clip(5, 1777, 2)))
    put("t2", silent_bytes())
    second = build_now()
    desc_b, mel_b = _frame(con, second)
    assert not np.array_equal(desc_b[0], desc_a[0]) and mel_b[0] != mel_a[0]
    assert np.isnan(desc_b[1]).all() and mel_b[1] is None
    for track, (key, sha) in audio.items():
        con.execute("UPDATE track SET object_key = ?, sha256 = ? WHERE track_id = ?", [key, sha, track])
    third = build_now()
    desc, mel = _frame(con, third)
    np.testing.assert_array_equal(desc, desc_a)
    assert mel == mel_a
    np.testing.assert_allclose(OnlineStore.from_warehouse(con, d.track_descriptors).get("t1"), desc_a[0], rtol=1e-6)
    for when, (desc_then, mel_then) in ((first, (desc_a, mel_a)), (second, (desc_b, mel_b))):
        desc, mel = _frame(con, when)
        np.testing.assert_array_equal(desc, desc_then)
        assert mel == mel_then
