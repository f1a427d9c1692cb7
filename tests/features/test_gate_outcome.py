"""Write → audit → publish: a feature build whose features quality gate fails leaves no artist mean of its own,
records the failure on the build (`features list --builds`), and stops training until a build passes."""

from __future__ import annotations

import json

import pytest

from musim import warehouse
from musim.cli import main
from musim.errors import QualityError
from tests.features.helpers import GATED_BUILD, three_artists_two_clips

BUILD = GATED_BUILD
TRAIN = ["models", "train", "--family", "descriptors", "--no-publish", "--no-progress"]


def _means(con) -> list[tuple]:
    return con.execute("SELECT entity_id, vec, created_at FROM feature_value "
                       "WHERE view_name = 'artist_descriptors_mean' ORDER BY entity_id, created_at").fetchall()


def _materialised(con) -> tuple:
    return con.execute("SELECT materialised_at, lineage FROM feature_view "
                       "WHERE name = 'artist_descriptors_mean'").fetchone()


def _frame(con) -> list[list[float]]:
    """The artist means the ``descriptor_baseline`` training frame gives three tracks (now)."""
    import pandas as pd

    from musim.features import get_service, get_training_frame

    entities = pd.DataFrame({"track_id": ["a1t1", "a1t2", "a2t1"], "artist_id": [1, 1, 2]})
    frame = get_training_frame(get_service(con, "descriptor_baseline"), entities, con=con)
    cols = [c for c in frame.columns if c.startswith("artist_descriptors_mean__")]
    assert cols
    return [[list(map(float, v)) for v in frame[c]] for c in cols]


def _builds(capsys) -> list[dict]:
    assert main(["features", "list", "--builds", "3", "--json"]) == 0
    return json.loads(capsys.readouterr().out)["builds"]


def test_a_failed_features_gate_withdraws_the_means_and_stops_training(capsys):
    three_artists_two_clips()
    assert main(BUILD) == 0
    capsys.readouterr()
    con = warehouse.connect()
    means, materialised, frame = _means(con), _materialised(con), _frame(con)
    good = con.execute("SELECT vec FROM track_descriptors WHERE track_id = 'a1t1'").fetchone()[0]
    con.execute("UPDATE track_descriptors SET vec = list_transform(vec, lambda x, i: CASE WHEN i = 3 "
                "THEN 'NaN'::DOUBLE ELSE x END) WHERE track_id = 'a1t1'")
    con.close()

    assert main(BUILD) == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("musim: error: the features quality gate failed (features")
    con = warehouse.connect()
    try:  # nothing of the failed build is read: the artist means, their lineage and the training frame as before
        assert _means(con) == means and _materialised(con) == materialised
        assert _frame(con) == frame
        failed = con.execute("SELECT run_id, quality_run_id FROM feature_build WHERE quality_status = 'failed'"
                             ).fetchall()
    finally:
        con.close()
    assert len(failed) == 1
    build, quality_run = failed[0]
    assert quality_run.startswith("q")

    # `features list --builds` shows the gate of each build, in its table and its JSON
    assert main(["features", "list", "--builds", "3"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith(build))
    assert f"failed ({quality_run})" in row
    assert f"the newest gated build {build} failed its features quality gate" in out
    newest, older = _builds(capsys)[:2]
    assert (newest["run_id"], newest["quality_status"], newest["quality_run_id"]) == (build, "failed", quality_run)
    assert older["quality_status"] == "passed"

    # training refuses, in one line naming the build, the quality run, the report and what to do
    assert main(TRAIN) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"musim: error: the newest feature build {build} failed its features quality gate "
                          f"(quality run {quality_run})")
    assert "`musim quality report --dataset features`" in err and "`musim features build --recompute TRACK_ID...`" in err

    # the DAG's way: record (materialises, no gate) -> check_quality (the gate, then the outcome on the build)
    from musim.features import build as build_features
    from musim.features.staged import check_run
    from musim.models.families import plan_job
    from musim.quality.gates import FEATURES_DATASETS, gate_task

    with warehouse.writer() as con:
        dag_build = build_features(["track_log_mel", "artist_descriptors_mean"], con=con, publish=False)
        assert _means(con) != means  # recorded and materialised, not yet gated
    with pytest.raises(QualityError, match="^the features quality gate failed \\(features"):
        check_run(dag_build.run_id, lambda: gate_task(FEATURES_DATASETS, None))
    with warehouse.writer() as con:
        assert _means(con) == means and _materialised(con) == materialised
        status = con.execute("SELECT quality_status FROM feature_build WHERE run_id = ?",
                             [dag_build.run_id]).fetchone()[0]
    assert status == "failed"
    with pytest.raises(QualityError, match=f"^the newest feature build {dag_build.run_id} failed its features "):
        plan_job("train_embeddings/manual", families=["descriptors"])  # the training DAGs' prepare

    # the data fixed and rebuilt: the gate passes and training goes on
    con = warehouse.connect()
    con.execute("UPDATE track_descriptors SET vec = ? WHERE track_id = 'a1t1'", [good])
    con.close()
    assert main(BUILD) == 0
    assert "quality gate passed" in capsys.readouterr().out
    assert _builds(capsys)[0]["quality_status"] == "passed"
    assert main(TRAIN) == 0
    assert "descriptors-1: challenger" in capsys.readouterr().out
