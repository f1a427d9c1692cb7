"""Albums as they are downloaded: a zip archive (Bandcamp, the Free Music Archive, Jamendo) is read as the
folder it would extract into.

Each regular member of a zip is a file of its own, named ``ALBUM.zip/MEMBER`` (its source path), and the folder
rules for artists read the archive as a folder named like it without ``.zip`` (an archive named ``Artist -
Album.zip``, as shops name an album's download, is a folder ``Artist - Album``, which they read as ``Artist/Album``
where no artist folder is above it; ``Album.zip/Album/01.flac`` is ``Album/01.flac``). A member is streamed into a
scratch file under ``$MUSIM_TMP`` only while it is examined; its name never chooses where anything is written.

What a member cannot be is skipped with the library's words (:data:`musim.library.formats.SKIP_REASONS`):
``unreadable`` for an encrypted member, a damaged one (bad CRC), a compression method Python cannot read, a link,
a name that leaves the archive (absolute or ``..``), one that would expand past :data:`MAX_MEMBER_BYTES` or
compresses far better than audio does (:data:`MAX_RATIO`, what a zip bomb does); ``not_audio`` for an archive
inside the archive. A damaged archive is one ``unreadable`` file. Tar archives are not read (music is not
distributed in them): they are ``not_audio``, like any other file that is not audio.
"""

from __future__ import annotations

import hashlib
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from musim.library.formats import ZIP_MAGIC, FileSkipped

#: No member expands past this (a whole WAV album in one file is under 1 GiB).
MAX_MEMBER_BYTES = 4 << 30
#: Audio compresses at most a few times (a WAV of quiet music); a member that expands more than this many
#: times its stored size is not music.
MAX_RATIO = 100
_SLACK_BYTES = 1 << 20  # small members (tags, text) may compress well


def is_zip(path: Path) -> bool:
    """Whether the regular file at ``path`` starts like a zip archive (by content, never by name)."""
    try:
        if not path.is_file():  # a named pipe is never opened: it would wait for a writer
            return False
        with open(path, "rb") as fh:
            return fh.read(4) in ZIP_MAGIC
    except OSError:
        return False


def members(archive: Path) -> list[tuple[int, str]]:
    """``(index, name)`` of each member that is not a folder, in archive order: its place in the archive's directory
    and its name under the archive (``\\`` from Windows read as ``/``, a leading ``/`` and ``.`` parts dropped,
    ``..`` kept so that a refused name shows as it is). Every member has its own name: a name met before (an archive
    may hold one name twice) is followed by `` (member N)``.

    Raises :class:`FileSkipped` ``unreadable`` for a damaged archive (it is then one skipped file).
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise FileSkipped("unreadable", f"a damaged zip archive ({exc}); download it again or check it with "
                          "unzip -t") from None
    out: list[tuple[int, str]] = []
    seen: set[str] = set()
    for i, info in enumerate(infos):
        if info.is_dir():
            continue
        parts = [p for p in info.filename.replace("\\", "/").split("/") if p not in ("", ".")]
        name = "/".join(parts) or "_"
        if name in seen:
            name = f"{name} (member {i + 1})"
        seen.add(name)
        out.append((i, name))
    return out


def _check(info: zipfile.ZipInfo) -> None:
    parts = PurePosixPath(info.filename.replace("\\", "/")).parts
    if info.filename.startswith(("/", "\\")) or ".." in parts or (parts and parts[0].endswith(":")):
        raise FileSkipped("unreadable", "its name in the archive leaves the archive (absolute or ..); extract the "
                          "archive with a tool you trust and add the folder")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise FileSkipped("unreadable", "a link inside the archive, not a file")
    if info.flag_bits & 0x1:
        raise FileSkipped("unreadable", "encrypted in the archive; extract it with its password and add the file")
    if info.file_size > MAX_MEMBER_BYTES:
        raise FileSkipped("unreadable", f"{info.file_size / (1 << 30):.1f} GiB once extracted, more than "
                          f"{MAX_MEMBER_BYTES >> 30} GiB; extract it and add the file")
    if info.file_size > MAX_RATIO * info.compress_size + _SLACK_BYTES:
        raise FileSkipped("unreadable", f"expands {info.file_size // max(info.compress_size, 1)} times its stored "
                          "size, which audio never does (a zip bomb?); not extracted")
    if info.file_size == 0:
        raise FileSkipped("empty", "0 bytes in the archive")


def extract_member(archive: Path, member: int, target: Path) -> tuple[int, str]:
    """Stream member ``member`` (its index, see :func:`members`) of ``archive`` into ``target``; return its size
    and content sha256.

    Raises :class:`FileSkipped` for what :func:`_check` refuses and for a member that does not read back
    (encrypted, damaged, an unsupported compression method).
    """
    digest = hashlib.sha256()
    size = 0
    try:
        with zipfile.ZipFile(archive) as zf:
            info = zf.infolist()[member]
            _check(info)
            with zf.open(info) as source, open(target, "wb") as sink:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    size += len(chunk)
                    sink.write(chunk)
    except FileSkipped:
        raise
    except NotImplementedError as exc:  # deflate64 (Windows' zips of large files), ...
        raise FileSkipped("unreadable", f"{exc} in Python's zip reader; extract it with 7z or unzip and add the "
                          "file") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, IndexError) as exc:
        raise FileSkipped("unreadable", f"damaged in the archive ({exc}); download it again or check it with "
                          "unzip -t") from None
    except OSError as exc:
        raise FileSkipped("unreadable", exc.strerror or str(exc)) from None
    return size, digest.hexdigest()


def holds(source_path: str, listed: dict[Path, set[str]] | None = None) -> bool:
    """Whether a library source path still names something: a file, or a member of a zip archive that is there
    (``listed``: the member names of the archives read so far, to read each once over many paths)."""
    path = Path(source_path)
    if path.exists():
        return True
    for archive in path.parents:
        if archive.is_file():
            if not is_zip(archive):
                return False
            if listed is None or archive not in listed:
                try:
                    names = {name for _, name in members(archive)}
                except FileSkipped:
                    names = set()
                if listed is None:
                    return path.relative_to(archive).as_posix() in names
                listed[archive] = names
            return path.relative_to(archive).as_posix() in listed[archive]
    return False

