"""Formats told by content, and every skip reason of the checks, on small generated files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from musim.audio import load_audio
from musim.library.formats import (
    SKIP_REASONS,
    FileSkipped,
    canonical_reason,
    encode_flac,
    probe,
    read_excerpt,
)
from tests.library.conftest import FORMATS, UNTAGGED, write_audio


@pytest.mark.parametrize("fmt", FORMATS + UNTAGGED)
def test_every_format_is_told_by_content_and_read_by_seeking(tmp_path, fmt):
    """The stored excerpt is the same window of samples :func:`load_audio` reads (``similar-audio``, ``embed``):
    at the start, the middle and near the end, equal to a decode from the start within 1e-6 for every format
    (the seek enters a second early, so lossy decoders have settled; see tests/audio/test_io.py). The m4a window
    read by seeking differed by up to 0.86 in the samples."""
    path = write_audio(tmp_path / "no-suffix-hint.bin", fmt, seconds=12)
    info = probe(path)
    assert info.format == fmt and info.duration_s == pytest.approx(12, abs=0.1) and info.channels == 1
    whole, sr = load_audio(path, sr=None, mono=False, min_duration=0, silence_db=None)
    assert sr == info.sample_rate
    for offset in (0.0, 4.0, 6.5, 11.0 - 0.01):
        window = read_excerpt(path, info, offset_s=offset, duration_s=1.0)
        assert window.shape == (1, int(1.0 * sr))
        start = int(offset * sr)
        np.testing.assert_allclose(window, whole[:, start:start + window.shape[1]], atol=1e-6, rtol=0,
                                   err_msg=f"{fmt} at {offset} s")
        part, _ = load_audio(path, sr=None, mono=False, offset=offset, duration=1.0, min_duration=0)
        np.testing.assert_array_equal(window, part)


def test_probe_reads_bytes_like_files(tmp_path):
    path = write_audio(tmp_path / "a.ogg", "ogg", seconds=8)
    assert probe(path.read_bytes()).format == "ogg"


def _skip(path, **kw) -> FileSkipped:
    with pytest.raises(FileSkipped) as err:
        info = probe(path, **kw)
        read_excerpt(path, info, offset_s=0.0, duration_s=min(info.duration_s, 30.0))
    return err.value


def test_empty_unreadable_and_not_audio(tmp_path):
    (tmp_path / "empty.mp3").write_bytes(b"")
    assert _skip(tmp_path / "empty.mp3").reason == "empty"
    assert _skip(tmp_path / "missing.ogg").reason == "unreadable"
    (tmp_path / "notes.mp3").write_text("these are my notes, not a song\n" * 20)
    assert _skip(tmp_path / "notes.mp3").reason == "not_audio"
    (tmp_path / "page.m4a").write_bytes(b"<html><body>403 Forbidden</body></html>")
    assert _skip(tmp_path / "page.m4a").reason == "not_audio"


def test_undecodable_container_with_garbage(tmp_path):
    (tmp_path / "junk.ogg").write_bytes(b"OggS" + np.random.default_rng(0).bytes(5000))
    assert _skip(tmp_path / "junk.ogg").reason == "undecodable"


@pytest.mark.parametrize("fmt", ["ogg", "opus", "mp3", "wav", "aiff", "flac", "w64", "caf"])
def test_a_cut_file_is_truncated_not_a_short_clip(tmp_path, fmt):
    """A FLAC whose start decodes but whose seek toward the declared end fails was `undecodable`. W64 and CAF
    declare their length in their own chunks (the tag library reads neither)."""
    data = write_audio(tmp_path / f"whole.{fmt}", fmt, seconds=20).read_bytes()
    cut = tmp_path / f"cut.{fmt}"
    cut.write_bytes(data[: len(data) // 2])
    err = _skip(cut)
    assert err.reason == "truncated", err


@pytest.mark.parametrize("fmt", ["m4a"])
def test_a_cut_file_whose_container_breaks_is_undecodable(tmp_path, fmt):  # an MP4 index written last: cut off
    data = write_audio(tmp_path / f"whole.{fmt}", fmt, seconds=20).read_bytes()
    cut = tmp_path / f"cut.{fmt}"
    cut.write_bytes(data[: len(data) // 2])
    assert _skip(cut).reason in ("truncated", "undecodable")


def test_too_short_and_silent(tmp_path):
    assert _skip(write_audio(tmp_path / "short.wav", "wav", seconds=2)).reason == "too_short"
    assert probe(tmp_path / "short.wav", min_seconds=1.0).duration_s == pytest.approx(2.0)
    assert _skip(write_audio(tmp_path / "silent.flac", "flac", seconds=8, level=0.0)).reason == "silent"


def test_reasons_are_a_fixed_list():
    assert set(SKIP_REASONS) == {"empty", "not_audio", "truncated", "undecodable", "too_short", "silent",
                                 "duplicate_content", "unreadable", "sample_rate_out_of_range"}
    with pytest.raises(ValueError):
        FileSkipped("bad vibes")
    assert canonical_reason("too short") == "too_short" and canonical_reason("silent") == "silent"
    assert canonical_reason("anything else") == "undecodable"


def test_excerpt_is_stored_losslessly_as_flac():
    y = (0.25 * np.sin(np.linspace(0, 400, 22050))).astype(np.float32)[None, :]
    back, sr = sf.read(__import__("io").BytesIO(encode_flac(y, 22050)), dtype="float32")
    assert sr == 22050 and np.allclose(back, y[0], atol=1e-4)


def _float_wav_with_nan(path):
    samples = (0.2 * np.sin(np.arange(8 * 22050) * 0.05)).astype(np.float32)
    samples[1000:1010], samples[5000] = np.nan, np.inf
    sf.write(path, samples, 22050, subtype="FLOAT")
    return path


def test_a_float_file_with_nan_samples_is_undecodable_not_a_crash(tmp_path):
    err = _skip(_float_wav_with_nan(tmp_path / "nan.wav"))
    assert err.reason == "undecodable" and "11 of 176,400 samples are not finite" in err.detail



def test_a_reason_read_from_bytes_names_no_python_object():
    """A preview's reason read `Error opening <_io.BytesIO object at 0x7f...>` (acquire stores bytes)."""
    with pytest.raises(FileSkipped) as skipped:
        probe(b"ID3\x03" + b"x" * 100, key="Broken.mp3")
    assert "BytesIO" not in str(skipped.value) and "0x" not in skipped.value.detail


