"""The audio formats musim accepts (the one list: :mod:`musim.audio.formats`), and the checks every audio file
passes before it counts.

A file's format is chosen by its content (the tag library's parser, then the magic bytes), never by its
name alone. :func:`probe` opens the file once, reads the length its container declares and checks the file
is whole (an Ogg stream ends with its end-of-stream page; the decoder can read the last second the
container declares; the decodable length agrees with the declared one) without decoding the whole file.
:func:`read_excerpt` then reads only the analysis window, by seeking. A file of several streams one after the other
(MP3 files ``cat``-ed together, a chained Ogg: :func:`musim.audio.window.chained_stream`), whose container declares
the first stream's length only, is decoded to its end instead: its length is all its streams'.

Every reason a file is not used is one of :data:`SKIP_REASONS`; the library, the acquisition path and the
feature path all report these words.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import itertools
import logging
import math
import os
import re
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from musim.audio.formats import (  # noqa: F401 - AUDIO_SUFFIXES re-exported
    AUDIO_SUFFIXES,
    FORMATS,
    MIN_DURATION_S,
    PYAV_FORMATS,
    SNIFFED,
)
from musim.audio.window import chained_frames, chained_stream, pyav_stream
from musim.errors import AudioError
from musim.library.chains import first_part_only
from musim.library.tags import parse_file
from musim.quiet import sound_file

log = logging.getLogger(__name__)

#: Every reason a file can be skipped, in the order the checks run.
SKIP_REASONS = ("empty", "unreadable", "not_audio", "undecodable", "truncated", "too_short",
                "sample_rate_out_of_range", "silent", "duplicate_content")

_MUTAGEN_FORMATS = {"MP3": "mp3", "EasyMP3": "mp3", "OggVorbis": "ogg", "OggOpus": "opus", "FLAC": "flac",
                    "WAVE": "wav", "AIFF": "aiff", "MP4": "m4a", "EasyMP4": "m4a", "AAC": "m4a"}
#: Canonical words for the reasons :class:`musim.audio.BadAudioError` gives.
_DECODER_REASONS = {"too short": "too_short", "missing channel": "undecodable"}
SILENCE_DB = -60.0
_IN_MEMORY = re.compile(r"<_io\.BytesIO object at 0x[0-9a-fA-F]+>")
#: The first bytes of a zip archive (a local file header, or the end record of an empty archive).
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


class FileSkipped(AudioError):
    """A file that is not used, with one of :data:`SKIP_REASONS` and a detail."""

    def __init__(self, reason: str, detail: str = "", *, key: str = "") -> None:
        if reason not in SKIP_REASONS:
            raise ValueError(f"unknown skip reason {reason!r}")
        self.reason, self.detail, self.key = reason, detail, key
        super().__init__(f"{key}: {self.why}" if key else self.why)

    @property
    def why(self) -> str:
        """The reason and its detail, without the file's name (for a line that names the file already)."""
        return self.reason + (f" ({self.detail})" if self.detail else "")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.reason, self.detail, self.key))


def _rebuild(reason: str, detail: str, key: str) -> FileSkipped:
    return FileSkipped(reason, detail, key=key)


def canonical_reason(reason: str) -> str:
    """The :data:`SKIP_REASONS` word for a decoder's reason (``"too short"`` -> ``"too_short"``)."""
    reason = _DECODER_REASONS.get(reason, reason)
    return reason if reason in SKIP_REASONS else "undecodable"


@dataclass(frozen=True)
class AudioProbe:
    """What :func:`probe` measured. ``duration_s`` is the usable length (the smaller of the declared and
    the decoder's length); ``mutagen`` is the tag library's object (``None`` if it could not parse)."""

    format: str
    duration_s: float
    declared_s: float | None
    sample_rate: int
    channels: int
    mutagen: Any = None
    first_part_only: str | None = None  # why a chained file is read from its first part only (musim.library.chains)


