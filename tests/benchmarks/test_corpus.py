"""corpus.py's MIDI part: music21 folders named as artists, an ABC opus rendered as one score, and a score that
failed to render is not waited for again on a rerun (fluidsynth is replaced by a stand-in that writes a tone)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import soundfile as sf

from benchmarks.real_music import corpus
from benchmarks.real_music.corpus import midi_artist, render_midi


def test_midi_artist_names_a_music21_folder():
    assert midi_artist("bach") == "Bach"  # the benchmark's names are unchanged
    assert midi_artist("schumann_robert") == "Robert Schumann"
    assert midi_artist("schumann_clara") != midi_artist("schumann_robert")


@pytest.fixture
def fake_fluidsynth(tmp_path, monkeypatch):
    """Soundfonts in tmp_path, fluidsynth 'installed', and a stand-in that writes 2 s of a tone to -F's file,
    or times out for the soundfont named in ``calls["timeout"]``; every call is recorded."""
    fonts = {}
    for name in ("fluidr3", "timgm6mb"):
        fonts[name] = tmp_path / f"{name}.sf2"
        fonts[name].write_bytes(b"sf2")
    monkeypatch.setattr(corpus, "SOUNDFONTS", fonts)
    monkeypatch.setattr(corpus.shutil, "which", lambda name: f"/usr/bin/{name}")
    calls: dict = {"runs": [], "timeout": None}

    def run(cmd, **kwargs):
        font = next(k for k, v in fonts.items() if str(v) in cmd)
        calls["runs"].append((font, cmd[-1]))
        if font == calls["timeout"]:
            raise subprocess.TimeoutExpired(cmd, kwargs.get("timeout", 0))
        t = np.arange(2 * 22050) / 22050
        sf.write(cmd[cmd.index("-F") + 1], (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 22050)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(corpus.subprocess, "run", run)
    return calls


def test_an_abc_opus_is_rendered_as_one_score_of_its_voices(tmp_path, fake_fluidsynth):
    from music21 import converter

    rows: list[dict[str, str]] = []
    render_midi(tmp_path / "data", ["josquin"], 1, 1.0, rows, package="music21-corpus-dev")
    assert [(r["artist"], r["timbre"], r["source_package"]) for r in rows] == [
        ("Josquin", "fluidr3", "music21-corpus-dev"), ("Josquin", "timgm6mb", "music21-corpus-dev")]
    (mid,) = (tmp_path / "data" / "midi").glob("josquin__*.mid")  # an Opus used to write no MIDI file at all
    assert len(converter.parse(mid).parts) >= 2  # the ABC file's voices, merged as parts
    y, sr = sf.read(tmp_path / "data" / rows[0]["path"])
    assert sr == 22050 and len(y) == 22050  # cut to the seconds asked for


def test_a_failed_render_is_remembered_and_not_waited_for_again(tmp_path, fake_fluidsynth, capsys):
    fake_fluidsynth["timeout"] = "timgm6mb"
    rows: list[dict[str, str]] = []
    render_midi(tmp_path / "data", ["josquin"], 1, 1.0, rows)
    assert [r["timbre"] for r in rows] == ["fluidr3"]
    assert "not rendered (TimeoutExpired)" in capsys.readouterr().err
    first = len(fake_fluidsynth["runs"])

    rows2: list[dict[str, str]] = []
    render_midi(tmp_path / "data", ["josquin"], 1, 1.0, rows2)
    assert rows2 == rows
    assert len(fake_fluidsynth["runs"]) == first  # the rendered one is kept, the failed one not tried again
    err = capsys.readouterr().err
    assert "TimeoutExpired, in an earlier run; delete" in err and ".failed to retry" in err
