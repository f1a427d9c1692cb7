"""One streaming pass over a dump file, beside DuckDB's own parallel read of it.

DuckDB's CSV reader is fast but counts lines its own way: it splits a line at a lone carriage return,
skips empty lines and (with ``ignore_errors``) drops lines with invalid UTF-8. So that every physical line
('\\n'-separated) keeps its number and ends up loaded or rejected, this pass

- hashes the content (sha256 of the decompressed bytes: the dump id) and counts lines and bytes;
- finds the few *irregular* lines, the only ones DuckDB may not read as exactly one row, by the pre-scan
  rules of :mod:`musim.ingest.prescan_rules` (the C scanner follows the same): blank lines and lines with
  invalid UTF-8 (both rejected here, with their line number and raw text) and lines with a lone carriage
  return (kept: :attr:`Prescan.fixed` holds them with the CR turned into a space).

:mod:`musim.ingest.staging` then maps DuckDB's rows back to physical lines with what this pass found.
The pass is cheap per byte: one reused buffer, ``bytes.count``/``find`` at memchr speed, the sha256 on a
second thread (hashlib releases the GIL) while the block is checked, a UTF-8 check vectorised over the
non-ASCII bytes only (numpy), and a slow path only for the lines found irregular.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musim.ingest.dump_files import open_dump, reading
from musim.ingest.lines import LineTexts
from musim.ingest.prescan_rules import BLANK, LONE_CR_AS, MAX_LINE_BYTES, TOO_LONG_RAW_BYTES, UTF8_LEAD

CHUNK_BYTES = 16 * 1024 * 1024
#: What an editor may put before line 1 of a UTF-8 file; DuckDB's CSV reader skips it, and so does read_blocks.
UTF8_BOM = b"\xef\xbb\xbf"
_LONE_CR = re.compile(rb"\r(?!\n)")
#: A blank line (rule 2 of :mod:`musim.ingest.prescan_rules`).
BLANK_LINE = re.compile(b"[" + re.escape(BLANK) + b"]*")
_BLANK_BYTE = np.isin(np.arange(256), list(BLANK))


@dataclass(frozen=True)
class IrregularLine:
    """A line the pre-scan already rejected."""

    line_no: int
    raw: str
    reason: str


class RejectedLines(LineTexts):
    """The lines the pre-scan rejected, compactly (:class:`LineTexts`: the label is the reason, the text the line as
    :func:`show_bytes` shows it); each one read back is an :class:`IrregularLine`."""

    def __init__(self) -> None:
        super().__init__(labelled=True)

    def add(self, line: IrregularLine) -> None:
        self.append(line.line_no, line.raw.encode(), line.reason)

    def __getitem__(self, i: int) -> IrregularLine:  # type: ignore[override]
        line_no, reason, raw = super().__getitem__(i)
        return IrregularLine(line_no, raw, reason)


class FixedLines(LineTexts):
    """The irregular lines the pre-scan keeps, compactly (:class:`LineTexts` of bytes: each one's text with its lone
    carriage returns turned into spaces); each one read back is a :class:`FixedLine`. A file whose line endings were
    converted twice (``\\r\\r\\n``) is one such line per line."""

    def __init__(self) -> None:
        super().__init__(binary=True)

    def add(self, line: FixedLine) -> None:
        self.append(line.line_no, line.text)

    def __getitem__(self, i: int) -> FixedLine:  # type: ignore[override]
        return FixedLine(*super().__getitem__(i))


@dataclass(frozen=True)
class FixedLine:
    """An irregular line that is kept: its text with each lone carriage return turned into a space."""

    line_no: int
    text: bytes


@dataclass
class Prescan:
    """What one pass over the file found."""

    path: Path
    sha256: str
    bytes: int
    lines: int
    rejected: RejectedLines = field(default_factory=RejectedLines)
    fixed: FixedLines = field(default_factory=FixedLines)
    #: ``(line_no, raw bytes)`` of every irregular line (rejected or fixed), in file order: what the DuckDB staging
    #: maps rows to lines by (:mod:`musim.ingest.staging`). ``None`` where the file is not staged and none is kept
    #: (the C scanner's path: 16 bytes a line saved, 640 MB on a file of 40M blank lines).
    irregular: LineTexts | None = field(default_factory=lambda: LineTexts(binary=True))
    compressed: bool = False
    #: ``(bytes, line number)`` of the longest line.
    longest_line: tuple[int, int] = (0, 0)
    #: rows DuckDB read from the file in one go (staging only); the fixed lines' rows come after them
    staged_rows: int = 0


def show_bytes(raw: bytes) -> str:
    """Raw line bytes as storable text that tells them exactly: valid UTF-8 as is except each backslash, doubled
    (``\\\\``), and each byte that is not valid UTF-8 as ``\\xNN``. The raw text of every line rejected as
    ``invalid UTF-8`` or ``line too long`` is written so (a line's own ``\\xe9`` shows as ``\\\\xe9``, the byte
    0xE9 as ``\\xe9``); the raw text of a line rejected for any other reason is the line as it is."""
    return raw.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


_NEED = np.array([n for n, _, _ in UTF8_LEAD], dtype=np.int8)
_LO = np.array([lo for _, lo, _ in UTF8_LEAD], dtype=np.uint8)
_HI = np.array([hi for _, _, hi in UTF8_LEAD], dtype=np.uint8)


def _utf8_error_offsets(block: memoryview) -> np.ndarray:
    """Offsets of bytes that break UTF-8 in ``block`` (at least one per invalid sequence; none for valid text).

    Vectorised over the non-ASCII bytes only, by the tables of :mod:`musim.ingest.prescan_rules` (as the C
    scanner): a lead byte must be followed by exactly the continuation bytes it announces, its second byte
    within the lead's limits, and every continuation byte must belong to such a lead. Same verdict per line
    as ``bytes.decode``.
    """
    b = np.frombuffer(block, dtype=np.uint8)
    hi = np.flatnonzero(b >= 0x80)
    if not hi.size:
        return hi
    v = b[hi]
    need = _NEED[v]
    cont = (v & 0xC0) == 0x80
    lead_ok = need > 0
    padded = np.concatenate([b, np.zeros(3, dtype=np.uint8)])  # a sequence cut by the block's end is invalid
    second = padded[hi + 1]
    lead_ok &= (second >= _LO[v]) & (second <= _HI[v])
    for k in (2, 3):
        lead_ok &= (need < k) | ((padded[hi + k] & 0xC0) == 0x80)
    claimed = np.zeros(b.size + 3, dtype=bool)
    for k in (1, 2, 3):
        claimed[hi[lead_ok & (need >= k)] + k] = True
    bad = (need > 0) & ~lead_ok | (cont & ~claimed[hi]) | ((need < 0) & ~cont)
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


def _blank_line_starts(buf: bytearray, b: np.ndarray, ends: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Where the non-empty blank lines start (empty ones are found apart). Only the lines whose first byte
    is blank are looked at: a handful in a real dump."""
    starts = ends - lengths
    full = np.flatnonzero(lengths > 0)
    lead = full[_BLANK_BYTE[b[starts[full]]]].tolist()
    return np.asarray([starts[i] for i in lead if BLANK_LINE.fullmatch(buf, int(starts[i]), int(ends[i]))],
                      dtype=np.int64)


