"""Ingest a Last.FM dump (360K plays or 1K events, plain or .gz, optional profiles) into the warehouse.

A 360K plays file is scanned in one pass, in C, into integer rows (:mod:`musim.ingest.plays_360k`), or read
by DuckDB like the others (:mod:`musim.ingest.engines` chooses); a 1K events file (and a profiles file) is
read and checked by DuckDB into an in-memory scratch database while a streaming pre-scan hashes it and finds
its irregular lines (:mod:`musim.ingest.staging`). The load into
the warehouse tables is then one DuckDB transaction: a crash or a kill leaves the warehouse exactly as it was, and the rerun produces
identical tables. A dump is identified by the sha256 of its content, so
ingesting the same file twice changes nothing. Every physical line is either loaded or recorded in
``ingest_rejects`` with its line number, raw text and reason; ``loaded + rejected == lines`` is checked
before the transaction commits. In the same transaction the music library's artists meet the dump's by the
library's rule (:func:`musim.library.identity.join_dump`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import duckdb

from musim import sql, warehouse
from musim.config import Settings, get_settings
from musim.errors import IngestError
from musim.filenames import refuse_empty
from musim.ingest.archive import extract_dump, is_archive
from musim.ingest.dump_files import check_input, dump_in_folder, open_dump, reading
from musim.ingest.engines import choose_engine
from musim.ingest.formats import (
    FILE_KIND,
    cr_advice,
    detect_format,
    looks_like_profiles,
    profiles_given_as_plays,
    starts_cr_only,
)
from musim.ingest.prescan import Prescan
from musim.ingest.staging import scan_and_stage
from musim.library.identity import join_dump
from musim.scratch import temp_folder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    """Summary of one ingest (the CLI's ``--json`` object)."""

    dump_id: str
    format: str
    lines: int
    loaded: int
    rejected: int
    users: int
    artists: int
    already_ingested: bool
    file_name: str = ""
    plays_rows: int = 0
    profile_lines: int = 0
    profile_loaded: int = 0
    profile_rejected: int = 0
    seconds: float = 0.0
    #: the engine that loaded the file (``c`` or ``duckdb``); None when nothing was loaded: it was ingested before
    engine: str | None = None
    #: a dump ingested before without profiles got the profiles file given now
    profiles_added: bool = False
    #: the profiles file a dump was ingested with, that the one given now replaced (``--replace-profiles``)
    profiles_replaced: str | None = None
    #: one line when few of the profiles loaded now are of users with plays in the dump (another dump's file?)
    profiles_warning: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


def _insert_prescan_rejects(con: duckdb.DuckDBPyConnection, dump_id: str, kind: str, scan: Prescan) -> None:
    if scan.rejected:  # as an Arrow table over the pre-scan's buffers: a million blank lines are no Python lists
        with warehouse.registered(con, "prescan_rejected_lines", scan.rejected.arrow()):
            sql.run(con, "ingest/prescan_rejects.sql", dump_id=dump_id, file_kind=kind,
                    reasons=list(scan.rejected.labels))


def _refuse_all_rejected(con: duckdb.DuckDBPyConnection, path: Path, dump_id: str, kind: str, lines: int) -> None:
    """Raise: every one of the file's ``lines`` was rejected. A file like that never becomes a dump (nor the
    default one of ``rejects``, ``similarity build`` and the DAGs): the message says why its lines failed."""
    reasons = sql.query(con, "ingest/reject_summary.sql", dump_id=dump_id, file_kind=kind).fetchall()
    why = "; ".join(f"{n:,} {reason} (first: line {line_no})" for reason, n, line_no in reasons[:3])
    more = f"; {len(reasons) - 3} more reasons" if len(reasons) > 3 else ""
    every = "its only line was" if lines == 1 else f"all {lines:,} lines were"
    ask = ("It was given as the profiles file: is it the dump's usersha1-profile.tsv? Pass that with --profiles, "
           "or leave --profiles out" if kind == "profiles" else "Is this the right file and format (--format)?")
    if kind != "profiles" and looks_like_profiles(path):
        ask = "It is named as " + profiles_given_as_plays(path).removeprefix("it is ")
    if starts_cr_only(path):  # one line of the whole file (or one per megabyte or so): nothing else to ask
        ask = f"It is one line: {cr_advice(path)}"
    if _utf16(path):  # its lines are rejected for their NUL bytes, whatever they hold: no other file or format helps
        plain = path.name.removesuffix(".gz")
        read = f"gunzip -c {path.name} | iconv" if plain != path.name else f"iconv {path.name}"
        ask = (f"It is UTF-16 text (it starts with a UTF-16 byte-order mark): re-encode it as UTF-8 and ingest that, "
               f"e.g. {read} -f UTF-16 -t UTF-8 > utf8-{plain}")
    raise IngestError(f"{path}: {every} rejected ({why}{more}); nothing was stored. {ask}")


def _utf16(path: Path) -> bool:
    """Whether ``path`` (decompressed) starts with a UTF-16 byte-order mark: a file saved as "Unicode" on Windows."""
    try:
        with reading(path), open_dump(path) as fh:
            return fh.read(2) in (b"\xff\xfe", b"\xfe\xff")
    except (IngestError, OSError):
        return False


#: Below this share of the profiles loaded being of users with plays in the dump, the ingest warns.
PROFILE_OVERLAP_MIN = 0.5


def _profile_overlap(con: duckdb.DuckDBPyConnection, dump_id: str, profiles: Path) -> str | None:
    """A warning line when fewer than :data:`PROFILE_OVERLAP_MIN` of the profiles loaded for ``dump_id`` are of
    users who have plays in it (the profiles file of another dump); ``None`` when they match."""
    loaded, matched = sql.query(con, "ingest/profile_overlap.sql", dump_id=dump_id).fetchone()
    if not loaded or matched >= PROFILE_OVERLAP_MIN * loaded:
        return None
    return (f"{profiles.name}: only {matched:,} of its {loaded:,} profiles ({matched / loaded:.0%}) are of users "
            f"with plays in dump {dump_id[:12]}: is it this dump's profiles file?")


def _existing(con: duckdb.DuckDBPyConnection, dump_id: str) -> IngestResult | None:
    row = sql.query(con, "ingest/existing_dump.sql", dump_id=dump_id).fetchone()
    if row is None:
        return None
    keys = ["dump_id", "format", "lines", "loaded", "rejected", "users", "artists", "file_name", "plays_rows",
            "profile_lines", "profile_loaded", "profile_rejected"]
    return IngestResult(already_ingested=True, **dict(zip(keys, row, strict=True)))


@contextmanager
def _dump_files(path: Path, settings: Settings, *, with_profiles: bool) -> Iterator[tuple[Path, Path | None]]:
    """The plays file and profiles file of a folder, or of an archive (streamed into a temporary folder under
    ``$MUSIM_TMP`` for the block; an :class:`IngestError` raised in the block names the archive and the member,
    ``ARCHIVE: member/path.tsv``, where it named the temporary copy)."""
    if path.is_dir():
        yield dump_in_folder(path, with_profiles=with_profiles)
        return
    archive = check_input(path, "plays")
    settings.ensure_dirs()
    with temp_folder(settings.tmp_dir, "archive-") as folder:
        members: dict[Path, str] = {}
        plays, inside = extract_dump(archive, folder, with_profiles=with_profiles, members=members)
        log.info("%s: loading its %s%s", archive, plays.name, f" and {inside.name}" if inside else "")
        try:
            yield plays, inside
        except IngestError as exc:
            message = str(exc)
            for extracted, member in members.items():
                message = message.replace(str(extracted), f"{archive}: {member}")
            if message == str(exc):
                raise
            raise IngestError(message) from exc


def ingest_lastfm(path: str | Path, *, profiles: str | Path | None = None, fmt: str = "auto",
                  settings: Settings | None = None, engine: str | None = None,
                  replace_profiles: bool = False) -> IngestResult:
    """Ingest one dump file (and optionally its profiles file); return what happened. ``engine`` reads a
    360K file (``c`` or ``duckdb``; default: :func:`musim.ingest.engines.choose_engine`). ``replace_profiles``:
    a dump ingested before with another profiles file gets ``profiles`` in their place (and their rejects).

    Raises :class:`~musim.errors.IngestError` for a file that cannot be read at all; bad *lines* never
    raise, they are rejected with a reason.
    """
    refuse_empty([path] if profiles is None else [path, profiles], "the dump file, its folder or its archive")
    settings = settings or get_settings()
    if Path(path).is_dir() or is_archive(path):  # an unpacked dump, or one as distributed (a .tar.gz)
        with _dump_files(Path(path), settings, with_profiles=profiles is None) as (plays, inside):
            return ingest_lastfm(plays, profiles=profiles if profiles is not None else inside, fmt=fmt,
                                 settings=settings, engine=engine, replace_profiles=replace_profiles)
    source = check_input(path, "plays")
    if profiles is not None:
        profiles = check_input(profiles, "profiles")
    stamps = _Stamps(source, profiles)
    settings.ensure_dirs()
    started = dt.datetime.now(dt.UTC)
    chosen = detect_format(source, fmt)
    used = choose_engine(engine) if chosen == "360k" else "duckdb"
    kind = FILE_KIND[chosen]
    with temp_folder(settings.tmp_dir, "ingest-") as scratch, \
            warehouse.writer(settings) as con:
        try:
            sql.run(con, "ingest/scratch.sql")
            rows = None
            if chosen == "360k" and used == "c":
                from musim.ingest.plays_360k import register, scan_360k

                scan, rows = scan_360k(source)
                register(con, rows)
                sql.run(con, "ingest/group_360k.sql")
            else:
                scan = _stage(con, source, chosen, Path(scratch))
            if not scan.lines:
                raise IngestError(f"{source}: the file is empty (0 lines); nothing was stored. Pass a Last.FM "
                                  "dump (download it again if it should not be empty).")
            existing = _existing(con, scan.sha256)
            if existing is not None and profiles is not None:
                return _profiles_later(con, existing, Path(profiles), Path(scratch), stamps,
                                       replace=replace_profiles)
            if existing is not None:
                log.info("dump %s (%s) was already ingested; nothing to do", scan.sha256[:12], source.name)
                return existing
            pscan = None
            if profiles is not None:
                pscan = scan_and_stage(con, Path(profiles), "stage_profiles", "ingest/stage_profiles.sql",
                                       Path(scratch))
                if not pscan.lines:
                    raise IngestError(f"{profiles}: the profiles file is empty (0 lines); nothing was stored. "
                                      "Pass its usersha1-profile.tsv, or leave --profiles out.")
            log.info("dump %s (%s): %d lines pre-scanned and staged in %.1f s; loading them in one transaction",
                     scan.sha256[:12], source.name, scan.lines, (dt.datetime.now(dt.UTC) - started).total_seconds())
            with warehouse.transaction(con):
                result = _load(con, chosen, kind, source, scan, rows, profiles, pscan, started)
                result = replace(result, engine=used)
                stamps.check()
                committing = dt.datetime.now(dt.UTC)
            log.debug("loaded %.1f s after the start; committed in %.1f s", (committing - started).total_seconds(),
                      (dt.datetime.now(dt.UTC) - committing).total_seconds())
        except IngestError:
            stamps.check()  # a file that changed under the reading (DuckDB read other rows than the pre-scan)
            raise
        finally:
            sql.run(con, "ingest/detach_scratch.sql")
    log.info("ingested %s: %d lines, %d loaded, %d rejected", source.name, result.lines, result.loaded,
             result.rejected)
    return result


class _Stamps:
    """The size, modification time and inode of the files an ingest reads, taken before it reads them: a file
    still being copied or written grows while it is read, so what was hashed, pre-scanned and loaded would be
    a part of it, each a different part. :meth:`check` refuses such a file before the transaction commits."""

    def __init__(self, *paths: Path | None) -> None:
        self.before = {path: _stamp(path) for path in paths if path is not None}

    def check(self) -> None:
        for path, before in self.before.items():
            if _stamp(path) != before:
                raise IngestError(f"{path}: the file changed while it was read (is it still being copied or "
                                  "written?); nothing was stored. Ingest it again once it is complete.")


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:  # removed or renamed meanwhile
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def _stage(con: duckdb.DuckDBPyConnection, source: Path, chosen: str, scratch: Path) -> Prescan:
    """Stage ``source`` with DuckDB and group its users and spellings (sql/ingest/group_staged.sql).

    A 1K file's lines are staged with the artist's check for control characters left to one per spelling
    (sql/ingest/scratch.sql, ``spelling_reason_1k_line``): a spelling that fails it is a rare file's, and that
    file is staged again with the check on every line, so that its rejected lines keep their raw text."""
    scan = scan_and_stage(con, source, "stage_checked", f"ingest/stage_{chosen}.sql", scratch)
    sql.run(con, "ingest/group_staged.sql", format=chosen, fixed_from=scan.staged_rows)
    if chosen == "1k" and sql.query(con, "ingest/names_failed.sql").fetchone()[0]:
        log.info("%s: an artist name holds a control character; staging the file again to reject its lines",
                 source.name)
        sql.run(con, "ingest/names_per_line.sql")
        scan = scan_and_stage(con, source, "stage_checked", "ingest/stage_1k.sql", scratch)
        sql.run(con, "ingest/group_staged.sql", format=chosen, fixed_from=scan.staged_rows)
    return scan


def _profiles_later(con: duckdb.DuckDBPyConnection, existing: IngestResult, profiles: Path,
                    scratch: Path, stamps: _Stamps, *, replace: bool = False) -> IngestResult:
    """The profiles file given with a dump ingested before: loaded now if the dump has none; nothing to do if it
    has this one; if it has another, loaded in their place with ``replace`` (one transaction: the old profiles
    and their rejects are withdrawn, the new ones loaded; a failure leaves the old ones), else an
    :class:`IngestError`."""
    dump_id = existing.dump_id
    pscan = scan_and_stage(con, profiles, "stage_profiles", "ingest/stage_profiles.sql", scratch)
    held, held_sha = sql.query(con, "ingest/dump_profiles_file.sql", dump_id=dump_id).fetchone()
    if held_sha == pscan.sha256:
        return existing
    if held_sha is not None and not replace:
        raise IngestError(f"{profiles}: dump {dump_id[:12]} was ingested with another profiles file ({held}); "
                          "nothing was changed. To load this one in their place: musim ingest lastfm PLAYS "
                          "--profiles PROFILES --replace-profiles")
    if not pscan.lines:
        raise IngestError(f"{profiles}: the profiles file is empty (0 lines); nothing was stored. Pass its "
                          "usersha1-profile.tsv, or leave --profiles out.")
    with warehouse.transaction(con):
        if held_sha is not None:
            sql.run(con, "ingest/drop_profiles.sql", dump_id=dump_id)
        _insert_prescan_rejects(con, dump_id, "profiles", pscan)
        sql.run(con, "ingest/load_profiles.sql", dump_id=dump_id, fmt=existing.format)
        rejected = sql.query(con, "ingest/reject_count.sql", dump_id=dump_id, file_kind="profiles").fetchone()[0]
        if rejected == pscan.lines:
            _refuse_all_rejected(con, profiles, dump_id, "profiles", pscan.lines)
        sql.run(con, "ingest/record_profiles.sql", dump_id=dump_id, profiles_file=profiles.name,
                profiles_sha256=pscan.sha256, profile_lines=pscan.lines, profile_loaded=pscan.lines - rejected,
                profile_rejected=rejected)
        warning = _profile_overlap(con, dump_id, profiles)
        stamps.check()
    log.info("dump %s: its profiles file %s loaded now%s", dump_id[:12], profiles.name,
             f", in place of {held}" if held_sha is not None else "")
    return dataclasses.replace(existing, profile_lines=pscan.lines, profile_loaded=pscan.lines - int(rejected),
                               profile_rejected=int(rejected), profiles_added=held_sha is None,
                               profiles_replaced=held if held_sha is not None else None, profiles_warning=warning)


def _load(con, chosen, kind, source: Path, scan: Prescan, rows, profiles,
          pscan: Prescan | None, started: dt.datetime) -> IngestResult:
    dump_id = scan.sha256
    _insert_prescan_rejects(con, dump_id, kind, scan)
    sql.run(con, "ingest/load_dump.sql", dump_id=dump_id, file_kind=kind)
    # the library's artists meet the dump's now, by the library's one rule: an artist is one artist whether its
    # files or the dump came first; the plays of a dump artist that joined a library artist are that artist's
    joined = join_dump(con, dump_id)
    if joined:
        sql.run(con, "ingest/remap_artists.sql", from_ids=[j[0] for j in joined], to_ids=[j[1] for j in joined])
    merged = None
    if rows is not None:  # the C engine's rows: merged per user run in C
        from musim.ingest.plays_360k import merge_plays

        merged = merge_plays(con, rows)
    if merged is not None:
        con.register("merged_plays", merged)
        sql.run(con, "ingest/insert_merged_plays.sql", dump_id=dump_id)
    else:
        sql.run(con, "ingest/insert_plays.sql", dump_id=dump_id)
    users, artists = sql.query(con, "ingest/dump_counts.sql").fetchone()
    profile_counts = (0, 0, 0)
    profiles_warning = None
    if pscan is not None:
        _insert_prescan_rejects(con, dump_id, "profiles", pscan)
        sql.run(con, "ingest/load_profiles.sql", dump_id=dump_id, fmt=chosen)
        prej = sql.query(con, "ingest/reject_count.sql", dump_id=dump_id, file_kind="profiles").fetchone()[0]
        profile_counts = (pscan.lines, pscan.lines - prej, prej)
        profiles_warning = _profile_overlap(con, dump_id, Path(profiles))
    sql.run(con, "ingest/check_keys.sql")
    rejected = sql.query(con, "ingest/reject_count.sql", dump_id=dump_id, file_kind=kind).fetchone()[0]
    loaded, plays_rows = sql.query(con, "ingest/plays_counts.sql", dump_id=dump_id).fetchone()
    if not loaded:
        _refuse_all_rejected(con, source, dump_id, kind, scan.lines)
    if pscan is not None and not profile_counts[1]:
        _refuse_all_rejected(con, Path(profiles), dump_id, "profiles", pscan.lines)
    if loaded + rejected != scan.lines:
        raise IngestError(
            f"{source}: {scan.lines} lines but {loaded} loaded + {rejected} rejected; nothing was stored. "
            "This is a musim bug: please report it with the file.")
    finished = dt.datetime.now(dt.UTC)
    sql.run(con, "ingest/record_dump.sql", dump_id=dump_id, file_name=source.name, format=chosen, bytes=scan.bytes,
            lines=scan.lines, loaded=loaded, rejected=rejected, plays_rows=plays_rows, users=users, artists=artists,
            profiles_file=Path(profiles).name if profiles else None, profiles_sha256=pscan.sha256 if pscan else None,
            profile_lines=profile_counts[0], profile_loaded=profile_counts[1], profile_rejected=profile_counts[2],
            started_at=started, finished_at=finished)
    return IngestResult(dump_id=dump_id, format=chosen, lines=scan.lines, loaded=int(loaded), rejected=int(rejected),
                        users=int(users), artists=int(artists), already_ingested=False, file_name=source.name,
                        plays_rows=int(plays_rows), profile_lines=profile_counts[0],
                        profile_loaded=profile_counts[1], profile_rejected=profile_counts[2],
                        profiles_warning=profiles_warning, seconds=(finished - started).total_seconds())
