"""Reading a window of an encoded file at its native rate: the one windowed reader (the library's excerpts and
:func:`musim.audio.io.load_audio` both read through it), with soundfile for the formats it reads and PyAV for the
others, entering a compressed stream :data:`PREROLL_S` early so that a window equals a decode from the start.
"""

from __future__ import annotations

import contextlib
import io
import mmap
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from musim.quiet import sound_file

__all__ = ["PREROLL_S", "READ_WINDOW_VERSION", "chained_frames", "chained_stream", "pyav_stream", "read_window"]


#: How far before a window a compressed stream is entered when seeking (PyAV): the decoder's first frames after a
#: seek lack their overlap (AAC, Vorbis, Opus) or bit reservoir (mp3), so they are decoded and discarded. One second
#: is dozens of codec frames for every format musim reads.
PREROLL_S = 1.0

#: The version of :func:`read_window`'s output: bump it whenever a change makes it return other samples for the same
#: file and window. The library records it with every excerpt it stores (``library_track.excerpt_reader``), and
#: ``musim library add`` reads an unchanged file's excerpt again when it was cut by an older version. 1: before the
#: pre-roll (libsndfile seeked straight to the window, mp3s lacking their bit reservoir; PyAV started at the
#: keyframe before it, AAC lacking its overlap: m4a and mp3 windows at an offset differed from a full decode).
#: 2: entered :data:`PREROLL_S` early and cut at the exact sample (equal to a decode from the start).
#: 3: a file of streams one after the other (:func:`chained_stream`) read whole; version 2 read its first stream only
#: (its length, hence the window chosen in it, was the first stream's). Every other file's windows are the same
#: samples as version 2's: the library re-cuts a version-2 excerpt only where its file is chained (migration 038).
READ_WINDOW_VERSION = 3


def read_window(src: Any, *, offset: float = 0.0, duration: float | None = None, pyav: bool,
                seek: bool = True) -> tuple[np.ndarray, int]:
    """The samples of the window ``[offset, offset + duration)`` at the native rate: the one windowed reader (the
    library's excerpts and :func:`load_audio` both read through it).

    The window starts at sample ``int(offset * sr)`` and holds ``int(duration * sr)`` samples (``librosa.load``'s
    convention) of what a decode from the start gives, whichever way it is read: libsndfile seeks exactly; PyAV
    seeks :data:`PREROLL_S` early, decodes, and places every frame by its ``pts`` (in the stream's time base)
    before cutting the window. ``seek=False`` decodes from the start (the reference the seeking path is tested
    against, and the fallback when a stream's timestamps cannot place the window).

    Parameters
    ----------
    src : path or binary file object
    offset, duration : float
        Seconds; ``duration=None`` reads to the end.
    pyav : bool
        Decode with PyAV (FFmpeg) instead of libsndfile.
    seek : bool
        Seek to the window (default) or decode from the start.

    Returns
    -------
    data : np.ndarray [shape=(channels, n), dtype=float32]
    sr : int
        The native rate in Hz.

    A file of several streams one after the other (:func:`chained_stream`: MP3 files ``cat``-ed together, a chained
    Ogg), of which libsndfile reads only the first, is decoded from the start with PyAV, whichever ``pyav`` and
    ``seek`` say (its timestamps start again with each stream, so no seek can place a window in it); where PyAV
    cannot decode it all (streams of different sample rates) it is read as before.

    Raises whatever the decoder raises.
    """
    if _chained(src):
        try:
            return _read_pyav(src, offset, duration, chained=True)
        except Exception:  # noqa: BLE001 - decoders raise many types: read as a single stream below
            if hasattr(src, "seek"):
                src.seek(0)
    if not pyav:
        got = _read_soundfile(src, offset, duration, seek=seek)
        if got is not None:
            return got
        if hasattr(src, "seek"):  # a stream whose length libsndfile does not know: decoded from the start
            src.seek(0)
        return _read_pyav(src, offset, duration)
    if seek and offset > PREROLL_S:
        got = _seek_pyav(src, offset, duration)
        if got is not None:
            return got
        if hasattr(src, "seek"):
            src.seek(0)
    return _read_pyav(src, offset, duration)


