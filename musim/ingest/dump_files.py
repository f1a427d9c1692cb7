"""A dump's files: which names are a Last.FM dump's plays, events and profiles files, finding them in a folder (hidden
files and macOS's AppleDouble copies aside), and checking a file given as a dump before anything reads it."""

from __future__ import annotations

import errno
import gzip
import hashlib
import os
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from musim.errors import IngestError
from musim.filenames import is_text, path_text

#: The file names of a Last.FM dump (plays or events, profiles), as they come; plain or gzipped.
PLAYS_PATTERNS = ("*artmbid-artname-plays.tsv", "*artmbid-artname-plays.tsv.gz",
                  "*timestamp-artid-artname-traid-traname.tsv", "*timestamp-artid-artname-traid-traname.tsv.gz")
PROFILE_PATTERNS = ("*profile.tsv", "*profile.tsv.gz")
_EXAMPLE = {"plays": "usersha1-artmbid-artname-plays.tsv[.gz] or the 1K userid-timestamp-artid-artname-traid-"
                     "traname.tsv[.gz]", "profiles": "usersha1-profile.tsv[.gz]"}


def hidden(name: str) -> bool:
    """``name`` (a file name, an archive member's path, or a path under the landing folder) is no dump file whatever
    it is called: a hidden file (macOS's AppleDouble ``._usersha1-artmbid-artname-plays.tsv`` beside each file it
    copies or tars, a partial upload), a file in a hidden folder (a desktop's ``.Trash-1000/``, a filer's
    ``.snapshot/``, an uploader's ``.partial/``), or under the ``__MACOSX/`` folder that a zip made on macOS holds."""
    return any((part.startswith(".") and part not in (".", "..")) or part == "__MACOSX"
               for part in PurePosixPath(name).parts)


def files_named(folder: Path, patterns: tuple[str, ...]) -> list[Path]:
    """The regular files directly in ``folder`` whose names match ``patterns``, sorted (hidden files aside:
    :func:`hidden`)."""
    return sorted({p for pattern in patterns for p in folder.glob(pattern) if p.is_file() and not hidden(p.name)})


def content_sha256(path: str | Path) -> str:
    """The sha256 of ``path``'s decompressed content (plain or gzip): the dump id of a plays file, the
    ``profiles_sha256`` of a profiles file, as :func:`read_blocks` hashes them."""
    with reading(path), open_dump(path) as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _one_file(paths: list[Path]) -> tuple[list[Path], list[tuple[Path, Path]]]:
    """``paths`` (sorted) with each ``X.tsv.gz`` beside its ``X.tsv`` left out when it is a ``gzip -k`` (or
    ``gunzip -k``) copy, the same content, read once (the plain one); and the pairs ``(X.tsv, X.tsv.gz)`` whose
    content differs (both kept: two files). Each file is hashed only when its name has a twin."""
    by_name = {p.name: p for p in paths}
    kept: list[Path] = []
    differ: list[tuple[Path, Path]] = []
    for p in paths:
        plain = by_name.get(p.name.removesuffix(".gz")) if p.name.endswith(".gz") else None
        if plain is not None:
            if content_sha256(plain) == content_sha256(p):
                continue
            differ.append((plain, p))
        kept.append(p)
    return kept, differ


def _differ(pairs: list[tuple[Path, Path]]) -> str:
    return "; ".join(f"{a.name} and {b.name} have different content (not a gzip -k copy)" for a, b in pairs)


def dump_in_folder(folder: Path, *, with_profiles: bool = True) -> tuple[Path, Path | None]:
    """An unpacked dump: the one plays (or 1K events) file in ``folder`` and, ``with_profiles``, its profiles file
    (``None`` when it holds none); an :class:`IngestError` naming what it holds when it is not one dump, or holds
    several profiles files. ``X.tsv`` beside ``X.tsv.gz`` is one file when their (decompressed) content is the same,
    as in the landing scan; else two."""
    _refuse_no_files(folder, PLAYS_PATTERNS, "plays")
    if with_profiles:
        _refuse_no_files(folder, PROFILE_PATTERNS, "profiles")
    plays, differ = _one_file(files_named(folder, PLAYS_PATTERNS))
    if not plays:
        from musim.ingest.archive import ARCHIVE_PATTERNS

        archives = [p.name for p in files_named(folder, ARCHIVE_PATTERNS)]
        if archives:  # the folder a dump was downloaded into
            raise IngestError(f"{folder} is a directory holding no plays file but {len(archives)} archive"
                              f"{'s' if len(archives) > 1 else ''} ({', '.join(archives)}): pass the archive to load, "
                              f"e.g. musim ingest lastfm {folder / archives[0]}")
    if len(plays) != 1:
        held = ", ".join(p.name for p in plays) if plays else "no plays file"
        why = f" ({_differ(differ)})" if differ else ""
        raise IngestError(f"{folder} is a directory holding {held}{why}: pass the dump file itself, with its profiles "
                          f"file if it has one: musim ingest lastfm PLAYS --profiles PROFILES ({_EXAMPLE['plays']})")
    profiles, differ = _one_file(files_named(folder, PROFILE_PATTERNS)) if with_profiles else ([], [])
    if len(profiles) > 1:
        raise IngestError(several_profiles(folder, [p.name for p in profiles], _differ(differ)))
    return plays[0], profiles[0] if profiles else None


