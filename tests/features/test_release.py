"""Record -> gate -> publish: online snapshots are released only with a passed features gate."""

from __future__ import annotations

import re

import pytest

from musim.errors import QualityError
from musim.features import definitions as d
from musim.features.release import FEATURES_DATASETS, release


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


def test_views_with_no_online_snapshot_need_no_gate(con):
    # the log-mels live in the object store: a build of them alone publishes nothing, so it runs no gate
    released = release(con, [d.track_log_mel])
    assert released == type(released)([], None)
    assert _online(con) == []
