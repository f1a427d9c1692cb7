"""bench_real_music: the per-package breakdown in each row's notes."""

from __future__ import annotations

import numpy as np

from benchmarks.bench_real_music import _by_group
from musim.models.label_eval import retrieval_report


def test_per_package_auc_names_each_package_with_its_queries():
    v = np.array([[1, 0], [1, 0.1], [0, 1], [0.1, 1], [1, 1], [1, 0.9], [0, 1]], dtype=np.float32)
    report = retrieval_report("x", [0, 0, 1, 1, 2, 2, 3], ["a", "a", "a", "a", "b", "b", "b"], vectors=v, n_boot=10)
    # package a: both composers separated (AUC 1 for 4 queries); package b: composer 3 has one track, so only
    # composer 2's two queries are scored, each on where that one track falls.
    assert _by_group(report) == "; per package a 1.000 (4), b 1.000 (2)"
