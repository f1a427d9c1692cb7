"""bench_siamese_start and bench_acquire's fixtures run against the code they measure: both had drifted from it
(an ``init_encoder`` value the family refuses, an insert one column short of the table) and failed only in
``make bench``, which CI does not run."""

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


def test_the_acquire_benchmarks_catalogue_is_published_and_a_half_written_one_is_started_again(tmp_path):
    from benchmarks.bench_acquire import _publish_catalogue
    from musim import serving

    names = [f"Artist {i}" for i in range(5)]
    (tmp_path / "snapshot").mkdir()
    (tmp_path / "snapshot" / "leftover").write_text("a run stopped before it published")
    serving_dir = _publish_catalogue(tmp_path / "snapshot", names)
    assert (serving_dir / serving.CURRENT).exists()
    assert not (tmp_path / "snapshot" / "leftover").exists()
    assert _publish_catalogue(tmp_path / "snapshot", names) == serving_dir  # published: reused as it is