#: Frames read at a time to reach a window in a stream libsndfile cannot seek in.
_SKIP_BLOCK = 1 << 16


#: libsndfile's frame count of a stream whose header declares no length (``SF_COUNT_MAX``: a FLAC written to a pipe,
#: STREAMINFO's total samples 0). libsndfile fails reading at such a stream's end ("Internal psf_fseek() failed").
_UNKNOWN_FRAMES = (1 << 63) - 1


def _read_soundfile(src: Any, offset: float, duration: float | None, *, seek: bool = True
                    ) -> tuple[np.ndarray, int] | None:
    """(channels, n) float32 and the native rate; raises whatever soundfile raises; ``None`` for a stream whose
    length libsndfile does not know (:data:`_UNKNOWN_FRAMES`), which the caller decodes with PyAV.

    A codec libsndfile cannot seek in (GSM 6.10, G.721 WAV) is read from its start, the frames before the window
    :data:`_SKIP_BLOCK` at a time and dropped (never the whole file at once), with the frame counts its header gives:
    libsndfile refused such a file's window ("Seek attempted on unseekable file type")."""
    with sound_file(src) as f:
        if int(f.frames) >= _UNKNOWN_FRAMES:
            return None
        sr_native = int(f.samplerate)
        start = int(offset * sr_native)
        frames = -1 if duration is None else int(duration * sr_native)
        if not f.seekable():  # libsndfile reads only forward, and only a given number of frames
            frames = max(0, int(f.frames) - start) if frames < 0 else frames
            for at in range(0, start, _SKIP_BLOCK):
                if not len(f.read(frames=min(_SKIP_BLOCK, start - at), dtype="float32", always_2d=True)):
                    break
            data = f.read(frames=frames, dtype="float32", always_2d=True)
        elif not seek:
            data = f.read(dtype="float32", always_2d=True)[start:]
            data = data if frames < 0 else data[:frames]
        else:  # enter PREROLL_S early: libsndfile's mp3 decoder (mpg123) lacks its bit reservoir after a seek
            entry = max(0, start - int(PREROLL_S * sr_native))
            if entry > 0:
                f.seek(entry)
            data = f.read(frames=-1 if frames < 0 else frames + start - entry, dtype="float32",
                          always_2d=True)[start - entry:]
    return data.T, sr_native  # (channels, n) view, as librosa.load transposes it


def pyav_stream(container: Any) -> tuple[Any, int]:
    """The first audio stream of a PyAV ``container`` and its native rate (Hz); ``ValueError`` naming what is
    missing: no audio stream, no decoder for its codec (PyAV gives it no codec context: ``AttributeError: 'NoneType'
    object has no attribute 'sample_rate'`` was what a WAV of an unknown format code was skipped with), no rate."""
    streams = container.streams.audio
    if not streams:
        raise ValueError("no audio stream")
    stream = streams[0]
    if stream.codec_context is None:
        raise ValueError("no decoder for its audio codec")
    sr_native = int(stream.codec_context.sample_rate or stream.rate or 0)
    if sr_native <= 0:
        raise ValueError("unknown sampling rate")
    return stream, sr_native


def _stack(chunks: list[np.ndarray], n_ch: int | None = None) -> np.ndarray:
    """Decoded blocks side by side (a block with fewer than ``n_ch`` channels, default the most any block has,
    repeats its first)."""
    n_ch = max(c.shape[0] for c in chunks) if n_ch is None else n_ch
    return np.concatenate([c if c.shape[0] == n_ch else np.repeat(c[:1], n_ch, axis=0) for c in chunks], axis=1)


