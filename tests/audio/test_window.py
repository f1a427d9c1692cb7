"""Files of several streams one after the other (MP3s ``cat``-ed together, a chained Ogg) are read whole, and a file of
one stream is read as before. The files are made here: tones encoded by libsndfile, their bytes concatenated."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from musim.audio import load_audio
from musim.audio.window import read_window

from .conftest import sine

#: (libsndfile format, subtype, rate) of each format that can hold streams one after the other.
_ENCODINGS = {"mp3": ("MP3", "MPEG_LAYER_III", 22050), "ogg": ("OGG", "VORBIS", 22050), "opus": ("OGG", "OPUS", 48000)}


def _encoded(fmt: str, freq: float, seconds: float, *, sr: int | None = None) -> bytes:
    container, subtype, rate = _ENCODINGS[fmt]
    buf = io.BytesIO()
    sf.write(buf, sine(freq, seconds, sr=sr or rate, amp=0.3), sr or rate, format=container, subtype=subtype)
    return buf.getvalue()


def _peak_hz(y: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.argmax(spec) * sr / len(y))


@pytest.mark.parametrize("fmt", list(_ENCODINGS))
def test_a_file_of_two_streams_one_after_the_other_is_read_whole(tmp_path, fmt):
    """libsndfile read the first stream only: 6 s of the 15 s, and nothing at an offset past it (the window of the
    middle of the track was taken from 6 s, the 440 Hz part)."""
    data = _encoded(fmt, 440.0, 6.0) + _encoded(fmt, 880.0, 9.0)
    path = tmp_path / f"joined.{fmt}"
    path.write_bytes(data)
    for source in (path, data):
        y, sr = load_audio(source, sr=None, min_duration=0)
        assert len(y) / sr == pytest.approx(15.0, abs=0.3), source
    first, sr = load_audio(path, sr=None, offset=1.0, duration=3.0)
    second, _ = load_audio(path, sr=None, offset=10.0, duration=3.0)
    assert _peak_hz(first, sr) == pytest.approx(440.0, abs=3) and _peak_hz(second, sr) == pytest.approx(880.0, abs=3)
    window, rate = read_window(str(path), offset=10.0, duration=3.0, pyav=False)
    assert rate == sr and window.shape == (1, 3 * sr)
    np.testing.assert_array_equal(window[0], second)
    from musim.audio.window import chained_stream

    assert chained_stream(str(path)) is not None and chained_stream(io.BytesIO(data)) is not None


@pytest.mark.parametrize("fmt", list(_ENCODINGS))
def test_a_file_of_one_stream_is_read_as_before(tmp_path, fmt):
    """What the benchmark and every stored excerpt rest on: an ordinary file is no chain, and its window is
    libsndfile's, bit for bit (the reader before chained files were told apart)."""
    from musim.audio.window import _read_soundfile, chained_stream

    data = _encoded(fmt, 440.0, 12.0)
    path = tmp_path / f"one.{fmt}"
    path.write_bytes(data)
    assert chained_stream(str(path)) is None and chained_stream(io.BytesIO(data)) is None
    for offset, duration in ((0.0, None), (4.0, 5.0), (0.5, 30.0)):
        want = _read_soundfile(str(path), offset, duration)
        assert want is not None
        for src in (str(path), io.BytesIO(data)):
            got = read_window(src, offset=offset, duration=duration, pyav=False)
            assert got[1] == want[1]
            np.testing.assert_array_equal(got[0], want[0])


def test_mp3s_with_id3_tags_joined_are_told_and_tags_or_junk_after_one_stream_are_not():
    """An ID3v2 tag opens each part of a joined MP3 (its frames follow it); an ID3v1 or APE tag, or junk, after the
    frames of one stream is no stream."""
    from musim.audio.window import chained_stream

    tag = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10  # an empty ID3v2.4 tag of 10 bytes
    one = _encoded("mp3", 440.0, 5.0)
    assert chained_stream(io.BytesIO(tag + one + tag + one)) is not None
    assert chained_stream(io.BytesIO(tag + one)) is None
    for tail in (b"TAG" + b"\x00" * 125, b"APETAGEX" + b"\x00" * 3000, b"\x00" * 5000, b"not audio at all" * 100):
        assert chained_stream(io.BytesIO(one + tail)) is None, tail[:8]
    assert chained_stream(io.BytesIO(b"")) is None and chained_stream(io.BytesIO(b"RIFF")) is None


def test_streams_of_other_rates_are_read_as_the_first_stream_not_at_the_wrong_speed():
    """FFmpeg's MP3 decoder changes rate at the second stream (44.1 kHz after 22.05 kHz): its samples were counted at
    the first stream's rate, 12 s of audio as 24 s an octave low. Neither decoder reads such a file whole: it is
    read as its first stream, as libsndfile reads it."""
    data = _encoded("mp3", 440.0, 6.0) + _encoded("mp3", 880.0, 6.0, sr=44100)
    y, sr = load_audio(data, sr=None, min_duration=0)
    assert sr == 22050 and len(y) / sr == pytest.approx(6.0, abs=0.1)


def test_a_stream_object_is_read_from_its_position_and_left_there():
    from musim.audio.window import chained_stream

    data = _encoded("ogg", 440.0, 3.0)
    for src in (io.BytesIO(b"x" * 7 + data + data), io.BufferedReader(io.BytesIO(b"x" * 7 + data + data))):
        src.seek(7)
        assert chained_stream(src) is not None and src.tell() == 7


def test_an_empty_file_is_no_chain(tmp_path):
    from musim.audio.window import chained_stream

    (tmp_path / "empty.mp3").write_bytes(b"")
    assert chained_stream(str(tmp_path / "empty.mp3")) is None
