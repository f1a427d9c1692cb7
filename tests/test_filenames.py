"""File names as text: the one spelling stored and printed for a name that is not UTF-8."""

from __future__ import annotations

import os

from musim.filenames import is_text, path_text


def test_utf8_names_are_themselves_and_other_bytes_are_escaped(tmp_path):
    latin1 = os.fsdecode(b"/music/Beyonc\xe9/caf\xe9.mp3")
    assert path_text(latin1) == "/music/Beyonc\\xe9/caf\\xe9.mp3" and not is_text(latin1)
    assert path_text("/music/Björk/Jóga.flac") == "/music/Björk/Jóga.flac" and is_text("/music/Björk/Jóga.flac")
    assert path_text(tmp_path / "a.wav") == str(tmp_path / "a.wav")
    assert path_text(path_text(latin1)).encode("utf-8")  # the text is storable (and stays as it is)