def _samples_of(frame: Any, resampler: Any) -> list[np.ndarray]:
    out = []
    for block in resampler.resample(frame):
        arr = block.to_ndarray()
        out.append(arr.reshape(-1, arr.shape[-1]))
    return out


def _read_pyav(src: Any, offset: float, duration: float | None, *, chained: bool = False) -> tuple[np.ndarray, int]:
    """(channels, n) float32 and the native rate, decoded with PyAV (FFmpeg) from the start.

    Only the window's samples are kept: the blocks before it are counted and dropped as they are decoded, so the
    memory is the window's, however far into the stream it lies (a FLAC of unknown length, which libsndfile cannot
    read, held every block from the start up to the window's end: hours of audio for the middle of a long one).
    ``chained``: a file of streams one after the other, read by :func:`chained_frames`."""
    import av

    chunks: list[np.ndarray] = []
    n_ch = 0  # the most channels any decoded block had, the window's or not (as _stack counts them)
    with av.open(src, mode="r") as container:
        stream, sr_native = pyav_stream(container)
        start = int(offset * sr_native)
        stop = None if duration is None else start + int(duration * sr_native)
        resampler = av.AudioResampler(format="fltp")  # same layout and rate: sample-format conversion only
        have = 0

        def keep(blocks: list[np.ndarray]) -> None:
            nonlocal have, n_ch
            for arr in blocks:
                n_ch = max(n_ch, arr.shape[0])
                if have + arr.shape[-1] > start:
                    chunks.append(arr[:, max(0, start - have):])
                have += arr.shape[-1]

        for frame in chained_frames(container, stream) if chained else container.decode(stream):
            keep(_samples_of(frame, resampler))
            if stop is not None and have >= stop:
                break
        else:
            keep(_samples_of(None, resampler))
    if not n_ch:
        return np.zeros((1, 0), dtype=np.float32), sr_native
    if not chunks:  # the window starts past the end
        return np.zeros((n_ch, 0), dtype=np.float32), sr_native
    data = _stack(chunks, n_ch)[:, :None if stop is None else stop - start]
    return np.ascontiguousarray(data, dtype=np.float32), sr_native


def _seek_pyav(src: Any, offset: float, duration: float | None) -> tuple[np.ndarray, int] | None:
    """:func:`_read_pyav`'s window read by seeking :data:`PREROLL_S` early, or None when the stream's
    timestamps cannot place it (no pts, a gap, a seek that lands late): the caller decodes from the start."""
    import av

    with av.open(src, mode="r") as container:
        stream, sr = pyav_stream(container)
        tb = stream.time_base
        if not tb:
            return None
        start = int(offset * sr)
        stop = None if duration is None else start + int(duration * sr)

        def position(pts: int | None) -> int | None:  # the pts as a sample count, when it is one
            if pts is None:
                return None
            exact = pts * tb * sr
            return int(exact) if exact.denominator == 1 else None

        first = next(iter(container.decode(stream)), None)
        origin = None if first is None else position(first.pts)  # sample 0 of a decode from the start
        if origin is None:
            return None
        entry = start - int(PREROLL_S * sr)
        container.seek(int((origin + entry) / (tb * sr)), stream=stream, backward=True, any_frame=False)
        resampler = av.AudioResampler(format="fltp")
        chunks: list[np.ndarray] = []
        at = begin = None
        for frame in container.decode(stream):
            pos = position(frame.pts)
            if pos is None or (at is not None and pos - origin != at):
                return None
            if at is None:
                if pos - origin > entry:
                    return None
                begin = pos - origin
            blocks = _samples_of(frame, resampler)
            if sum(b.shape[-1] for b in blocks) != frame.samples:
                return None
            at = pos - origin + frame.samples
            if at > start:
                chunks.extend(blocks)
            else:
                begin = at
            if stop is not None and at >= stop:
                break
        else:
            chunks.extend(_samples_of(None, resampler))
    if begin is None:
        return None
    if not chunks:
        return np.zeros((1, 0), dtype=np.float32), sr
    data = _stack(chunks)[:, start - begin:None if stop is None else stop - begin]
    return np.ascontiguousarray(data, dtype=np.float32), sr


