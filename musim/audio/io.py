"""Decoding audio (mp3, ogg, flac, wav via soundfile; m4a/AAC/mp4 via PyAV) to float32 at a fixed rate.

The decode path matches ``librosa.load`` sample for sample for the formats soundfile reads (same reader,
same channel mean, same resampler and length fix), so features computed here equal the librosa reference.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import IO, Any

import numpy as np

from musim.audio.formats import PYAV_CONTAINERS, PYAV_SUFFIXES
from musim.audio.window import read_window
from musim.errors import AudioError, ParameterError

__all__ = [
    "AudioSource",
    "BadAudioError",
    "load_audio",
    "nonfinite_samples",
    "resample",
    "sniff_format",
    "to_mono",
]

#: A path, the encoded bytes, or a binary file object (read from its current position).
AudioSource = str | os.PathLike | bytes | bytearray | memoryview | IO[bytes]



class BadAudioError(AudioError):
    """Audio that cannot be used, with the object ``key`` and a ``reason``.

    ``reason`` is one of :attr:`UNDECODABLE`, :attr:`EMPTY`, :attr:`SILENT`, :attr:`TOO_SHORT`,
    :attr:`NO_CHANNEL`; ``detail`` says more (the decoder's message, the measured level or length).
    Picklable, so worker processes can return it.
    """

    UNDECODABLE = "undecodable"
    EMPTY = "empty"
    SILENT = "silent"
    TOO_SHORT = "too short"
    NO_CHANNEL = "missing channel"

    def __init__(self, key: str, reason: str, detail: str = "") -> None:
        self.key = key
        self.reason = reason
        self.detail = detail
        msg = f"audio {key!r} is {reason}"
        super().__init__(f"{msg}: {detail}" if detail else msg)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.key, self.reason, self.detail))


def nonfinite_samples(data: np.ndarray) -> str | None:
    """Why decoded samples cannot be used as numbers, or ``None``: a float file (WAV, AIFF) can hold NaN
    or infinite samples, which no feature, excerpt or level survives."""
    bad = data.size - int(np.count_nonzero(np.isfinite(data)))
    if not bad:
        return None
    return f"{bad:,} of {data.size:,} samples are not finite numbers (NaN or infinity): the file is corrupt"


#: The first 12 bytes of the GUID a Sony Wave64 file starts with (its ``riff`` chunk; lowercase, unlike RIFF/WAVE).
_W64_RIFF_GUID = b"riff\x2e\x91\xcf\x11\xa5\xd6\x28\xdb\x04\xc1\x00\x00"


def sniff_format(header: bytes) -> str | None:
    """Guess the container from the first bytes of a file.

    Parameters
    ----------
    header : bytes
        At least the first 12 bytes (fewer gives fewer answers).

    Returns
    -------
    str or None
        ``"wav"``, ``"flac"``, ``"ogg"``, ``"mp3"``, ``"mp4"`` (m4a/AAC in an ISO media file), ``"aac"`` (raw
        ADTS), ``"aiff"``, ``"w64"`` (Sony Wave64), ``"caf"`` (Apple Core Audio Format) or None when unknown.
    """
    h = bytes(header[:12])
    if h[:4] in (b"RIFF", b"RF64") and h[8:12] == b"WAVE":
        return "wav"
    if h[:4] == b"fLaC":
        return "flac"
    if h[:4] == b"OggS":
        return "ogg"
    if h[:4] == b"FORM" and h[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if h[:12] == _W64_RIFF_GUID[:12]:
        return "w64"
    if h[:6] == b"caff\x00\x01":  # the file type and version 1
        return "caf"
    if h[4:8] == b"ftyp":
        return "mp4"
    if h[:3] == b"ID3":
        return "mp3"  # an ID3v2 tag; almost always mp3 (ADTS AAC with ID3 falls back to PyAV)
    if len(h) >= 2 and h[0] == 0xFF and (h[1] & 0xE0) == 0xE0:
        # MPEG audio frame sync; layer bits 00 mean ADTS (AAC), otherwise MPEG layer I-III.
        return "aac" if (h[1] & 0x06) == 0 else "mp3"
    return None


def _key_for(source: Any, key: str | None) -> str:
    if key is not None:
        return str(key)
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    name = getattr(source, "name", None)
    if isinstance(name, str):
        return name
    return "<bytes>" if isinstance(source, (bytes, bytearray, memoryview)) else "<stream>"


def to_mono(data: np.ndarray) -> np.ndarray:
    """The mean of the channels of ``(channels, n)`` samples, as ``librosa.to_mono`` (``np.mean`` over axis 0),
    bit for bit.

    Decoded audio is ``(n, channels)`` in memory, so ``np.mean(data, axis=0)`` reduces along a strided axis, which
    numpy does slowly (about 18 ms for 30 s of 44.1 kHz stereo, a third of a preview's feature extraction). For
    float32 stereo the same numbers come from one addition and a halving: numpy's float32 mean sums from its
    identity, ``(0 + a) + b`` in float32, and divides by 2. ``a + b`` differs from that only in the sign of a
    zero (``-0 + -0``), which adding ``+0`` afterwards makes positive as numpy's sum does; halving is exact, so
    ``* 0.5`` equals ``/ 2``. Other channel counts and dtypes take ``np.mean``.
    """
    if data.ndim == 2 and data.shape[0] == 2 and data.dtype == np.float32:
        out = np.add(data[0], data[1])
        out *= np.float32(0.5)
        out += np.float32(0.0)
        return out
    return np.mean(data, axis=0)


def resample(y: np.ndarray, *, orig_sr: int, target_sr: int, res_type: str = "soxr_hq") -> np.ndarray:
    """Band-limited resampling along the last axis, as ``librosa.resample`` (including its length fix).

    Parameters
    ----------
    y : np.ndarray [shape=(..., n), dtype=float32]
    orig_sr, target_sr : int
        Rates in Hz.
    res_type : str
        ``"soxr_vhq"``, ``"soxr_hq"`` (default, librosa's default), ``"soxr_mq"``, ``"soxr_lq"`` or
        ``"polyphase"`` (scipy's ``resample_poly``, used automatically when soxr is not installed).

    Returns
    -------
    np.ndarray [shape=(..., ceil(n * target_sr / orig_sr)), dtype=y.dtype]
    """
    if orig_sr == target_sr:
        return y
    n_out = int(np.ceil(y.shape[-1] * float(target_sr) / orig_sr))
    soxr = None
    if res_type.startswith("soxr"):
        try:
            import soxr
        except ImportError:  # pragma: no cover - soxr ships with librosa
            res_type = "polyphase"
    if soxr is not None:
        if y.ndim == 1:
            out = soxr.resample(y, orig_sr, target_sr, quality=res_type)
        else:
            out = np.apply_along_axis(soxr.resample, -1, y, in_rate=orig_sr, out_rate=target_sr,
                                      quality=res_type)
    elif res_type == "polyphase":
        import scipy.signal

        g = math.gcd(int(orig_sr), int(target_sr))
        out = scipy.signal.resample_poly(y, int(target_sr) // g, int(orig_sr) // g, axis=-1)
    else:
        raise ParameterError(f"unknown res_type {res_type!r}")
    m = out.shape[-1]
    if m > n_out:
        out = out[..., :n_out]
    elif m < n_out:
        out = np.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, n_out - m)])
    return np.asarray(out, dtype=y.dtype)


def load_audio(
    source: AudioSource,
    *,
    sr: int | None = 22050,
    mono: bool = True,
    channel: int | None = None,
    offset: float = 0.0,
    duration: float | None = None,
    key: str | None = None,
    min_duration: float = 1.0,
    silence_db: float | None = -60.0,
    res_type: str = "soxr_hq",
) -> tuple[np.ndarray, int]:
    """Decode audio to float32 samples at ``sr`` Hz.

    mp3, ogg, flac and wav are read with soundfile (libsndfile); m4a/AAC/mp4 with PyAV (FFmpeg). The
    container is recognised by its magic bytes (then the file suffix); anything soundfile cannot read is
    retried with PyAV.

    Parameters
    ----------
    source : path, bytes or binary file object
        The encoded audio.
    sr : int or None
        Target rate in Hz (default 22050); ``None`` keeps the native rate.
    mono : bool
        Average the channels (librosa's ``to_mono``). With ``mono=False`` and no ``channel``, all channels
        are returned as shape ``(channels, n)``.
    channel : int or None
        Return only this channel (0 = left), as the autoencoder origin did, instead of the mean. A mono
        file's only channel serves any ``channel``.
    offset, duration : float
        Excerpt window in seconds: start ``offset`` s in, keep at most ``duration`` s (None = to the end).
        Choosing the window (e.g. 30 s from the middle of a whole track) is the caller's job.
    key : str or None
        Name used in errors (the object key); defaults to the path or ``"<bytes>"``.
    min_duration : float
        Reject audio shorter than this many seconds (after the excerpt window) as too short.
    silence_db : float or None
        Reject audio whose RMS level is below this many dB relative to full scale (default -60 dBFS:
        digital silence, or near-silence); ``None`` accepts silence.
    res_type : str
        Resampler (see :func:`resample`); ``"soxr_hq"`` is librosa's default.

    Returns
    -------
    y : np.ndarray [shape=(n,) or (channels, n), dtype=float32]
        Samples in [-1, 1].
    sr : int
        Their rate in Hz.

    Raises
    ------
    BadAudioError (an AudioError)
        Naming ``key`` and the reason: undecodable, empty, silent, too short, missing channel.
    ParameterError
        For impossible arguments (negative offset, non-positive rate or duration).
    """
    if sr is not None and (isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0):
        raise ParameterError(f"sr must be a positive integer or None, got {sr!r}")
    if not (math.isfinite(offset) and offset >= 0):
        raise ParameterError(f"offset must be >= 0 seconds, got {offset!r}")
    if duration is not None and not (math.isfinite(duration) and duration > 0):
        raise ParameterError(f"duration must be positive seconds or None, got {duration!r}")
    if channel is not None and (isinstance(channel, bool) or not isinstance(channel, (int, np.integer))
                                or channel < 0):
        raise ParameterError(f"channel must be a non-negative integer or None, got {channel!r}")
    if min_duration < 0:
        raise ParameterError(f"min_duration must be >= 0, got {min_duration!r}")
    name = _key_for(source, key)

    # Normalise the source: paths stay paths (soundfile seeks in them); streams become bytes.
    path: str | None = None
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        try:
            with open(path, "rb") as fh:
                header = fh.read(12)
        except OSError as exc:
            raise BadAudioError(name, BadAudioError.UNDECODABLE, f"cannot open: {exc}") from exc
        suffix = Path(path).suffix.lower()
        payload: bytes | None = None
    else:
        if isinstance(source, (bytes, bytearray, memoryview)):
            payload = bytes(source)
        elif hasattr(source, "read"):
            try:
                payload = source.read()
            except OSError as exc:
                raise BadAudioError(name, BadAudioError.UNDECODABLE, f"cannot read: {exc}") from exc
            if not isinstance(payload, (bytes, bytearray)):
                raise ParameterError("source file object must be opened in binary mode")
            payload = bytes(payload)
        else:
            raise ParameterError(f"source must be a path, bytes or a binary file object, got {type(source).__name__}")
        header = payload[:12]
        suffix = Path(name).suffix.lower() if key is not None or hasattr(source, "name") else ""
    if path is None and not payload:
        raise BadAudioError(name, BadAudioError.EMPTY, "0 bytes")
    if path is not None and not header:
        raise BadAudioError(name, BadAudioError.EMPTY, "0 bytes")

    fmt = sniff_format(header)
    use_pyav_first = fmt in PYAV_CONTAINERS or (fmt is None and suffix in PYAV_SUFFIXES)

    def _src() -> Any:
        return path if path is not None else io.BytesIO(payload)  # type: ignore[arg-type]

    errors: list[str] = []
    data: np.ndarray | None = None
    sr_native = 0
    for pyav in (True, False) if use_pyav_first else (False, True):
        try:
            data, sr_native = read_window(_src(), offset=offset, duration=duration, pyav=pyav)
            break
        except Exception as exc:  # noqa: BLE001 - decoders raise many types; report them all
            label = "PyAV" if pyav else "soundfile"
            errors.append(f"{label}: {type(exc).__name__}: {exc}".strip())
    if data is None:
        raise BadAudioError(name, BadAudioError.UNDECODABLE, "; ".join(errors))

    if data.shape[-1] == 0:
        detail = f"no samples after offset {offset} s" if offset > 0 else "no samples"
        raise BadAudioError(name, BadAudioError.EMPTY, detail)
    if channel is None and mono:
        y = data[0] if data.shape[0] == 1 else to_mono(data)
        # A NaN or an infinity in any channel leaves the mix's sum NaN or infinite: one cheap sum instead of a
        # pass over every channel's samples; only then (or on overflow) the exact count of the bad samples.
        if not math.isfinite(float(np.sum(y))) and (detail := nonfinite_samples(data)) is not None:
            raise BadAudioError(name, BadAudioError.UNDECODABLE, detail)
    else:
        if (detail := nonfinite_samples(data)) is not None:
            raise BadAudioError(name, BadAudioError.UNDECODABLE, detail)
        if channel is None:
            y = data
        elif data.shape[0] == 1:
            y = data[0]
        elif channel >= data.shape[0]:
            raise BadAudioError(name, BadAudioError.NO_CHANNEL,
                                f"channel {channel} requested, the audio has {data.shape[0]}")
        else:
            y = data[channel]

    out_sr = sr_native if sr is None else int(sr)
    if out_sr != sr_native:
        y = resample(y, orig_sr=sr_native, target_sr=out_sr, res_type=res_type)
    y = np.ascontiguousarray(y, dtype=np.float32)

    seconds = y.shape[-1] / out_sr
    if seconds < min_duration:
        raise BadAudioError(name, BadAudioError.TOO_SHORT, f"{seconds:.3f} s < min_duration {min_duration} s")
    if silence_db is not None:
        level = signal_level_db(y)
        if level < silence_db:
            shown = "-inf" if level == -math.inf else f"{level:.1f}"
            raise BadAudioError(name, BadAudioError.SILENT, f"RMS level {shown} dBFS < silence_db {silence_db} dBFS "
                                "(DC offset removed)")
    return y, out_sr


def signal_level_db(y: np.ndarray) -> float:
    """The RMS level in dBFS of what can be heard: the samples less their mean, so a DC offset (a constant voltage
    a faulty converter recorded, a silent track shifted off zero) counts as no sound; ``-inf`` for none."""
    if not np.size(y):
        return -math.inf
    # Per channel (the last axis), then averaged over the channels: mean square less the squared mean (in float64,
    # exact enough for any level above -250 dBFS beside a full-scale offset), without a copy of the samples.
    mean = np.mean(y, axis=-1, dtype=np.float64)
    square = np.mean(np.square(y, dtype=np.float64), axis=-1)
    with np.errstate(invalid="ignore"):
        power = float(np.mean(square - np.square(mean)))
    if not math.isfinite(power):  # samples beyond float range (a mix that overflowed): loud, as their raw level says
        power = float(np.mean(square))
    rms = math.sqrt(max(power, 0.0))
    return 20.0 * math.log10(rms) if rms > 0 else -math.inf