def _scan_block(buf: bytearray, end: int) -> tuple[int, tuple[np.ndarray, np.ndarray, np.ndarray], tuple[int, int]]:
    """Lines in ``buf[:end]`` (whole lines, the last one maybe without its newline); the irregular ones as arrays
    ``(index of the line in the block, start, stop)``, in order (usually empty); and the longest line's
    ``(length, index)``.

    One vectorised pass finds every newline; a line is empty where a newline follows a newline (or opens
    the block), and a hit (lone CR, invalid UTF-8) belongs to the line of the newlines before it.
    """
    b = np.frombuffer(memoryview(buf)[:end], dtype=np.uint8)
    nl = np.flatnonzero(b == 0x0A)
    n_lines = nl.size + (0 if b[end - 1] == 0x0A else 1)
    ends = np.append(nl, end) if n_lines > nl.size else nl
    lengths = np.diff(ends, prepend=-1) - 1  # bytes before each line's newline
    widest = int(np.argmax(lengths))
    longest = (int(lengths[widest]), widest)
    hits = [nl[1:][lengths[1:nl.size] == 0], nl[:1][nl[:1] == 0], _blank_line_starts(buf, b, ends, lengths),
            np.asarray(_lone_cr_offsets(buf, end), dtype=np.int64), _utf8_error_offsets(memoryview(buf)[:end]),
            (ends - lengths)[lengths > MAX_LINE_BYTES]]
    found = np.concatenate(hits)
    idx = np.unique(np.searchsorted(nl, found, side="left")) if found.size else np.zeros(0, dtype=np.int64)
    starts = np.concatenate(([-1], nl))[idx] + 1
    stops = np.concatenate((nl, [end]))[idx]
    return n_lines, (idx, starts, stops), longest