_NOT_REGULAR = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder"))


def require_regular_file(path: str | os.PathLike) -> None:
    """Raise :class:`FileSkipped` ``unreadable`` unless ``path`` is a regular file (or a link to one).

    Checked before a file is opened: opening a named pipe waits for a writer forever, and a device never ends.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if os.path.islink(path):
            what = "a link in a loop of links, via" if exc.errno == errno.ELOOP else "a broken link to"
            raise FileSkipped("unreadable", f"{what} {os.readlink(path)!r}") from None
        raise FileSkipped("unreadable", exc.strerror or str(exc)) from None
    if not stat.S_ISREG(mode):
        kind = next((what for test, what in _NOT_REGULAR if test(mode)), "a special file")
        raise FileSkipped("unreadable", f"{kind}, not a regular file")


def _header(src: str | bytes) -> bytes:
    if isinstance(src, bytes):
        return src[:12]
    require_regular_file(src)
    with open(src, "rb") as fh:
        return fh.read(12)


def _ogg_finished(src: str | bytes) -> bool:
    """Whether the last Ogg page carries the end-of-stream flag (a cut file ends without it)."""
    if isinstance(src, bytes):
        tail = src[-65536:]
    else:
        with open(src, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 65536))
            tail = fh.read()
    i = tail.rfind(b"OggS")
    return i >= 0 and i + 5 < len(tail) and bool(tail[i + 5] & 0x04)


#: The sizes a WAV writer puts in its header when it cannot go back to fill them in (its output a pipe): FFmpeg's
#: 0xFFFFFFFF, arecord's 0x7FFFFFFF, SoX's 0x7FFFF000. Such a header declares no length: its data runs to the end.
_WAV_UNKNOWN_SIZES = (0xFFFFFFFF, 0x7FFFFFFF, 0x7FFFF000)
#: WAV format tags of one sample per block (PCM, IEEE float, A-law, mu-law, extensible), whose length the tag
#: library computes right; for the others (IMA and MS ADPCM, GSM 6.10, G.721: blocks of many samples) it divides
#: the bytes by the bits of a sample and declares a hundredth of the length.
_WAV_PLAIN_TAGS = (0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE)


def _wav_declared(src: str | bytes, declared: float) -> float | None:
    """The length a RIFF/WAVE file declares, given the tag library's ``declared``: ``None`` when its ``data`` chunk
    has a placeholder size (:data:`_WAV_UNKNOWN_SIZES`: a WAV written to a pipe, ``ffmpeg -f wav -``, ``arecord``,
    ``sox ... -t wav -``, and saved whole, whose length is what it holds); for a compressed format, its ``fact``
    chunk's sample count (``None`` without one)."""
    if isinstance(src, bytes):
        head = src[:1 << 16]
    else:
        with open(src, "rb") as fh:
            head = fh.read(1 << 16)
    tag = rate = frames = None
    pos = 12
    while pos + 8 <= len(head):
        chunk, size = head[pos:pos + 4], int.from_bytes(head[pos + 4:pos + 8], "little")
        body = head[pos + 8:pos + 8 + min(size, 16)]
        if chunk == b"fmt " and len(body) >= 8:
            tag, rate = int.from_bytes(body[0:2], "little"), int.from_bytes(body[4:8], "little")
        elif chunk == b"fact" and len(body) >= 4:
            frames = int.from_bytes(body[0:4], "little")
        elif chunk == b"data":
            if size in _WAV_UNKNOWN_SIZES:
                return None
            break
        pos += 8 + size + (size & 1)
    if tag is None or tag in _WAV_PLAIN_TAGS:
        return declared
    return frames / rate if frames and rate else None


def _head(src: str | bytes, size: int = 1 << 16) -> bytes:
    if isinstance(src, bytes):
        return src[:size]
    with open(src, "rb") as fh:
        return fh.read(size)


