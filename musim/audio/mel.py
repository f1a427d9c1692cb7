"""Log-mel spectrograms with their parameters recorded, and fixed-size spectrogram slices.

The parameter sets (:class:`~musim.audio.params.MelParams`, :class:`~musim.audio.params.SliceParams`) are in
:mod:`musim.audio.params`; this module computes what they describe.

The numbers equal librosa's reference (``librosa.feature.melspectrogram`` + ``librosa.power_to_db``) on the
same samples: the STFT framing, window, padding and FFT precision are the same, the mel filterbank *is*
librosa's (cached per parameter set), and the dB conversion is librosa's formula. It is faster because the
filterbank is built once per process and, when ``frames`` is fixed, only the frames that are kept are
transformed.

Shapes follow the time-major convention of the models: ``(frames, n_mels)`` = (time, mel).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from musim.audio.params import MelParams, SliceParams, check_positive_int
from musim.errors import ParameterError

__all__ = [
    "AMIN",
    "MelParams",
    "SliceParams",
    "log_mel",
    "mel_filterbank",
    "power_spectrogram",
    "power_to_db",
    "slice_spectrogram",
    "slices",
]

#: Floor applied to power values before taking logarithms (librosa's ``amin``).
AMIN = 1e-10

#: Size of the float64 frame blocks the STFT transforms at once (bounds memory for long tracks).
_BLOCK_BYTES = 16 * 1024 * 1024


@functools.lru_cache(maxsize=32)
def _mel_basis(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    import librosa

    basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, dtype=np.float32)
    basis.setflags(write=False)
    return basis


@functools.lru_cache(maxsize=32)
def _mel_sparse(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> Any:
    # Each band is a triangle over a few FFT bins (~2 nonzeros per bin in all): a sparse product is 10-20x
    # faster than the dense one and, unlike BLAS, never starts threads. Sums differ from the dense product
    # only in float32 rounding order (relative 1e-7, i.e. ~1e-6 dB).
    import scipy.sparse

    return scipy.sparse.csr_matrix(_mel_basis(sr, n_fft, n_mels, fmin, fmax))


def mel_filterbank(*, sr: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """librosa's Slaney mel filterbank, cached per parameter set (read-only).

    Returns
    -------
    np.ndarray [shape=(n_mels, 1 + n_fft // 2), dtype=float32]
    """
    return _mel_basis(int(sr), int(n_fft), int(n_mels), float(fmin), float(sr / 2.0 if fmax is None else fmax))


@functools.lru_cache(maxsize=8)
def _hann(n_fft: int) -> np.ndarray:
    # Periodic Hann window in float64, exactly scipy.signal.get_window("hann", n_fft, fftbins=True),
    # which librosa.stft uses.
    import scipy.signal

    w = scipy.signal.get_window("hann", n_fft, fftbins=True).astype(np.float64)
    w.setflags(write=False)
    return w


def power_spectrogram(y: np.ndarray, *, n_fft: int = 2048, hop_length: int = 512, power: float = 2.0,
                      max_frames: int | None = None) -> np.ndarray:
    """Centred, zero-padded Hann STFT magnitude raised to ``power``, as ``librosa.stft`` computes it.

    Parameters
    ----------
    y : np.ndarray [shape=(n,), dtype=float32]
        Mono signal. Other float dtypes are converted to float32 first (as decoded audio is).
    n_fft, hop_length : int
        FFT size (= window length) and hop in samples.
    power : float
        Exponent applied to the magnitude.
    max_frames : int or None
        Compute only the first ``max_frames`` frames (the others would be cropped anyway).

    Returns
    -------
    np.ndarray [shape=(1 + n_fft // 2, t), dtype=float32]
        ``t = min(1 + n // hop_length, max_frames)``; frequency-major like librosa.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ParameterError(f"expected a mono signal of shape (n,), got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.floating):
        raise ParameterError(f"expected floating-point audio, got dtype {y.dtype}")
    y = y.astype(np.float32, copy=False)
    n_frames = 1 + len(y) // hop_length
    if max_frames is not None:
        n_frames = min(n_frames, int(max_frames))
    half = n_fft // 2
    # Only the samples the kept frames touch: frame t covers [t*hop - n_fft/2, t*hop + n_fft/2).
    needed = (n_frames - 1) * hop_length + half
    padded = np.zeros(half + max(min(len(y), needed), 0) + half + n_fft, dtype=np.float32)
    seg = y[:needed]
    padded[half:half + len(seg)] = seg
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length][:n_frames]
    window = _hann(n_fft)
    out = np.empty((1 + half, n_frames), dtype=np.float32)
    block = max(1, _BLOCK_BYTES // (8 * n_fft))
    for start in range(0, n_frames, block):
        # float64 window x float32 frames -> float64 FFT, rounded to complex64: librosa.stft's arithmetic.
        spec = np.fft.rfft(frames[start:start + block] * window, axis=-1).astype(np.complex64)
        mag = np.abs(spec)
        out[:, start:start + block] = (mag * mag if power == 2.0 else mag**power).T
    return out


def power_to_db(S: np.ndarray, *, ref: str | float = "max", amin: float = AMIN,
                top_db: float | None = 80.0) -> np.ndarray:
    """Convert a power spectrogram to dB, exactly as ``librosa.power_to_db``.

    ``10 * log10(max(amin, S)) - 10 * log10(max(amin, ref))``, then floored at ``max - top_db``.

    Parameters
    ----------
    S : np.ndarray
        Non-negative power values, any shape.
    ref : "max" or float
        Reference power for 0 dB: ``S.max()`` or a fixed value.

    Returns
    -------
    np.ndarray, same shape and float dtype as ``S``
    """
    S = np.asarray(S)
    if isinstance(ref, str):
        ref_value = np.max(S) if S.size else 1.0
    else:
        ref_value = np.abs(float(ref))
    log_spec = 10.0 * np.log10(np.maximum(amin, S))
    log_spec -= 10.0 * np.log10(np.maximum(amin, ref_value))
    if top_db is not None and log_spec.size:
        log_spec = np.maximum(log_spec, log_spec.max() - top_db)
    return log_spec


def _mel_power(y: np.ndarray, p: MelParams, max_frames: int | None) -> np.ndarray:
    """Mel power spectrogram, shape (n_mels, t), float32."""
    S = power_spectrogram(y, n_fft=p.n_fft, hop_length=p.hop_length, power=p.power, max_frames=max_frames)
    basis = _mel_sparse(p.sr, p.n_fft, p.n_mels, p.fmin, p.fmax_hz)
    return np.asarray(basis @ S, dtype=np.float32)


def log_mel(y: np.ndarray, *, params: MelParams | None = None) -> np.ndarray:
    """Log-mel spectrogram of a mono clip, time-major, with a fixed number of frames.

    Equal to ``librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft,
    hop_length=hop_length, n_mels=n_mels, fmin=fmin, fmax=fmax, power=power), ref=np.max,
    top_db=top_db).T`` (to float32 rounding) when that yields exactly ``params.frames`` frames; otherwise it
    is that spectrogram cropped or padded to ``frames`` in the power domain before the dB conversion (see
    :class:`MelParams`).

    Parameters
    ----------
    y : np.ndarray [shape=(n,), dtype=float32]
        Mono audio at ``params.sr`` Hz (as :func:`musim.audio.load_audio` returns it).
    params : MelParams
        The feature definition; default ``MelParams()`` (22050 Hz, 256 x 64).

    Returns
    -------
    np.ndarray [shape=(frames, n_mels), dtype=float32]
        dB values, 0 at the reference, down to ``-top_db``.
    """
    p = MelParams() if params is None else params
    if not isinstance(p, MelParams):
        raise ParameterError(f"params must be a MelParams, got {type(p).__name__}")
    M = _mel_power(y, p, p.frames)
    if p.frames is not None and M.shape[1] < p.frames:
        M = np.pad(M, ((0, 0), (0, p.frames - M.shape[1])))
    db = power_to_db(M, ref=p.ref, top_db=p.top_db)
    return np.ascontiguousarray(db.T, dtype=np.float32)


def slice_spectrogram(S: np.ndarray, *, frames: int = 256, step: int | None = None,
                      max_slices: int | None = None, pad_value: float | None = None) -> np.ndarray:
    """Cut a time-major spectrogram into fixed-size slices along time.

    Parameters
    ----------
    S : np.ndarray [shape=(t, bins)]
        Time-major spectrogram (as :func:`log_mel` returns).
    frames : int
        Frames per slice.
    step : int or None
        Frames between slice starts; default ``frames`` (non-overlapping).
    max_slices : int or None
        Keep at most this many (the first).
    pad_value : float or None
        When ``t < frames``, one slice is returned, padded at the end with this value (default: ``S.min()``,
        the floor of a dB spectrogram). The trailing part of a longer spectrogram that does not fill a
        slice is dropped.

    Returns
    -------
    np.ndarray [shape=(n_slices, frames, bins), dtype=S.dtype]
        A copy (slices never alias ``S``). ``n_slices = 1 + (t - frames) // step`` when ``t >= frames``.
    """
    S = np.asarray(S)
    if S.ndim != 2:
        raise ParameterError(f"expected a (time, bins) spectrogram, got shape {S.shape}")
    frames = check_positive_int("frames", frames)
    step = frames if step is None else check_positive_int("step", step)
    t, bins = S.shape
    if t == 0:
        return np.zeros((0, frames, bins), dtype=S.dtype)
    if t < frames:
        fill = float(S.min()) if pad_value is None else float(pad_value)
        out = np.full((1, frames, bins), fill, dtype=S.dtype)
        out[0, :t] = S
        return out
    n = 1 + (t - frames) // step
    if max_slices is not None:
        n = min(n, check_positive_int("max_slices", max_slices))
    starts = np.arange(n) * step
    return S[starts[:, None] + np.arange(frames)[None, :]]


def slices(y: np.ndarray, *, params: SliceParams | None = None) -> np.ndarray:
    """Fixed-size log-mel slices of a clip for the classifier family (origin 003's 256 x 256 squares).

    Parameters
    ----------
    y : np.ndarray [shape=(n,), dtype=float32]
        Mono audio at ``params.sr`` Hz.
    params : SliceParams
        Default ``SliceParams()``: 256 frames x 256 mel bands per slice, 20 ms hop, 5.12 s per slice.

    Returns
    -------
    np.ndarray [shape=(n_slices, frames, n_mels), dtype=float32]
        dB values on a per-clip scale. A 30-second clip gives 5 slices; a clip shorter than one slice
        gives one slice padded with the floor value; an empty clip gives zero slices.
    """
    p = SliceParams() if params is None else params
    if not isinstance(p, SliceParams):
        raise ParameterError(f"params must be a SliceParams, got {type(p).__name__}")
    if len(np.asarray(y)) == 0:
        return np.zeros((0, p.frames, p.n_mels), dtype=np.float32)
    S = log_mel(y, params=p.mel_params())
    return slice_spectrogram(S, frames=p.frames, step=p.step_frames, max_slices=p.max_slices)
