"""Which files a folder of new audio gives (``musim embed`` / ``similar-audio``)."""

from __future__ import annotations

import os

import pytest

from musim.errors import NotFoundError
from musim.models.new_audio import find_audio_files


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