# Several streams one after the other in one file. libsndfile reads the first only: an Ogg file's first logical stream
# (its length the last granule position of that stream), an MP3 to the frame count its first frame's Xing/Info (or
# VBRI) header declares, which libmpg123 trusts. Both are common in the wild: `cat a.mp3 b.mp3 > ab.mp3` (an album
# joined into one file, a podcast's parts), `cat a.ogg b.ogg` (a valid chained Ogg: internet radio recordings).


def _chained(src: Any) -> bool:
    """:func:`chained_stream`, ``False`` where the file cannot be read that way (the decoder then says why)."""
    try:
        return chained_stream(src) is not None
    except (OSError, ValueError):
        return False


#: The most packets of a file of streams one after the other that may fail to decode (the tags between its streams).
_MAX_BAD_PACKETS = 64


def chained_frames(container: Any, stream: Any) -> Iterator[Any]:
    """The decoded frames of the audio ``stream`` of a PyAV ``container`` that holds streams one after the other
    (:func:`chained_stream`). FFmpeg's MP3 demuxer passes an ID3v2 tag between two streams on as a packet, which does
    not decode (``InvalidDataError``): such packets are passed over, up to :data:`_MAX_BAD_PACKETS` of them. A frame
    of another sample rate than the stream's (a later stream recorded at another rate, whose samples would be
    counted at the first one's) raises ``ValueError``: neither decoder reads such a file whole."""
    import av

    _, sr = pyav_stream(container)
    bad = 0
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.InvalidDataError:
            bad += 1
            if bad > _MAX_BAD_PACKETS:
                raise
            continue
        for frame in frames:
            if frame.sample_rate != sr:
                raise ValueError(f"a stream at {frame.sample_rate} Hz follows one at {sr} Hz")
            yield frame


def chained_stream(src: Any) -> str | None:
    """What a file holds after the stream libsndfile reads (``"a chained Ogg stream"``, ``"MP3 streams concatenated"``),
    or ``None`` for a file of one stream (and anything that is neither Ogg nor MP3).

    Ogg: a beginning-of-stream page after the pages of data of a first logical stream (a chained Ogg; the streams of a
    multiplexed one all begin before any data). MP3: more MPEG audio frames (after ID3v2 tags between them) than the
    Xing/Info or VBRI header of the first frame declares; a file without such a header is read to its end already.
    Reads only page and frame headers, without decoding.

    Parameters
    ----------
    src : path or binary file object
        A file object is read from its position, and left there.
    """
    with _bytes_of(src) as buf:
        if buf[:4] == b"OggS":
            return "a chained Ogg stream" if _ogg_chained(buf) else None
        pos = _after_id3v2(buf, 0)
        if (first := _mpeg_frame(buf, pos)) is not None:
            return "MP3 streams concatenated" if _mp3_concatenated(buf, pos, first) else None
    return None


@contextlib.contextmanager
def _bytes_of(src: Any) -> Iterator[Any]:
    """The bytes of a path (mapped, not read) or of a binary file object from its position (its buffer, or read and
    sought back)."""
    if isinstance(src, (str, os.PathLike)):
        with open(src, "rb") as fh:
            try:
                mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # empty, or a file system that maps no files
                yield fh.read()
                return
            with mapped:
                yield mapped
        return
    at = src.tell()
    if isinstance(src, io.BytesIO):
        view = src.getbuffer()
        try:
            yield view[at:].toreadonly()
        finally:
            view.release()
        return
    try:
        yield src.read()
    finally:
        src.seek(at)


