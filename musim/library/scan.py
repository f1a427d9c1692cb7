"""Walking the paths given and examining each file once: content hash, checks, tags, artist, excerpt.

A zip archive found on the way is read as the folder it would extract into (:mod:`musim.library.zips`): each
of its members is a file, streamed into a scratch file while it is examined.

Nothing here touches the warehouse; :mod:`musim.library.add_files` decides each file's outcome with what the
warehouse already holds and records it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from musim.audio.formats import MIN_DURATION_S, rate_outside
from musim.errors import NotFoundError
from musim.filenames import is_text, refuse_empty
from musim.library.artists import ArtistFrom, Resolved, resolve_artist, title_of
from musim.library.formats import (
    AudioProbe,
    FileSkipped,
    chained,
    encode_excerpt,
    probe,
    read_excerpt,
    require_regular_file,
)
from musim.library.tags import Tags, read_tags
from musim.library.zips import extract_member, is_zip, members
from musim.scratch import temp_file


@dataclass(frozen=True)
class FoundFile:
    """A file to account for, and the folder it was found under (the root for folder rules).

    A member of a zip archive is ``path`` ``ARCHIVE/NAME`` with its ``archive`` and ``member`` index; ``skip``
    is set for an archive that cannot be listed (one skipped file).
    """

    path: Path
    root: Path
    archive: Path | None = None
    member: int | None = None
    skip: FileSkipped | None = None

    @property
    def rule_path(self) -> Path:
        """The path the folder rules read: a member's archive is the folder it would extract into (``Album.zip`` a
        folder ``Album``, ``Artist - Album.zip``, how shops name an album's download, a folder ``Artist - Album``,
        which the folder rules read as ``Artist/Album`` where no artist folder is above it)."""
        if self.archive is None:
            return self.path
        folder = self.archive.with_suffix("").name.strip() or self.archive.name
        return self.archive.parent / folder / self.path.relative_to(self.archive)


@dataclass
class Examined:
    """One examined file: usable (``skip is None``) with what to store, or skipped with a reason."""

    path: Path
    root: Path
    rule_path: Path | None = None  # what the folder rules read, when not ``path`` (a member of a zip)
    local: Path | None = None  # the scratch copy that is read, when not ``path`` (a member of a zip)
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
    reread: tuple[float, float] | None = None  # the window of a stored excerpt to read again (an older reader cut it)
    stale: bool = False  # ... cut by an older reader (not only missing from the store): a chained file's window is
    # chosen again
    recut: float | None = None  # ... the file's whole length, when its window was chosen again in it (a chained file)
    recorded: bool = False  # skipped as an earlier scan recorded it, not examined again
    stamp: tuple[int, int, int] | None = None  # size, mtime (ns) and inode the file had when hashed (not a zip member)

    @property
    def readable(self) -> Path:
        """The file to open."""
        return self.local or self.path


def find_files(paths: Iterable[str | os.PathLike], *, open_zips: bool = True,
               own: Iterable[str | os.PathLike] = ()) -> list[FoundFile]:
    """Every regular file under ``paths`` (files or folders, recursively, following links to folders: see
    :func:`_walk`), each once, sorted per root; with ``open_zips``, the members of each zip archive in place of the
    archive. ``own``: musim's own folders and files (its object store, scratch and published snapshots, the
    warehouse), not walked into from a folder given that holds them (``musim library add ~`` stored musim's own
    excerpts as tracks, more of them each run); a path given inside one is scanned.

    Raises
    ------
    NotFoundError
        When a path does not exist (nothing is scanned then).
    """
    found: dict[Path, FoundFile] = {}
    entries: set[str] = set()  # each file once, whatever link to its folder it was found through

    def keep(one: FoundFile) -> None:
        if (key := entry_key(one.path)) not in entries:
            entries.add(key)
            found.setdefault(one.path, one)

    paths = list(paths)
    refuse_empty(paths, "music files or folders to add")
    given = [Path(os.path.abspath(Path(raw).expanduser())) for raw in paths]  # ".." resolved by name: one path per file
    trees = [os.path.realpath(p) for p in given if p.is_dir()]
    mine = {os.path.realpath(p) for p in own}
    for raw, path in zip(paths, given, strict=True):
        if path.is_dir():
            for f, skip in sorted(_walk(path, trees, mine), key=lambda entry: entry[0]):
                for one in [FoundFile(f, path, skip=skip)] if skip else _expand(f, path, open_zips):
                    keep(one)
        elif path.exists() or path.is_symlink():
            for one in _expand(path, path.parent, open_zips):
                keep(one)
        else:
            raise NotFoundError(f"{raw}: no such file or folder; give music files or folders to add")
    return list(found.values())


def entry_key(path: str | os.PathLike) -> str:
    """The folder entry a path names: its folder with every link resolved, and its own name (a link to a file is an
    entry of its own; a zip member's path resolves through its archive's folder). Two paths of one key are one file
    found through a link to its folder (``music/`` and ``musiclink/``): the library knows it by the path it was
    stored from, and finds it again, already stored, through the other."""
    text = os.fspath(path)
    return os.path.join(os.path.realpath(os.path.dirname(text)), os.path.basename(text))


def _expand(path: Path, root: Path, open_zips: bool) -> list[FoundFile]:
    """The file, or the members of the zip archive it is."""
    if not (open_zips and is_zip(path)):
        return [FoundFile(path, root)]
    try:
        held = members(path)
    except FileSkipped as skip:
        return [FoundFile(path, root, skip=skip)]
    if not held:
        return [FoundFile(path, root, skip=FileSkipped("empty", "a zip archive with no files"))]
    return [FoundFile(path / name, root, archive=path, member=index) for index, name in held]


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _walk(root: Path, trees: list[str], own: set[str] = frozenset()) -> Iterator[tuple[Path, FileSkipped | None]]:
    """Every file under ``root`` (``(path, None)``), by the path it has there, and ``(path, skip)`` for what cannot be
    walked; not musim's own folders and files (``own``, real paths: see :func:`find_files`). A link to a folder is followed, each folder once: not a link into a folder given (``trees``: its files
    are found at their own path), nor a second link to a folder followed already; a link to a folder that holds a
    folder given (a loop) and a folder that cannot be listed are skipped ``unreadable``."""
    seen = {os.path.realpath(root)}
    errors: list[OSError] = []
    for folder, dirs, files in os.walk(root, followlinks=True, onerror=errors.append):
        yield from _unlisted(errors)
        kept = []
        for name in sorted(dirs):
            path = os.path.join(folder, name)
            real = os.path.realpath(path)
            if os.path.islink(path) and any(_inside(real, tree) for tree in trees):
                continue  # walked at its own path
            if real in seen or real in own:
                continue  # a folder walked already, through another link; or musim's own
            if os.path.islink(path) and any(_inside(tree, real) for tree in trees):
                yield Path(path), FileSkipped("unreadable", f"a link to {real}, a folder that holds the folder "
                                              "scanned (a loop): not followed; add the folders it holds by their own path")
                continue
            seen.add(real)
            kept.append(name)
        dirs[:] = kept
        for name in files:
            if not own or os.path.realpath(os.path.join(folder, name)) not in own:
                yield Path(folder) / name, None
    yield from _unlisted(errors)


def _unlisted(errors: list[OSError]) -> Iterator[tuple[Path, FileSkipped]]:
    """The folders ``os.walk`` could not list, as skipped entries (emptying ``errors``)."""
    while errors:
        exc = errors.pop(0)
        yield Path(exc.filename or "?"), FileSkipped("unreadable", f"a folder that cannot be listed "
                                                     f"({exc.strerror or exc}); its files were not scanned")


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


#: The scratch copies of zip members being read (``$MUSIM_TMP/library-member-<pid>-<random>``).
MEMBER_SCRATCH = "library-member-"


#: Why a file whose content changed between its hashing and its reading is skipped: what was read is not what was hashed
CHANGED = "it changed while it was read (still being copied or written?): add it again once it is written"


def _stamp(path: Path) -> tuple[int, int, int]:
    """What tells a file's content changed, without reading it: its size, modification time (ns) and inode (a file
    replaced by a rename)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise FileSkipped("unreadable", exc.strerror or str(exc)) from None
    return st.st_size, st.st_mtime_ns, st.st_ino


