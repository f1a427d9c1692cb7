"""The timbre model: a Gaussian of MFCC frames, its vector (mean + log-covariance) and the symmetric divergence;
the contrast model: the same over the spectral-contrast frames and their deltas."""

from __future__ import annotations

import numpy as np
import pytest

from musim.audio import DESCRIPTOR_NAMES, descriptor_vector, descriptors
from musim.audio.timbre import (
    CONTRAST_NAMES,
    N_CONTRAST,
    N_TIMBRE_MFCC,
    TIMBRE_NAMES,
    contrast_vector,
    deltas,
    mfcc_frames,
    symmetric_kl,
    timbre_gaussian,
    timbre_vector,
)
from musim.errors import ParameterError

from .conftest import SR


def _coloured_noise(envelope: np.ndarray, seconds: float, seed: int) -> np.ndarray:
    """White noise shaped by a spectral envelope (gains over the FFT bins, low to high), with a slow tremolo."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    spec = np.fft.rfft(rng.standard_normal(n))
    gains = np.interp(np.linspace(0, 1, spec.size), np.linspace(0, 1, envelope.size), envelope)
    y = np.fft.irfft(spec * gains, n)
    y *= 1 + 0.3 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * np.arange(n) / SR)
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


def _timbre(y: np.ndarray) -> np.ndarray:
    d = descriptors(y, sr=SR)
    return np.array([d[n] for n in TIMBRE_NAMES])


def test_the_same_spectral_envelope_is_closer_than_another():
    dark = np.array([1.0, 0.8, 0.3, 0.1, 0.03, 0.01])
    bright = dark[::-1].copy()
    a, b, c = (_coloured_noise(env, 3.0, seed) for env, seed in ((dark, 1), (dark, 2), (bright, 3)))
    va, vb, vc = _timbre(a), _timbre(b), _timbre(c)
    assert np.linalg.norm(va - vb) < 0.5 * min(np.linalg.norm(va - vc), np.linalg.norm(vb - vc))
    from musim.audio.mel import _mel_sparse, power_spectrogram, power_to_db

    def gauss(y):
        mel = _mel_sparse(SR, 2048, 36, 0.0, SR / 2.0) @ power_spectrogram(y, n_fft=2048, hop_length=256)
        return timbre_gaussian(mfcc_frames(power_to_db(np.asarray(mel, np.float32), ref=1.0)))

    ga, gb, gc = gauss(a), gauss(b), gauss(c)
    assert symmetric_kl(*ga, *gb) < 0.5 * min(symmetric_kl(*ga, *gc), symmetric_kl(*gb, *gc))


def test_divergence_is_symmetric_zero_on_itself_and_positive():
    rng = np.random.default_rng(0)
    frames_a, frames_b = rng.normal(size=(5, 400)), rng.normal(1.0, 2.0, size=(5, 400))
    ga, gb = timbre_gaussian(frames_a), timbre_gaussian(frames_b)
    assert symmetric_kl(*ga, *ga) == pytest.approx(0.0, abs=1e-9)
    assert symmetric_kl(*ga, *gb) == pytest.approx(symmetric_kl(*gb, *ga))
    assert symmetric_kl(*ga, *gb) > 0.5
    # hand-computed: 1-d Gaussians N(0, 1) and N(1, 4): (1/4 + 4 + 1 * (1 + 1/4)) / 4 - 1/2
    assert symmetric_kl(np.zeros(1), np.eye(1), np.ones(1), 4 * np.eye(1)) == pytest.approx(
        (0.25 + 4 + 1.25) / 4 - 0.5)


def test_vector_distance_is_mean_plus_log_euclidean_distance():
    rng = np.random.default_rng(1)
    ga, gb = timbre_gaussian(rng.normal(size=(4, 300))), timbre_gaussian(rng.normal(size=(4, 300)) * [[1], [2], [3], [4]])

    def logm(s):
        w, v = np.linalg.eigh(s)
        return (v * np.log(w)) @ v.T

    va, vb = timbre_vector(*ga), timbre_vector(*gb)
    assert va.shape == (4 + 10,)
    expected = np.sum((ga[0] - gb[0]) ** 2) + np.sum((logm(ga[1]) - logm(gb[1])) ** 2)
    assert np.sum((va - vb) ** 2) == pytest.approx(expected)
    with pytest.raises(ParameterError, match="covariance must be"):
        timbre_vector(np.zeros(3), np.eye(4))


def test_the_block_in_the_descriptors_and_degenerate_input():
    start = DESCRIPTOR_NAMES.index(TIMBRE_NAMES[0])
    assert DESCRIPTOR_NAMES[start:start + len(TIMBRE_NAMES)] == TIMBRE_NAMES
    assert len(TIMBRE_NAMES) == N_TIMBRE_MFCC + N_TIMBRE_MFCC * (N_TIMBRE_MFCC + 1) // 2
    v = descriptor_vector(descriptors(np.zeros(SR, np.float32), sr=SR))
    assert np.all(np.isfinite(v))
    mu, cov = timbre_gaussian(np.ones((3, 1)))  # one frame: the floor only
    assert np.all(np.isfinite(timbre_vector(mu, cov)))
    with pytest.raises(ParameterError, match="log-mel"):
        mfcc_frames(np.zeros((10, 5)))


def test_deltas_are_the_local_slope():
    t = np.arange(50, dtype=np.float64)
    frames = np.stack([3.0 * t, np.full(50, 7.0), t ** 2])
    d = deltas(frames)
    assert d.shape == frames.shape
    assert np.allclose(d[0, 4:-4], 3.0) and np.allclose(d[1], 0.0)  # a line: its slope; a constant: 0
    assert np.allclose(d[2, 4:-4], 2 * t[4:-4])  # the centred regression slope of t^2 is 2t
    assert d[0, 0] < 3.0  # the edge frame repeated flattens the first slopes
    assert np.all(deltas(np.ones((2, 1))) == 0.0)
    with pytest.raises(ParameterError, match="frames"):
        deltas(np.ones(5))


def test_contrast_model_sees_how_the_contrast_moves():
    rng = np.random.default_rng(2)
    smooth = np.cumsum(rng.normal(size=(N_CONTRAST, 2000)), axis=1)
    smooth = (smooth - smooth.mean(axis=1, keepdims=True)) / smooth.std(axis=1, keepdims=True)
    rough = rng.permuted(smooth, axis=1)  # the same values per band, in shuffled order: same mean and spread
    vs, vr = contrast_vector(smooth + 20), contrast_vector(rough + 20)
    assert vs.shape == (len(CONTRAST_NAMES),) == (N_CONTRAST + 2 * N_CONTRAST * (2 * N_CONTRAST + 1) // 2,)
    assert np.allclose(vs[:N_CONTRAST], 20.0) and np.allclose(vr[:N_CONTRAST], 20.0)
    # mean and standard deviation per band (the block before) cannot tell them apart; the deltas' covariance can.
    assert np.linalg.norm(vs - vr) > 5.0
    mu, cov = timbre_gaussian(np.concatenate([rough, deltas(rough)]) + 0.0)
    assert np.allclose(vr[N_CONTRAST:], timbre_vector(mu, cov)[2 * N_CONTRAST:])  # mean-free: an offset changes nothing
    assert np.all(np.isfinite(contrast_vector(np.ones((N_CONTRAST, 1)))))
    with pytest.raises(ParameterError, match="spectral contrast"):
        contrast_vector(np.ones((6, 10)))
    assert set(CONTRAST_NAMES) <= set(DESCRIPTOR_NAMES)
