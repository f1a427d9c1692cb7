"""A published home with hostile artist names, built once per session; each test gets its own copy.

Planted in a small synthetic Last.FM dump: names with ESC sequences, a bidi override, CR, NUL, BEL/DEL/C1
and a 5,000-character name, all co-listened by the same 40 users (so they are each other's neighbours),
and one unparseable line carrying an OSC escape (rejected, shown by ``musim rejects``). The ingest rejects a
name with a C0 control character (ESC, NUL, BEL): those are planted as stand-in names, and the artists renamed
in the warehouse after the ingest (what the CLI shows must be safe whatever the warehouse holds).
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from musim import serving, warehouse
from musim.config import get_settings
from musim.ingest.lastfm import ingest_lastfm
from musim.names import name_norm
from musim.similarity.build import SimilarityParams, build_similarity
from musim.synth.lastfm import write_lastfm_dump

RED = "\x1b[31mRed Alert\x1b[0m"
BIDI = "Evil\u202eReversed"
NUL = "Nul\x00Band"
BELL = "Bell\x07Del\x7fC1\x9b"
LONG = "L" * 5000
CR = "Carriage\rReturn"
HOSTILE = [RED, BIDI, NUL, BELL, LONG, CR]
BAD_LINE = "garbage\x1b]0;pwned\x07 line"
#: the names the ingest rejects (a C0 control character in them), planted under these names and renamed after it
_STAND_IN = {RED: "Hostile Red", NUL: "Hostile Nul", BELL: "Hostile Bell"}


@dataclass(frozen=True)
class Home:
    path: Path

    @property
    def warehouse(self) -> Path:
        return self.path / "warehouse.duckdb"

    @property
    def snapshot(self) -> Path:
        return (self.path / "serving" / serving.CURRENT).resolve()

    def fingerprint(self) -> dict[str, str]:
        """Every file under the home with the sha256 of its bytes."""
        return {str(p.relative_to(self.path)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(self.path.rglob("*")) if p.is_file() and "tmp" not in p.relative_to(self.path).parts}


def _env(home: Path) -> dict[str, str]:
    return {"MUSIM_HOME": str(home), "MUSIM_DUCKDB_MEMORY": "1GB", "MUSIM_DUCKDB_THREADS": "2"}


@pytest.fixture(scope="session")
def hostile_template(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("cli_hostile")
    settings = get_settings(_env(home))
    dump = write_lastfm_dump(home / "dump", users=200, artists=30, communities=3, seed=1)
    plays = Path(dump.plays_path)
    users = list(dict.fromkeys(line.split("\t")[0] for line in plays.read_text(encoding="utf-8").splitlines()))[:40]
    with plays.open("a", encoding="utf-8", newline="") as fh:
        for i, user in enumerate(users):
            for name in HOSTILE:
                fh.write(f"{user}\t\t{_STAND_IN.get(name, name)}\t{10 + i}\n")
        fh.write(BAD_LINE + "\n")
    ingest_lastfm(plays, settings=settings)
    with warehouse.writer(settings) as con:
        for name, stand_in in _STAND_IN.items():
            con.execute("UPDATE artist SET name = ?, name_norm = ? WHERE name = ?", [name, name_norm(name), stand_in])
        build_similarity(con, None, SimilarityParams(min_listeners=1, min_co_listeners=2, k=10))
        serving.publish(con, settings, force=True)
    return home


@pytest.fixture
def hostile(hostile_template, tmp_path, monkeypatch) -> Home:
    """This test's own copy of the published hostile home, as MUSIM_HOME; the working folder is empty."""
    home = tmp_path / "home"
    shutil.copytree(hostile_template, home, symlinks=True)
    for key, value in _env(home).items():
        monkeypatch.setenv(key, value)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return Home(home)