def hash_file(found: FoundFile, local: Path | None = None) -> Examined:
    """The first step for every file: its size and content hash (or why it cannot be read). A zip member is
    streamed into ``local`` on the way."""
    item = Examined(found.path, found.root, rule_path=found.rule_path if found.archive else None)
    try:
        if found.skip is not None:
            raise found.skip
        check_name(found.path)
        if found.member is None:
            item.bytes, item.sha256 = content_sha256(found.path)
            item.stamp = _stamp(found.path)
            if item.stamp[0] != item.bytes:  # written to while it was hashed
                raise FileSkipped("unreadable", CHANGED)
        else:
            assert found.archive is not None and local is not None
            item.local = local
            item.bytes, item.sha256 = extract_member(found.archive, found.member, local)
    except FileSkipped as skip:
        item.skip = skip
    return item


def hashed(found: FoundFile, tmp_dir: Path) -> Examined:
    """:func:`hash_file`, a zip member streamed through a scratch file in ``tmp_dir`` (removed after)."""
    if found.member is None:
        return hash_file(found)
    with temp_file(tmp_dir, MEMBER_SCRATCH) as local:
        item = hash_file(found, local)
    item.local = None
    return item


def examine(item: Examined, *, excerpt_s: float, anchor: str | float, artist_from: ArtistFrom = "auto",
            keep_whole: bool = False, min_seconds: float = MIN_DURATION_S) -> Examined:
    """Check the file, read its tags and artist, pick and read its analysis window (by seeking).

    Fills ``item`` in place and returns it; a file that fails a check gets ``item.skip``. With ``item.reread`` (the
    ``(offset, duration)`` of an excerpt stored before), that window is read again and stored as an excerpt, whatever
    ``excerpt_s``, ``anchor`` and ``keep_whole`` say; in a chained file (streams one after the other) whose stored
    window an older reader chose in the first stream's length (``item.stale``) the window is chosen again in the whole length, by
    ``excerpt_s`` and ``anchor`` as a new file's (``item.recut``: that length).
    """
    from musim.audio.excerpt import excerpt_window

    try:
        if item.local is not None and is_zip(item.local):
            raise FileSkipped("not_audio", "a zip archive inside a zip archive; extract it and add its folder")
        info = probe(item.readable, min_seconds=0.0 if item.reread else min_seconds)  # a stored file was long enough
        if (outside := rate_outside(info.sample_rate)) is not None:  # the one range, as acquisition's
            raise FileSkipped("sample_rate_out_of_range", outside)  # it decodes: its rate is what musim refuses
        if item.reread is not None and not (item.stale and chained(item.readable) and not info.first_part_only):
            # the stored window, read again (a chained file read from its first part only: its window is there)
            (offset, length), keep_whole = item.reread, False
            samples = read_excerpt(item.readable, info, offset_s=offset, duration_s=length)
        else:  # a new file's window; or a chained file's, whose stored window an older reader chose in its first stream
            if item.reread is not None:
                keep_whole, item.recut = False, info.duration_s
            window = excerpt_window(info.duration_s, length_s=excerpt_s, anchor=anchor)  # type: ignore[arg-type]
            offset, length, samples = _audible_window(item.readable, info, window, excerpt_s)
        if keep_whole:
            item.payload, item.stored_format = item.readable.read_bytes(), info.format
        else:
            item.payload, item.stored_format = encode_excerpt(samples, info.sample_rate)
    except FileSkipped as skip:
        item.skip = skip
        return item
    except OSError as exc:
        item.skip = FileSkipped("unreadable", exc.strerror or str(exc))
        return item
    item.info, item.window = info, (offset, length)
    item.tags = read_tags(info.mutagen)
    item.artist = resolve_artist(item.tags, item.rule_path or item.path, item.root, artist_from=artist_from)
    item.title = title_of(item.tags, item.path)
    return item


