"""stereo_dev: the stereo image's blocks on signals whose width, correlation and pan are known, and the reader that
keeps both channels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks.real_music.stereo_dev import (
    BLOCKS,
    NAMES,
    SR,
    WIDTH_FLOOR_DB,
    is_mono,
    read_stereo_excerpt,
    stereo_blocks,
)

_NOISE = 0.1 * np.random.default_rng(0).standard_normal(5 * SR)


def _bands(block: np.ndarray, per_band: int) -> np.ndarray:
    return block.reshape(7, per_band)


def test_the_same_signal_in_both_channels_is_mono_everywhere() -> None:
    b = stereo_blocks(np.vstack([_NOISE, _NOISE]))
    width = _bands(b["width"], 4)  # per band: width mean, std, correlation mean, std
    assert np.allclose(width, [WIDTH_FLOOR_DB, 0.0, 1.0, 0.0], atol=1e-6)
    assert np.allclose(b["balance"], 0.0, atol=1e-9) and is_mono(np.vstack([_NOISE, _NOISE]))


def test_one_channel_at_half_gain_is_panned_left_with_a_side_a_third_of_the_mid() -> None:
    b = stereo_blocks(np.vstack([_NOISE, 0.5 * _NOISE]))
    # pan (1 - 1/4) / (1 + 1/4) = 0.6; side / mid = (1/4)^2 / (3/4)^2 = 1/9 in energy, -9.54 dB; correlation 1
    assert np.allclose(_bands(b["balance"], 3), [0.6, 0.0, 0.6], atol=1e-6)
    assert np.allclose(_bands(b["width"], 4), [10 * np.log10(1 / 9), 0.0, 1.0, 0.0], atol=1e-4)
    assert not is_mono(np.vstack([_NOISE, 0.5 * _NOISE]))


def test_independent_channels_are_wide_and_uncorrelated() -> None:
    other = 0.1 * np.random.default_rng(1).standard_normal(_NOISE.size)
    width = _bands(stereo_blocks(np.vstack([_NOISE, other]))["width"], 4)
    assert np.all(np.abs(width[:, 0]) < 1.5) and np.all(np.abs(width[:, 2]) < 0.1)  # side ~ mid (0 dB), corr ~ 0


def test_the_candidates_are_the_family_then_each_block_at_each_weight_and_stereo_is_both() -> None:
    b = stereo_blocks(np.vstack([_NOISE, 0.5 * _NOISE]))
    assert np.array_equal(b["stereo"], np.concatenate([b["width"], b["balance"]])) and len(b["stereo"]) == 49
    assert NAMES[0].startswith("w 0") and len(NAMES) == 1 + 3 * len(BLOCKS)


def test_the_reader_keeps_both_channels_and_doubles_a_mono_file(tmp_path: Path) -> None:
    stereo = np.stack([_NOISE, -_NOISE], axis=1)
    sf.write(tmp_path / "s.wav", np.tile(stereo, (2, 1)), SR)
    sf.write(tmp_path / "m.wav", np.tile(_NOISE, 2), SR)
    y = read_stereo_excerpt(tmp_path / "s.wav")
    assert y.shape == (2, 10 * SR) and np.allclose(y[0], -y[1], atol=1e-4)
    m = read_stereo_excerpt(tmp_path / "m.wav")
    assert m.shape == (2, 10 * SR) and is_mono(m)
    assert isinstance(read_stereo_excerpt(tmp_path / "missing.wav"), str)
