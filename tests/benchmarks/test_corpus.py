"""corpus.py's MIDI part: music21 folders named as artists, an ABC opus rendered as one score, and a score that
failed to render is not waited for again on a rerun (fluidsynth is replaced by a stand-in that writes a tone),
and a render is stopped once its opening is written; a package's tracker modules and MIDI files are rendered whole
(openmpt123 and fluidsynth replaced by stand-ins) only when asked."""

from __future__ import annotations

import io
import shutil
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


@pytest.fixture
def game_with_modules(tmp_path, monkeypatch):
    """A package with two tracker modules, a MIDI file and a sound effect module; the renderers replaced by
    stand-ins that return a second of a tone (or fail for the files named in ``calls["fail"]``), each call
    recorded."""
    music = tmp_path / "pkgs" / "game-data" / "usr" / "share" / "games" / "game" / "music"
    music.mkdir(parents=True)
    for name in ("a.it", "b.xm", "c.mid"):
        (music / name).write_bytes(b"not really a module")
    (music.parent / "sounds").mkdir()
    (music.parent / "sounds" / "boom.mod").write_bytes(b"an effect")
    fonts = {"fluidr3": tmp_path / "fluidr3.sf2", "timgm6mb": tmp_path / "timgm6mb.sf2"}
    for sf2 in fonts.values():
        sf2.write_bytes(b"sf2")
    monkeypatch.setattr(corpus, "SOUNDFONTS", fonts)
    monkeypatch.setattr(corpus.shutil, "which", lambda name: f"/usr/bin/{name}")
    calls: dict = {"modules": [], "midi": [], "fail": set()}
    tone = np.round(0.3 * 32767 * np.sin(np.arange(22050) / 5)).astype(np.int16)

    def render_module(module, wav, *, seconds, sr, timeout_s=None):
        calls["modules"].append((module.name, seconds, sr))
        if module.name in calls["fail"]:
            raise subprocess.CalledProcessError(1, ["openmpt123"])
        return np.stack([tone, tone], axis=1)

    def render_opening(sf2, mid, raw, *, seconds, sr, timeout_s=None):
        calls["midi"].append((sf2, mid.name, seconds, sr))
        return np.stack([tone, tone], axis=1) / np.float32(32768)

    monkeypatch.setattr(corpus, "render_module", render_module)
    monkeypatch.setattr(corpus, "render_opening", render_opening)
    return calls


CREDITS = {"game-data": [("a.it", "Ann"), ("b.xm", "Bob"), ("c.mid", "Cy"), ("boom.mod", "Dee")]}


def test_modules_and_midi_files_are_rendered_whole_and_linked_only_when_asked(tmp_path, game_with_modules):
    from benchmarks.real_music.corpus import PACKAGED_SECONDS, label_packages

    rows: list[dict[str, str]] = []
    label_packages(tmp_path, ["game-data"], set(), rows, credits=CREDITS)  # the benchmark's way: none of them
    assert rows == [] and game_with_modules["modules"] == []
    label_packages(tmp_path, ["game-data"], set(), rows, credits=CREDITS, render_packaged=True)
    assert [(r["path"], r["artist"]) for r in rows] == [("corpus/Ann/game-data__a.it.flac", "Ann"),
                                                        ("corpus/Bob/game-data__b.xm.flac", "Bob"),
                                                        ("corpus/Cy/game-data__c.mid.flac", "Cy")]  # no effects
    assert game_with_modules["modules"] == [("a.it", PACKAGED_SECONDS, 22050), ("b.xm", PACKAGED_SECONDS, 22050)]
    assert game_with_modules["midi"] == [(tmp_path / "fluidr3.sf2", "c.mid", PACKAGED_SECONDS, 22050)]
    y, sr = sf.read(tmp_path / rows[0]["path"], dtype="int16")
    assert sr == 22050 and y.shape == (22050, 2) and sf.info(str(tmp_path / rows[0]["path"])).subtype == "PCM_16"
    assert (tmp_path / rows[2]["path"]).resolve() == tmp_path / "rendered" / "game-data" / "c.mid.flac"
    import mutagen

    assert mutagen.File(tmp_path / rows[1]["path"])["artist"] == ["Bob"]
    again: list[dict[str, str]] = []
    label_packages(tmp_path, ["game-data"], set(), again, credits=CREDITS, render_packaged=True)
    assert again == rows and len(game_with_modules["modules"]) == 2  # rendered once, linked again


def test_a_failed_module_render_is_remembered_and_not_tried_again(tmp_path, game_with_modules, capsys):
    from benchmarks.real_music.corpus import label_packages

    game_with_modules["fail"] = {"a.it"}
    rows: list[dict[str, str]] = []
    label_packages(tmp_path, ["game-data"], set(), rows, credits=CREDITS, render_packaged=True)
    assert [r["artist"] for r in rows] == ["Bob", "Cy"]
    out = capsys.readouterr()
    assert "a.it: not rendered (CalledProcessError)" in out.err and "1 not rendered" in out.out
    assert (tmp_path / "rendered" / "game-data" / "a.it.failed").is_file()
    label_packages(tmp_path, ["game-data"], set(), [], credits=CREDITS, render_packaged=True)
    assert [m for m, _, _ in game_with_modules["modules"]] == ["a.it", "b.xm"]  # neither rendered again
    assert "in an earlier run; delete" in capsys.readouterr().err


def test_openmpt_plays_each_module_once_with_its_options_fixed_and_the_seed_library_preloaded(tmp_path, monkeypatch):
    cmd = corpus.openmpt_command(tmp_path / "m.it", tmp_path / "m.wav", sr=22050, seconds=600)
    opt = {k: cmd[cmd.index(k) + 1] for k in ("--repeat", "--end-time", "--samplerate", "--channels", "--dither")}
    assert opt == {"--repeat": "0", "--end-time": "600", "--samplerate": "22050", "--channels": "2", "--dither": "0"}
    assert "--no-float" in cmd and cmd[-1] == str(tmp_path / "m.it")
    monkeypatch.setattr(corpus, "fixed_seed_library", lambda folder: folder / "fixed_seed.so")
    seen = {}

    def run(cmd, *, env, **kwargs):
        seen["preload"] = env.get("LD_PRELOAD")
        tone = np.arange(-100, 100, dtype=np.int16)
        sf.write(cmd[cmd.index("--output") + 1], np.stack([tone, -tone], axis=1), 22050, subtype="PCM_16")

    monkeypatch.setattr(corpus.subprocess, "run", run)
    y = corpus.render_module(tmp_path / "m.it", tmp_path / "m.wav", seconds=600, sr=22050)
    assert y.dtype == np.int16 and y.shape == (200, 2) and y[0, 0] == -100 and y[0, 1] == 100
    assert seen["preload"] == str(tmp_path / "fixed_seed.so") and not (tmp_path / "m.wav").exists()


@pytest.mark.skipif(not (shutil.which("cc") and shutil.which("nm")), reason="needs a C compiler and nm")
def test_the_seed_library_replaces_libstdcxx_random_device_and_clock(tmp_path):
    library = corpus.fixed_seed_library(tmp_path)
    symbols = subprocess.run(["nm", "-D", "--defined-only", str(library)], capture_output=True, text=True,
                             check=True).stdout
    for name in ("_ZNSt13random_device9_M_getvalEv", "_ZNKSt13random_device13_M_getentropyEv",
                 "_ZNSt6chrono3_V212system_clock3nowEv"):
        assert name in symbols
    assert corpus.fixed_seed_library(tmp_path) == library and not (tmp_path / "fixed_seed.so.partial").exists()
