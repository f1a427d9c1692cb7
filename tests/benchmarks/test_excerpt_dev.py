"""excerpt_dev: the analysed window's candidates, the rows every candidate kept, and the windows really read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from benchmarks.real_music.excerpt_dev import WINDOWS, common_rows, window_features, window_name


def test_the_adopted_window_comes_first_and_the_last_stands_for_the_whole_track() -> None:
    assert WINDOWS[0] == 30.0 and list(WINDOWS) == sorted(WINDOWS) and len(set(WINDOWS)) == len(WINDOWS)
    assert window_name(30.0) == "30 s (adopted)" and window_name(WINDOWS[-1]).startswith("whole track")


def test_common_rows_keep_the_files_every_candidate_kept_in_file_order() -> None:
    rows = common_rows([np.array([0, 1, 3, 4]), np.array([1, 2, 3, 4]), np.array([1, 3, 4])])
    assert [r.tolist() for r in rows] == [[1, 2, 3], [0, 2, 3], [0, 1, 2]]


@pytest.mark.slow
def test_a_longer_window_reads_more_of_the_track_and_a_short_file_whole(tmp_path: Path) -> None:
    sr = 22050
    t = np.arange(int(70 * sr)) / sr
    # the middle 30 s is one steady tone; the 60-s window also takes in a noisy opening and ending
    y = np.where(np.abs(t - 35) < 15, 0.3 * np.sin(2 * np.pi * 440 * t),
                 0.3 * np.random.default_rng(0).normal(size=t.size)).astype(np.float32)
    sf.write(tmp_path / "long.wav", y, sr)
    sf.write(tmp_path / "short.wav", y[: 40 * sr], sr)  # 40 s: every window over 40 s reads all of it
    sf.write(tmp_path / "tiny.wav", y[: 2 * sr], sr)  # under the 5-s minimum: skipped by every window
    paths = [tmp_path / "long.wav", tmp_path / "short.wav", tmp_path / "tiny.wav"]
    got = {w: window_features(paths, w, tmp_path / f"c-{w:g}.npz") for w in (30.0, 60.0, 600.0)}
    for w, f in got.items():
        assert f["kept"].tolist() == [0, 1], w
        assert (tmp_path / f"c-{w:g}.npz").is_file()
    assert not np.allclose(got[30.0]["mfcc20"][0], got[60.0]["mfcc20"][0])  # the noise moves the long file's MFCCs
    np.testing.assert_allclose(got[60.0]["desc"][1], got[600.0]["desc"][1], rtol=1e-5, atol=1e-5)  # 40 s, whole
    again = window_features(paths, 60.0, tmp_path / "c-60.npz")  # read from the cache, the same values
    np.testing.assert_array_equal(again["desc"], got[60.0]["desc"])
