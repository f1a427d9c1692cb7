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


def test_per_row_as_of(con):
    v1 = _emb(1, "m1")
    write_vectors(con, v1, [1], np.array([[1, 1, 1]]), created_at=T1)
    write_vectors(con, v1, [1], np.array([[5, 5, 5]]), created_at=T2)
    ents = pd.DataFrame({"artist_id": [1, 1, 1], "as_of": [T1 - DAY, T1 + DAY, T2 + DAY], "label": ["a", "b", "c"]})
    frame = get_training_frame(FeatureService("s", (v1,)), ents, con=con)
    assert _col(frame) == [None, [1, 1, 1], [5, 5, 5]]
    assert list(frame["label"]) == ["a", "b", "c"]


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
    assert keys[0].startswith("features/mel/") and keys[1].endswith("-3000-6000.npy") and keys[2:] == [None, None]
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