def _classify_block(buf: bytearray, end: int, line_nos: np.ndarray, starts: np.ndarray, stops: np.ndarray,
                    scan: Prescan) -> None:
    """:func:`classify_line` for a block's irregular lines, in order; a run of them that are empty (nothing, or a
    carriage return before the newline) is rejected as ``blank line`` in one go, as :func:`classify_line` rejects
    each (a file of blank lines, or one whose every line is followed by an empty one, is such runs)."""
    b = np.frombuffer(memoryview(buf)[:end], dtype=np.uint8)
    lengths = stops - starts
    cr_only = (lengths == 1) & (stops < end) & (b[np.minimum(starts, end - 1)] == 0x0D)
    empty = (lengths == 0) | cr_only
    cuts = (np.flatnonzero(np.diff(empty.astype(np.int8))) + 1).tolist()
    for lo, hi in zip([0, *cuts], [*cuts, len(line_nos)], strict=True):
        if empty[lo]:
            crs = cr_only[lo:hi]
            if scan.irregular is not None:
                scan.irregular.extend(line_nos[lo:hi], crs, b"\r" * int(crs.sum()))
            scan.rejected.extend(line_nos[lo:hi], np.zeros(hi - lo, dtype=np.int64), b"", BLANK_REASON)
            continue
        for i in range(lo, hi):
            start, stop = int(starts[i]), int(stops[i])
            classify_line(bytes(buf[start:stop]), int(line_nos[i]), scan, newline=stop < end)


#: The reason a blank line is rejected with (rule 2 of :mod:`musim.ingest.prescan_rules`).
BLANK_REASON = "blank line"
#: The reason a line too long is rejected with (rule 5 of :mod:`musim.ingest.prescan_rules`).
TOO_LONG = f"line too long (over {MAX_LINE_BYTES:,} bytes; its first {TOO_LONG_RAW_BYTES:,} bytes are kept)"


def classify_line(raw: bytes, line_no: int, scan: Prescan, *, newline: bool = False) -> None:
    """Record one irregular line: rejected (too long, empty or only blanks, invalid UTF-8) or fixed (lone CR).
    ``newline``: the line ends with a newline in the file, so a carriage return just before it ends the line
    (rule 1 of :mod:`musim.ingest.prescan_rules`) and is not part of it."""
    if scan.irregular is not None:
        scan.irregular.append(line_no, raw)
    if len(raw) > MAX_LINE_BYTES:
        scan.rejected.add(IrregularLine(line_no, show_bytes(raw[:TOO_LONG_RAW_BYTES]), TOO_LONG))
        return
    if newline and raw.endswith(b"\r"):
        raw = raw[:-1]
    if BLANK_LINE.fullmatch(raw):
        scan.rejected.add(IrregularLine(line_no, show_bytes(raw), BLANK_REASON))
        return
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.start + 1].hex()
        scan.rejected.add(IrregularLine(
            line_no, show_bytes(raw),
            f"invalid UTF-8 (byte 0x{bad} at column {exc.start + 1}); re-encode the file as UTF-8"))
        return
    scan.fixed.add(FixedLine(line_no, _LONE_CR.sub(bytes([LONE_CR_AS]), raw)))