def test_silence_under_a_dc_offset_is_silent(tmp_path):
    """A silent recording shifted off zero (a constant 0.2, faint hiss on it) was kept: its raw RMS is -14 dBFS. The
    library measures the level as load_audio does (musim.audio.io.signal_level_db: the DC offset removed)."""
    sr = 22050
    y = 0.2 + np.random.default_rng(0).normal(0.0, 1e-5, 8 * sr)
    sf.write(tmp_path / "offset.wav", y.astype(np.float32), sr, subtype="PCM_24")
    err = _skip(tmp_path / "offset.wav")
    assert err.reason == "silent" and "DC offset removed" in err.detail
    # music on the same offset is kept
    t = np.arange(8 * sr) / sr
    sf.write(tmp_path / "music.wav", (0.2 + 0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), sr,
             subtype="PCM_24")
    info = probe(tmp_path / "music.wav")
    assert read_excerpt(tmp_path / "music.wav", info, offset_s=0.0, duration_s=8.0).shape[-1] == 8 * sr


def test_a_wav_of_a_codec_no_decoder_knows_is_undecodable_saying_so_not_with_a_python_error(tmp_path):
    """A WAV whose format code no decoder knows (a damaged header, an exotic codec) was skipped with PyAV's missing
    codec context as its detail: ``AttributeError: 'NoneType' object has no attribute 'sample_rate'``."""
    import struct

    path = write_audio(tmp_path / "odd.wav", "wav", seconds=8)
    raw = bytearray(path.read_bytes())
    struct.pack_into("<H", raw, 20, 0x1234)  # the fmt chunk's format code
    path.write_bytes(bytes(raw))
    with pytest.raises(FileSkipped) as got:
        probe(path)
    assert got.value.reason == "undecodable"
    assert "ValueError: no decoder for its audio codec" in got.value.detail and "AttributeError" not in got.value.detail


def _peak_hz(y: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.argmax(spec) * sr / len(y))


@pytest.mark.parametrize("fmt", ["mp3", "ogg", "opus"])
def test_files_joined_into_one_are_as_long_as_all_of_them_and_their_middle_is_read(tmp_path, fmt):
    """``cat a.mp3 b.mp3`` (an album joined into one file) and ``cat a.ogg b.ogg`` (a chained Ogg): each part tagged,
    as a player saves them. The probe said 8 s (the first part's length, which its header declares and libsndfile
    reads), so the window was the first part's middle, and the 12 s after it were never read."""
    from musim.audio.excerpt import excerpt_window
    from tests.library.conftest import write_tags

    parts = []
    for i, (seconds, freq) in enumerate(((8.0, 440.0), (12.0, 880.0))):
        part = write_audio(tmp_path / f"part{i}.{fmt}", fmt, seconds=seconds, freq=freq, seed=i)
        write_tags(part, fmt, artist="Joined", title=f"Part {i}")
        parts.append(part.read_bytes())
    path = tmp_path / "joined.bin"
    path.write_bytes(b"".join(parts))
    info = probe(path)
    assert info.format == fmt and info.duration_s == pytest.approx(20.0, abs=0.3) and info.declared_s is None
    assert probe(path.read_bytes()).duration_s == info.duration_s
    offset, length = excerpt_window(info.duration_s, length_s=10.0)
    assert offset == pytest.approx(5.0, abs=0.2)
    window = read_excerpt(path, info, offset_s=offset, duration_s=length)
    sr = info.sample_rate
    assert window.shape == (1, int(length * sr))
    assert _peak_hz(window[0, :2 * sr], sr) == pytest.approx(440.0, abs=3)  # 5-7 s: the first part
    assert _peak_hz(window[0, -2 * sr:], sr) == pytest.approx(880.0, abs=3)  # 13-15 s: the second
    whole, _ = load_audio(path, sr=None, mono=False, min_duration=0)
    start = int(offset * sr)
    np.testing.assert_array_equal(window, whole[:, start:start + window.shape[1]])


def test_a_single_file_keeps_its_length_and_excerpt(tmp_path):
    """The files of one stream (every file the benchmark reads) are probed and read as before: no chain."""
    from musim.audio.window import _read_soundfile

    path = write_audio(tmp_path / "one.mp3", "mp3", seconds=12)
    info = probe(path)
    assert info.declared_s == pytest.approx(12.0, abs=0.1) and info.duration_s == pytest.approx(12.0, abs=0.1)
    window = read_excerpt(path, info, offset_s=3.0, duration_s=6.0)
    want = _read_soundfile(str(path), 3.0, 6.0)
    assert want is not None
    np.testing.assert_array_equal(window, want[0])
