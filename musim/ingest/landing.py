"""The landing area: where new Last.FM dumps are dropped for the ``lastfm_ingest`` DAG to pick up.

``$MUSIM_LANDING`` is a local folder (the default) or an object-store URL (``s3://bucket/prefix``,
``s3://conn_id@bucket/prefix`` or ``file:///abs/path``, reached through :mod:`musim.storage`). Layout: one
dump per sub-folder (per key prefix on S3), or files directly in it::

    landing/lastfm/2026-11-01/usersha1-artmbid-artname-plays.tsv.gz
    landing/lastfm/2026-11-01/usersha1-profile.tsv.gz          (optional, paired by folder)
    landing/lastfm/userid-timestamp-artid-artname-traid-traname.tsv
    landing/lastfm/lastfm-dataset-360K.tar.gz                    (as distributed: its profiles are inside)

``X.tsv`` beside ``X.tsv.gz`` (a ``gunzip -k``) is one dump: the scan takes it once (the file of the two not yet
remembered, else the first by name), with the folder's profiles file, and the ingest remembers both files. A
profiles file beside its own ``gunzip -k`` copy (``usersha1-profile.tsv`` and ``usersha1-profile.tsv.gz``) is one
profiles file the same way. The scan pairs them by name; the ingest checks their decompressed content (hashing a
twin only when there is one): a twin with other content is not remembered, so the next scan takes it as a dump of
its own (with a warning), or, beside a profiles file, the folder's dumps are refused naming both files; profiles
twins with different content are refused as two profiles files. Several
different dumps in a folder with one profiles file are refused, as ``musim ingest lastfm FOLDER`` refuses the
folder: whose profiles they are cannot be told. A file the scan does not take by its name (``plays.tsv``,
``...plays.tsv.bz2``; hidden files aside) is logged with a warning saying what is accepted, once: by the scan that
first finds it (``landing_unrecognised``).

A file already ingested (same location, size and modification time) is not hashed again; a dump's profiles file
is remembered beside its plays file, so one dropped (or replaced) after its plays were ingested is taken then: loaded
into the dump if it had none, an error naming ``--replace-profiles`` if it had other profiles. A dump whose files
changed less than ``MUSIM_LANDING_SETTLE_S`` seconds ago (default 60) is left for the next scan: a copy still
under way (``cp`` of a plain ``.tsv`` writes it under its final name) would otherwise be ingested as a shorter
dump, and a profiles file uploaded after its plays file missed. Objects are downloaded to a temporary folder
under ``$MUSIM_TMP`` (keeping their file names) for the ingest, and remembered by their object URL, size and
last-modified time.

The scan reads what it remembers through a read-only connection (:func:`musim.sandbox.reader`), beside any other
reader; it takes the warehouse writer only to remember something: a file it reports (or forgets) as not taken, or a
profiles file found loaded already. A landing area that holds no file at all needs nothing from the warehouse:
while another process writes it, the scan finds nothing to do and leaves its bookkeeping for the next scan.
"""

from __future__ import annotations

