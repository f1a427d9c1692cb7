"""``musim similar-audio`` and ``musim embed`` check their paths before any model is loaded."""

from __future__ import annotations

import os

import pytest

import musim.models.new_audio as new_audio
from musim.cli import main


@pytest.fixture(autouse=True)
def no_model(monkeypatch):
    """Loading a model (or reaching the library at all) fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the paths were checked")

    for name in ("load_champion", "similar_audio", "embed_files"):
        monkeypatch.setattr(new_audio, name, refuse)


@pytest.mark.parametrize("command", [["similar-audio"], ["embed", "--out", "x.npz"]])
def test_a_missing_path_fails_before_the_model_loads(tmp_path, capsys, command):
    real = tmp_path / "real.wav"
    real.write_bytes(b"RIFF")
    missing = tmp_path / "missing.mp3"
    assert main([*command, str(real), str(missing)]) == 2
    assert capsys.readouterr().err == f"musim: error: no such file or folder: {missing}\n"


def test_a_path_that_is_no_file_or_folder_is_refused(tmp_path, capsys):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    assert main(["similar-audio", str(fifo)]) == 2
    assert "is neither a file nor a folder" in capsys.readouterr().err


def test_a_hostile_path_is_escaped_in_the_error(tmp_path, capsys):
    assert main(["similar-audio", str(tmp_path / "a\x1b[2Jb.wav")]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "a\\x1b[2Jb.wav" in err


def test_existing_paths_reach_the_library(tmp_path, capsys):
    (tmp_path / "clip.wav").write_bytes(b"RIFF")
    assert main(["similar-audio", str(tmp_path), str(tmp_path / "clip.wav")]) == 1
    assert "AssertionError: the model was loaded" in capsys.readouterr().err


def test_options_given_empty_or_pointing_nowhere_are_one_line_errors(tmp_path, capsys):
    """--model '' served the default model; --baselines '' printed an empty table; --out /proc/x.npz named an
    internal lock file."""
    song = tmp_path / "a.wav"
    song.write_bytes(b"RIFF")
    for argv in (["similar-audio", str(song), "--model", ""], ["similar", "X", "--audio", "--model", " "]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2 and "argument --model: is empty: give a version" in capsys.readouterr().err
    (tmp_path / "labels.csv").write_text(f"path,artist\n{song},A\n{song}.2,A\n{song}.3,B\n")
    assert main(["models", "evaluate", "--labels", str(tmp_path / "labels.csv"), "--baselines-only",
                 "--baselines", ""]) == 2
    assert "nothing to evaluate: --baselines-only with no baselines" in capsys.readouterr().err
    if os.path.isdir("/proc"):
        assert main(["embed", str(song), "--out", "/proc/x.npz"]) == 2
        assert capsys.readouterr().err.startswith("musim: error: cannot write into /proc (")


def test_embed_out_ending_in_a_separator_is_a_folder_not_a_file_beside_it(tmp_path, capsys):
    """`musim embed Q.mp3 --out /tmp/x/out/` with the folder missing wrote /tmp/x/out.npz."""
    song = tmp_path / "a.wav"
    song.write_bytes(b"RIFF")
    missing = f"{tmp_path}/x/out/"
    assert main(["embed", str(song), "--out", missing]) == 2
    assert capsys.readouterr().err == (f"musim: error: --out {missing} names a folder, which does not exist: make it, "
                                       f"or give a file, e.g. --out {tmp_path}/x/out/embeddings.npz\n")
    assert not (tmp_path / "x").exists()
