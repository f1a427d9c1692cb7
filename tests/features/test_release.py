"""Record -> gate -> publish: online snapshots are released only with a passed features gate."""

from __future__ import annotations

import re

import pytest

from musim.errors import ParameterError, QualityError
from musim.features import definitions as d
from musim.features.release import FEATURES_DATASETS, release
from musim.quality.gates import FEATURES_DATASETS as GATED


def _online(con):
    from musim.config import get_settings

    root = get_settings().serving_dir / "online"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.parametrize(("datasets", "why"), [
    ({"features": "passed"}, "quality run q1 did not check training_sets"),
    ({"features": "failed", "training_sets": "passed"}, "the features quality gate failed (features;"),
    ({}, "quality run q1 did not check features, training_sets"),
])
def test_a_gate_result_that_did_not_pass_publishes_nothing(con, datasets, why):
    from musim.features.registry import apply

    apply(con)
    with pytest.raises(QualityError, match="^" + re.escape(why)):
        release(con, [d.artist_descriptors_mean], quality={"run_id": "q1", "datasets": datasets})
    assert _online(con) == []


def test_a_passed_gate_result_publishes(con):
    from musim.features.registry import apply

    apply(con)
    passed = {"run_id": "q1", "docs_url": None, "datasets": dict.fromkeys(FEATURES_DATASETS, "passed")}
    released = release(con, [d.artist_descriptors_mean, d.track_log_mel], quality=passed)
    assert len(released.published) == 1 and released.quality == passed  # the log-mels live in the object store
    assert _online(con)


def _never_run(con):
    raise AssertionError("the gate ran")


def test_views_with_no_online_snapshot_need_no_gate(con):
    # the log-mels live in the object store: a build of them alone publishes nothing, so it runs no gate
    released = release(con, [d.track_log_mel], gate=_never_run)
    assert released == type(released)([], None)
    assert _online(con) == []


@pytest.mark.parametrize("views", [[d.artist_descriptors_mean], [d.track_log_mel]])
def test_a_release_with_no_gate_no_result_and_no_skip_is_refused(con, views):
    """Nothing publishes ungated by forgetting the gate: the features layer cannot run the suites (they sit
    above it), so its caller must hand down a gate, a passed gate's result, or skip_quality."""
    from musim.features.registry import apply

    apply(con)
    with pytest.raises(ParameterError, match=r"^publishing the online feature snapshots needs the features quality "
                                             r"gate: pass gate=musim\.quality\.gates\.gate_features, quality="):
        release(con, views)
    assert _online(con) == []


def test_the_gate_handed_down_runs_on_the_writer_and_must_pass_the_features_suites(con):
    from musim.features.registry import apply

    apply(con)
    seen = []

    def partial_gate(c):  # a gate that forgot training_sets: refused like a partial result
        seen.append(c)
        return {"run_id": "g1", "docs_url": None, "datasets": {"features": "passed"}}

    with pytest.raises(QualityError, match="^quality run g1 did not check training_sets"):
        release(con, [d.artist_descriptors_mean], gate=partial_gate)
    assert seen == [con] and _online(con) == []
    released = release(con, [d.artist_descriptors_mean], gate=lambda c: {
        "run_id": "g2", "docs_url": None, "datasets": dict.fromkeys(FEATURES_DATASETS, "passed")})
    assert released.quality["run_id"] == "g2" and len(released.published) == 1 and _online(con)


def test_skip_quality_publishes_without_a_gate(con):
    from musim.features.registry import apply

    apply(con)
    released = release(con, [d.artist_descriptors_mean], skip_quality=True)
    assert released.quality is None and len(released.published) == 1 and _online(con)


def test_the_quality_layer_gates_the_datasets_the_feature_store_names():
    assert GATED is FEATURES_DATASETS == ("features", "training_sets")
