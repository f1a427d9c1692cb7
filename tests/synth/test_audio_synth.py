"""Demo audio: deterministic, well-formed, community structure audible in log-mel space, tagged files."""

from __future__ import annotations

import numpy as np
import pytest

from musim.audio import MelParams, load_audio, log_mel
from musim.errors import ParameterError
from musim.synth.files import safe_name, write_clip
from musim.synth.folders import artist_seed_for, write_music_folder
from musim.synth.sound import GENRE_NAMES, community_style, genre_name, synthesize_clip


def test_deterministic_and_varied():
    a = synthesize_clip(community=2, artist_seed=11, track_no=1, duration=5.0)
    b = synthesize_clip(community=2, artist_seed=11, track_no=1, duration=5.0)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, synthesize_clip(community=2, artist_seed=11, track_no=2, duration=5.0))
    assert not np.array_equal(a, synthesize_clip(community=2, artist_seed=12, track_no=1, duration=5.0))
    assert not np.array_equal(a, synthesize_clip(community=3, artist_seed=11, track_no=1, duration=5.0))


@pytest.mark.parametrize("community", [0, 4, 6, 11, 12, 57])
@pytest.mark.parametrize("sr", [22050, 44100])
def test_shape_dtype_peak(community, sr):
    y = synthesize_clip(community=community, artist_seed=-3, track_no=0, sr=sr, duration=2.5)
    assert y.shape == (int(2.5 * sr),) and y.dtype == np.float32
    assert np.all(np.isfinite(y)) and 0.5 < np.max(np.abs(y)) <= 1.0
    assert np.sqrt(np.mean(y**2)) > 0.02  # not silent


def test_bad_arguments():
    for kwargs in ({"community": -1}, {"track_no": -1}, {"sr": 100}, {"duration": 0.0}, {"artist_seed": 1.5}):
        args = {"community": 0, "artist_seed": 1, "track_no": 1, "duration": 1.0, **kwargs}
        with pytest.raises(ParameterError):
            synthesize_clip(**args)


def test_same_community_sounds_closer():
    """Mean/std log-mel profile distances: within a community < between communities, for every community."""
    p = MelParams(frames=None)
    communities = [0, 1, 2, 5, 6, 11, 13]
    feats, labels = [], []
    for c in communities:
        for artist in (101, 202):
            for track in (1, 2):
                M = log_mel(synthesize_clip(community=c, artist_seed=artist, track_no=track, duration=6.0), params=p)
                feats.append(np.concatenate([M.mean(axis=0), M.std(axis=0)]))
                labels.append(c)
    X, lab = np.array(feats), np.array(labels)
    D = np.linalg.norm(X[:, None] - X[None], axis=-1)
    same = lab[:, None] == lab[None]
    off = ~np.eye(len(X), dtype=bool)
    assert D[same & off].mean() * 2 < D[~same].mean()
    for c in communities:
        m = lab == c
        within = D[np.ix_(m, m)][~np.eye(m.sum(), dtype=bool)].mean()
        assert within < D[np.ix_(m, ~m)].mean(), c
    # not trivially identical within a community
    assert np.all(D[same & off] > 1.0)


def test_styles_and_genres():
    assert genre_name(0) == GENRE_NAMES[0] == "rock" and genre_name(12) == "style-12"
    assert genre_name(1, ["a", "b"]) == "b" and genre_name(5, ["a"]) == "style-5"
    assert community_style(11).name == "ambient" and community_style(40).name == "style-40"
    assert community_style(40) == community_style(40) != community_style(41)
    try:
        from musim.synth.lastfm import GENRES
    except ImportError:  # pragma: no cover - the dump synthesizer is another module
        return
    assert tuple(GENRES) == GENRE_NAMES


def test_safe_name():
    assert safe_name("AC/DC") == "AC_DC"
    assert safe_name('"Weird" Al') == "_Weird_ Al"
    assert safe_name("..") == "_" and safe_name("") == "_" and safe_name("  . ") == "_"
    assert safe_name("../../etc/passwd") == "_.._etc_passwd"
    assert safe_name("CON") == "_CON" and safe_name("nul.txt") == "_nul.txt"
    assert safe_name("a\x00b\nc") == "a_b_c"
    assert safe_name("Sigur Ro\u0301s") == "Sigur R\u00f3s"
    long = safe_name("\u00e9" * 300)
    assert len(long.encode()) <= 120 and long == "\u00e9" * 60
    assert artist_seed_for("x") == artist_seed_for("x") != artist_seed_for("y")


def _tags(path):
    import mutagen

    f = mutagen.File(path, easy=True)
    if path.suffix == ".m4a":
        f = mutagen.File(path)
        return f["\xa9ART"][0], f["\xa9nam"][0], f["\xa9gen"][0]
    return f["artist"][0], f["title"][0], f["genre"][0]


def test_write_music_folder_mp3(tmp_path):
    artists = [("AC/DC", 0), ('"Weird" Al', 7), ("..", 2), ("ac/dc", 1), ("Sigur Rós", 11)]
    paths = write_music_folder(tmp_path / "music", artists, tracks_per_artist=2, duration=2.0)
    assert len(paths) == 10
    root = (tmp_path / "music").resolve()
    folders = sorted(p.name for p in root.iterdir())
    assert folders == sorted(["AC_DC", "_Weird_ Al", "_", "ac_dc (2)", "Sigur Rós"])
    for (name, community), pair in zip(artists, [paths[i:i + 2] for i in range(0, 10, 2)], strict=True):
        for n, path in enumerate(pair, start=1):
            assert path.resolve().parent.parent == root and path.suffix == ".mp3"
            assert path.name.startswith(f"{n:02d} - ")
            artist, title, genre = _tags(path)
            assert (artist, genre) == (name, genre_name(community)) and path.name[5:-4] == title
            y, sr = load_audio(path)
            assert sr == 22050 and abs(y.size / sr - 2.0) < 0.1


@pytest.mark.parametrize("fmt", ["m4a", "flac", "wav", "ogg"])
def test_write_music_folder_other_formats(tmp_path, fmt):
    (path,) = write_music_folder(tmp_path, [("Odd 'Name'", 3)], tracks_per_artist=1, fmt=fmt, duration=1.5)
    assert path.suffix == f".{fmt}" and path.parent.name == "Odd 'Name'"
    if fmt != "wav":
        assert _tags(path) == ("Odd 'Name'", path.name[5:-len(fmt) - 1], "jazz")
    else:
        from mutagen.wave import WAVE

        assert str(WAVE(path).tags["TPE1"]) == "Odd 'Name'"
    y, _ = load_audio(path)
    assert abs(y.size / 22050 - 1.5) < 0.1


def test_write_clip_rejects_bad_input(tmp_path):
    with pytest.raises(ParameterError):
        write_clip(tmp_path / "x.aiff", np.zeros(10, dtype=np.float32), sr=22050)
    with pytest.raises(ParameterError):
        write_clip(tmp_path / "x.wav", np.zeros((3, 10), dtype=np.float32), sr=22050)
    with pytest.raises(ParameterError):
        write_music_folder(tmp_path, [("a", 0)], fmt="aiff")
