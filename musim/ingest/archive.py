"""Last.FM dumps as they are distributed: a tar archive (``lastfm-dataset-360K.tar.gz``, ``lastfm-dataset-1K.tar.gz``)
holding the plays or events file, its profiles file and a README.

:func:`extract_dump` finds the two files among the archive's members (by the names of :data:`PLAYS_PATTERNS`
and :data:`PROFILE_PATTERNS`, in any folder of the archive) and streams them into a scratch folder under their
own names (the format is told by the name), so the ingest reads them as it reads files given alone. Only
regular-file members are read, and each is written under its base name in a folder of its own inside the
scratch folder: a member's path never chooses where anything is written.
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


def _named(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(PurePosixPath(name).name, pattern) for pattern in patterns)


def extract_dump(archive: Path, folder: Path, *, with_profiles: bool = True) -> tuple[Path, Path | None]:
    """The plays (or 1K events) file of ``archive`` and its profiles file (when ``with_profiles`` and it has
    exactly one), streamed into ``folder`` under their base names in one pass over the archive (a compressed
    archive is decompressed once): ``(plays path, profiles path or None)``."""
    plays: list[tuple[str, Path]] = []
    profiles: list[Path] = []
    held: list[str] = []
    with _reading(archive), tarfile.open(archive, "r|*") as tar:  # a stream: members in archive order
        for member in tar:
            if not member.isfile():
                continue
            held.append(member.name)
            is_plays = _named(member.name, PLAYS_PATTERNS)
            if not is_plays and not (with_profiles and _named(member.name, PROFILE_PATTERNS)):
                continue
            target = folder / str(len(held)) / PurePosixPath(member.name).name  # its own folder: names may repeat
            target.parent.mkdir()
            source = tar.extractfile(member)
            if source is None:  # pragma: no cover - a regular-file member always has content
                raise IngestError(f"{archive}: {member.name} cannot be read from the archive")
            with source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
            if is_plays:
                plays.append((member.name, target))
            else:
                profiles.append(target)
    if not plays:
        listed = ", ".join(held[:10]) + (", ..." if len(held) > 10 else "")
        raise IngestError(f"{archive}: no Last.FM plays file in the archive (usersha1-artmbid-artname-plays.tsv, or "
                          f"the 1K userid-timestamp-artid-artname-traid-traname.tsv); it holds {listed or 'no files'}")
    if len(plays) > 1:
        raise IngestError(f"{archive}: the archive holds {len(plays)} plays files ({', '.join(n for n, _ in plays)}); "
                          "extract the one to load and pass it")
    return plays[0][1], profiles[0] if len(profiles) == 1 else None
