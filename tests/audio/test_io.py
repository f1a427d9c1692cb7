"""Decoding: formats, sources, channels, excerpts and the errors bad audio raises."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import soundfile as sf

from musim.audio import BadAudioError, load_audio, resample, sniff_format
from musim.audio.io import to_mono
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


def test_silence_under_a_dc_offset_is_silent(tmp_path):
    # A recording of nothing shifted off zero (a constant voltage, or -100 dBFS of hiss on it) has a high raw RMS
    # but nothing to hear: silent, not music whose tempo, key and timbre are computed. Music with the same offset
    # is kept as it was.
    rng = np.random.default_rng(3)
    for name, y in (("dc.wav", np.full(3 * SR, 0.5, dtype=np.float32)),
                    ("dc_hiss.wav", (0.5 - 1e-5 * rng.standard_normal(3 * SR)).astype(np.float32))):
        sf.write(tmp_path / name, y, SR, subtype="FLOAT")
        with pytest.raises(BadAudioError) as err:
            load_audio(tmp_path / name)
        assert err.value.reason == BadAudioError.SILENT and "DC offset removed" in str(err.value)
    stereo = np.stack([np.full(3 * SR, -0.4, dtype=np.float32), np.full(3 * SR, 0.7, dtype=np.float32)], axis=1)
    sf.write(tmp_path / "dc_stereo.wav", stereo, SR, subtype="FLOAT")
    with pytest.raises(BadAudioError, match="silent"):
        load_audio(tmp_path / "dc_stereo.wav", mono=False)
    music = sine(440.0, 3.0, amp=0.3) + np.float32(0.6)
    sf.write(tmp_path / "offset_music.wav", music, SR, subtype="FLOAT")
    y, _ = load_audio(tmp_path / "offset_music.wav")
    np.testing.assert_array_equal(y, music)


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


# The one windowed reader: a window read by seeking equals the same samples of a decode from the start. Every format
# the library stores, by each decoder that reads it; offsets at the start, inside the pre-roll, in the middle, at an
# offset that is no frame boundary and near the end (the window runs past it). Tolerance 1e-6 for all: the seek
# enters PREROLL_S early, so every decoder (AAC's MDCT overlap, Vorbis/Opus windows, mp3's bit reservoir) has
# settled and gives the same numbers; mpg123's float synthesis differs from itself by ~1e-7 after a seek.
_WINDOW_CASES = [(fmt, False) for fmt in ("mp3", "ogg", "opus", "flac", "wav", "aiff")] + \
    [(fmt, True) for fmt in ("m4a", "aac", "mp3", "ogg", "opus", "flac", "wav")]


@pytest.mark.parametrize(("fmt", "pyav"), _WINDOW_CASES, ids=[f"{f}-{'pyav' if p else 'sf'}" for f, p in _WINDOW_CASES])
def test_a_window_read_by_seeking_equals_the_same_window_of_a_full_decode(tmp_path, fmt, pyav):
    from musim.audio.window import read_window
    from tests.library.conftest import write_audio

    path = str(write_audio(tmp_path / f"a.{fmt}", fmt, seconds=20))
    full, sr = read_window(path, pyav=pyav, seek=False)
    for offset in (0.0, 0.5, 6.0, 9.37, 19.0):
        window, rate = read_window(path, offset=offset, duration=2.0, pyav=pyav)
        start = int(offset * sr)
        want = full[:, start:start + int(2.0 * sr)]
        assert rate == sr and window.shape == want.shape, (offset, window.shape, want.shape)
        np.testing.assert_allclose(window, want, atol=1e-6, rtol=0, err_msg=f"{fmt} at {offset} s")


def test_an_aac_window_with_noise_substitution_differs_only_by_the_noise(tmp_path):
    """FFmpeg's AAC encoder codes noisy bands as perceptual noise substitution: the decoder draws that noise from a
    generator whose state depends on every frame decoded before, so a window's PNS bands differ from a full
    decode's in realisation, not in level. Measured here: samples within 0.04 (the tone is 0.3), log-mel (what
    features read) within 2.1 dB in a bin (a noise band 25 dB under the tone), 0.01 dB on average; a seek without
    pre-roll differed by 0.36 in the samples and 12.5 dB in the log-mel where the decoder restarted."""
    from musim.audio import MelParams, log_mel
    from musim.audio.window import read_window
    from tests.library.conftest import write_audio

    path = str(write_audio(tmp_path / "pns.m4a", "m4a", seconds=20, pns=True))
    params = MelParams()
    full, sr = read_window(path, pyav=True, seek=False)
    for offset in (1.5, 6.0, 12.0):
        window, _ = read_window(path, offset=offset, duration=6.0, pyav=True)
        start = int(offset * sr)
        want = full[:, start:start + window.shape[1]]
        a = log_mel(resample(window[0], orig_sr=sr, target_sr=params.sr), params=params)
        b = log_mel(resample(want[0], orig_sr=sr, target_sr=params.sr), params=params)
        assert np.abs(window - want).max() < 0.1, offset
        assert np.abs(a - b).max() < 3.0 and np.abs(a - b).mean() < 0.02, offset


def test_a_stream_the_seek_cannot_place_is_decoded_from_the_start(tmp_path, monkeypatch):
    """The fallback: when the timestamps cannot place the window the same (rewound) source is decoded from the
    start, so even an in-memory file gives the window."""
    import musim.audio.window as audio_window
    from musim.audio.window import read_window
    from tests.library.conftest import write_audio

    data = write_audio(tmp_path / "a.m4a", "m4a", seconds=12).read_bytes()
    want, sr = read_window(io.BytesIO(data), offset=6.0, duration=2.0, pyav=True)
    calls = []

    def cannot_place(src, offset, duration):
        calls.append(offset)
        src.read()  # a failed attempt leaves the stream anywhere
        return None

    monkeypatch.setattr(audio_window, "_seek_pyav", cannot_place)
    got, _ = read_window(io.BytesIO(data), offset=6.0, duration=2.0, pyav=True)
    assert calls == [6.0] and got.shape == (1, 2 * sr)
    np.testing.assert_array_equal(got, want)


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.uint8)


def test_the_stereo_mix_equals_numpys_mean_bit_for_bit(tmp_path):
    """to_mono's shortcut for float32 stereo (one addition, one halving) gives np.mean's numbers, bit for bit: on a
    decoded mp3 as the build reads it ((n, 2) in memory, a strided (2, n) view), and on values where rounding,
    subnormals, signed zeros, overflow, NaN and infinities would show a difference."""
    rng = np.random.default_rng(3)
    st = np.stack([sine(440.0, 3.0, sr=44100, amp=0.7), sine(660.0, 3.0, sr=44100, amp=0.6)])
    st[1] += 0.1 * rng.standard_normal(st.shape[1]).astype(np.float32)
    path = write_clip(tmp_path / "s.mp3", st, sr=44100)
    decoded = sf.read(path, dtype="float32", always_2d=True)[0].T
    assert decoded.shape[0] == 2 and not decoded.flags["C_CONTIGUOUS"]
    tiny, big = np.finfo(np.float32).smallest_subnormal, np.finfo(np.float32).max
    odd = np.array([[1.0, 1e-45, tiny, 3 * tiny, -0.0, 0.0, big, -big, np.inf, np.nan, 1 / 3, 0.1, -7.5e-39],
                    [2 ** -24, 1e-45, tiny, -tiny, -0.0, -0.0, big, big, -np.inf, 1.0, 2 / 3, 0.2, 7.5e-39]],
                   dtype=np.float32)
    for data in (decoded, odd, rng.standard_normal((2, 10_001)).astype(np.float32) * 1e-3,
                 np.ascontiguousarray(decoded)):
        with np.errstate(all="ignore"):
            ours, ref = to_mono(data), np.mean(data, axis=0)
        assert ours.dtype == ref.dtype == np.float32 and ours.shape == ref.shape
        np.testing.assert_array_equal(_bits(ours), _bits(ref))
    for other in (decoded[:1], np.stack([decoded[0]] * 3), decoded.astype(np.float64)):  # np.mean itself
        np.testing.assert_array_equal(_bits(to_mono(other)), _bits(np.mean(other, axis=0)))


def test_nan_in_one_channel_of_stereo_is_undecodable_and_overflow_is_not(tmp_path):
    """The mono mix checks its samples with one sum: a NaN or infinity in either channel still refuses the file,
    with the count over all channels; finite samples whose mix overflows are not refused (as before the sum)."""
    left, right = sine(440.0, 2.0), sine(660.0, 2.0)
    right[500:505] = np.nan
    right[900] = -np.inf
    path = tmp_path / "nan.wav"
    sf.write(path, np.stack([left, right], axis=1), SR, subtype="FLOAT")
    with pytest.raises(BadAudioError) as err:
        load_audio(path)
    assert err.value.reason == BadAudioError.UNDECODABLE
    assert err.value.detail.startswith(f"6 of {2 * left.size:,} samples")
    loud = np.full((SR, 2), np.finfo(np.float32).max, dtype=np.float32)
    sf.write(tmp_path / "loud.wav", loud, SR, subtype="FLOAT")
    with np.errstate(all="ignore"):
        y, _ = load_audio(tmp_path / "loud.wav", sr=None)
    assert np.all(np.isinf(y))  # np.mean's float32 sum overflows the same way