def _w64_declared(src: str | bytes) -> float | None:
    """The length a Sony Wave64 file's ``data`` chunk declares (PCM and float; ``None`` for other codecs): each
    chunk a 16-byte GUID (``fmt `` and ``data`` begin theirs), its size (8 bytes, little-endian, with its 24-byte
    header), padded to 8 bytes. libsndfile reads a cut file's data as its whole length."""
    head = _head(src)
    tag = rate = align = None
    pos = 40  # the riff GUID, its size, the wave GUID
    while pos + 24 <= len(head):
        guid, size = head[pos:pos + 16], int.from_bytes(head[pos + 16:pos + 24], "little")
        body = head[pos + 24:pos + 24 + 14]
        if guid[:4] == b"fmt " and len(body) >= 14:
            tag, rate = int.from_bytes(body[0:2], "little"), int.from_bytes(body[4:8], "little")
            align = int.from_bytes(body[12:14], "little")
        elif guid[:4] == b"data":
            plain = tag in _WAV_PLAIN_TAGS and rate and align
            return (size - 24) / align / rate if plain else None  # type: ignore[operator]
        if size < 24:
            return None
        pos += size + (-size % 8)
    return None


def _caf_declared(src: str | bytes) -> float | None:
    """The length an Apple CAF file declares: its ``pakt`` chunk's valid frames (a compressed codec), else its
    ``data`` chunk's bytes over the bytes of a linear-PCM frame (``desc``); ``None`` where the data runs to the end
    (size -1: written to a pipe) or nothing says. Chunks: a 4-byte type and an 8-byte big-endian size."""
    head = _head(src)
    rate = 0.0
    frame_bytes = frames = None
    pos = 8  # "caff", the version and the flags
    while pos + 12 <= len(head):
        kind, size = head[pos:pos + 4], int.from_bytes(head[pos + 4:pos + 12], "big", signed=True)
        body = head[pos + 12:pos + 12 + 32]
        if kind == b"desc" and len(body) >= 32:
            rate = struct.unpack(">d", body[:8])[0]
            fmt_id, per_packet = body[8:12], int.from_bytes(body[20:24], "big")
            frame_bytes = int.from_bytes(body[16:20], "big") if fmt_id == b"lpcm" and per_packet == 1 else None
        elif kind == b"pakt" and len(body) >= 16:
            frames = int.from_bytes(body[8:16], "big")
        elif kind == b"data":
            if not (rate > 0 and math.isfinite(rate)):
                return None
            if frames:
                return frames / rate
            return (size - 4) / frame_bytes / rate if frame_bytes and size >= 4 else None
        if size < 0:
            return None
        pos += 12 + size
    return frames / rate if frames and rate > 0 else None


def _flac_of_unknown_length(src: str | bytes) -> bool:
    """Whether a FLAC's STREAMINFO (the first metadata block, right after ``fLaC``) declares 0 samples: a FLAC
    written to a pipe (``flac -``, ``ffmpeg -f flac -``), whose encoder could not go back to fill its length in.
    Such a file is as long as what it holds; libsndfile takes its length for endless and fails at its end."""
    head = _head(src, 8 + 18)
    if len(head) < 26 or head[:4] != b"fLaC" or head[4] & 0x7F != 0:  # not STREAMINFO first: a broken file
        return False
    return int.from_bytes(head[18:26], "big") & ((1 << 36) - 1) == 0  # rate 20 bits, channels 3, depth 5, samples 36


def _decoded_lengths(src: str | bytes, *, chained: bool = False) -> tuple[float, int, int, float]:
    """:func:`_soundfile_lengths` of a stream that declares no length, decoded from its start to its end with PyAV
    (a decoder error on the way, a cut file, is raised). ``chained``: a file of streams one after the other, decoded
    as :func:`musim.audio.window.read_window` decodes it (:func:`musim.audio.window.chained_frames`)."""
    import av

    with av.open(_source(src), mode="r") as container:
        stream, sr = pyav_stream(container)
        channels = int(stream.codec_context.channels or 1)
        frames = sum(frame.samples for frame in (chained_frames(container, stream) if chained
                                                 else container.decode(stream)))
    return frames / sr, sr, channels, min(frames / sr, 1.0)


