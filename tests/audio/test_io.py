"""Decoding: formats, sources, channels, excerpts and the errors bad audio raises."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import soundfile as sf

from musim.audio import BadAudioError, load_audio, sniff_format
from musim.errors import AudioError, ParameterError
from musim.synth.files import write_clip

from .conftest import SR, sine


def _peak_hz(y: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.argmax(spec) * sr / len(y))


@pytest.mark.parametrize("fmt", ["mp3", "flac", "wav", "ogg", "m4a"])
def test_round_trip_decode(tmp_path, fmt):
    # 44.1 kHz stereo, as real previews: decoded to 22050 Hz mono float32 with the tone intact.
    left = sine(440.0, 3.0, sr=44100, amp=0.4)
    path = write_clip(tmp_path / f"tone.{fmt}", np.stack([left, left]), sr=44100)
    y, sr = load_audio(path)
    assert sr == SR and y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) / SR - 3.0) < 0.1  # codec padding (mp3/aac frames) stays small
    assert abs(_peak_hz(y, SR) - 440.0) < 3.0
    assert 0.3 < np.max(np.abs(y)) < 0.5
    # bytes and file objects decode the same
    data = path.read_bytes()
    y_bytes, _ = load_audio(data, key=f"k.{fmt}")
    y_file, _ = load_audio(io.BytesIO(data))
    np.testing.assert_array_equal(y, y_bytes)
    np.testing.assert_array_equal(y, y_file)


def test_m4a_without_suffix_is_sniffed(tmp_path):
    path = write_clip(tmp_path / "x.m4a", sine(440.0, 2.0), sr=SR)
    data = path.read_bytes()
    assert sniff_format(data[:12]) == "mp4"
    y, sr = load_audio(data, key="itunes:123")  # no suffix anywhere
    assert sr == SR and abs(_peak_hz(y, SR) - 440.0) < 3.0


def test_samples_equal_librosa_load(tmp_path):
    import librosa

    st = np.stack([sine(440.0, 3.0, sr=44100), sine(660.0, 3.0, sr=44100, amp=0.2)])
    for fmt in ("mp3", "flac"):
        path = write_clip(tmp_path / f"s.{fmt}", st, sr=44100)
        ours, _ = load_audio(path)
        ref, _ = librosa.load(path, sr=SR)
        np.testing.assert_array_equal(ours, ref)


def test_stereo_mean_vs_channel(tmp_path):
    left, right = sine(440.0, 2.0, amp=0.6), sine(880.0, 2.0, amp=0.2)
    path = tmp_path / "st.wav"
    sf.write(path, np.stack([left, right], axis=1), SR, subtype="FLOAT")
    mean, _ = load_audio(path)
    np.testing.assert_allclose(mean, (left + right) / 2, atol=1e-7)
    y0, _ = load_audio(path, channel=0)
    y1, _ = load_audio(path, channel=1)
    np.testing.assert_allclose(y0, left, atol=1e-7)
    np.testing.assert_allclose(y1, right, atol=1e-7)
    both, _ = load_audio(path, mono=False)
    assert both.shape == (2, left.size)
    with pytest.raises(BadAudioError, match="missing channel"):
        load_audio(path, channel=2)
    # a mono file's only channel serves any channel request
    sf.write(tmp_path / "m.wav", left, SR, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(tmp_path / "m.wav", channel=1)[0], left, atol=1e-7)


def test_offset_duration_and_native_rate(tmp_path):
    y = sine(300.0, 4.0)
    path = tmp_path / "a.wav"
    sf.write(path, y, SR, subtype="FLOAT")
    part, sr = load_audio(path, offset=1.0, duration=2.0)
    assert sr == SR
    np.testing.assert_allclose(part, y[SR:3 * SR], atol=1e-7)
    native, sr = load_audio(path, sr=None)
    assert sr == SR and native.size == y.size
    down, sr = load_audio(path, sr=11025)
    assert sr == 11025 and down.size == 2 * 11025 * 2
    # m4a excerpts via PyAV
    m4a = write_clip(tmp_path / "a.m4a", y, sr=SR)
    part_m4a, _ = load_audio(m4a, offset=1.0, duration=2.0)
    assert part_m4a.size == 2 * SR


def test_corrupt_bytes_name_the_key():
    with pytest.raises(BadAudioError) as err:
        load_audio(b"\x00garbage" * 500, key="audio/previews/abc.mp3")
    assert err.value.key == "audio/previews/abc.mp3"
    assert err.value.reason == BadAudioError.UNDECODABLE
    assert "audio/previews/abc.mp3" in str(err.value) and "undecodable" in str(err.value)
    assert isinstance(err.value, AudioError)


def test_truncated_and_missing_files(tmp_path):
    data = write_clip(tmp_path / "t.mp3", sine(440.0, 2.0), sr=SR).read_bytes()
    with pytest.raises(BadAudioError):  # first 200 bytes: a header and nothing decodable
        load_audio(data[:200], key="cut.mp3")
    with pytest.raises(BadAudioError, match="nope.mp3"):
        load_audio(tmp_path / "nope.mp3")
    with pytest.raises(BadAudioError) as err:
        load_audio(b"", key="zero")
    assert err.value.reason == BadAudioError.EMPTY


def test_too_short_and_silent(tmp_path):
    short = tmp_path / "short.wav"
    sf.write(short, sine(440.0, 0.5), SR)
    with pytest.raises(BadAudioError) as err:
        load_audio(short)
    assert err.value.reason == BadAudioError.TOO_SHORT and "short.wav" in str(err.value)
    assert load_audio(short, min_duration=0.25)[0].size == SR // 2

    silent = tmp_path / "silent.flac"
    sf.write(silent, np.zeros(2 * SR, dtype=np.float32), SR)
    with pytest.raises(BadAudioError) as err:
        load_audio(silent, silence_db=-60.0)
    assert err.value.reason == BadAudioError.SILENT
    quiet = tmp_path / "quiet.wav"
    sf.write(quiet, sine(440.0, 2.0, amp=1e-4), SR, subtype="FLOAT")  # about -83 dBFS
    with pytest.raises(BadAudioError, match="silent"):
        load_audio(quiet)
    y, _ = load_audio(silent, silence_db=None)
    assert not y.any()
    with pytest.raises(BadAudioError) as err:
        load_audio(silent, offset=10.0, silence_db=None)
    assert err.value.reason == BadAudioError.EMPTY


def test_bad_arguments():
    for kwargs in ({"sr": 0}, {"offset": -1.0}, {"duration": 0.0}, {"channel": -1}, {"min_duration": -1.0}):
        with pytest.raises(ParameterError):
            load_audio(b"x", **kwargs)
    with pytest.raises(ParameterError):
        load_audio(12345)  # type: ignore[arg-type]


def test_error_pickles():
    err = BadAudioError("k", BadAudioError.SILENT, "RMS -90 dBFS")
    back = pickle.loads(pickle.dumps(err))
    assert (back.key, back.reason, back.detail, str(back)) == (err.key, err.reason, err.detail, str(err))


def test_sniff_format():
    assert sniff_format(b"RIFF\x00\x00\x00\x00WAVEfmt ") == "wav"
    assert sniff_format(b"fLaC\x00\x00") == "flac"
    assert sniff_format(b"OggS\x00") == "ogg"
    assert sniff_format(b"ID3\x04\x00") == "mp3"
    assert sniff_format(b"\xff\xfb\x90\x00") == "mp3"
    assert sniff_format(b"\xff\xf1\x50\x80") == "aac"
    assert sniff_format(b"\x00\x00\x00\x20ftypM4A ") == "mp4"
    assert sniff_format(b"hello world!") is None


def test_nan_or_infinite_samples_are_undecodable(tmp_path):
    """A float WAV can hold NaN/inf: no feature survives them, so the file is refused, naming how many."""
    y = sine(440.0, 2.0).astype(np.float32)
    y[100:103] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, y, SR, subtype="FLOAT")
    with pytest.raises(BadAudioError) as err:
        load_audio(path, sr=SR // 2)
    assert err.value.reason == BadAudioError.UNDECODABLE and "3 of" in err.value.detail and "nan.wav" in str(err.value)