import fnmatch
import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from musim import sandbox, sql, warehouse
from musim.config import Settings, get_settings
from musim.errors import BusyError, IngestError, NotFoundError
from musim.filenames import is_text, path_text
from musim.ingest.archive import ARCHIVE_PATTERNS
from musim.ingest.dump_files import PLAYS_PATTERNS, PROFILE_PATTERNS, content_sha256, hidden, several_profiles
from musim.ingest.lastfm import IngestResult, ingest_lastfm
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
    #: the names of the other dumps in its folder when they share one profiles file: whose it is cannot be told,
    #: so each of them is refused (as ``musim ingest lastfm FOLDER`` refuses the folder)
    other_dumps: tuple[str, ...] = ()
    #: the profiles file's size and modification time: with the plays file's, what tells an ingested dump (a
    #: profiles file dropped after its plays were ingested is a new landing, loaded into the dump then)
    profiles_size: int | None = None
    profiles_mtime: float | None = None
    #: the same dump's other files by name, ``(location, size, mtime)``: ``X.tsv`` beside ``X.tsv.gz``. The dump is
    #: taken once, by ``plays``, and the ingest remembers those with the same content with it
    twins: tuple[tuple[str, int, float], ...] = ()
    #: the profiles file's twins, ``(location, size, mtime)``: ``X.tsv`` beside ``X.tsv.gz``, one profiles file
    profiles_twins: tuple[tuple[str, int, float], ...] = ()

    def files(self) -> list[tuple[str, int, float]]:
        """``(location, size, mtime)`` of the plays file and its twins: what the ingest remembers."""
        return [(self.plays, self.size, self.mtime), *(tuple(t) for t in self.twins)]

    def profiles_files(self) -> list[tuple[str, int, float]]:
        """``(location, size, mtime)`` of the profiles file and its twins (none without a profiles file)."""
        if self.profiles is None or self.profiles_size is None or self.profiles_mtime is None:
            return []
        return [(self.profiles, self.profiles_size, self.profiles_mtime), *(tuple(t) for t in self.profiles_twins)]

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _File:
    """A file of a landing folder (or an object under a landing prefix)."""

    name: str
    location: str  # its path, or its object URL
    size: int
    mtime: float
    #: its path is valid UTF-8: one that is not (a legacy encoding such as Latin-1) cannot be stored nor ingested
    #: as it is, and is reported with its location written with each byte that is not UTF-8 as ``\xNN``
    text: bool = True
    #: it is a regular file (or a link to one): a FIFO, a socket or a broken link is reported, never read
    regular: bool = True


#: The file names the landing scan takes (anything else in the landing area is reported, once, and left alone).
ACCEPTED = ("accepted: a dump's plays file, usersha1-artmbid-artname-plays.tsv[.gz] or the 1K userid-timestamp-"
            "artid-artname-traid-traname.tsv[.gz], with its usersha1-profile.tsv[.gz] in one folder, or an archive "
            f"as distributed ({', '.join(ARCHIVE_PATTERNS)})")