#: The lengths of a file of several streams one after the other (:func:`musim.audio.window.chained_stream`): all of
#: it decoded, as :func:`musim.audio.window.read_window` reads it.
_chained_lengths = functools.partial(_decoded_lengths, chained=True)


_DECLARED = {"w64": _w64_declared, "caf": _caf_declared}


def _source(src: str | bytes) -> Any:
    return io.BytesIO(src) if isinstance(src, bytes) else src


def _soundfile_lengths(src: str | bytes) -> tuple[float, int, int, float]:
    """(container length s, rate, channels, seconds readable from the last second) with libsndfile."""
    with sound_file(_source(src)) as f:
        frames, sr, channels = int(f.frames), int(f.samplerate), int(f.channels)
        want = min(sr, frames)
        f.seek(max(0, frames - want))
        got = len(f.read(want, dtype="float32", always_2d=True))
    return frames / sr, sr, channels, got / sr if want else 0.0


def _pyav_lengths(src: str | bytes) -> tuple[float, int, int, float]:
    """The same with PyAV: the stream's declared length, and what decodes after seeking to its last second."""
    import av

    with av.open(_source(src), mode="r") as container:
        stream, sr = pyav_stream(container)
        channels = int(stream.codec_context.channels or 1)
        if stream.duration and stream.time_base:
            length = float(stream.duration * stream.time_base)
        elif container.duration:
            length = container.duration / 1e6
        else:
            raise ValueError("unknown length")
        start = max(0.0, length - 1.0)
        container.seek(int(start / stream.time_base), stream=stream, backward=True, any_frame=False)
        got = 0
        for frame in container.decode(stream):
            t = float(frame.pts * stream.time_base) if frame.pts is not None else start
            if t + frame.samples / sr > start:
                got += frame.samples
    return length, sr, channels, min(got / sr, 1.0)


def chained(src: str | os.PathLike | bytes) -> bool:
    """Whether the file holds streams one after the other (:func:`musim.audio.window.chained_stream`); ``False`` where
    it cannot be read (the readers say why). Reads page or frame headers only, without decoding."""
    try:
        return chained_stream(_source(src)) is not None
    except (OSError, ValueError):
        return False


def _start_decodes(src: str | bytes) -> bool:
    """Whether the first second of audio decodes (libsndfile, else PyAV)."""
    with contextlib.suppress(Exception), sound_file(_source(src)) as f:  # decoders raise many types
        if len(f.read(min(int(f.samplerate), max(int(f.frames), 1)), dtype="float32")):
            return True
    try:
        import av

        with av.open(_source(src), mode="r") as container:
            return any(frame.samples for frame in itertools.islice(container.decode(audio=0), 8))
    except Exception:  # noqa: BLE001
        return False


