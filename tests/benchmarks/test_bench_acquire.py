"""bench_acquire's catalogue is published by the code it measures: its insert had drifted from the table (one column
short) and failed only in ``make bench``, which CI does not run."""

from __future__ import annotations


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