def read_blocks(path: str | Path, scan: Prescan, check: Callable[[memoryview], None]) -> None:
    """Read ``path`` (plain or gzip) in blocks of whole lines; ``check(block)`` each one while a second thread
    hashes it (hashlib releases the GIL). Sets ``scan.sha256`` (the dump id), ``scan.bytes`` and
    ``scan.compressed``. The last block may end without a newline. A UTF-8 byte-order mark before line 1 is
    hashed but not passed to ``check`` (DuckDB's reader skips it too, so both engines read the same lines).
    """
    digest = hashlib.sha256()
    buf = bytearray(CHUNK_BYTES * 2)
    filled = 0
    hashed = 0  # the bytes at the start of buf (of a line cut short) that are hashed and counted already
    at_start = True
    hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="musim-sha256")
    try:
        with reading(path), open_dump(path) as fh:
            scan.compressed = isinstance(fh, gzip.GzipFile)
            while True:
                if len(buf) - filled < CHUNK_BYTES:  # a line longer than a chunk: grow
                    buf.extend(bytes(CHUNK_BYTES))
                n = fh.readinto(memoryview(buf)[filled:filled + CHUNK_BYTES])
                end = filled + n
                if at_start:  # a UTF-8 byte-order mark (an editor's, not data): hashed, not read as line 1's
                    at_start = False
                    if buf.startswith(UTF8_BOM):
                        digest.update(UTF8_BOM)
                        scan.bytes += len(UTF8_BOM)
                        buf[:end - len(UTF8_BOM)] = buf[len(UTF8_BOM):end]
                        end -= len(UTF8_BOM)
                if n:
                    cut = buf.rfind(b"\n", filled, end) + 1  # buf[:filled] is a line's start: no newline in it
                    if cut == 0:
                        filled, hashed = _cut_short(buf, hashed, end, digest, scan)
                        continue
                else:
                    cut = end  # the last line, without a final newline
                if cut:
                    block = memoryview(buf)[:cut]
                    hashing = hasher.submit(digest.update, block[hashed:])
                    scan.bytes += cut - hashed
                    try:
                        check(block)
                    finally:
                        hashing.result()
                    del block
                if not n:
                    break
                buf[:end - cut] = buf[cut:end]
                filled, hashed = end - cut, 0
    finally:
        hasher.shutdown(wait=True)
    scan.sha256 = digest.hexdigest()


def _cut_short(buf: bytearray, hashed: int, end: int, digest: hashlib._Hash, scan: Prescan) -> tuple[int, int]:
    """``(filled, hashed)``: how much of ``buf[:end]``, the start of a line without its newline yet, to keep (the
    rest of the line is read on into ``buf`` after it), and how much of that is hashed and counted already.

    A line longer than :data:`MAX_LINE_BYTES` is rejected whatever its length, so only its first
    ``MAX_LINE_BYTES + 1`` bytes are kept: the others are hashed, counted and dropped as they are read (a line was
    held whole: a gzip bomb of a few megabytes, gigabytes without a newline, filled memory)."""
    keep = MAX_LINE_BYTES + 1
    if end <= keep:
        return end, hashed
    block = memoryview(buf)[hashed:end]
    digest.update(block)
    del block
    scan.bytes += end - hashed
    return keep, keep


def prescan(path: str | Path) -> Prescan:
    """Hash, count and check ``path`` (plain or gzip): its dump id, line count and irregular lines."""
    scan = Prescan(path=Path(path), sha256="", bytes=0, lines=0)

    def check(block: memoryview) -> None:
        buf = block.obj
        n_lines, (irregular, starts, stops), (width, idx) = _scan_block(buf, len(block))
        if irregular.size:
            _classify_block(buf, len(block), scan.lines + irregular + 1, starts, stops, scan)
        if width > scan.longest_line[0]:
            scan.longest_line = (width, scan.lines + idx + 1)
        scan.lines += n_lines

    read_blocks(path, scan, check)
    return scan
