"""Last.FM dumps as they are distributed: a tar archive (``lastfm-dataset-360K.tar.gz``, ``lastfm-dataset-1K.tar.gz``)
holding the plays or events file, its profiles file and a README.

:func:`dump_in_archive` finds the two files among the archive's members (by the names of :data:`PLAYS_PATTERNS`
and :data:`PROFILE_PATTERNS`, in any folder of the archive); :func:`extract_dump` streams them into a scratch
folder under their own names (the format is told by the name), so the ingest reads them as it reads files given
alone. Only regular-file members are read, and each is written under its base name in the scratch folder: a
member's path never chooses where anything is written.
"""

from __future__ import annotations

import fnmatch
import gzip
import lzma
import shutil
import tarfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from musim.errors import IngestError
from musim.ingest.prescan import PLAYS_PATTERNS, PROFILE_PATTERNS

#: File names of the archives a dump is distributed in.
ARCHIVE_PATTERNS = ("*.tar", "*.tar.gz", "*.tgz", "*.tar.bz2", "*.tar.xz")


def is_archive(path: str | Path) -> bool:
    """``path`` is named like a tar archive (:data:`ARCHIVE_PATTERNS`)."""
    name = Path(path).name.lower()
    return any(fnmatch.fnmatch(name, pattern) for pattern in ARCHIVE_PATTERNS)


@contextmanager
def _reading(archive: Path) -> Iterator[None]:
    """What reading a damaged archive raises, as one :class:`IngestError` naming it."""
    try:
        yield
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error, lzma.LZMAError) as exc:
        why = "not a tar archive, or a damaged one" if isinstance(exc, tarfile.ReadError) else str(exc)
        raise IngestError(f"{archive}: the archive is truncated or corrupt ({why}); nothing was stored. Download it "
                          "again (or check it with tar tf).") from None


def dump_in_archive(archive: Path) -> tuple[tarfile.TarInfo, tarfile.TarInfo | None]:
    """The plays (or 1K events) member of ``archive`` and its profiles member (``None`` if it has none)."""
    with _reading(archive), tarfile.open(archive) as tar:
        files = [m for m in tar.getmembers() if m.isfile()]

    def matching(patterns: tuple[str, ...]) -> list[tarfile.TarInfo]:
        return [m for m in files if any(fnmatch.fnmatch(PurePosixPath(m.name).name, p) for p in patterns)]

    plays, profiles = matching(PLAYS_PATTERNS), matching(PROFILE_PATTERNS)
    if not plays:
        held = ", ".join(m.name for m in files[:10]) + (", ..." if len(files) > 10 else "")
        raise IngestError(f"{archive}: no Last.FM plays file in the archive (usersha1-artmbid-artname-plays.tsv, or "
                          f"the 1K userid-timestamp-artid-artname-traid-traname.tsv); it holds {held or 'no files'}")
    if len(plays) > 1:
        raise IngestError(f"{archive}: the archive holds {len(plays)} plays files ({', '.join(m.name for m in plays)}); "
                          "extract the one to load and pass it")
    return plays[0], profiles[0] if len(profiles) == 1 else None


def extract_dump(archive: Path, folder: Path, *, with_profiles: bool = True) -> tuple[Path, Path | None]:
    """The plays file of ``archive`` (and its profiles file, when ``with_profiles`` and it has one), streamed into
    ``folder`` under their base names: ``(plays path, profiles path or None)``."""
    plays, profiles = dump_in_archive(archive)
    wanted = [plays] + ([profiles] if with_profiles and profiles is not None else [])
    out: list[Path] = []
    with _reading(archive), tarfile.open(archive) as tar:
        for member in wanted:
            target = folder / PurePosixPath(member.name).name
            source = tar.extractfile(member)
            if source is None:  # pragma: no cover - a regular-file member always has content
                raise IngestError(f"{archive}: {member.name} cannot be read from the archive")
            with source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
            out.append(target)
    return out[0], out[1] if len(out) > 1 else None
