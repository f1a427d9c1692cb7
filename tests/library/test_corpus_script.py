"""The real-music corpus script refuses the packages kept for independent evaluation, and its helper reads
composers and licences from Debian copyright files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "real_music" / "make_corpus.sh"
# reserved for independent evaluation: the script's deny-list must refuse every one before any download
RESERVED = ["wesnoth-1.16-music", "singularity-music", "nexuiz-music", "ufoai-music", "warzone2100-music",
            "hyperrogue-music", "asc-music", "frozen-bubble-data", "openttd-openmsx"]  # reserved: deny-list only


@pytest.mark.parametrize("pkg", RESERVED)
def test_reserved_packages_are_refused_before_any_download(tmp_path, pkg):
    env = dict(os.environ, PACKAGES=f"supertux-data {pkg}", PATH="/nonexistent:" + os.environ["PATH"])
    proc = subprocess.run(["bash", str(SCRIPT), str(tmp_path / "data")], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "reserved for independent evaluation" in proc.stderr
    assert not (tmp_path / "data").exists()


def test_copyright_stanzas_name_composers_and_licences(tmp_path):
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import corpus
    finally:
        sys.path.pop(0)
    (tmp_path / "copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: 2003-2010 The Game Team\nLicense: GPL-2+\n\n"
        "Files: data/music/*.ogg\n       data/music/extra/*\nCopyright: (c) 2007, 2009 Jane Composer <jane@example.org>\n"
        "License: CC-BY-SA-3.0\n\n"
        "Files: data/music/theme.ogg\nCopyright: 2008 Max Stack\nLicense: CC0\n")
    stanzas = corpus.copyright_stanzas(tmp_path / "copyright")
    assert [s["holder"] for s in stanzas] == ["The Game Team", "Jane Composer", "Max Stack"]
    rel = "usr/share/games/game/music/{}"
    assert corpus.match_stanza(rel.format("level1.ogg"), stanzas)["holder"] == "Jane Composer"
    assert corpus.match_stanza(rel.format("theme.ogg"), stanzas)["licence"] == "CC0"
    assert corpus.match_stanza("usr/share/games/game/sounds/boom.wav", stanzas) is None  # only the catch-all
