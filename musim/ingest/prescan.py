"""One streaming pass over a dump file before DuckDB reads it.

DuckDB's CSV reader is fast but counts lines its own way: it splits on a lone carriage return, skips
blank lines and refuses invalid UTF-8. So that every physical line ('\\n'-separated) keeps its number and
ends up loaded or rejected, this pass

- hashes the content (sha256 of the decompressed bytes: the dump id) and counts lines and bytes;
- finds the few *irregular* lines: empty lines and lines with invalid UTF-8 (rejected here, with their
  line number and raw text), and lines with a lone carriage return (kept: the CR becomes a space);
- writes the content as *parts* of whole lines (``part_bytes`` each), with each irregular line still taking
  exactly one line (rejected ones become a marker line the SQL skips). Each part knows the number of its
  first line, so DuckDB numbers rows per part (``row_number() OVER ()`` in file order) and several parts
  are staged at once, on all cores, while this pass goes on writing the next ones.

The pass is cheap per byte: one reused buffer, ``bytes.count``/``find`` at memchr speed, the sha256 on a
second thread (hashlib releases the GIL) while the block is checked and written, a UTF-8 check vectorised
over the non-ASCII bytes only (numpy), and a slow path only for the lines found irregular.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from musim.errors import IngestError

CHUNK_BYTES = 16 * 1024 * 1024
PART_BYTES = 96 * 1024 * 1024
#: What a rejected irregular line becomes in the parts; staging SQL drops rows starting with it.
MARKER = b"\x1d"
_LONE_CR = re.compile(rb"\r(?!\n)")
_BLANK = re.compile(rb"[ \t\r]*")


@dataclass(frozen=True)
class IrregularLine:
    """A line the pre-scan already rejected."""

    line_no: int
    raw: str
    reason: str


@dataclass(frozen=True)
class Part:
    """A file of whole, sanitised lines; its first line is line ``first_line`` (1-based) of the dump."""

    path: Path
    first_line: int
    lines: int


@dataclass
class Prescan:
    """What one pass over the file found."""

    path: Path
    sha256: str
    bytes: int
    lines: int
    rejected: list[IrregularLine] = field(default_factory=list)
    lone_cr_lines: int = 0
    parts: list[Part] = field(default_factory=list)


def open_dump(path: str | Path) -> BinaryIO:
    """Open a dump file for reading bytes, transparently gunzipping ``.gz``."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file; give the path of a Last.FM dump (.tsv or .tsv.gz)")
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def show_bytes(raw: bytes) -> str:
    """Raw line bytes as text: valid UTF-8 as is, invalid bytes as ``\\xNN`` (so the text is storable)."""
    return raw.decode("utf-8", "backslashreplace")


def _utf8_error_offsets(block: memoryview) -> np.ndarray:
    """Offsets of bytes that break UTF-8 in ``block`` (at least one per invalid sequence; none for valid text).

    Vectorised over the non-ASCII bytes only: a lead byte must be followed by exactly the continuation
    bytes it announces (with the overlong / surrogate / > U+10FFFF limits of RFC 3629 on the second byte),
    and every continuation byte must belong to such a lead. Same verdict per line as ``bytes.decode``.
    """
    b = np.frombuffer(block, dtype=np.uint8)
    hi = np.flatnonzero(b >= 0x80)
    if not hi.size:
        return hi
    v = b[hi]
    need = np.zeros(hi.size, dtype=np.int8)
    need[(v >= 0xC2) & (v <= 0xDF)] = 1
    need[(v & 0xF0) == 0xE0] = 2
    need[(v >= 0xF0) & (v <= 0xF4)] = 3
    cont = (v & 0xC0) == 0x80
    lead_ok = need > 0
    padded = np.concatenate([b, np.zeros(3, dtype=np.uint8)])  # a sequence cut by the block's end is invalid
    for k in (1, 2, 3):
        follow = padded[hi + k]
        lead_ok &= (need < k) | ((follow & 0xC0) == 0x80)
    second = padded[hi + 1]
    lead_ok &= ~(((v == 0xE0) & (second < 0xA0)) | ((v == 0xED) & (second > 0x9F))
                 | ((v == 0xF0) & (second < 0x90)) | ((v == 0xF4) & (second > 0x8F)))
    claimed = np.zeros(b.size + 3, dtype=bool)
    for k in (1, 2, 3):
        claimed[hi[lead_ok & (need >= k)] + k] = True
    bad = (need > 0) & ~lead_ok | (cont & ~claimed[hi]) | ((need == 0) & ~cont)
    return hi[bad]


def _lone_cr_offsets(buf: bytearray, end: int) -> list[int]:
    """Offsets of the carriage returns in ``buf[:end]`` not followed by a newline.

    A few per block in a real dump: found with ``find`` (memchr speed); a CRLF file, with one per line,
    switches to a vectorised scan after the first thousand.
    """
    found: list[int] = []
    pos = buf.find(b"\r", 0, end)
    seen = 0
    while pos >= 0:
        seen += 1
        if seen > 1000:
            b = np.frombuffer(memoryview(buf)[:end], dtype=np.uint8)
            cr = np.flatnonzero(b == 0x0D)
            after = np.append(b, np.uint8(0))[cr + 1]
            return cr[after != 0x0A].tolist()
        if pos + 1 >= end or buf[pos + 1] != 0x0A:
            found.append(pos)
        pos = buf.find(b"\r", pos + 1, end)
    return found


