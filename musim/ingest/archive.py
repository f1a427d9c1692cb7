"""Last.FM dumps as they are distributed: a tar archive (``lastfm-dataset-360K.tar.gz``, ``lastfm-dataset-1K.tar.gz``)
holding the plays or events file, its profiles file and a README, or a zip archive of the same (what dataset
mirrors such as Kaggle serve).

:func:`extract_dump` finds the two files among the archive's members (by the names of :data:`PLAYS_PATTERNS`
and :data:`PROFILE_PATTERNS`, in any folder of the archive) and streams them into a scratch folder under their
own names (the format is told by the name), so the ingest reads them as it reads files given alone. Only
regular-file members are read (hidden ones aside: the ``._X`` and ``__MACOSX/`` members an archive made on macOS
holds beside each file, :func:`musim.ingest.dump_files.hidden`), and each is written under its base name in a folder of its own inside the
scratch folder: a member's path never chooses where anything is written.
"""

from __future__ import annotations

import fnmatch
import gzip
import lzma
import shutil
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO

from musim.errors import IngestError
from musim.ingest.dump_files import PLAYS_PATTERNS, PROFILE_PATTERNS, hidden, several_profiles, writing_into

#: File names of the archives a dump is distributed in.
ARCHIVE_PATTERNS = ("*.tar", "*.tar.gz", "*.tgz", "*.tar.bz2", "*.tar.xz", "*.zip")


#: An archive whose members extracted come to more than this many times its own size (and more than
#: :data:`BOMB_FLOOR_BYTES`) is refused as a decompression bomb: a dump's text compresses some 3 to 10 times, while
#: a bomb (a megabyte of deflate, or a sparse tar member) expands a thousand times or more, and filled the disk.
BOMB_RATIO = 100
BOMB_FLOOR_BYTES = 1 << 30


def is_archive(path: str | Path) -> bool:
    """``path`` is named like a tar or zip archive (:data:`ARCHIVE_PATTERNS`)."""
    name = Path(path).name.lower()
    return any(fnmatch.fnmatch(name, pattern) for pattern in ARCHIVE_PATTERNS)


@contextmanager
def _reading(archive: Path) -> Iterator[None]:
    """What reading a damaged archive raises, as one :class:`IngestError` naming it."""
    try:
        yield
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, gzip.BadGzipFile, zlib.error, lzma.LZMAError) as exc:
        zipped = archive.name.lower().endswith(".zip")
        why = ("not a tar archive, or a damaged one" if isinstance(exc, tarfile.ReadError)
               else "not a zip archive, or a damaged one" if isinstance(exc, zipfile.BadZipFile) and zipped else str(exc))
        raise IngestError(f"{archive}: the archive is truncated or corrupt ({why}); nothing was stored. Download it "
                          f"again (or check it with {'unzip -t' if zipped else 'tar tf'}).") from None
    except NotImplementedError as exc:  # a zip compression Python cannot read (deflate64)
        raise IngestError(f"{archive}: {exc}; extract it with 7z or unzip and pass the folder") from None


def _named(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(PurePosixPath(name).name, pattern) for pattern in patterns)


