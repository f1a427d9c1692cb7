"""Log-mel spectrograms and slices: shapes, the librosa reference, parameter hashing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from musim.audio import MelParams, SliceParams, load_audio, log_mel, slice_spectrogram, slices
from musim.errors import ParameterError
from musim.synth.files import write_clip

from .conftest import SR, sine


def _reference(y: np.ndarray, p: MelParams) -> np.ndarray:
    import librosa

    S = librosa.feature.melspectrogram(y=y, sr=p.sr, n_fft=p.n_fft, hop_length=p.hop_length, n_mels=p.n_mels,
                                       fmin=p.fmin, fmax=p.fmax, power=p.power)
    ref = np.max if p.ref == "max" else p.ref
    return librosa.power_to_db(S, ref=ref, top_db=p.top_db).T


def test_default_shape_is_256_by_64_for_30_seconds(music_clip):
    p = MelParams()
    assert p.hop_length == 2584 and p.shape == (256, 64)
    assert abs(p.seconds - 30.0) < 0.05
    assert 1 + (30 * SR) // p.hop_length == 256  # a 30 s clip needs no padding or cropping
    M = log_mel(music_clip)
    assert M.shape == (256, 64) and M.dtype == np.float32 and M.flags.c_contiguous
    assert M.max() == 0.0 and M.min() >= -80.0


def test_equals_librosa_reference_on_decoded_mp3(tmp_path, music_clip):
    # Decode a 44.1 kHz stereo mp3, then compare on the same samples.
    st = np.stack([np.interp(np.arange(30 * 44100) / 44100, np.arange(music_clip.size) / SR, music_clip)] * 2)
    path = write_clip(tmp_path / "clip.mp3", st.astype(np.float32), sr=44100)
    y, _ = load_audio(path)
    for p in (MelParams(), MelParams(n_mels=128, hop_length=512, frames=None, fmin=30.0, fmax=8000.0),
              MelParams(ref=1.0, top_db=None, power=1.0)):
        ours = log_mel(y, params=p)
        ref = _reference(y, p)
        if p.frames is not None:
            ref = ref[: p.frames]
        assert ours.shape == ref.shape
        assert np.max(np.abs(ours - ref)) <= 1e-3


def test_sine_peaks_in_expected_mel_bin():
    import librosa

    p = MelParams()
    centres = librosa.mel_frequencies(n_mels=p.n_mels + 2, fmin=p.fmin, fmax=p.fmax_hz)[1:-1]
    for freq in (440.0, 2500.0):
        expected = int(np.argmin(np.abs(centres - freq)))
        M = log_mel(sine(freq, 30.0), params=p)
        peak = np.bincount(M.argmax(axis=1), minlength=p.n_mels).argmax()
        assert abs(int(peak) - expected) <= (0 if freq < 1000 else 1), (freq, peak, expected)


def test_short_clips_are_padded_with_the_floor_and_long_ones_cropped(music_clip):
    p = MelParams()
    short = log_mel(music_clip[: 10 * SR], params=p)
    kept = 1 + (10 * SR) // p.hop_length
    assert short.shape == (256, 64)
    assert np.all(short[kept:] == short.max() - p.top_db)
    assert np.all(short[kept:] == short.min())
    np.testing.assert_allclose(short[:kept], _reference(music_clip[: 10 * SR], p), atol=1e-3)

    long = np.concatenate([music_clip, music_clip[::-1]])  # 60 s
    fixed_ref = MelParams(ref=1.0)
    np.testing.assert_allclose(log_mel(long, params=fixed_ref), _reference(long, fixed_ref)[:256], atol=1e-3)
    # with ref="max", 0 dB is the maximum of the kept frames
    assert log_mel(long).max() == 0.0


def test_silence_and_float64_input():
    z = log_mel(np.zeros(30 * SR, dtype=np.float32))
    assert np.all(np.isfinite(z)) and z.shape == (256, 64)
    a = log_mel(sine(440.0, 30.0).astype(np.float64))
    b = log_mel(sine(440.0, 30.0))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ParameterError):
        log_mel(np.zeros((2, 100), dtype=np.float32))
    with pytest.raises(ParameterError):
        log_mel(np.zeros(100, dtype=np.int16))


def test_params_hash_is_stable_and_covers_every_field():
    p = MelParams()
    assert p.hash() == "15a082207cab"  # changing this breaks every stored feature key: bump on purpose only
    assert MelParams().hash() == p.hash() and len(p.hash()) == 12
    assert MelParams(fmax=11025.0).hash() == p.hash()  # None means sr/2
    assert MelParams(fmin=0).hash() == p.hash()  # ints and floats normalise
    changes = {"sr": 16000, "n_fft": 1024, "hop_length": 512, "n_mels": 128, "fmin": 20.0, "fmax": 8000.0,
               "frames": 128, "top_db": 60.0, "ref": 1.0, "power": 1.0}
    assert set(changes) == {f.name for f in dataclasses.fields(MelParams)}
    hashes = {p.hash()} | {dataclasses.replace(p, **{k: v}).hash() for k, v in changes.items()}
    assert len(hashes) == len(changes) + 1
    assert MelParams.from_dict(p.to_dict()) == p
    with pytest.raises(ParameterError):
        MelParams.from_dict({**p.to_dict(), "bogus": 1})


@pytest.mark.parametrize("kwargs", [{"sr": 0}, {"n_fft": 1025}, {"hop_length": -1}, {"n_mels": 0},
                                    {"fmin": 12000.0}, {"fmax": 30000.0}, {"frames": 0}, {"top_db": -5.0},
                                    {"ref": "min"}, {"ref": 0.0}, {"power": 0.0}])
def test_bad_params(kwargs):
    with pytest.raises(ParameterError):
        MelParams(**kwargs)


def test_slices(music_clip):
    sp = SliceParams()
    assert (sp.frames, sp.n_mels, sp.hop_length) == (256, 256, 441)
    assert abs(sp.seconds - 5.12) < 1e-9
    out = slices(music_clip, params=sp)
    assert out.shape == (5, 256, 256) and out.dtype == np.float32
    whole = log_mel(music_clip, params=sp.mel_params())
    np.testing.assert_array_equal(out[1], whole[256:512])
    assert slices(music_clip[: 2 * SR]).shape == (1, 256, 256)  # shorter than a slice: padded
    assert slices(np.zeros(0, dtype=np.float32)).shape == (0, 256, 256)
    assert slices(music_clip, params=SliceParams(step=128, max_slices=3)).shape == (3, 256, 256)
    assert SliceParams().hash() != SliceParams(step=128).hash() != MelParams().hash()
    assert SliceParams(step=256).hash() == SliceParams().hash()


def test_slice_spectrogram_overlap():
    S = np.arange(20 * 3, dtype=np.float32).reshape(20, 3)
    out = slice_spectrogram(S, frames=8, step=4)
    assert out.shape == (4, 8, 3)
    np.testing.assert_array_equal(out[2], S[8:16])
    pad = slice_spectrogram(S[:5], frames=8, pad_value=-80.0)
    assert pad.shape == (1, 8, 3) and np.all(pad[0, 5:] == -80.0)
