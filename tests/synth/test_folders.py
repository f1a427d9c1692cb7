"""musim.synth.folders: tagged music folders in every format, decodable at the requested length."""

from __future__ import annotations

import pytest

from musim.audio import load_audio
from musim.synth.folders import write_music_folder
from musim.synth.sound import genre_name


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