def extract_dump(archive: Path, folder: Path, *, with_profiles: bool = True,
                 members: dict[Path, str] | None = None) -> tuple[Path, Path | None]:
    """The plays (or 1K events) file of ``archive`` and its profiles file (when ``with_profiles``; an
    :class:`IngestError` when it holds several), streamed into ``folder`` under their base names in one pass over the archive (a compressed
    archive is decompressed once): ``(plays path, profiles path or None)``. ``members``, when given, gets each
    extracted file's member name in the archive (so that an error about it names the member, not the scratch copy)."""
    plays: list[tuple[str, Path]] = []
    profiles: list[Path] = []
    held: list[str] = []
    room = [max(BOMB_FLOOR_BYTES, BOMB_RATIO * archive.stat().st_size)]  # bytes left to extract, all members
    with _reading(archive):
        for name, source in _members(archive):
            if hidden(name):  # macOS's ._X beside each file X, __MACOSX/: no dump's file
                continue
            held.append(name)
            is_plays = _named(name, PLAYS_PATTERNS)
            if not is_plays and not (with_profiles and _named(name, PROFILE_PATTERNS)):
                continue
            target = folder / str(len(held)) / PurePosixPath(name).name  # its own folder: names may repeat
            target.parent.mkdir()
            with writing_into(folder.parent, f"{name} extracted from {archive.name}"), source() as stream, \
                    open(target, "wb") as sink:
                shutil.copyfileobj(_Within(stream, room, archive, name), sink, 1 << 20)
            if members is not None:
                members[target] = name
            if is_plays:
                plays.append((name, target))
            else:
                profiles.append(target)
    if not plays:
        listed = ", ".join(held[:10]) + (", ..." if len(held) > 10 else "")
        raise IngestError(f"{archive}: no Last.FM plays file in the archive (usersha1-artmbid-artname-plays.tsv, or "
                          f"the 1K userid-timestamp-artid-artname-traid-traname.tsv); it holds {listed or 'no files'}")
    if len(plays) > 1:
        raise IngestError(f"{archive}: the archive holds {len(plays)} plays files ({', '.join(n for n, _ in plays)}); "
                          "extract the one to load and pass it")
    if len(profiles) > 1:
        raise IngestError(several_profiles(archive, [p.name for p in profiles]))
    return plays[0][1], profiles[0] if profiles else None


class _Within:
    """A member's stream that raises an :class:`IngestError` once the archive's extracted bytes pass its
    allowance, ``room[0]`` (the bytes it may still extract, taken down as they are read: :data:`BOMB_RATIO`)."""

    def __init__(self, stream: IO[bytes], room: list[int], archive: Path, name: str) -> None:
        self.stream, self.room, self.archive, self.name = stream, room, archive, name

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.room[0] -= len(chunk)
        if self.room[0] < 0:
            limit = max(BOMB_FLOOR_BYTES, BOMB_RATIO * self.archive.stat().st_size)
            raise IngestError(f"{self.archive}: {self.name} decompresses to more than {limit:,} bytes, over "
                              f"{BOMB_RATIO} times the archive's size (a decompression bomb?); nothing was stored. "
                              "If it is a real dump, extract it yourself and pass the file")
        return chunk


def _members(archive: Path) -> Iterable[tuple[str, Callable[[], IO[bytes]]]]:
    """The archive's regular-file members in archive order: ``(name, open it)``; a tar archive is read as a stream
    (a compressed one is decompressed once)."""
    if zipfile.is_zipfile(archive) or archive.name.lower().endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    yield info.filename, lambda info=info: _opened(zf, info, archive)
        return
    with tarfile.open(archive, "r|*") as tar:
        for member in tar:
            if member.isfile():
                yield member.name, lambda member=member: _extracted(tar, member)
        # tarfile ends quietly where the data ends between members (or inside a header): a .tar cut short, or still
        # being copied, was read as the members before the cut (its profiles file missing, unsaid). The end of a
        # whole archive is a block of zeros, read past the last member's end (``offset``)
        if tar.fileobj.tell() < tar.offset + tarfile.BLOCKSIZE:
            raise tarfile.ReadError("unexpected end of data: no end-of-archive block after the last member")


def _extracted(tar: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    source = tar.extractfile(member)
    if source is None:  # pragma: no cover - a regular-file member always has content
        raise IngestError(f"{member.name} cannot be read from the archive")
    return source


def _opened(zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive: Path) -> IO[bytes]:
    if info.flag_bits & 0x1:
        raise IngestError(f"{archive}: {info.filename} is encrypted in the archive; extract it with its password and "
                          "pass the file")
    return zf.open(info)