def probe(source: str | os.PathLike | bytes, *, min_seconds: float = MIN_DURATION_S, key: str | None = None) -> AudioProbe:
    """Check one audio file or its bytes without decoding all of it.

    Parameters
    ----------
    source : path or bytes
    min_seconds : float
        Shorter audio is ``too_short``.
    key : str or None
        Name in messages (default: the path).

    Returns
    -------
    AudioProbe

    Raises
    ------
    FileSkipped
        ``empty``, ``unreadable``, ``not_audio``, ``undecodable``, ``truncated`` or ``too_short``.
    """
    src: str | bytes = source if isinstance(source, bytes) else os.fspath(source)
    name = key or ("<bytes>" if isinstance(src, bytes) else src)
    try:
        header = _header(src)
    except FileSkipped as skip:
        raise FileSkipped(skip.reason, skip.detail, key=name) from None
    except OSError as exc:
        raise FileSkipped("unreadable", exc.strerror or str(exc), key=name) from None
    if not header:
        raise FileSkipped("empty", "0 bytes", key=name)
    from musim.audio.io import sniff_format

    mf, tag_error = parse_file(src, sniff_format(header))  # the one tag reader's
    fmt = _MUTAGEN_FORMATS.get(type(mf).__name__) if mf is not None else None
    fmt = fmt or SNIFFED.get(sniff_format(header) or "")
    if fmt is None and header.startswith(ZIP_MAGIC):
        raise FileSkipped("not_audio", "a zip archive: `musim library add` reads the albums in it; extract it to use "
                          "its files one by one", key=name)
    if fmt is None:
        raise FileSkipped("not_audio", tag_error or "no audio container recognised", key=name)
    declared = getattr(getattr(mf, "info", None), "length", None)
    declared = float(declared) if declared and math.isfinite(declared) and declared > 0 else None
    if fmt == "wav" and declared is not None:
        declared = _wav_declared(src, declared)  # a pipe's placeholder declares nothing; ADPCM's is the fact chunk's
    elif fmt in _DECLARED:  # containers the tag library does not read
        declared = _DECLARED[fmt](src)
    readers = (_pyav_lengths, _soundfile_lengths) if fmt in PYAV_FORMATS else (_soundfile_lengths, _pyav_lengths)
    unknown_length = fmt == "flac" and _flac_of_unknown_length(src)
    chain = fmt in ("mp3", "ogg", "opus") and chained(src)  # its container (and libsndfile) know its first stream only
    if unknown_length:  # written to a pipe: what it holds is its length, read to its end
        readers = (_decoded_lengths,)
    elif chain:
        readers = (_chained_lengths, *readers)  # read as one stream where they cannot all be decoded
    errors = []
    for reader in readers:
        try:
            length, sr, channels, tail = reader(src)
            break
        except Exception as exc:  # noqa: BLE001 - decoders raise many types
            said = _IN_MEMORY.sub("the file", str(exc)).replace("'<none>'", "the file")  # not Python's address
            errors.append(f"{type(exc).__name__}: {said}"[:200])
    else:
        if unknown_length and _start_decodes(src):  # no length to fall short of: its last frame is cut
            raise FileSkipped("truncated", "a FLAC of unknown length (written to a pipe) whose decoding fails "
                              "before its end (" + "; ".join(errors) + ")", key=name)
        if _start_decodes(src):  # the file holds less than its header declares: cut short (a broken download)
            raise FileSkipped("truncated", "its start decodes but reading toward the length it declares fails ("
                              + "; ".join(errors) + ")", key=name)
        raise FileSkipped("undecodable", "; ".join(errors), key=name)
    if fmt in ("ogg", "opus") and not _ogg_finished(src):
        raise FileSkipped("truncated", "the Ogg stream has no end-of-stream page", key=name)
    if tail < min(0.5, 0.5 * length):
        raise FileSkipped("truncated", f"nothing decodes in the last second of {length:.2f} s declared", key=name)
    first_part = None
    if reader is _chained_lengths:
        declared = None  # the first stream's length: the file holds more
    elif chain:  # its parts differ in codec, rate or channels: read as its first part (musim.library.chains)
        first_part = first_part_only(src, errors)
    if declared and length < 0.9 * declared - 0.5:
        raise FileSkipped("truncated", f"decodes to {length:.2f} s of {declared:.2f} s declared", key=name)
    duration = min(length, declared) if declared else length
    if duration < min_seconds:
        raise FileSkipped("too_short", f"{duration:.2f} s < {min_seconds:g} s", key=name)
    return AudioProbe(fmt, round(duration, 3), declared, sr, channels, mf, first_part)


