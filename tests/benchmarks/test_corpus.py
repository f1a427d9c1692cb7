"""corpus.py's MIDI part: music21 folders named as artists, an ABC opus rendered as one score, and a score that
failed to render is not waited for again on a rerun (fluidsynth is replaced by a stand-in that writes a tone),
and a render is stopped once its opening is written."""

from __future__ import annotations

import io
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


class FakeFluidsynth:
    """Stands in for ``subprocess.Popen`` of fluidsynth: writes ``seconds`` of a stereo 16-bit tone to -F's file
    at once and then either has ended (``endless`` False) or renders on until killed; with ``hang`` it writes
    nothing and never ends. Records the commands and whether it was killed."""

    def __init__(self, *, seconds: float = 2.0, endless: bool = False, hang: bool = False):
        self.seconds, self.endless, self.hang = seconds, endless, hang
        self.commands: list[list[str]] = []
        self.killed = 0

    def __call__(self, cmd, **kwargs):
        self.commands.append(cmd)
        fake = self

        class Proc:
            returncode = None
            stderr = io.BytesIO(b"")

            def __init__(self):
                if not fake.hang:
                    t = np.arange(int(fake.seconds * 22050)) / 22050
                    tone = np.round(0.3 * 32767 * np.sin(2 * np.pi * 440 * t)).astype("<i2")
                    np.repeat(tone, 2).tofile(cmd[cmd.index("-F") + 1])
                if not (fake.endless or fake.hang):
                    self.returncode = 0

            def poll(self):
                return self.returncode

            def kill(self):
                fake.killed += 1
                self.returncode = -9

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

        return Proc()


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

    def render_opening(sf2, mid, raw, *, seconds, sr, timeout_s=None):
        font = next(k for k, v in fonts.items() if v == sf2)
        calls["runs"].append((font, str(mid)))
        if font == calls["timeout"]:
            raise subprocess.TimeoutExpired(["fluidsynth"], 180)
        t = np.arange(min(2.0, seconds) * sr) / sr
        return np.repeat((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[:, None], 2, axis=1)

    monkeypatch.setattr(corpus, "render_opening", render_opening)
    return calls


def test_the_opening_is_read_as_fluidsynths_wav_would_read_and_the_rest_not_waited_for(tmp_path, monkeypatch):
    """Four music21 scores made fluidsynth render without end (7.8 GB of WAV in its 180 s timeout, then failed):
    it is stopped once the opening is written, whose samples are those soundfile reads of a 16-bit WAV."""
    endless = FakeFluidsynth(seconds=3.0, endless=True)
    monkeypatch.setattr(corpus.subprocess, "Popen", endless)
    raw = tmp_path / "x.raw"
    y = corpus.render_opening(tmp_path / "font.sf2", tmp_path / "x.mid", raw, seconds=1.0, sr=22050)
    assert endless.killed == 1 and not raw.exists() and y.dtype == np.float32 and y.shape == (22050, 2)
    cmd = endless.commands[0]
    assert cmd[cmd.index("-T") + 1] == "raw" and cmd[cmd.index("-O") + 1] == "s16" and "-r" in cmd
    t = np.arange(22050) / 22050
    tone = np.round(0.3 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    sf.write(tmp_path / "same.wav", np.stack([tone, tone], axis=1), 22050, subtype="PCM_16")
    assert np.array_equal(y, sf.read(tmp_path / "same.wav", dtype="float32")[0])  # the old path's samples

    short = FakeFluidsynth(seconds=0.5)  # a score shorter than the opening: all of it, fluidsynth not stopped
    monkeypatch.setattr(corpus.subprocess, "Popen", short)
    y = corpus.render_opening(tmp_path / "font.sf2", tmp_path / "x.mid", raw, seconds=1.0, sr=22050)
    assert short.killed == 0 and y.shape == (11025, 2)

    hung = FakeFluidsynth(hang=True)
    monkeypatch.setattr(corpus.subprocess, "Popen", hung)
    with pytest.raises(subprocess.TimeoutExpired):
        corpus.render_opening(tmp_path / "font.sf2", tmp_path / "x.mid", raw, seconds=1.0, sr=22050, timeout_s=0.2)
    assert hung.killed == 1


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
