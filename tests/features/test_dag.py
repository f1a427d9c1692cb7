"""The audio_features DAG end to end (`airflow dags test`) on a few generated previews."""

from __future__ import annotations

import pytest

from musim import embedded, warehouse
from musim.config import get_settings
from musim.features.online import _current_file
from musim.storage import open_store
from tests.features.helpers import Catalogue

pytestmark = [pytest.mark.slow, pytest.mark.airflow]


def current_online(view: str):
    """The path of the online snapshot now serving ``view``."""
    return _current_file(get_settings(), view, None)


def test_audio_features_dag(airflow, musim_home):
    env, log = airflow
    con = warehouse.connect()
    cat = Catalogue(con, open_store())
    cat.add_clip("t1", 1, community=10)
    cat.add_clip("t2", 1, community=10, track_no=2)
    cat.add_clip("t3", 2, community=11)
    cat.add("bad", 2, b"junk", fmt="mp3", duration_s=6.0)
    con.close()

    conf = {"batch_size": 2, "workers": 1, "views": ["track_log_mel", "artist_descriptors_mean"]}
    embedded.run_dag("audio_features", env, log, conf)
    con = warehouse.connect()
    try:
        assert con.execute("SELECT count(*) FROM track_mel").fetchone()[0] == 3
        assert con.execute("SELECT count(*) FROM track_descriptors").fetchone()[0] == 3
        assert con.execute("SELECT count(DISTINCT entity_id) FROM feature_value").fetchone()[0] == 2
        assert con.execute("SELECT count(*) FROM feature_reject").fetchone()[0] == 2  # log_mel + descriptors
        build = con.execute("SELECT run_id, status, items_planned, computed FROM feature_build").fetchall()
        assert len(build) == 1 and build[0][0].startswith("audio_features/") and build[0][1:] == ("done", 4, 6)
        key = con.execute("SELECT heartbeat_key FROM feature_build").fetchone()[0]
        assert open_store().get_json(key)["run_id"] == build[0][0]  # its compute tasks beat where its row names
    finally:
        con.close()
    # a second run finds nothing to do: compute is skipped, record still closes the run
    embedded.run_dag("audio_features", env, log, conf)
    con = warehouse.connect()
    try:
        rows = con.execute("SELECT status, items_planned, computed FROM feature_build ORDER BY started_at").fetchall()
        assert rows[-1] == ("done", 0, 0) and len(rows) == 2
        gates = con.execute("""SELECT dataset, status FROM quality_result WHERE dataset = 'features'""").fetchall()
        assert gates == [("features", "passed")] * 2
    finally:
        con.close()
    serving_before = current_online("artist_descriptors_mean")

    # a spectrogram whose recorded shape is wrong: the gate fails, nothing is published or announced
    con = warehouse.connect()
    con.execute("UPDATE track_mel SET shape = [9, 4] WHERE track_id = 't1'")
    con.close()
    with pytest.raises(embedded.AirflowRunError, match=r"QualityError: the features quality gate failed \(features") \
            as failed:  # the task's error starts with the line `musim features build` prints
        embedded.run_dag("audio_features", env, log, conf)
    assert "the build's artist means were withdrawn" in str(failed.value)
    assert "one image size per parameter set" in str(failed.value)
    con = warehouse.connect()
    try:
        assert con.execute("""SELECT status FROM quality_result WHERE dataset = 'features'
                              ORDER BY created_at DESC LIMIT 1""").fetchone() == ("failed",)
    finally:
        con.close()
    assert current_online("artist_descriptors_mean") == serving_before  # the previous snapshot keeps serving


def _two_artists_clips(communities: tuple[int, int]) -> None:
    """A new library of two clips, t1 by artist 1 and t2 by artist 2, of the given communities."""
    con = warehouse.connect()
    try:
        cat = Catalogue(con, open_store())
        cat.add_clip("t1", 1, community=communities[0])
        cat.add_clip("t2", 2, community=communities[1])
    finally:
        con.close()


def test_the_dag_run_for_one_view_judges_the_services_it_fed(airflow, musim_home):
    """`views: [track_descriptors]` on a new library: the artist means derived from them are built too, and the gate
    judges the services that read them, not the log-mel one no view of the run fed (it failed the run before)."""
    env, log = airflow
    _two_artists_clips(communities=(12, 13))
    embedded.run_dag("audio_features", env, log, {"batch_size": 2, "workers": 1, "views": ["track_descriptors"]})
    con = warehouse.connect()
    try:
        assert con.execute("SELECT count(*) FROM track_mel").fetchone()[0] == 0
        (status, details), = con.execute("SELECT status, details FROM quality_result "
                                         "WHERE dataset = 'training_sets'").fetchall()
    finally:
        con.close()
    assert status == "passed" and "not judged: siamese_log_mel" in details
    assert current_online("artist_descriptors_mean") is not None


def test_audio_features_dag_recomputes_the_tracks_its_recompute_param_names(airflow, musim_home):
    """The DAG's `recompute` param is `musim features build --recompute` from Airflow: a track whose descriptor row
    is impossible (999 BPM: the features gate fails on it) is extracted again from its audio, its new row replaces
    the bad one, the gate passes and the features asset is announced."""
    from tests.dags.airflow_db import airflow_db

    env, log = airflow
    _two_artists_clips(communities=(10, 11))
    conf = {"batch_size": 2, "workers": 1, "views": ["track_log_mel", "artist_descriptors_mean"]}
    embedded.run_dag("audio_features", env, log, conf)
    con = warehouse.connect()
    try:
        con.execute("UPDATE track_descriptors SET vec = list_transform(vec, lambda x, i: CASE WHEN i = 2 THEN 999.0 "
                    "ELSE x END) WHERE track_id = 't1'")
        writer = con.execute("SELECT run_id FROM track_descriptors WHERE track_id = 't1'").fetchone()[0]
    finally:
        con.close()

    embedded.run_dag("audio_features", env, log, {**conf, "recompute": ["t1"]})
    con = warehouse.connect()
    try:
        rows = con.execute("SELECT run_id, vec[2] FROM track_descriptors WHERE track_id = 't1'").fetchall()
        assert len(rows) == 1 and rows[0][0] != writer and 0 <= rows[0][1] <= 320  # replaced, not added
        build = con.execute("SELECT items_planned, quality_status, computed, unchanged, reused, rejected, skipped "
                            "FROM feature_build ORDER BY started_at DESC LIMIT 1").fetchone()
        # t1's audio alone was extracted again; t2 was left as it was. The DAG's record task writes the counts
        # `musim features build --recompute` prints: its descriptors anew, its log-mel found unchanged
        assert build == (1, "passed", 1, 1, 0, 0, 0)
    finally:
        con.close()
    states = dict(airflow_db(env, "SELECT task_id, state FROM task_instance WHERE dag_id = 'audio_features' "
                                  "AND run_id = (SELECT max(run_id) FROM dag_run WHERE dag_id = 'audio_features')"))
    assert states["check_quality"] == "success" and states["publish"] == "success", states
    assert airflow_db(env, "SELECT count(*) FROM asset_event") == [(2,)]  # the recompute announced features
