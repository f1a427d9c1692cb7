"""The parameter sets of the log-mel features, each a frozen dataclass whose :meth:`hash` names the feature in
object keys (``features/mel/<hash>/<audio sha256>.<content sha256>.npy``):

- :class:`MelParams` — one fixed-size log-mel image per clip for the siamese network and the autoencoder
  (the CS230 origin: 256 time steps x 64 mel bins per 30-second preview).
- :class:`SliceParams` — consecutive ~5-second squares for the genre-classifier family (origin 003:
  256 x 256 images, "just over 5 seconds" each).

Computing them is :mod:`musim.audio.mel`'s job.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from musim.errors import ParameterError

__all__ = ["MelParams", "SliceParams"]

#: Bumped whenever the computation changes in a way that changes the numbers; part of every hash.
_ALGORITHM_VERSION = 1


def check_positive_int(name: str, value: Any) -> int:
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
    setter("sr", check_positive_int("sr", p.sr))
    setter("n_fft", check_positive_int("n_fft", p.n_fft))
    if p.n_fft % 2:
        raise ParameterError(f"n_fft must be even, got {p.n_fft}")
    setter("hop_length", check_positive_int("hop_length", p.hop_length))
    setter("n_mels", check_positive_int("n_mels", p.n_mels))
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


class _SpectralParams:
    """What :class:`MelParams` and :class:`SliceParams` share besides their fields' checks: the effective ``fmax``,
    and their dict form."""

    sr: int
    fmax: float | None

    @property
    def fmax_hz(self) -> float:
        """The effective upper band edge in Hz (``fmax`` or ``sr / 2``)."""
        return self.sr / 2.0 if self.fmax is None else float(self.fmax)

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a JSON-serialisable dict (``MelParams(**d)``, ``SliceParams(**d)`` rebuilds them)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        """Rebuild from :meth:`to_dict` output; unknown keys raise ParameterError."""
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ParameterError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
        return cls(**d)

    def _canonical(self) -> dict[str, Any]:
        """:meth:`to_dict` with ``fmax`` as :attr:`fmax_hz` (``None`` and ``sr / 2`` compute the same)."""
        return self.to_dict() | {"fmax": self.fmax_hz}


@dataclass(frozen=True)
class MelParams(_SpectralParams):
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
            object.__setattr__(self, "frames", check_positive_int("frames", self.frames))

    @property
    def shape(self) -> tuple[int | None, int]:
        """Output shape ``(frames, n_mels)``; ``frames`` is None when not fixed."""
        return (self.frames, self.n_mels)

    @property
    def seconds(self) -> float | None:
        """Span of audio covered by ``frames`` centred frames, in seconds (``frames * hop / sr``)."""
        return None if self.frames is None else self.frames * self.hop_length / self.sr

    def hash(self) -> str:
        """Short (12 hex digits) stable hash of every parameter, used in object keys.

        ``fmax=None`` and ``fmax=sr/2`` hash the same (they compute the same thing); any other change of
        any field changes the hash. The hash also covers an algorithm version, bumped when the
        computation itself changes.
        """
        return _short_hash("log_mel", self._canonical())


@dataclass(frozen=True)
class SliceParams(_SpectralParams):
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
        object.__setattr__(self, "frames", check_positive_int("frames", self.frames))
        if self.step is not None:
            object.__setattr__(self, "step", check_positive_int("step", self.step))
        if self.max_slices is not None:
            object.__setattr__(self, "max_slices", check_positive_int("max_slices", self.max_slices))

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

    def hash(self) -> str:
        """Short (12 hex digits) stable hash of every parameter (``step=None`` = ``step=frames``)."""
        return _short_hash("mel_slices", self._canonical() | {"step": self.step_frames})
