"""The landing area: where new Last.FM dumps are dropped for the ``lastfm_ingest`` DAG to pick up.

``$MUSIM_LANDING`` is a local folder (the default) or an object-store URL (``s3://bucket/prefix``,
``s3://conn_id@bucket/prefix`` or ``file:///abs/path``, reached through :mod:`musim.storage`). Layout: one
dump per sub-folder (per key prefix on S3), or files directly in it::

    landing/lastfm/2026-11-01/usersha1-artmbid-artname-plays.tsv.gz
    landing/lastfm/2026-11-01/usersha1-profile.tsv.gz          (optional, paired by folder)
    landing/lastfm/userid-timestamp-artid-artname-traid-traname.tsv
    landing/lastfm/lastfm-dataset-360K.tar.gz                    (as distributed: its profiles are inside)

A file already ingested (same location, size and modification time) is not hashed again. A dump whose files
changed less than ``MUSIM_LANDING_SETTLE_S`` seconds ago (default 60) is left for the next scan: a copy still
under way (``cp`` of a plain ``.tsv`` writes it under its final name) would otherwise be ingested as a shorter
dump, and a profiles file uploaded after its plays file missed. Objects are downloaded to a temporary folder
under ``$MUSIM_TMP`` (keeping their file names) for the ingest, and remembered by their object URL, size and
last-modified time.
"""

from __future__ import annotations

import fnmatch
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from musim import sql, warehouse
from musim.config import Settings, get_settings
from musim.errors import IngestError, NotFoundError
from musim.ingest.archive import ARCHIVE_PATTERNS
from musim.ingest.lastfm import IngestResult, ingest_lastfm
from musim.ingest.prescan import PLAYS_PATTERNS, PROFILE_PATTERNS, files_named, several_profiles
from musim.scratch import temp_folder
from musim.storage import is_object_url, open_prefix

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LandedDump:
    """A plays (or events) file found in the landing area, with its profiles file if any."""

    plays: str
    profiles: str | None
    size: int
    mtime: float
    changed: float = 0.0  # the latest modification of the plays and profiles files
    #: the names of the profiles files beside ``profiles`` in its folder (a dump with several is refused)
    more_profiles: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return asdict(self)


def _split_url(url: str) -> tuple[str, str]:
    """``(store URL, key)`` of an object URL: the store is its parent "folder" (keeps ``conn_id@``)."""
    parent, _, name = url.rpartition("/")
    return parent, name


def _scan_store(url: str) -> list[LandedDump]:
    root, store = open_prefix(url, what="the landing folder")
    folders: dict[str, list] = {}
    for info in store.list(""):
        folder, _, name = info.key.rpartition("/")
        folders.setdefault(folder, []).append((name, info))
    found: list[LandedDump] = []
    for folder in sorted(folders):
        files = sorted(folders[folder], key=lambda f: f[0])

        def matching(patterns: tuple[str, ...], files=files) -> list:
            return [(n, i) for n, i in files if any(fnmatch.fnmatchcase(n, p) for p in patterns)]

        plays, profiles = matching(PLAYS_PATTERNS), matching(PROFILE_PATTERNS)
        for _name, info in plays:
            profile = f"{root}/{profiles[0][1].key}" if len(plays) == 1 and profiles else None
            modified = info.modified.timestamp() if info.modified else 0.0
            profile_modified = profiles[0][1].modified if profile and profiles[0][1].modified else None
            changed = max(modified, profile_modified.timestamp() if profile_modified else 0.0)
            found.append(LandedDump(plays=f"{root}/{info.key}", profiles=profile, size=info.size, mtime=modified,
                                    changed=changed, more_profiles=tuple(n for n, _ in profiles[1:]) if profile else ()))
        for _name, info in matching(ARCHIVE_PATTERNS):  # a dump as distributed: its profiles are inside
            modified = info.modified.timestamp() if info.modified else 0.0
            found.append(LandedDump(plays=f"{root}/{info.key}", profiles=None, size=info.size, mtime=modified,
                                    changed=modified))
    return found


