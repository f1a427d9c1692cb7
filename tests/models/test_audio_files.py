"""Finding and featurising new audio files (``musim embed`` / ``similar-audio``: musim.models.audio_files)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from musim.errors import NotFoundError, ParameterError
from musim.models.audio_files import find_audio_files
from musim.synth.files import write_clip
from musim.synth.sound import synthesize_clip


def test_a_pipe_and_a_broken_link_in_a_folder_are_listed_for_their_reasons(tmp_path):
    """They vanished from the results (only regular files were listed) where `library add` says `unreadable`."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.mp3").write_bytes(b"x")
    (tmp_path / "a.flac").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("not audio")
    os.mkfifo(tmp_path / "pipe.mp3")
    (tmp_path / "broken.ogg").symlink_to(tmp_path / "gone.ogg")
    (tmp_path / "folder.mp3").mkdir()
    found = find_audio_files([tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a.flac", "broken.ogg", "pipe.mp3", "sub/b.mp3"]


def test_a_missing_path_or_an_empty_folder_is_refused(tmp_path):
    with pytest.raises(NotFoundError, match="no such file or folder"):
        find_audio_files([tmp_path / "nope.mp3"])
    with pytest.raises(NotFoundError, match="no audio files in"):
        find_audio_files([tmp_path])


def test_featurise_file_gives_each_family_its_input(tmp_path):
    from musim.audio import MelParams, SliceParams
    from musim.features.params import DescriptorParams
    from musim.models.audio_files import featurise_file

    y = synthesize_clip(community=0, artist_seed=5, track_no=0, sr=22050, duration=40.0)
    path = write_clip(tmp_path / "long.wav", y, sr=22050)
    assert featurise_file(path, MelParams()).shape == (256, 64)
    sl = featurise_file(path, SliceParams())       # a 30-second window: 1501 frames at hop 441 -> 5 slices
    assert sl.shape == (5, 256, 256) and sl.dtype == np.float16
    d = featurise_file(path, DescriptorParams())
    assert d.ndim == 1 and d.size > 20 and np.isfinite(d).all()
    with pytest.raises(ParameterError, match="no features"):
        featurise_file(path, {"sr": 22050})


def test_featurise_files_in_the_pool_equals_one_by_one_with_failures_in_place(tmp_path):
    from musim.audio import MelParams
    from musim.features.params import DescriptorParams
    from musim.models.audio_files import featurise_file, featurise_files

    files = [write_clip(tmp_path / f"{i}.wav", synthesize_clip(community=i % 2, artist_seed=i, track_no=0, sr=22050,
                                                                duration=6.0), sr=22050) for i in range(3)]
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all")
    files.insert(1, broken)
    for params in (MelParams(), DescriptorParams()):
        pooled = featurise_files(files, params, workers=2)
        alone = featurise_files(files, params, workers=1)
        assert isinstance(pooled[1], str) and pooled[1] == alone[1]
        assert pooled[1].startswith(("undecodable", "not_audio", "truncated"))  # the reason; the caller names the file
        for i in (0, 2, 3):  # a worker has one BLAS thread, this process several: float32 rounding apart
            np.testing.assert_allclose(pooled[i], alone[i], rtol=1e-4, atol=1e-5)
            np.testing.assert_array_equal(alone[i], featurise_file(files[i], params))


def _load_or_die(path, *args, **kwargs):
    """``load_audio``, but the process dies (SIGKILL: a decoder crashing on this file) reading ``crash.wav``."""
    import signal
    from pathlib import Path

    from musim.audio import io

    if Path(path).name == "crash.wav":
        os.kill(os.getpid(), signal.SIGKILL)
    return io.load_audio(path, *args, **kwargs)


def test_a_file_that_kills_its_worker_is_its_own_reason_and_the_others_go_on(tmp_path, monkeypatch):
    # featurise_files (`musim embed`, `similar-audio`, `models evaluate --labels`) gave pool_map no `died`: a file
    # whose decoder kills its worker process stopped the whole batch with one error. Now that file alone is
    # `undecodable` with the reason, in its place, and every other file is featurised.
    import musim.audio
    from musim.audio import MelParams
    from musim.models.audio_files import featurise_file, featurise_files

    files = [write_clip(tmp_path / f"{i}.wav", synthesize_clip(community=i % 2, artist_seed=i, track_no=0, sr=22050,
                                                                duration=6.0), sr=22050) for i in range(4)]
    crash = write_clip(tmp_path / "crash.wav", synthesize_clip(community=0, artist_seed=9, track_no=0, sr=22050,
                                                                duration=6.0), sr=22050)
    files.insert(2, crash)
    alone = [featurise_file(f, MelParams()) for f in files if f != crash]
    monkeypatch.setattr(musim.audio, "load_audio", _load_or_die)  # the forked workers inherit it
    got = featurise_files(files, MelParams(), workers=2)
    assert isinstance(got[2], str) and got[2].startswith("undecodable (the process computing its features died")
    assert "\n" not in got[2]
    rest = [x for i, x in enumerate(got) if i != 2]
    assert len(rest) == len(alone)
    for a, b in zip(rest, alone, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)


def test_the_minimum_duration_reaches_the_pool_s_workers(tmp_path):
    # `similar-audio`, `embed` and `models evaluate --labels` held new audio to a fixed 5 s; the minimum they apply
    # (the feature builds' --min-duration, or their own) now travels to every worker featurising a file.
    from musim.audio import MelParams
    from musim.audio.formats import MIN_DURATION_S
    from musim.models.audio_files import featurise_file, featurise_files

    files = [write_clip(tmp_path / f"{s}.wav", synthesize_clip(community=0, artist_seed=i, track_no=0, sr=22050,
                                                                duration=s), sr=22050)
             for i, s in enumerate((3.0, 6.0, 1.0))]
    how = "the minimum applied; --min-duration SECONDS changes it"
    for workers in (2, 1):
        got = featurise_files(files, MelParams(), workers=workers, min_duration_s=2.0)
        assert got[2] == f"too_short (1.00 s < 2 s, {how})"
        np.testing.assert_allclose(got[0], featurise_file(files[0], MelParams(), min_duration_s=2.0), atol=1e-3)
        assert got[1].shape == (256, 64)
        default = featurise_files(files, MelParams(), workers=workers)  # unchanged: 5 s
        assert default[0] == f"too_short (3.00 s < {MIN_DURATION_S:g} s, {how})" and default[1].shape == (256, 64)


def test_the_analysis_window_is_the_manifest_s_else_the_middle_30_s():
    import pytest

    from musim.errors import ParameterError
    from musim.models.audio_files import WINDOW_S, analysis_window

    assert analysis_window(None) == analysis_window({"excerpt_s": None}) == (WINDOW_S, 0.5)
    assert analysis_window({"excerpt_s": 8, "excerpt_anchor": 0}) == (8.0, 0.0)
    for bad in ({"excerpt_s": -1, "excerpt_anchor": 0.5}, {"excerpt_s": 8, "excerpt_anchor": 2},
                {"excerpt_s": 8, "excerpt_anchor": None}, {"excerpt_s": True, "excerpt_anchor": 0.5}):
        with pytest.raises(ParameterError):
            analysis_window(bad)


def test_the_analysis_window_reaches_the_pool_s_workers_and_cuts_every_input(tmp_path):
    # new audio was always cut in its middle 30 s, whatever window the version's library analysed its tracks in
    from musim.audio import MelParams, load_audio, log_mel
    from musim.features.params import DescriptorParams
    from musim.models.audio_files import featurise_file, featurise_files

    path = write_clip(tmp_path / "a.wav", synthesize_clip(community=0, artist_seed=1, track_no=0, sr=22050,
                                                          duration=20.0), sr=22050)
    first, _ = load_audio(path, sr=22050, offset=0.0, duration=8.0)
    want = log_mel(first, params=MelParams())  # the feature build's log-mel of an 8-s excerpt stored from the start
    for workers in (2, 1):
        got = featurise_files([path], MelParams(), workers=workers, window=(8.0, 0.0))[0]
        np.testing.assert_allclose(got, want, atol=0.02)  # float16
        middle = featurise_files([path], MelParams(), workers=workers)[0]  # the middle 30 s: the whole 20-s file
        assert not np.allclose(middle, got, atol=0.5)
    end = featurise_file(path, DescriptorParams(), window_s=8.0, anchor=1.0)
    start = featurise_file(path, DescriptorParams(), window_s=8.0, anchor=0.0)
    assert not np.allclose(end, start)
