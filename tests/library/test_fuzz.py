"""Fuzz and properties of the untrusted audio-file parsers: whatever the bytes and whatever the tags, probing a
file ends in an AudioProbe or one of the library's skip reasons (never another exception), the tag reader
returns clean strings, and artist resolution always names an artist (bounded by MUSIM_FUZZ_EXAMPLES)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from musim.library.artists import resolve_artist
from musim.library.formats import SKIP_REASONS, FileSkipped, probe
from musim.library.tags import Tags, read_tags

EXAMPLES = int(os.environ.get("MUSIM_FUZZ_EXAMPLES", "20"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HEADERS = [b"", b"ID3\x04\x00\x00\x00\x00\x00\x00", b"OggS\x00\x02", b"fLaC", b"RIFF\x24\x00\x00\x00WAVEfmt ",
           b"FORM\x00\x00\x00\x00AIFF", b"\x00\x00\x00\x18ftypM4A ", b"\xff\xfb\x90\x00"]
hostile_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)


def _wav(seconds: float = 6.0) -> bytes:
    import soundfile as sf

    t = np.arange(int(seconds * 22050)) / 22050
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), 22050, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@FUZZ
@given(head=st.sampled_from(HEADERS), body=st.binary(max_size=4096))
def test_any_bytes_probe_to_an_audio_probe_or_a_skip_reason(head, body):
    try:
        info = probe(head + body, key="fuzz")
    except FileSkipped as exc:
        assert exc.reason in SKIP_REASONS and "\n" not in str(exc)
    else:
        assert info.duration_s >= 5.0 and info.sample_rate > 0


@FUZZ
@given(cut=st.integers(min_value=0, max_value=99))
def test_a_cut_wav_is_never_accepted_as_longer_than_it_is(cut):
    data = _wav()
    part = data[:len(data) * cut // 100]
    try:
        info = probe(part, key="cut")
    except FileSkipped as exc:
        assert exc.reason in SKIP_REASONS
    else:
        assert info.duration_s <= 6.0 * cut / 100 + 0.1


@FUZZ
@given(artist=hostile_text, albumartist=hostile_text, title=hostile_text, album=hostile_text, genre=hostile_text)
def test_hostile_tags_read_back_clean_and_always_resolve_an_artist(tmp_path_factory, artist, albumartist, title,
                                                                     album, genre):
    import mutagen

    folder = tmp_path_factory.mktemp("lib") / "Some Artist" / "Album"
    folder.mkdir(parents=True)
    path = folder / "01 - x.wav"
    path.write_bytes(_wav(1.0))
    audio = mutagen.File(path)
    audio.add_tags()
    from mutagen.id3 import TALB, TCON, TIT2, TPE1, TPE2

    for frame, value in ((TPE1, artist), (TPE2, albumartist), (TIT2, title), (TALB, album), (TCON, genre)):
        audio.tags.add(frame(encoding=3, text=value))
    audio.save()
    tags = read_tags(mutagen.File(path))
    for value in (tags.artist, tags.albumartist, tags.title, tags.album, tags.genre):
        assert value is None or (value == value.strip() and value and "\x00" not in value)
    found = resolve_artist(tags, path, folder.parent.parent)
    assert found.name and found.name.strip() == found.name and found.rule


@pytest.mark.parametrize("name", ["<Unknown>", "Unknown Artist", "Various Artists", "", "   "])
def test_placeholder_artists_fall_back_to_the_folder(tmp_path, name):
    path = tmp_path / "Real Name" / "track.wav"
    path.parent.mkdir()
    found = resolve_artist(Tags(artist=name or None), Path(path), tmp_path)
    assert found.name == "Real Name"