def _refuse_no_files(folder: Path, patterns: tuple[str, ...], role: str) -> None:
    """An :class:`IngestError` (:func:`check_input`'s) for an entry of ``folder`` named as a dump's plays or profiles
    file that is no regular file (a FIFO, a folder, a broken link): such a profiles file was passed over, and the
    dump ingested without its profiles, nothing said."""
    for path in sorted({p for pattern in patterns for p in folder.glob(pattern) if not hidden(p.name)}):
        if not path.is_file():
            check_input(path, role)


def several_profiles(where: Path, names: list[str], why: str = "") -> str:
    """The error for a folder or archive holding more than one profiles file (``why``: what else to say of them)."""
    why = f"; {why}" if why else ""
    return (f"{where} holds {len(names)} profiles files ({', '.join(names)}{why}): nothing was stored. Pass the plays "
            "file with the one to load: musim ingest lastfm PLAYS --profiles PROFILES")


def check_input(path: str | Path, role: str = "plays") -> Path:
    """``path`` if it is a readable file; else an :class:`IngestError` saying what is wrong with it and what to
    pass instead (``role``: ``plays`` for the dump file, ``profiles`` for its profiles file)."""
    path = Path(path)
    what = "the profiles file (--profiles)" if role == "profiles" else "the dump file"
    if path.is_dir():
        found = [p.name for p in files_named(path, PROFILE_PATTERNS if role == "profiles" else PLAYS_PATTERNS)]
        inside = f"; it holds {', '.join(found)}" if found else ""
        raise IngestError(f"{path} is a directory: pass {what} itself ({_EXAMPLE[role]}){inside}")
    if not path.exists():
        raise IngestError(f"{path}: no such file; give the path of {what} ({_EXAMPLE[role]})")
    if not path.is_file():
        raise IngestError(f"{path}: not a regular file; give the path of {what} ({_EXAMPLE[role]})")
    if not is_text(path):
        raise IngestError(f"{path_text(path)}: the path is not valid UTF-8 (a legacy encoding such as Latin-1?), and "
                          "the warehouse records it as text; rename it, e.g. `convmv -f latin1 -t utf-8 FILE`")
    with reading(path):  # opened once: a file this user may not read is refused here, in one line
        path.open("rb").close()
    return path


@contextmanager
def reading(path: str | Path) -> Iterator[None]:
    """Turns what reading ``path`` can raise (a truncated or corrupt gzip stream, a read error) into one
    :class:`IngestError` line naming the file and what to do."""
    try:
        yield
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise IngestError(f"{path}: the gzip stream is truncated or corrupt ({exc}); nothing was stored. "
                          "Download the file again (or gunzip -t it to check).") from exc
    except PermissionError as exc:
        raise IngestError(f"{path}: cannot be read ({exc.strerror}); make it readable by this user") from exc
    except IsADirectoryError as exc:
        raise IngestError(f"{path} is a directory: pass the dump file itself ({_EXAMPLE['plays']})") from exc
    except OSError as exc:
        if exc.errno is None or exc.errno in NO_ROOM:  # a copy's write (no read fails so): :func:`writing_into`
            raise
        raise IngestError(f"{path}: cannot be read ({os.strerror(exc.errno)}); nothing was stored") from exc


#: The errors of a write to a full disk (or a user's full quota).
NO_ROOM = (errno.ENOSPC, errno.EDQUOT)


@contextmanager
def writing_into(folder: Path, what: str) -> Iterator[None]:
    """Turns a full disk while writing ``what`` into ``folder`` (the ingest's scratch folder, under ``$MUSIM_TMP``)
    into one :class:`IngestError` line naming the folder and what to do."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in NO_ROOM:
            raise
        raise IngestError(f"no space left in {folder} for {what} ({os.strerror(exc.errno)}); nothing was stored. "
                          "Free space there, or set MUSIM_TMP to a folder with room for it") from exc


#: Compressions a dump file may come in that neither the pre-scan nor DuckDB's reader decompress: their magic
#: bytes, their name and the command that decompresses them.
#: (bzip2: ``BZh``, the block size digit, then a block's or the stream end's magic, so a text line starting ``BZh``
#: is not taken for one.)
OTHER_COMPRESSIONS = ((re.compile(rb"BZh[1-9](\x31\x41\x59\x26\x53\x59|\x17\x72\x45\x38\x50\x90)"), "bzip2", "bunzip2"),
                      (re.compile(rb"\xfd7zXZ\x00"), "xz", "unxz"), (re.compile(rb"\x28\xb5\x2f\xfd"), "zstd", "unzstd"))


def is_gzip(path: str | Path) -> bool:
    """Whether the dump file at ``path`` is gzip-compressed (by its magic bytes, whatever its name); an
    :class:`IngestError` saying how to decompress it when it is bzip2, xz or zstd-compressed."""
    path = check_input(path)
    with reading(path), open(path, "rb") as fh:
        head = fh.read(10)
    for magic, name, command in OTHER_COMPRESSIONS:
        if magic.match(head):
            raise IngestError(f"{path} is {name}-compressed: decompress it ({command} {path}) or recompress it "
                              "with gzip; nothing was stored")
    return head[:2] == b"\x1f\x8b"


def open_dump(path: str | Path) -> BinaryIO:
    """Open a dump file for reading bytes, transparently gunzipping ``.gz``."""
    if is_gzip(path):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")