def scan_landing(landing: str | Path | None = None) -> list[LandedDump]:
    """Every dump file in the landing folder or under the landing URL (sorted), paired with the profiles
    file of its folder."""
    landing = landing or get_settings().ingest.landing
    if is_object_url(landing):
        return _scan_store(str(landing))
    root = Path(landing)
    if not root.is_dir():
        raise NotFoundError(f"the landing folder {root} is no folder: create it, or set MUSIM_LANDING (the "
                            "lastfm_ingest DAG's `landing` param) to the folder dumps are dropped in")
    found: list[LandedDump] = []
    for folder in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
        plays = files_named(folder, PLAYS_PATTERNS)
        profiles = files_named(folder, PROFILE_PATTERNS)
        for path in plays:
            st = path.stat()
            profile = profiles[0] if len(plays) == 1 and profiles else None
            changed = max(st.st_mtime, profile.stat().st_mtime if profile else 0.0)
            found.append(LandedDump(plays=str(path), profiles=str(profile) if profile else None, size=st.st_size,
                                    mtime=st.st_mtime, changed=changed,
                                    more_profiles=tuple(p.name for p in profiles[1:]) if profile else ()))
        for path in files_named(folder, ARCHIVE_PATTERNS):  # a dump as distributed: its profiles are inside
            st = path.stat()
            found.append(LandedDump(plays=str(path), profiles=None, size=st.st_size, mtime=st.st_mtime,
                                    changed=st.st_mtime))
    return found


def new_dumps(landing: str | Path | None = None, settings: Settings | None = None, *,
              settle_s: float | None = None, now: float | None = None) -> list[LandedDump]:
    """The landed dumps not yet ingested (by location, size and modification time) whose files have not
    changed for ``settle_s`` seconds (default ``MUSIM_LANDING_SETTLE_S``); the others are logged and left for
    the next scan."""
    settings = settings or get_settings()
    landed = scan_landing(landing or settings.ingest.landing)
    if not landed:
        return []
    with warehouse.writer(settings) as con:
        seen = set(sql.query(con, "ingest/landed_files.sql").fetchall())
    now = time.time() if now is None else now
    settle = settings.ingest.settle_s if settle_s is None else float(settle_s)
    ready = []
    for d in landed:
        if (d.plays, d.size, d.mtime) in seen:
            continue
        if now - d.changed < settle:
            log.warning("%s changed %.0f s ago, less than MUSIM_LANDING_SETTLE_S (%g s): left for the next scan "
                        "(it may still be being copied)", d.plays, max(now - d.changed, 0.0), settle)
            continue
        ready.append(d)
    return ready


def ingest_landed(dump: LandedDump | dict, settings: Settings | None = None) -> IngestResult:
    """Ingest one landed dump and remember its file, so the next scan skips it."""
    settings = settings or get_settings()
    d = LandedDump(**dump) if isinstance(dump, dict) else dump
    if d.more_profiles:
        assert d.profiles is not None
        where = d.profiles.rpartition("/")[0]
        raise IngestError(several_profiles(Path(where), [d.profiles.rpartition("/")[2], *d.more_profiles]))
    if is_object_url(d.plays):
        result = _ingest_object(d, settings)
    else:
        result = ingest_lastfm(d.plays, profiles=d.profiles, settings=settings)
    with warehouse.writer(settings) as con:
        sql.run(con, "ingest/record_landed.sql", location=d.plays, size=d.size, mtime=d.mtime,
                dump_id=result.dump_id)
    return result


def _ingest_object(d: LandedDump, settings: Settings) -> IngestResult:
    """Download the dump (and its profiles) to a temporary folder under ``$MUSIM_TMP``, then ingest it."""
    from musim.storage import open_store

    settings.ensure_tmp()
    with temp_folder(settings.tmp_dir, "landing-") as scratch:
        local: list[Path | None] = []
        for url in (d.plays, d.profiles):
            if url is None:
                local.append(None)
                continue
            store_url, key = _split_url(url)
            target = Path(scratch) / key  # the object's own name: the format is told by it
            open_store(store_url).download(key, target)
            local.append(target)
        plays, profiles = local
        assert plays is not None
        return ingest_lastfm(plays, profiles=profiles, settings=settings)
