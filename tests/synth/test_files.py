"""musim.synth.files: safe file names and the clip writer's parameter checks."""

from __future__ import annotations

import numpy as np
import pytest

from musim.errors import ParameterError
from musim.synth.files import safe_name, write_clip
from musim.synth.folders import artist_seed_for, write_music_folder


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


def test_write_clip_rejects_bad_input(tmp_path):
    with pytest.raises(ParameterError):
        write_clip(tmp_path / "x.aiff", np.zeros(10, dtype=np.float32), sr=22050)
    with pytest.raises(ParameterError):
        write_clip(tmp_path / "x.wav", np.zeros((3, 10), dtype=np.float32), sr=22050)
    with pytest.raises(ParameterError):
        write_music_folder(tmp_path, [("a", 0)], fmt="aiff")