def read_excerpt(source: str | os.PathLike | bytes, info: AudioProbe, *, offset_s: float,
                 duration_s: float) -> np.ndarray:
    """Samples of the window ``[offset_s, offset_s + duration_s)`` at the native rate, read by seeking: the
    same samples as a decode from the start (:func:`musim.audio.window.read_window`, the reader
    :func:`musim.audio.load_audio` uses too).

    Returns
    -------
    np.ndarray [shape=(channels, n), dtype=float32]

    Raises
    ------
    FileSkipped
        ``undecodable`` when the window does not decode or decodes to NaN or infinite samples, ``silent``
        when its level is below -60 dBFS.
    """
    from musim.audio.io import nonfinite_samples, signal_level_db
    from musim.audio.window import read_window

    src: str | bytes = source if isinstance(source, bytes) else os.fspath(source)
    try:
        data, _ = read_window(_source(src), offset=offset_s, duration=duration_s, pyav=info.format in PYAV_FORMATS)
    except Exception as exc:  # noqa: BLE001
        raise FileSkipped("undecodable", f"the analysis window does not decode: {type(exc).__name__}: {exc}"[:300]) \
            from None
    if data.shape[-1] < 0.9 * duration_s * info.sample_rate - 1:
        raise FileSkipped("truncated", f"the analysis window decodes to {data.shape[-1] / info.sample_rate:.2f} s "
                                       f"of {duration_s:.2f} s")
    if (detail := nonfinite_samples(data)) is not None:
        raise FileSkipped("undecodable", detail)
    level = signal_level_db(data)  # without the DC offset, as load_audio measures it
    if level < SILENCE_DB:
        shown = "-inf" if level == -math.inf else f"{level:.1f}"
        raise FileSkipped("silent", f"RMS level {shown} dBFS < {SILENCE_DB:g} dBFS (DC offset removed)")
    return data


#: The most channels a FLAC stream holds, and its highest sample rate (Hz).
FLAC_MAX_CHANNELS, FLAC_MAX_RATE = 8, 655350


def encode_flac(data: np.ndarray, sample_rate: int) -> bytes:
    """``(channels, n)`` float samples as 16-bit FLAC: the stored excerpt (the decoded audio of a 16-bit
    source, lossless; the excerpts of lossy sources need no more bits). Audio of more channels than FLAC holds
    (:data:`FLAC_MAX_CHANNELS`: a multitrack recording) is stored as the mean of its channels, the mono mix every
    feature is computed from: libsndfile refused it, and that one file stopped the whole ``musim library add``."""
    import soundfile as sf

    from musim.audio.io import to_mono

    if data.ndim == 2 and data.shape[0] > FLAC_MAX_CHANNELS:
        data = to_mono(data)[None, :]
    buf = io.BytesIO()
    sf.write(buf, np.clip(data.T, -1.0, 1.0), sample_rate, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


def encode_excerpt(data: np.ndarray, sample_rate: int) -> tuple[bytes, str]:
    """The stored excerpt of ``(channels, n)`` float samples and its format: :func:`encode_flac`, or 16-bit WAV
    (the same samples) at a rate past FLAC's :data:`FLAC_MAX_RATE` (705.6 and 768 kHz recordings), which libsndfile
    refused, stopping the whole ``musim library add``."""
    if sample_rate <= FLAC_MAX_RATE:
        return encode_flac(data, sample_rate), "flac"
    import soundfile as sf

    from musim.audio.io import to_mono

    if data.ndim == 2 and data.shape[0] > FLAC_MAX_CHANNELS:  # as FLAC stores it: one excerpt, whatever its rate
        data = to_mono(data)[None, :]
    buf = io.BytesIO()
    sf.write(buf, np.clip(data.T, -1.0, 1.0), sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue(), "wav"


def suffix_format(path: Path) -> str | None:
    """The format a file's suffix suggests (a hint for messages; :func:`probe` decides by content)."""
    suffix = path.suffix.lower()
    return next((fmt for fmt, suffixes in FORMATS.items() if suffix in suffixes), None)
