"""musim.runs: one object-key segment per run id."""

from __future__ import annotations

from musim.runs import run_key


def test_a_run_key_is_one_safe_segment_and_each_run_id_has_its_own():
    assert run_key("dag-run-1") == "dag-run-1"  # a safe id as it is
    ids = ["train_siamese/manual__2026-01-01T00:00:00+00:00", "train_siamese/manual__2026-01-01T00_00_00_00_00",
           "train_siamese/exp~1", "train_siamese/exp:1", "train_siamese/exp_1", "train_siamese/exp+1",
           "train_siamese/" + "x" * 200 + "-lr0.01", "train_siamese/" + "x" * 200 + "-lr0.1", "", "..", ".", "_.._",
           "é" * 5, "ü" * 5]
    keys = [run_key(i) for i in ids]
    assert len(set(keys)) == len(ids), keys  # a:b and a_b, long ids alike at the start: each its own staging
    for key in keys:
        assert 0 < len(key) <= 120 and key.strip(".") and "/" not in key and key == run_key(key)
    assert keys[0].startswith("train_siamese_manual__2026-01-01T00_00_00_00_00-")  # still readable
    assert [run_key(i) for i in ids] == keys  # the same run id, the same key (a retry finds what it staged)