#: Where a window is taken next when the one the anchor chose is silent (a hidden track after minutes of silence, a
#: long silent intro or outro): the start, then the end of the file. A file is skipped ``silent`` when all are.
FALLBACK_ANCHORS = ("start", "end")


def _audible_window(path: Path, info: AudioProbe, window: tuple[float, float], excerpt_s: float
                    ) -> tuple[float, float, Any]:
    """``(offset, length, samples)`` of ``window``, or, where it is silent, of the first window at one of
    :data:`FALLBACK_ANCHORS` that is not. Raises :class:`FileSkipped` (``silent`` when every window tried is, naming
    them)."""
    from musim.audio.excerpt import excerpt_window

    tried: list[tuple[float, float]] = []
    for offset, length in [window, *(excerpt_window(info.duration_s, length_s=excerpt_s, anchor=a)  # type: ignore[arg-type]
                                     for a in FALLBACK_ANCHORS)]:
        if (offset, length) in tried:
            continue
        try:
            return offset, length, read_excerpt(path, info, offset_s=offset, duration_s=length)
        except FileSkipped as skip:
            if skip.reason != "silent":
                raise
            silent = skip
        tried.append((offset, length))
    if len(tried) == 1:  # the whole file, or no other window
        raise silent
    where = ", ".join(f"{o:g}-{o + n:g} s" for o, n in tried)
    raise FileSkipped("silent", f"{silent.detail} in every window tried ({where})")


def examine_found(job: tuple[FoundFile, Examined], *, tmp_dir: Path, **options: Any) -> Examined:
    """:func:`examine` of a hashed file, where it may run in a worker process: a zip member is streamed again into
    a scratch file in ``tmp_dir`` for it; the result comes back without the tag library's object (read already,
    and not picklable)."""
    found, item = job
    if found.member is None:
        examine(item, **options)
        try:  # what was read must be what was hashed: a file overwritten meanwhile is not its track
            if item.skip is None and item.stamp is not None and _stamp(item.path) != item.stamp:
                raise FileSkipped("unreadable", CHANGED)
        except FileSkipped as skip:
            item.skip, item.payload = skip, b""
    else:
        assert found.archive is not None
        suffix = re.sub(r"[^.A-Za-z0-9]", "", found.path.suffix)[:10]
        with temp_file(tmp_dir, MEMBER_SCRATCH, suffix) as local:
            try:
                extract_member(found.archive, found.member, local)
            except FileSkipped as skip:  # the archive changed since it was hashed
                item.skip = skip
                return item
            item.local = local
            examine(item, **options)
            item.local = None
    if item.info is not None:
        item.info = dataclasses.replace(item.info, mutagen=None)
    return item
