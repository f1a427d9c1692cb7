"""The landing area: where new Last.FM dumps are dropped for the ``lastfm_ingest`` DAG to pick up.

Layout (folder by default, ``$MUSIM_LANDING``): one dump per sub-folder, or files directly in it::

    landing/lastfm/2026-11-01/usersha1-artmbid-artname-plays.tsv.gz
    landing/lastfm/2026-11-01/usersha1-profile.tsv.gz          (optional, paired by folder)
    landing/lastfm/userid-timestamp-artid-artname-traid-traname.tsv

A file already ingested (same location, size and modification time) is not hashed again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from musim import warehouse
from musim.config import Settings, get_settings
from musim.ingest.lastfm import IngestResult, ingest_lastfm

PLAYS_PATTERNS = ("*artmbid-artname-plays.tsv", "*artmbid-artname-plays.tsv.gz",
                  "*timestamp-artid-artname-traid-traname.tsv", "*timestamp-artid-artname-traid-traname.tsv.gz")
PROFILE_PATTERNS = ("*profile.tsv", "*profile.tsv.gz")


@dataclass(frozen=True)
class LandedDump:
    """A plays (or events) file found in the landing area, with its profiles file if any."""

    plays: str
    profiles: str | None
    size: int
    mtime: float

    def to_json(self) -> dict:
        return asdict(self)


def _find(folder: Path, patterns: tuple[str, ...]) -> list[Path]:
    return sorted({p for pattern in patterns for p in folder.glob(pattern) if p.is_file()})


def scan_landing(landing: str | Path | None = None) -> list[LandedDump]:
    """Every dump file in the landing folder (sorted), paired with the profiles file of its folder."""
    root = Path(landing or get_settings().landing)
    if not root.exists():
        return []
    found: list[LandedDump] = []
    for folder in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
        plays = _find(folder, PLAYS_PATTERNS)
        profiles = _find(folder, PROFILE_PATTERNS)
        for path in plays:
            st = path.stat()
            found.append(LandedDump(plays=str(path), profiles=str(profiles[0]) if len(plays) == 1 and profiles
                                    else None, size=st.st_size, mtime=st.st_mtime))
    return found


def new_dumps(landing: str | Path | None = None, settings: Settings | None = None) -> list[LandedDump]:
    """The landed dumps not yet ingested (by location, size and modification time)."""
    settings = settings or get_settings()
    landed = scan_landing(landing or settings.landing)
    if not landed:
        return []
    with warehouse.writer(settings) as con:
        seen = set(con.execute("SELECT location, size, mtime FROM landing_file").fetchall())
    return [d for d in landed if (d.plays, d.size, d.mtime) not in seen]


def ingest_landed(dump: LandedDump | dict, settings: Settings | None = None) -> IngestResult:
    """Ingest one landed dump and remember its file, so the next scan skips it."""
    settings = settings or get_settings()
    d = LandedDump(**dump) if isinstance(dump, dict) else dump
    result = ingest_lastfm(d.plays, profiles=d.profiles, settings=settings)
    with warehouse.writer(settings) as con:
        con.execute("""INSERT INTO landing_file (location, size, mtime, dump_id) VALUES (?, ?, ?, ?)
                       ON CONFLICT DO NOTHING""", [d.plays, d.size, d.mtime, result.dump_id])
    return result