def _irregular_line_starts(buf: bytearray, end: int, at_file_start: bool) -> list[int]:
    """Sorted start offsets of the lines in ``buf[:end]`` that need attention (usually none)."""
    hits: list[int] = []
    pos = buf.find(b"\n\n", 0, end)
    while pos >= 0:
        hits.append(pos + 1)
        pos = buf.find(b"\n\n", pos + 1, end)
    if at_file_start and end and buf[0] == 0x0A:
        hits.append(0)
    block = memoryview(buf)[:end]
    hits.extend(_lone_cr_offsets(buf, end))
    hits.extend(_utf8_error_offsets(block).tolist())
    return sorted({buf.rfind(b"\n", 0, pos) + 1 for pos in hits})


def _line_fix(raw: bytes, line_no: int, rejected: list[IrregularLine]) -> tuple[bytes, bool]:
    """The sanitised form of one irregular line, and whether it had a lone carriage return kept."""
    if _BLANK.fullmatch(raw):
        rejected.append(IrregularLine(line_no, show_bytes(raw), "blank line"))
        return MARKER, False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.start + 1].hex()
        rejected.append(IrregularLine(
            line_no, show_bytes(raw),
            f"invalid UTF-8 (byte 0x{bad} at column {exc.start + 1}); re-encode the file as UTF-8"))
        return MARKER, False
    fixed, n = _LONE_CR.subn(b" ", raw)
    return fixed, n > 0


class _PartWriter:
    def __init__(self, out_dir: Path | None, part_bytes: int, on_part: Callable[[Part], None] | None):
        self.out_dir, self.part_bytes, self.on_part = out_dir, part_bytes, on_part
        self.parts: list[Part] = []
        self.fh: BinaryIO | None = None
        self.size = self.first = self.lines = 0

    def write(self, data, first_line: int, lines: int) -> None:
        if self.out_dir is None or not lines:
            return
        if self.fh is None:
            path = self.out_dir / f"part-{len(self.parts):05d}.tsv"
            self.fh, self.size, self.first, self.lines = open(path, "wb"), 0, first_line, 0
        self.fh.write(data)
        self.size += len(data)
        self.lines += lines
        if self.size >= self.part_bytes:
            self.close_part()

    def close_part(self) -> None:
        if self.fh is None:
            return
        self.fh.close()
        part = Part(Path(self.fh.name), self.first, self.lines)
        self.fh = None
        self.parts.append(part)
        if self.on_part is not None:
            self.on_part(part)


def prescan(path: str | Path, *, parts_dir: str | Path | None = None, part_bytes: int = PART_BYTES,
            on_part: Callable[[Part], None] | None = None) -> Prescan:
    """Hash, count and check ``path``; with ``parts_dir``, also write it as sanitised parts.

    ``on_part`` is called with each part as soon as it is complete (the ingest stages it at once).
    """
    digest = hashlib.sha256()
    writer = _PartWriter(Path(parts_dir) if parts_dir is not None else None, part_bytes, on_part)
    rejected: list[IrregularLine] = []
    total_bytes = line_no = lone_cr = 0
    buf = bytearray(CHUNK_BYTES * 2)
    filled = 0
    hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="musim-sha256")
    try:
        with open_dump(path) as fh:
            while True:
                if len(buf) - filled < CHUNK_BYTES:  # a line longer than a chunk: grow
                    buf.extend(bytes(CHUNK_BYTES))
                n = fh.readinto(memoryview(buf)[filled:filled + CHUNK_BYTES])
                end = filled + n
                if n:
                    cut = buf.rfind(b"\n", 0, end) + 1
                    if cut == 0:
                        filled = end
                        continue
                else:
                    cut = end  # the last line, without a final newline
                if cut:
                    block = memoryview(buf)[:cut]
                    hashed = hasher.submit(digest.update, block)  # releases the GIL: runs beside the checks
                    total_bytes += cut
                    n_lines = buf.count(b"\n", 0, cut) + (0 if buf[cut - 1] == 0x0A else 1)
                    starts = _irregular_line_starts(buf, cut, at_file_start=line_no == 0)
                    if starts:
                        data, cr = _sanitise(bytes(block), starts, line_no, rejected)
                        lone_cr += cr
                        writer.write(data, line_no + 1, n_lines)
                    else:
                        writer.write(block if buf[cut - 1] == 0x0A else bytes(block) + b"\n", line_no + 1, n_lines)
                    line_no += n_lines
                    hashed.result()
                    del block
                if not n:
                    break
                buf[:end - cut] = buf[cut:end]
                filled = end - cut
        writer.close_part()
    finally:
        hasher.shutdown(wait=True)
        if writer.fh is not None:
            writer.fh.close()
    return Prescan(path=Path(path), sha256=digest.hexdigest(), bytes=total_bytes, lines=line_no,
                   rejected=rejected, lone_cr_lines=lone_cr, parts=writer.parts)


def _sanitise(block: bytes, starts: list[int], line_no: int, rejected: list[IrregularLine]) -> tuple[bytes, int]:
    """``block`` with its irregular lines (at ``starts``) fixed; returns (bytes, lone-CR lines kept)."""
    pieces: list[bytes] = []
    pos = 0
    counted = line_no
    lone_cr = 0
    for start in starts:
        end = block.find(b"\n", start)
        end = len(block) if end < 0 else end
        counted += block.count(b"\n", pos, start)
        pieces.append(block[pos:start])
        fixed, had_cr = _line_fix(block[start:end], counted + 1, rejected)
        lone_cr += had_cr
        pieces.append(fixed)
        pos = end
    pieces.append(block[pos:])
    data = b"".join(pieces)
    return (data if data.endswith(b"\n") else data + b"\n"), lone_cr
