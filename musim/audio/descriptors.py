"""Handcrafted descriptors: the autoencoder origin's "features first" baseline, made precise.

One STFT (2048-point Hann window, 256-sample hop = 11.6 ms at 22050 Hz) feeds every spectral descriptor;
the fine hop gives the tempo estimate a resolution of about 0.6 BPM near 120 BPM (a 512 hop quantises it to
117.5 / 123.0). Every value is finite for any non-empty input, silence included (silence gives zeros for
the rhythm and frequency statistics).

Definitions (all means and standard deviations are over STFT frames unless said otherwise):

================================  =================================================================================
``duration_s``                    length of the input in seconds
``tempo_bpm``                     ``librosa.beat.beat_track`` global tempo (0 when no beat is found)
``ibi_mean_s``, ``ibi_std_s``     mean and standard deviation of the inter-beat intervals of the tracked beats
                                  (0 with fewer than two beats)
``rolloff_mean_hz``               mean 85 % spectral roll-off frequency
``zcr_mean``, ``zcr_range``       mean and (max - min) of the frame zero-crossing rate (crossings per sample)
``mel_freq_mean_hz``              centroid of the time-averaged 128-band mel power spectrum: the power-weighted
                                  mean of the bands' centre frequencies, in Hz (a spectral centroid sampled on the
                                  mel scale, so low frequencies get finer resolution)
``mel_freq_std_hz``               the power-weighted standard deviation of those centre frequencies, in Hz (spread)
``onset_strength_mean/std``       mean and standard deviation of the spectral-flux onset envelope
                                  (``librosa.onset.onset_strength`` on the 128-band log-mel spectrogram)
``tonic_pc``                      tonic pitch class, 0 = C ... 11 = B, from the key estimate
``key_major``                     1.0 for major, 0.0 for minor
``key_strength``                  Pearson correlation of the mean chroma with the winning Krumhansl-Kessler profile
``tonic_pc_cos/sin``              the tonic on the circle of pitch classes (for distance computations)
``tonic_distance_z``              ``(mel_freq_mean_hz - f_tonic) / mel_freq_std_hz`` where ``f_tonic`` is the tonic
                                  in the octave starting at middle C (C4 = 261.63 Hz ... B4 = 493.88 Hz): how many
                                  spectral spreads the centre of mass lies above (+) or below (-) the tonic
``mfcc_mean_k``, ``mfcc_std_k``   mean and standard deviation of MFCC k = 1..13 (DCT-II of the log-mel spectrogram,
                                  librosa's ``mfcc`` with 128 bands)
``contrast_mean_k``,              the contrast model (:func:`musim.audio.timbre.contrast_vector`): mean spectral
``contrast_logcov_i_j``           contrast (peak minus valley, dB) of band k = 1..7 (``librosa.feature.
                                  spectral_contrast``: six octave bands from 200 Hz and the rest above), then the
                                  upper triangle of the matrix logarithm of the covariance of the contrast frames
                                  stacked with their deltas (14 x 14, off-diagonal entries times sqrt 2)
``timbre_mean_k``,                the timbre model (:mod:`musim.audio.timbre`): mean and the upper triangle of the
``timbre_logcov_i_j``             matrix logarithm of the full covariance of the MFCC frames (20 coefficients of a
                                  36-band log-mel, off-diagonal entries times sqrt 2)
``musicnn_k``                     unit k = 1..200 of musicnn's pretrained penultimate layer (the Million Song
                                  Dataset tagger, :mod:`musim.audio.musicnn`), averaged over the 3-second patches
================================  =================================================================================

The key estimate is Krumhansl-Schmuckler: correlate the time-averaged chroma vector (``chroma_stft``,
assuming A4 = 440 Hz tuning) with the 24 rotations of the Krumhansl-Kessler major and minor profiles, take
the best.

Cost: about 0.2 s for a 30-second clip (most of it the tempogram at the fine hop), and about 0.3 s more for
musicnn's ten 3-second patches; the first call in a
fresh environment also compiles librosa's numba kernels (~15 s, cached on disk afterwards).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from musim.audio.batch import one_blas_thread
from musim.audio.mel import _mel_sparse, power_spectrogram, power_to_db
from musim.audio.musicnn import EMBEDDING_DIM
from musim.audio.musicnn import embedding as musicnn_embedding
from musim.audio.timbre import (
    CONTRAST_NAMES,
    N_CONTRAST,
    N_TIMBRE_MELS,
    TIMBRE_NAMES,
    contrast_vector,
    mfcc_frames,
    timbre_gaussian,
    timbre_vector,
)
from musim.errors import ParameterError

__all__ = [
    "DESCRIPTOR_NAMES",
    "PITCH_CLASSES",
    "descriptor_vector",
    "descriptors",
    "estimate_key",
]

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

#: Krumhansl-Kessler key profiles (probe-tone ratings), tonic first.
_KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

N_MFCC = 13
#: The musicnn block: its pretrained embedding's units.
MUSICNN_NAMES: tuple[str, ...] = tuple(f"musicnn_{k}" for k in range(1, EMBEDDING_DIM + 1))
_N_FFT = 2048
_HOP = 256
_N_MELS = 128

#: The numeric descriptors in vector order (what :func:`descriptor_vector` returns).
DESCRIPTOR_NAMES: tuple[str, ...] = (
    "duration_s",
    "tempo_bpm",
    "ibi_mean_s",
    "ibi_std_s",
    "rolloff_mean_hz",
    "zcr_mean",
    "zcr_range",
    "mel_freq_mean_hz",
    "mel_freq_std_hz",
    "onset_strength_mean",
    "onset_strength_std",
    "key_major",
    "key_strength",
    "tonic_pc_cos",
    "tonic_pc_sin",
    "tonic_distance_z",
    *(f"mfcc_mean_{k}" for k in range(1, N_MFCC + 1)),
    *(f"mfcc_std_{k}" for k in range(1, N_MFCC + 1)),
    *CONTRAST_NAMES,
    *TIMBRE_NAMES,
    *MUSICNN_NAMES,
)


def estimate_key(chroma_mean: np.ndarray) -> tuple[int, bool, float]:
    """Krumhansl-Schmuckler key estimate from a 12-bin chroma profile.

    Parameters
    ----------
    chroma_mean : np.ndarray [shape=(12,)]
        Non-negative pitch-class energies, C first.

    Returns
    -------
    tonic_pc : int
        0 = C ... 11 = B.
    major : bool
    strength : float
        Pearson correlation with the winning profile, in [-1, 1]; 0 for a flat (e.g. silent) profile.
    """
    c = np.asarray(chroma_mean, dtype=np.float64).reshape(-1)
    if c.shape != (12,):
        raise ParameterError(f"chroma_mean must have 12 values, got shape {np.shape(chroma_mean)}")
    if not np.all(np.isfinite(c)) or np.std(c) < 1e-12:
        return 0, True, 0.0
    profiles = np.stack([np.roll(_KK_MAJOR, r) for r in range(12)] + [np.roll(_KK_MINOR, r) for r in range(12)])
    pz = (profiles - profiles.mean(axis=1, keepdims=True)) / profiles.std(axis=1, keepdims=True)
    cz = (c - c.mean()) / c.std()
    corr = pz @ cz / 12.0
    best = int(np.argmax(corr))
    return best % 12, best < 12, float(corr[best])


def _finite(x: float) -> float:
    x = float(x)
    return x if math.isfinite(x) else 0.0


def load_kernels() -> None:
    """Import what :func:`descriptors` compiles on first use: ``librosa.beat`` compiles a numba kernel
    (``__beat_local_score``, ``cache=False``) when imported, in every process that imports it. A process that forks
    workers to compute descriptors calls this first (:func:`musim.audio.batch.pool_map`'s ``warm``), so that they
    inherit the compiled kernel instead of compiling it each."""
    import librosa.beat
    import librosa.onset

    del librosa


def descriptors(y: np.ndarray, *, sr: int = 22050) -> dict[str, float | str]:
    """Compute the handcrafted descriptors of a mono clip (definitions in the module docstring).

    Parameters
    ----------
    y : np.ndarray [shape=(n,), float]
        Mono audio at ``sr`` Hz, n > 0.
    sr : int
        Sampling rate in Hz.

    Returns
    -------
    dict
        Every name in :data:`DESCRIPTOR_NAMES` as a finite float, plus ``tonic_pc`` (float 0-11),
        ``tonic_name`` (e.g. ``"A"``) and ``key_name`` (e.g. ``"A minor"``).

    Notes
    -----
    Computed with one BLAS thread, whatever this process has: a matrix product (musicnn's layers, the timbre model)
    summed by several threads in another order gives other last bits, so the same clip gave other descriptors in a
    process of several BLAS threads (``--workers 1``, one file) than in the pool's workers, which have one.
    """
    with one_blas_thread():
        return _descriptors(y, sr=sr)


def _descriptors(y: np.ndarray, *, sr: int) -> dict[str, float | str]:
    import librosa

    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        raise ParameterError(f"expected non-empty mono audio of shape (n,), got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.floating):
        raise ParameterError(f"expected floating-point audio, got dtype {y.dtype}")
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise ParameterError(f"sr must be a positive integer, got {sr!r}")
    y = np.nan_to_num(y.astype(np.float32, copy=False))
    sr = int(sr)
    out: dict[str, float | str] = {"duration_s": y.size / sr}

    S = power_spectrogram(y, n_fft=_N_FFT, hop_length=_HOP, power=2.0)  # (1025, t)
    mel = np.asarray(_mel_sparse(sr, _N_FFT, _N_MELS, 0.0, sr / 2.0) @ S, dtype=np.float32)  # (128, t) power
    mel_db = power_to_db(mel, ref=1.0, top_db=80.0)

    # Rhythm: onset envelope, tempo and beats.
    oenv = librosa.onset.onset_strength(S=mel_db, sr=sr, hop_length=_HOP, n_fft=_N_FFT)
    out["onset_strength_mean"] = _finite(np.mean(oenv))
    out["onset_strength_std"] = _finite(np.std(oenv))
    if np.any(oenv > 0):
        tempo, beats = librosa.beat.beat_track(onset_envelope=oenv, sr=sr, hop_length=_HOP, units="time")
        tempo_bpm = _finite(np.asarray(tempo).reshape(-1)[0]) if np.size(tempo) else 0.0
    else:
        tempo_bpm, beats = 0.0, np.zeros(0)
    ibi = np.diff(np.asarray(beats, dtype=np.float64))
    out["tempo_bpm"] = tempo_bpm
    out["ibi_mean_s"] = _finite(ibi.mean()) if ibi.size else 0.0
    out["ibi_std_s"] = _finite(ibi.std()) if ibi.size else 0.0

    # Spectral shape.
    rolloff = librosa.feature.spectral_rolloff(S=np.sqrt(S), sr=sr, n_fft=_N_FFT, roll_percent=0.85)
    out["rolloff_mean_hz"] = _finite(np.mean(rolloff))
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=_N_FFT, hop_length=_HOP)[0]
    out["zcr_mean"] = _finite(np.mean(zcr))
    out["zcr_range"] = _finite(np.max(zcr) - np.min(zcr))

    centres = librosa.mel_frequencies(n_mels=_N_MELS + 2, fmin=0.0, fmax=sr / 2.0)[1:-1]
    w = mel.mean(axis=1, dtype=np.float64)
    total = float(w.sum())
    if total > 0 and math.isfinite(total):
        p = w / total
        f_mean = float(p @ centres)
        f_std = float(np.sqrt(p @ (centres - f_mean) ** 2))
    else:
        f_mean = f_std = 0.0
    out["mel_freq_mean_hz"] = _finite(f_mean)
    out["mel_freq_std_hz"] = _finite(f_std)

    # Tonality.
    chroma = librosa.feature.chroma_stft(S=S, sr=sr, n_fft=_N_FFT, tuning=0.0)
    tonic, major, strength = estimate_key(chroma.mean(axis=1))
    out["key_major"] = 1.0 if major else 0.0
    out["key_strength"] = _finite(strength)
    out["tonic_pc_cos"] = math.cos(2 * math.pi * tonic / 12)
    out["tonic_pc_sin"] = math.sin(2 * math.pi * tonic / 12)
    f_tonic = 440.0 * 2.0 ** ((60 + tonic - 69) / 12.0)
    out["tonic_distance_z"] = _finite((f_mean - f_tonic) / f_std) if f_std > 0 else 0.0

    # Timbre.
    mfcc = librosa.feature.mfcc(S=mel_db, sr=sr, n_mfcc=N_MFCC)
    for k in range(N_MFCC):
        out[f"mfcc_mean_{k + 1}"] = _finite(np.mean(mfcc[k]))
        out[f"mfcc_std_{k + 1}"] = _finite(np.std(mfcc[k]))
    contrast = librosa.feature.spectral_contrast(S=np.sqrt(S), sr=sr, n_fft=_N_FFT, n_bands=N_CONTRAST - 1)
    out.update(zip(CONTRAST_NAMES, (_finite(v) for v in contrast_vector(contrast)), strict=True))
    mel_t = np.asarray(_mel_sparse(sr, _N_FFT, N_TIMBRE_MELS, 0.0, sr / 2.0) @ S, dtype=np.float32)
    timbre = timbre_vector(*timbre_gaussian(mfcc_frames(power_to_db(mel_t, ref=1.0, top_db=80.0))))
    out.update(zip(TIMBRE_NAMES, (_finite(v) for v in timbre), strict=True))
    out.update(zip(MUSICNN_NAMES, (_finite(v) for v in musicnn_embedding(y, sr=sr)), strict=True))

    ordered: dict[str, float | str] = {name: float(out[name]) for name in DESCRIPTOR_NAMES}
    ordered["tonic_pc"] = float(tonic)
    ordered["tonic_name"] = PITCH_CLASSES[tonic]
    ordered["key_name"] = f"{PITCH_CLASSES[tonic]} {'major' if major else 'minor'}"
    return ordered


def descriptor_vector(d: Mapping[str, float | str]) -> np.ndarray:
    """The numeric descriptors as a vector in :data:`DESCRIPTOR_NAMES` order.

    Parameters
    ----------
    d : mapping
        As returned by :func:`descriptors` (extra keys are ignored).

    Returns
    -------
    np.ndarray [shape=(len(DESCRIPTOR_NAMES),), dtype=float64]
    """
    missing = [n for n in DESCRIPTOR_NAMES if n not in d]
    if missing:
        raise ParameterError(f"descriptor dict lacks {missing[:5]}{'...' if len(missing) > 5 else ''}")
    return np.array([float(d[n]) for n in DESCRIPTOR_NAMES], dtype=np.float64)
