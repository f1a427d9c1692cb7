"""Log-mel spectrograms with their parameters recorded, and fixed-size spectrogram slices.

Two parameter sets, each a frozen dataclass whose :meth:`hash` names the feature in object keys
(``features/mel/<hash>/<sha256>.npy``):

- :class:`MelParams` — one fixed-size log-mel image per clip for the siamese network and the autoencoder
  (the CS230 origin: 256 time steps x 64 mel bins per 30-second preview).
- :class:`SliceParams` — consecutive ~5-second squares for the genre-classifier family (origin 003:
  256 x 256 images, "just over 5 seconds" each).

The numbers equal librosa's reference (``librosa.feature.melspectrogram`` + ``librosa.power_to_db``) on the
same samples: the STFT framing, window, padding and FFT precision are the same, the mel filterbank *is*
librosa's (cached per parameter set), and the dB conversion is librosa's formula. It is faster because the
filterbank is built once per process and, when ``frames`` is fixed, only the frames that are kept are
transformed.

Shapes follow the time-major convention of the models: ``(frames, n_mels)`` = (time, mel).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

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

#: Bumped whenever the computation changes in a way that changes the numbers; part of every hash.
_ALGORITHM_VERSION = 1

#: Size of the float64 frame blocks the STFT transforms at once (bounds memory for long tracks).
_BLOCK_BYTES = 16 * 1024 * 1024


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ParameterError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_ref(ref: Any) -> str | float:
    if isinstance(ref, str):
        if ref != "max":
            raise ParameterError(f"ref must be 'max' or a positive number, got {ref!r}")
        return ref
    if isinstance(ref, bool) or not isinstance(ref, (int, float, np.floating, np.integer)):
        raise ParameterError(f"ref must be 'max' or a positive number, got {ref!r}")
    if not math.isfinite(float(ref)) or float(ref) <= 0:
        raise ParameterError(f"ref must be 'max' or a positive number, got {ref!r}")
    return float(ref)


def _validate_spectral(p: Any) -> None:
    """Validate and normalise the fields MelParams and SliceParams share (mutates a frozen instance)."""
    setter = functools.partial(object.__setattr__, p)
    setter("sr", _check_positive_int("sr", p.sr))
    setter("n_fft", _check_positive_int("n_fft", p.n_fft))
    if p.n_fft % 2:
        raise ParameterError(f"n_fft must be even, got {p.n_fft}")
    setter("hop_length", _check_positive_int("hop_length", p.hop_length))
    setter("n_mels", _check_positive_int("n_mels", p.n_mels))
    try:
        fmin = float(p.fmin)
        fmax = None if p.fmax is None else float(p.fmax)
        power = float(p.power)
        top_db = None if p.top_db is None else float(p.top_db)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"fmin, fmax, power and top_db must be numbers: {exc}") from None
    nyquist = p.sr / 2.0
    if not 0.0 <= fmin < (nyquist if fmax is None else fmax):
        raise ParameterError(f"need 0 <= fmin < fmax, got fmin={fmin}, fmax={fmax}")
    if fmax is not None and not fmin < fmax <= nyquist:
        raise ParameterError(f"fmax must be in (fmin, sr/2 = {nyquist}], got {fmax}")
    if not (math.isfinite(power) and power > 0):
        raise ParameterError(f"power must be positive (2.0 = power, 1.0 = magnitude), got {power}")
    if top_db is not None and not (math.isfinite(top_db) and top_db > 0):
        raise ParameterError(f"top_db must be positive or None, got {top_db}")
    setter("fmin", fmin)
    setter("fmax", fmax)
    setter("power", power)
    setter("top_db", top_db)
    setter("ref", _check_ref(p.ref))


def _short_hash(kind: str, canonical: dict[str, Any]) -> str:
    doc = {"kind": kind, "algorithm": _ALGORITHM_VERSION, **canonical}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class MelParams:
    """Parameters of a fixed-size log-mel spectrogram.

    Parameters
    ----------
    sr : int
        Sampling rate of the input signal in Hz (audio is resampled to it on load).
    n_fft : int
        FFT size and Hann window length in samples (2048 = 93 ms at 22050 Hz).
    hop_length : int
        Samples between frame centres. The default 2584 (117.2 ms) makes a 30-second clip at 22050 Hz
        (661,500 samples) give exactly ``1 + 661500 // 2584 = 256`` centred frames, the origin's 256 time
        steps. With ``n_fft`` < ``hop_length`` consecutive windows do not overlap: about 21 % of the samples
        fall between windows. That is the price of 256 steps per 30 s with a 93 ms window; use
        ``n_fft=4096`` for full coverage (a different feature, with a different hash).
    n_mels : int
        Number of mel bands (Slaney mel scale and area normalisation, as librosa's default).
    fmin, fmax : float
        Lowest and highest band edge in Hz; ``fmax=None`` means ``sr / 2``.
    frames : int or None
        Number of time frames in the output. Audio that yields more frames is cropped to the first
        ``frames`` (choose the excerpt with ``load_audio(offset=..., duration=...)``); audio that yields
        fewer is padded at the end with silence, which after the dB conversion is the floor value
        (``max - top_db``, or ``10 log10(AMIN / ref)`` without ``top_db``). Frames are fixed on the power
        spectrogram *before* the dB conversion, so ``ref="max"`` and ``top_db`` refer to the kept frames.
        ``None`` keeps every frame (``1 + len(y) // hop_length``).
    top_db : float or None
        Dynamic range kept below the maximum, in dB (librosa's ``top_db``); ``None`` keeps everything.
    ref : "max" or float
        Reference power for 0 dB: the spectrogram's maximum (``np.max`` in librosa) or a fixed power.
    power : float
        Exponent of the magnitude spectrogram (2.0 = power, 1.0 = magnitude).
    """

    sr: int = 22050
    n_fft: int = 2048
    hop_length: int = 2584
    n_mels: int = 64
    fmin: float = 0.0
    fmax: float | None = None
    frames: int | None = 256
    top_db: float | None = 80.0
    ref: str | float = "max"
    power: float = 2.0

    def __post_init__(self) -> None:
        _validate_spectral(self)
        if self.frames is not None:
            object.__setattr__(self, "frames", _check_positive_int("frames", self.frames))

    @property
    def fmax_hz(self) -> float:
        """The effective upper band edge in Hz (``fmax`` or ``sr / 2``)."""
        return self.sr / 2.0 if self.fmax is None else float(self.fmax)

    @property
    def shape(self) -> tuple[int | None, int]:
        """Output shape ``(frames, n_mels)``; ``frames`` is None when not fixed."""
        return (self.frames, self.n_mels)

    @property
    def seconds(self) -> float | None:
        """Span of audio covered by ``frames`` centred frames, in seconds (``frames * hop / sr``)."""
        return None if self.frames is None else self.frames * self.hop_length / self.sr

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a JSON-serialisable dict (``MelParams(**d)`` rebuilds them)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MelParams:
        """Rebuild from :meth:`to_dict` output; unknown keys raise ParameterError."""
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ParameterError(f"unknown MelParams fields: {sorted(unknown)}")
        return cls(**d)

    def hash(self) -> str:
        """Short (12 hex digits) stable hash of every parameter, used in object keys.

        ``fmax=None`` and ``fmax=sr/2`` hash the same (they compute the same thing); any other change of
        any field changes the hash. The hash also covers an algorithm version, bumped when the
        computation itself changes.
        """
        canonical = self.to_dict()
        canonical["fmax"] = self.fmax_hz
        return _short_hash("log_mel", canonical)


@dataclass(frozen=True)
class SliceParams:
    """Parameters of fixed-size log-mel slices for the genre-classifier family (origin 003).

    The origin cut spectrogram images into 256 x 256 squares of "just over 5 seconds". Here: a log-mel
    spectrogram of the whole clip with ``hop_length=441`` (20 ms, 50 frames per second) and
    ``n_mels=256``, cut into slices of ``frames=256`` time frames (5.12 s) every ``step`` frames. A 30-second
    preview gives 5 non-overlapping slices (25.6 s); the incomplete remainder is dropped. The dB
    reference (``ref="max"``) and ``top_db`` apply to the whole clip, so slices of one track share a scale.

    Parameters
    ----------
    sr, n_fft, hop_length, n_mels, fmin, fmax, top_db, ref, power
        As in :class:`MelParams`.
    frames : int
        Time frames per slice (slice width).
    step : int or None
        Frames between the starts of consecutive slices; ``None`` means ``frames`` (no overlap).
    max_slices : int or None
        Keep at most this many slices (the first ones); ``None`` keeps all.
    """

    sr: int = 22050
    n_fft: int = 2048
    hop_length: int = 441
    n_mels: int = 256
    fmin: float = 0.0
    fmax: float | None = None
    top_db: float | None = 80.0
    ref: str | float = "max"
    power: float = 2.0
    frames: int = 256
    step: int | None = None
    max_slices: int | None = None

    def __post_init__(self) -> None:
        _validate_spectral(self)
        object.__setattr__(self, "frames", _check_positive_int("frames", self.frames))
        if self.step is not None:
            object.__setattr__(self, "step", _check_positive_int("step", self.step))
        if self.max_slices is not None:
            object.__setattr__(self, "max_slices", _check_positive_int("max_slices", self.max_slices))

    @property
    def fmax_hz(self) -> float:
        """The effective upper band edge in Hz (``fmax`` or ``sr / 2``)."""
        return self.sr / 2.0 if self.fmax is None else float(self.fmax)

    @property
    def step_frames(self) -> int:
        """Frames between slice starts (``step`` or ``frames``)."""
        return self.frames if self.step is None else int(self.step)

    @property
    def seconds(self) -> float:
        """Duration of one slice in seconds (``frames * hop / sr``)."""
        return self.frames * self.hop_length / self.sr

    def mel_params(self) -> MelParams:
        """The whole-clip log-mel parameters the slices are cut from (``frames=None``)."""
        return MelParams(sr=self.sr, n_fft=self.n_fft, hop_length=self.hop_length, n_mels=self.n_mels,
                         fmin=self.fmin, fmax=self.fmax, frames=None, top_db=self.top_db, ref=self.ref,
                         power=self.power)

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a JSON-serialisable dict (``SliceParams(**d)`` rebuilds them)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SliceParams:
        """Rebuild from :meth:`to_dict` output; unknown keys raise ParameterError."""
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ParameterError(f"unknown SliceParams fields: {sorted(unknown)}")
        return cls(**d)

    def hash(self) -> str:
        """Short (12 hex digits) stable hash of every parameter (``step=None`` = ``step=frames``)."""
        canonical = self.to_dict()
        canonical["fmax"] = self.fmax_hz
        canonical["step"] = self.step_frames
        return _short_hash("mel_slices", canonical)


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
    frames = _check_positive_int("frames", frames)
    step = frames if step is None else _check_positive_int("step", step)
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
        n = min(n, _check_positive_int("max_slices", max_slices))
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
