"""bench_siamese_start runs against the code it measures: it had drifted from it (an ``init_encoder`` value the
family refuses) and failed only in ``make bench``, which CI does not run."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.slow
def test_the_siamese_start_benchmark_trains_both_starts_for_each_seed_and_averages_them(tmp_path):
    from benchmarks.bench_siamese_start import _child

    r = _child(communities=3, artists_per_community=5, contrastive_epochs=1, siamese_epochs=1, test_share=0.34,
               workdir=str(tmp_path), seeds=2)
    assert r["seeds"] == 2 and [len(v) for v in r["per_seed"].values()] == [2, 2]
    for kind in ("scratch", "started"):  # each query's metric averaged over the seeds: so is their mean
        assert r[kind]["mean"] == pytest.approx(np.mean(r["per_seed"][kind]), abs=1e-9)
    assert r["diff"]["diff"] == pytest.approx(r["started"]["mean"] - r["scratch"]["mean"], abs=1e-9)
    assert r["diff"]["lo"] <= r["diff"]["diff"] <= r["diff"]["hi"]
