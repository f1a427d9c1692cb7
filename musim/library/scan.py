"""Walking the paths given and examining each file once: content hash, checks, tags, artist, excerpt.

Nothing here touches the warehouse; :mod:`musim.library.add_files` decides each file's outcome with what the
warehouse already holds and records it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from musim.errors import NotFoundError
from musim.filenames import is_text
from musim.library.artists import ArtistFrom, Resolved, resolve_artist, title_of
from musim.library.formats import (
    AudioProbe,
    FileSkipped,
    encode_flac,
    probe,
    read_excerpt,
    require_regular_file,
)
from musim.library.tags import Tags, read_tags


@dataclass(frozen=True)
class FoundFile:
    """A file to account for, and the folder it was found under (the root for folder rules)."""

    path: Path
    root: Path


@dataclass
class Examined:
    """One examined file: usable (``skip is None``) with what to store, or skipped with a reason."""

    path: Path
    root: Path
    bytes: int = 0
    sha256: str | None = None
    skip: FileSkipped | None = None
    info: AudioProbe | None = None
    tags: Tags = field(default_factory=Tags)
    artist: Resolved | None = None
    title: str = ""
    window: tuple[float, float] = (0.0, 0.0)
    payload: bytes = field(default=b"", repr=False)  # what is stored: the FLAC excerpt or the whole file
    stored_format: str = ""


def find_files(paths: Iterable[str | os.PathLike]) -> list[FoundFile]:
    """Every regular file under ``paths`` (files or folders, recursively), each once, sorted per root.

    Raises
    ------
    NotFoundError
        When a path does not exist (nothing is scanned then).
    """
    found: dict[Path, FoundFile] = {}
    for raw in paths:
        path = Path(raw).expanduser().absolute()
        if path.is_dir():
            for f in sorted(_walk(path)):
                found.setdefault(f, FoundFile(f, path))
        elif path.exists() or path.is_symlink():
            found.setdefault(path, FoundFile(path, path.parent))
        else:
            raise NotFoundError(f"{raw}: no such file or folder; give music files or folders to add")
    return list(found.values())


def _walk(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for name in files:
            yield Path(folder) / name


def check_name(path: Path) -> None:
    """Raise :class:`FileSkipped` ``unreadable`` when the path is not valid UTF-8 (artist and title names are
    taken from it, and it is stored as text)."""
    if not is_text(path):
        raise FileSkipped("unreadable", "name not UTF-8; rename it: convmv -f latin1 -t utf-8 FILE")


def content_sha256(path: Path) -> tuple[int, str]:
    """Size and sha256 of a file, read in chunks. Raises FileSkipped ``unreadable``/``empty``."""
    digest = hashlib.sha256()
    size = 0
    require_regular_file(path)
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise FileSkipped("unreadable", exc.strerror or str(exc)) from None
    if size == 0:
        raise FileSkipped("empty", "0 bytes")
    return size, digest.hexdigest()


def hash_file(found: FoundFile) -> Examined:
    """The first step for every file: its size and content hash (or why it cannot be read)."""
    item = Examined(found.path, found.root)
    try:
        check_name(found.path)
        item.bytes, item.sha256 = content_sha256(found.path)
    except FileSkipped as skip:
        item.skip = skip
    return item


def examine(item: Examined, *, excerpt_s: float, anchor: str | float, artist_from: ArtistFrom = "auto",
            keep_whole: bool = False, min_seconds: float = 5.0) -> Examined:
    """Check the file, read its tags and artist, pick and read its analysis window (by seeking).

    Fills ``item`` in place and returns it; a file that fails a check gets ``item.skip``.
    """
    from musim.audio.excerpt import excerpt_window

    try:
        info = probe(item.path, min_seconds=min_seconds)
        offset, length = excerpt_window(info.duration_s, length_s=excerpt_s, anchor=anchor)  # type: ignore[arg-type]
        samples = read_excerpt(item.path, info, offset_s=offset, duration_s=length)
        if keep_whole:
            item.payload, item.stored_format = item.path.read_bytes(), info.format
        else:
            item.payload, item.stored_format = encode_flac(samples, info.sample_rate), "flac"
    except FileSkipped as skip:
        item.skip = skip
        return item
    except OSError as exc:
        item.skip = FileSkipped("unreadable", exc.strerror or str(exc))
        return item
    item.info, item.window = info, (offset, length)
    item.tags = read_tags(info.mutagen)
    item.artist = resolve_artist(item.tags, item.path, item.root, artist_from=artist_from)
    item.title = title_of(item.tags, item.path)
    return item
