"""audio_acquire and audio_features announce their asset only when the run stored something new (a success of
a task with outlets is an asset event in Airflow 3: an empty nightly run retrained the models every day)."""

from __future__ import annotations

from tests.dags.dag_child import child_env, run_child

CHILD = r"""
import json, sys
from airflow.sdk.exceptions import AirflowSkipException
sys.path.insert(0, "dags")
import audio_acquire, audio_features

emit = audio_acquire.audio_acquire().get_task("emit").python_callable
publish = audio_features.audio_features().get_task("publish").python_callable
quality = {"run_id": "q1"}
totals = {"batches": 1, "journals": 1, "tracks": 3, "artists_with_tracks": 1}
features = {"run_id": "f1", "tracks": 3, "planned": 0, "computed": 0, "reused": 0, "rejected": 0,
            "rejects_by_reason": {}, "materialised": {}, "views": []}

def outcome(gen):
    try:
        next(gen)
        return "an asset event"
    except AirflowSkipException as exc:
        return "skipped: " + str(exc)

print(json.dumps([
    outcome(emit({**totals, "failed": 2}, quality)),
    outcome(emit({**totals, "downloaded": 1}, quality)),
    outcome(emit({**totals, "reused": 1}, quality)),
    outcome(publish(features, quality, params={"views": None, "publish": False})),
    outcome(publish({**features, "planned": 2, "computed": 2}, quality, params={"views": None, "publish": False})),
    outcome(publish({**features, "reused": 4}, quality, params={"views": None, "publish": False})),
]))
"""


def test_audio_dags_announce_their_asset_only_when_something_new_was_stored(tmp_path):
    out = run_child(CHILD, env=child_env(tmp_path, MUSIM_HOME=str(tmp_path / "home")))
    assert out == [
        "skipped: no preview was stored: no previews event", "an asset event", "an asset event",
        "skipped: no feature was computed (0 planned): no features event", "an asset event", "an asset event"]