def _ogg_chained(buf: Any) -> bool:
    """Whether an Ogg file's pages hold a beginning-of-stream page after a page that is not one."""
    pos, n, data = 0, len(buf), False
    while pos + 27 <= n and bytes(buf[pos:pos + 4]) == b"OggS":
        flags, segments = buf[pos + 5], buf[pos + 26]
        if pos + 27 + segments > n:
            break
        if flags & 0x02:
            if data:
                return True
        else:
            data = True
        pos += 27 + segments + sum(buf[pos + 27:pos + 27 + segments])
    return False


def _after_id3v2(buf: Any, pos: int) -> int:
    """The position after the ID3v2 tags at ``pos`` (``pos`` when there is none)."""
    while bytes(buf[pos:pos + 3]) == b"ID3" and pos + 10 <= len(buf):
        size = buf[pos + 6:pos + 10]
        if any(b & 0x80 for b in size):
            break
        pos += 10 + (size[0] << 21 | size[1] << 14 | size[2] << 7 | size[3]) + (10 if buf[pos + 5] & 0x10 else 0)
    return pos


#: Bit rates (kbit/s) by (MPEG-1, layer) and (MPEG-2/2.5, layer), bit rate index 1-14; sample rates by version.
_KBPS = {(True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
         (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
         (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
         (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
         (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
         (False, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_frame(buf: Any, pos: int) -> tuple[int, int, bool, bool] | None:
    """The MPEG audio frame header at ``pos``: (its frame's length in bytes, its layer, MPEG-1, mono), or ``None``
    (no frame sync, a reserved or free-format field, ADTS AAC)."""
    if pos + 4 > len(buf):
        return None
    b1, b2, b3 = buf[pos + 1], buf[pos + 2], buf[pos + 3]
    if buf[pos] != 0xFF or b1 & 0xE0 != 0xE0:
        return None
    version, layer, index, rate = (b1 >> 3) & 3, 4 - ((b1 >> 1) & 3), b2 >> 4, (b2 >> 2) & 3
    if version == 1 or layer == 4 or index in (0, 15) or rate == 3:
        return None
    mpeg1 = version == 3
    bps, sr, padding = _KBPS[mpeg1, layer][index - 1] * 1000, _RATES[version][rate], (b2 >> 1) & 1
    if layer == 1:
        length = (12 * bps // sr + padding) * 4
    else:
        length = (144 if mpeg1 or layer == 2 else 72) * bps // sr + padding
    return length, layer, mpeg1, b3 >> 6 == 3


def _mp3_concatenated(buf: Any, pos: int, first: tuple[int, int, bool, bool]) -> bool:
    """Whether an MP3 holds more frames than the Xing/Info or VBRI header of its first frame (at ``pos``) declares."""
    length, layer, mpeg1, mono = first
    if layer != 3:
        return False
    side = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
    declared = end = None
    xing = pos + 4 + side
    if bytes(buf[xing:xing + 4]) in (b"Xing", b"Info") and xing + 16 <= len(buf):
        flags = int.from_bytes(buf[xing + 4:xing + 8], "big")
        at = xing + 8
        if flags & 1:
            declared = int.from_bytes(buf[at:at + 4], "big")
            at += 4
        if flags & 2:
            end = pos + int.from_bytes(buf[at:at + 4], "big")
    elif bytes(buf[pos + 36:pos + 40]) == b"VBRI" and pos + 58 <= len(buf):
        end = pos + int.from_bytes(buf[pos + 46:pos + 50], "big")
        declared = int.from_bytes(buf[pos + 50:pos + 54], "big")
    if not declared:
        return False
    n = len(buf)
    if end is not None and end >= n - 128:  # the stream the header declares ends where the file does (an ID3v1 tag)
        return False
    frames, at = 0, pos + length
    limit = declared + max(2, declared // 100)
    while frames <= limit:
        at = _after_id3v2(buf, at)
        if (frame := _mpeg_frame(buf, at)) is None:
            break
        frames += 1
        at += frame[0]
    return frames > limit
