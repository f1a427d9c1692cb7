"""Handcrafted descriptors: tempo, key, spectral statistics, silence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from musim.audio import DESCRIPTOR_NAMES, descriptor_vector, descriptors, estimate_key
from musim.errors import ParameterError

from .conftest import SR, click_track, sine


def test_click_track_tempo():
    d = descriptors(click_track(120.0, 20.0), sr=SR)
    assert abs(d["tempo_bpm"] - 120.0) <= 2.0
    assert abs(d["ibi_mean_s"] - 0.5) <= 0.02 and d["ibi_std_s"] < 0.02
    assert d["onset_strength_std"] > 0


def test_silence_is_finite():
    d = descriptors(np.zeros(5 * SR, dtype=np.float32), sr=SR)
    v = descriptor_vector(d)
    assert v.shape == (len(DESCRIPTOR_NAMES),) and np.all(np.isfinite(v))
    assert d["tempo_bpm"] == 0.0 and d["mel_freq_mean_hz"] == 0.0 and d["duration_s"] == 5.0
    assert all(not (isinstance(x, float) and math.isnan(x)) for x in d.values())


def test_values_and_names(music_clip):
    d = descriptors(music_clip, sr=SR)
    assert list(d)[: len(DESCRIPTOR_NAMES)] == list(DESCRIPTOR_NAMES)
    assert {"tonic_pc", "tonic_name", "key_name"} <= set(d)
    assert len([n for n in DESCRIPTOR_NAMES if n.startswith("mfcc_")]) == 26
    assert d["duration_s"] == 30.0
    assert 0 <= d["tonic_pc"] <= 11 and d["key_name"].startswith(d["tonic_name"])
    assert np.all(np.isfinite(descriptor_vector(d)))


def test_spectral_centre_of_a_sine():
    d = descriptors(sine(1000.0, 5.0), sr=SR)
    assert abs(d["mel_freq_mean_hz"] - 1000.0) < 60.0
    assert d["mel_freq_std_hz"] < 150.0
    assert abs(d["rolloff_mean_hz"] - 1000.0) < 60.0
    assert abs(d["zcr_mean"] - 2 * 1000.0 / SR) < 0.01


def test_key_of_a_scale():
    # A natural-minor melody with tonic-heavy weighting: A minor.
    rng = np.random.default_rng(0)
    degrees = rng.choice([0, 0, 0, 2, 3, 3, 5, 7, 7, 8, 10], size=40)
    y = np.concatenate([sine(220.0 * 2 ** (k / 12), 0.25, amp=0.3) for k in degrees])
    d = descriptors(y, sr=SR)
    assert d["key_name"] == "A minor" and d["key_major"] == 0.0


def test_estimate_key_profiles():
    from musim.audio.descriptors import _KK_MAJOR, _KK_MINOR

    assert estimate_key(np.roll(_KK_MAJOR, 7))[:2] == (7, True)
    tonic, major, strength = estimate_key(np.roll(_KK_MINOR, 2))
    assert (tonic, major) == (2, False) and strength == pytest.approx(1.0)
    assert estimate_key(np.zeros(12)) == (0, True, 0.0)


def test_bad_input():
    with pytest.raises(ParameterError):
        descriptors(np.zeros(0, dtype=np.float32), sr=SR)
    with pytest.raises(ParameterError):
        descriptor_vector({"duration_s": 1.0})


def test_descriptors_are_the_same_bits_whatever_the_blas_threads_of_the_process(tmp_path):
    # A process of several BLAS threads (`--workers 1`, one file, `musim embed` of one file) summed musicnn's and the
    # timbre model's matrix products in another order than a pool worker (one thread): the same file gave descriptors
    # that differed in their last bits. Now they are computed with one thread, in every process.
    import soundfile as sf
    from threadpoolctl import threadpool_limits

    from musim.audio import load_audio

    rng = np.random.default_rng(3)
    t = np.arange(8 * SR) / SR
    path = tmp_path / "clip.wav"
    sf.write(path, (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32), SR)
    y, _ = load_audio(path.read_bytes(), sr=SR)
    with threadpool_limits(limits=4, user_api="blas"):
        several = descriptor_vector(descriptors(y, sr=SR))
    with threadpool_limits(limits=1, user_api="blas"):
        one = descriptor_vector(descriptors(y, sr=SR))
    assert np.isfinite(one).all()
    np.testing.assert_array_equal(several, one)