def _named(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _dump_key(name: str) -> str:
    """A plays (or profiles) file's name without ``.gz``: ``X.tsv`` and its ``gunzip -k`` beside it, ``X.tsv.gz``,
    are one file."""
    return name.removesuffix(".gz")


def _folder_dumps(files: list[_File]) -> tuple[list[LandedDump], list[_File]]:
    """The dumps of one folder's files (sorted by name), and the files the scan does not take (hidden files are
    neither: partial uploads, macOS's ``._X`` beside each file X it copies)."""
    files = [f for f in files if not hidden(f.name)]
    plays = [f for f in files if _named(f.name, PLAYS_PATTERNS)]
    profiles = [f for f in files if _named(f.name, PROFILE_PATTERNS)]
    archives = [f for f in files if _named(f.name, ARCHIVE_PATTERNS)]
    # a profiles file is taken with the plays files of its folder: one without any is reported, not left unread
    # and unsaid (an archive reads its own profiles)
    taken = {id(f) for f in (*plays, *(profiles if plays else ()), *archives)}
    others = [f for f in files if id(f) not in taken]
    dumps = sorted({_dump_key(f.name) for f in plays})
    profile = profiles[0] if profiles else None
    # X.tsv and X.tsv.gz: one profiles file (new_dumps picks which one is read); other names: several, refused
    profile_twins = [p for p in profiles[1:] if profile is not None and _dump_key(p.name) == _dump_key(profile.name)]
    more_profiles = tuple(p.name for p in profiles[1:] if p not in profile_twins)
    found: list[LandedDump] = []
    for key in dumps:  # X.tsv and X.tsv.gz: one dump, taken once (new_dumps picks which file it reads)
        f, *twins = sorted((f for f in plays if _dump_key(f.name) == key), key=lambda f: f.name)
        changed = max(f.mtime, *(t.mtime for t in (*twins, *profile_twins)), profile.mtime if profile else 0.0)
        found.append(LandedDump(
            plays=f.location, profiles=profile.location if profile else None, size=f.size, mtime=f.mtime,
            changed=changed, more_profiles=more_profiles,
            other_dumps=tuple(d for d in dumps if d != key) if profile else (),
            profiles_size=profile.size if profile else None, profiles_mtime=profile.mtime if profile else None,
            twins=tuple((t.location, t.size, t.mtime) for t in twins),
            profiles_twins=tuple((t.location, t.size, t.mtime) for t in profile_twins)))
    for f in archives:  # a dump as distributed: its profiles are inside
        found.append(LandedDump(plays=f.location, profiles=None, size=f.size, mtime=f.mtime, changed=f.mtime))
    return found, others


def _split_url(url: str) -> tuple[str, str]:
    """``(store URL, key)`` of an object URL: the store is its parent "folder" (keeps ``conn_id@``)."""
    parent, _, name = url.rpartition("/")
    return parent, name


def _scan_store(url: str) -> tuple[list[LandedDump], list[_File]]:
    root, store = open_prefix(url, what="the landing folder")
    folders: dict[str, list[_File]] = {}
    found: list[LandedDump] = []
    others: list[_File] = []
    for info in store.list(""):
        if info.key.endswith("/") or hidden(info.key):  # a folder marker, or a hidden file or folder: no dump's
            continue
        folder, _, name = info.key.rpartition("/")
        modified = info.modified.timestamp() if info.modified else 0.0
        if is_text(info.key):
            folders.setdefault(folder, []).append(_File(name, f"{root}/{info.key}", info.size, modified))
        elif not hidden(name):  # a file:// landing folder's file named in a legacy encoding: reported, never taken
            others.append(_File(path_text(name), f"{root}/{path_text(info.key)}", info.size, modified, text=False))
    for folder in sorted(folders):
        dumps, ignored = _folder_dumps(sorted(folders[folder], key=lambda f: f.name))
        found += dumps
        others += ignored
    return found, others


def _scan(landing: str | Path) -> tuple[list[LandedDump], list[_File]]:
    """The dumps of the landing folder or prefix, and the files in it the scan does not take."""
    if is_object_url(landing):
        return _scan_store(str(landing))
    root = Path(landing)
    if not root.is_dir():
        raise NotFoundError(f"the landing folder {root} is no folder: create it, or set MUSIM_LANDING (the "
                            "lastfm_ingest DAG's `landing` param) to the folder dumps are dropped in")
    found: list[LandedDump] = []
    others: list[_File] = []
    folders = sorted(p for p in root.rglob("*") if p.is_dir() and not hidden(p.relative_to(root).as_posix()))
    for folder in [root, *folders]:
        files = []
        for path in sorted(folder.iterdir()):
            if not path.is_file():
                if not path.is_dir() and not hidden(path.name):  # a FIFO, a socket, a broken link: said, not read
                    others.append(_File(path_text(path.name), path_text(path), 0, 0.0, regular=False))
                continue
            st = path.stat()
            if is_text(path):
                files.append(_File(path.name, str(path), st.st_size, st.st_mtime))
            elif not hidden(path.name):  # reported, never taken: nor stored, by name, to report it only once
                others.append(_File(path_text(path.name), path_text(path), st.st_size, st.st_mtime, text=False))
        dumps, ignored = _folder_dumps(files)
        found += dumps
        others += ignored
    return found, others


def scan_landing(landing: str | Path | None = None) -> list[LandedDump]:
    """Every dump file in the landing folder or under the landing URL (sorted), paired with the profiles
    file of its folder."""
    return _scan(landing or get_settings().ingest.landing)[0]


def _why_not_taken(name: str, text: bool = True, regular: bool = True) -> str:
    """What to do with a landed file the scan does not take, by its name (``text``: its path is valid UTF-8;
    ``regular``: it is a regular file)."""
    if not regular:
        return ("it is no regular file (a FIFO, a socket or a broken link) and is not read: put the file itself there "
                "(a profiles file is loaded into its dump when it is)")
    if not text:
        return ("its path is not valid UTF-8 (a legacy encoding such as Latin-1?), and the warehouse records it as "
                "text: rename it, e.g. `convmv -f latin1 -t utf-8 PATH`")
    if _named(name, PROFILE_PATTERNS):
        return ("it is a profiles file with no plays file beside it: a profiles file is loaded with the dump in its "
                "folder, so put it beside its plays file (or load it with `musim ingest lastfm PLAYS --profiles "
                "FILE`)")
    stem = name
    for suffix in (".bz2", ".xz", ".zst", ".zip", ".7z"):
        if name.endswith(suffix) and not _named(name, ARCHIVE_PATTERNS):
            stem = name.removesuffix(suffix)
            if _named(stem, PLAYS_PATTERNS + PROFILE_PATTERNS) or stem.endswith((".tsv", ".csv", ".txt")):
                return f"its compression ({suffix}) is not read: decompress it, or gzip it (.tsv.gz)"
    if name.endswith((".tsv", ".tsv.gz")):
        return ("its name is no dump file's: rename it to its Last.FM name, or ingest it with `musim ingest "
                "lastfm FILE [--profiles PROFILES]`")
    return "its name is no dump file's; it is left alone"


def _unrecognised(reported: set[str], others: list[_File]) -> tuple[list[_File], list[str]]:
    """Log a warning for each landed file the scan does not take, once: the scan that first finds it reports it
    (``landing_unrecognised``); a file gone from the landing area is forgotten, so one dropped there again is
    reported again. The files to remember as reported, and the locations to forget."""
    present = {f.location for f in others}
    new = [f for f in others if f.location not in reported]
    for f in new:
        log.warning("landing: %s is not ingested, %s (%s)", f.location, _why_not_taken(f.name, f.text, f.regular),
                    ACCEPTED)
    return new, sorted(reported - present)


@dataclass
class _Remembered:
    """What the warehouse remembers of the landing area, read through a reader."""

    reported: set[str]  # the files reported as not taken
    seen: set[tuple]  # the landed files ingested, (location, size, mtime)
    profiles: list[tuple[str, int, float, str]]  # profiles files found loaded already, to remember (with the dump)


def _remembered(settings: Settings, landed: list[LandedDump], others: list[_File]) -> _Remembered | None:
    """Read what the warehouse remembers of the landing area, without the writer's lock. None when the landing area
    holds no file and another process writes the warehouse: there is nothing to ingest, and forgetting the files
    reported before is left for the next scan."""
    try:
        with sandbox.reader(settings, wait_s=None if landed or others else 0.0) as con:
            reported = {r[0] for r in sql.query(con, "ingest/landing_unrecognised.sql").fetchall()}
            seen = set(sql.query(con, "ingest/landed_files.sql").fetchall()) if landed else set()
            profiles = [p for d in landed if (p := _profiles_loaded_before(con, d, seen)) is not None]
    except BusyError:
        if landed or others:
            raise
        log.info("the landing area holds no file and the warehouse is being written: nothing to do")
        return None
    seen.update(p[:3] for p in profiles)
    return _Remembered(reported, seen, profiles)


def new_dumps(landing: str | Path | None = None, settings: Settings | None = None, *,
              settle_s: float | None = None, now: float | None = None) -> list[LandedDump]:
    """The landed dumps not yet ingested (by location, size and modification time) whose files have not
    changed for ``settle_s`` seconds (default ``MUSIM_LANDING_SETTLE_S``); the others are logged and left for
    the next scan. The files the scan does not take (not named as a dump's files) are logged, each once.

    Reads the warehouse through a reader; takes the writer only when there is something to remember (a file
    reported or forgotten as not taken, a profiles file found loaded already)."""
    settings = settings or get_settings()
    landed, others = _scan(landing or settings.ingest.landing)
    known = _remembered(settings, landed, others)
    if known is None:
        return []
    new, gone = _unrecognised(known.reported, others)
    if new or gone or known.profiles:
        with warehouse.writer(settings) as con, warehouse.transaction(con):
            if new or gone:
                sql.run(con, "ingest/record_unrecognised.sql", locations=[f.location for f in new], gone=gone)
            for location, size, mtime, dump_id in known.profiles:
                sql.run(con, "ingest/record_landed.sql", location=location, size=size, mtime=mtime,
                        dump_id=dump_id)
    now = time.time() if now is None else now
    settle = settings.ingest.settle_s if settle_s is None else float(settle_s)
    ready = []
    for d in landed:
        unseen = [f for f in d.files() if f not in known.seen]
        unseen_profiles = [f for f in d.profiles_files() if f not in known.seen]
        if not unseen and not unseen_profiles:
            continue
        if now - d.changed < settle:
            log.warning("%s changed %.0f s ago, less than MUSIM_LANDING_SETTLE_S (%g s): left for the next scan "
                        "(it may still be being copied)", d.plays, max(now - d.changed, 0.0), settle)
            continue
        if unseen and unseen[0][0] != d.plays:  # the twin not yet remembered is the file the ingest reads
            location, size, mtime = unseen[0]
            d = replace(d, plays=location, size=size, mtime=mtime,
                        twins=tuple(f for f in d.files() if f[0] != location))
        if unseen_profiles and unseen_profiles[0][0] != d.profiles:  # likewise the profiles twin not yet remembered
            location, size, mtime = unseen_profiles[0]
            d = replace(d, profiles=location, profiles_size=size, profiles_mtime=mtime,
                        profiles_twins=tuple(f for f in d.profiles_files() if f[0] != location))
        ready.append(d)
    return ready


def _profiles_loaded_before(con, d: LandedDump, seen: set) -> tuple[str, int, float, str] | None:
    """``d``'s (local) profiles file, with its size, modification time and dump, when ``d``'s plays were ingested
    with it, by content, when landings remembered plays files only (before profiles files were remembered too);
    then the profiles file is remembered now, rather than the dump taken again. A profiles file under an
    object-store prefix is taken again instead (the ingest finds it loaded already)."""
    if d.profiles is None or (d.plays, d.size, d.mtime) not in seen or is_object_url(d.profiles):
        return None
    if d.profiles_size is None or d.profiles_mtime is None or (d.profiles, d.profiles_size, d.profiles_mtime) in seen:
        return None
    row = sql.query(con, "ingest/landed_profiles_sha.sql", location=d.plays, size=d.size, mtime=d.mtime).fetchone()
    if row is None or row[0] is None:
        return None
    try:
        loaded = content_sha256(d.profiles) == row[0]
    except (IngestError, OSError):
        return None  # the ingest names what is wrong with it
    if not loaded:
        return None
    dump_id = sql.query(con, "ingest/landed_dump.sql", location=d.plays, size=d.size, mtime=d.mtime).fetchone()[0]
    return d.profiles, d.profiles_size, d.profiles_mtime, dump_id


def nothing_new(summary: IngestResult | dict, settings: Settings | None = None) -> str | None:
    """Why a landed dump's ingest (:func:`ingest_landed`'s result) changed nothing, in one line, or None when there
    is something to judge and announce: a new dump, profiles loaded into a dump ingested before, or a dump ingested
    before that the quality gate never judged. A dump ingested and judged before (the same content landed again,
    under another name or folder) announces nothing: its consumers (the similarity build) have no work. One never
    judged, a dump ingested by hand or one whose run was cut off between its ingest and its gate (the worker killed,
    the task cleared to try again), is judged and announced now: else it never would be."""
    s = summary.to_json() if isinstance(summary, IngestResult) else summary
    if not s["already_ingested"] or s.get("profiles_added") or s.get("profiles_replaced"):
        return None
    with sandbox.reader(settings) as con:
        judged = sql.query(con, "ingest/dump_judged.sql", dump_id=s["dump_id"]).fetchone()[0]
    if not judged:
        log.info("dump %s was ingested before (as %s) but never judged by the quality gate: judging and announcing "
                 "it now", s["dump_id"][:12], s.get("file_name") or "?")
        return None
    was = f" (as {s['file_name']})" if s.get("file_name") else ""
    return f"dump {s['dump_id'][:12]} was ingested before{was}: nothing new was loaded, so no lastfm_plays event"


def ingest_landed(dump: LandedDump | dict, settings: Settings | None = None) -> IngestResult:
    """Ingest one landed dump and remember its files (its twins and profiles file too), so the next scan skips it."""
    settings = settings or get_settings()
    d = LandedDump(**dump) if isinstance(dump, dict) else dump
    if d.more_profiles:
        assert d.profiles is not None
        where = d.profiles.rpartition("/")[0]
        raise IngestError(several_profiles(Path(where), [d.profiles.rpartition("/")[2], *d.more_profiles]))
    if d.other_dumps:
        assert d.profiles is not None
        where, _, name = d.plays.rpartition("/")
        raise IngestError(f"{where} holds {len(d.other_dumps) + 1} dumps ({', '.join(sorted([name, *d.other_dumps]))}) "
                          f"and one profiles file ({d.profiles.rpartition('/')[2]}): whose profiles they are cannot be "
                          "told, so nothing was stored. Move each dump into a folder of its own, with its profiles")
    _check_profiles_twins(d, settings)
    twin_sha = {t: _content_sha(t[0], settings) for t in _unseen_twins(d, settings)}  # each twin hashed once
    if twin_sha and d.profiles is not None:  # two different dumps beside one profiles file: refused before storing
        _check_plays_twins(d, twin_sha, settings)
    if is_object_url(d.plays):
        result = _ingest_object(d, settings)
    else:
        result = ingest_lastfm(d.plays, profiles=d.profiles, settings=settings)
    if result.profiles_warning:
        log.warning("%s", result.profiles_warning)
    # the plays file, its twins with the same content (the same dump), the profiles file and its twins (checked)
    files = [(d.plays, d.size, d.mtime), *_same_twins(d, twin_sha, result.dump_id), *d.profiles_files()]
    with warehouse.writer(settings) as con:
        with warehouse.transaction(con):
            for location, size, mtime in files:
                sql.run(con, "ingest/record_landed.sql", location=location, size=size, mtime=mtime,
                        dump_id=result.dump_id)
    return result


def _content_sha(location: str, settings: Settings) -> str:
    """The sha256 of a landed file's decompressed content (as the dump id is hashed); an object is downloaded to a
    temporary folder under ``$MUSIM_TMP`` first."""
    if not is_object_url(location):
        return content_sha256(location)
    from musim.storage import open_store

    settings.ensure_tmp()
    with temp_folder(settings.tmp_dir, "landing-") as scratch:
        store_url, key = _split_url(location)
        target = Path(scratch) / key
        open_store(store_url).download(key, target)
        return content_sha256(target)


def _name(location: str) -> str:
    return location.rpartition("/")[2]


def _check_profiles_twins(d: LandedDump, settings: Settings) -> None:
    """An :class:`IngestError` when a profiles twin (``X.tsv`` beside ``X.tsv.gz``) is no copy of the profiles file:
    two profiles files, which one is the dump's cannot be told."""
    if not d.profiles_twins:
        return
    assert d.profiles is not None
    sha = _content_sha(d.profiles, settings)
    for twin, _, _ in d.profiles_twins:
        if _content_sha(twin, settings) != sha:
            raise IngestError(f"{d.profiles.rpartition('/')[0]} holds 2 profiles files with different content "
                              f"({_name(d.profiles)}, {_name(twin)}: not a gzip -k copy): nothing was stored. Keep "
                              "the dump's own profiles file there and remove the other")


def _unseen_twins(d: LandedDump, settings: Settings) -> list[tuple[str, int, float]]:
    """``d``'s plays twins not yet remembered (a remembered one was found the same dump when it was remembered)."""
    if not d.twins:
        return []
    with sandbox.reader(settings) as con:
        return [t for t in d.twins if sql.query(con, "ingest/landed_dump.sql", location=t[0], size=t[1],
                                                 mtime=t[2]).fetchone() is None]


def _check_plays_twins(d: LandedDump, twin_sha: dict[tuple[str, int, float], str], settings: Settings) -> None:
    """An :class:`IngestError` when a plays twin (its content hash in ``twin_sha``) is no copy of the plays file
    while the folder holds a profiles file: two dumps and one profiles file, as ``other_dumps``."""
    sha = _content_sha(d.plays, settings)
    for (twin, _, _), twin_hash in twin_sha.items():
        if twin_hash != sha:
            assert d.profiles is not None
            raise IngestError(f"{d.plays.rpartition('/')[0]} holds 2 dumps with different content "
                              f"({_name(d.plays)}, {_name(twin)}: not a gzip -k copy) and one profiles file "
                              f"({_name(d.profiles)}): whose profiles they are cannot be told, so nothing was stored. "
                              "Move each dump into a folder of its own, with its profiles")


def _same_twins(d: LandedDump, twin_sha: dict[tuple[str, int, float], str],
                dump_id: str) -> list[tuple[str, int, float]]:
    """The twins not yet remembered (their content hashes in ``twin_sha``) whose content is the dump's
    (``dump_id``): those remembered with it. A twin with other content is another dump: not remembered, so the
    next scan takes it as its own (with a warning)."""
    same = []
    for twin, sha in twin_sha.items():
        if sha == dump_id:
            same.append(twin)
        else:
            log.warning("landing: %s and %s have different content (not a gzip -k copy): two dumps; %s is left for "
                        "the next scan, as a dump of its own", d.plays, _name(twin[0]), _name(twin[0]))
    return same


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
