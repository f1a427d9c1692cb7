"""One streaming pass over a dump file before DuckDB reads it.

DuckDB's CSV reader is fast but counts lines its own way: it splits on a lone carriage return, skips
blank lines and refuses invalid UTF-8. So that every physical line ('\\n'-separated) keeps its number and
ends up loaded or rejected, this pass

- hashes the content (sha256 of the decompressed bytes: the dump id) and counts lines and bytes;
- finds the few *irregular* lines: empty lines and lines with invalid UTF-8 (rejected here, with their
  line number and raw text), and lines with a lone carriage return (kept: the CR becomes a space);
- when there are any, writes a sanitised copy in which each irregular line still takes exactly one line
  (rejected ones become a marker line the SQL skips), so DuckDB's row number equals the physical line number.

A clean file is read in place; only a file with irregular lines costs the extra copy.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from musim.errors import IngestError

CHUNK_BYTES = 32 * 1024 * 1024
#: What a rejected irregular line becomes in the sanitised copy; staging SQL drops rows starting with it.
MARKER = b"\x1d"
_LONE_CR = re.compile(rb"\r(?!\n)")
_BLANK = re.compile(rb"[ \t\r]*")


@dataclass(frozen=True)
class IrregularLine:
    """A line the pre-scan already rejected."""

    line_no: int
    raw: str
    reason: str


@dataclass
class Prescan:
    """What one pass over the file found."""

    path: Path
    sha256: str
    bytes: int
    lines: int
    rejected: list[IrregularLine] = field(default_factory=list)
    lone_cr_lines: int = 0

    @property
    def needs_sanitising(self) -> bool:
        return bool(self.rejected) or self.lone_cr_lines > 0


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


def _blocks(fh: BinaryIO) -> Iterator[bytes]:
    """Blocks of whole lines (each ends with '\\n', except possibly the very last one)."""
    rest = b""
    while True:
        chunk = fh.read(CHUNK_BYTES)
        if not chunk:
            if rest:
                yield rest
            return
        chunk = rest + chunk
        cut = chunk.rfind(b"\n") + 1
        if cut == 0:
            rest = chunk
            continue
        rest = chunk[cut:]
        yield chunk[:cut]


def show_bytes(raw: bytes) -> str:
    """Raw line bytes as text: valid UTF-8 as is, invalid bytes as ``\\xNN`` (so the text is storable)."""
    return raw.decode("utf-8", "backslashreplace")


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


_UTF8_ERRORS: list[int] = []


def _record_utf8_error(exc: UnicodeError) -> tuple[str, int]:
    assert isinstance(exc, UnicodeDecodeError)
    _UTF8_ERRORS.append(exc.start)
    return "", exc.end


codecs.register_error("musim_record_offsets", _record_utf8_error)


def _utf8_error_offsets(block: bytes) -> list[int]:
    """Offsets of the invalid UTF-8 sequences of ``block``, in one decoding pass."""
    _UTF8_ERRORS.clear()
    block.decode("utf-8", "musim_record_offsets")
    found = list(_UTF8_ERRORS)
    _UTF8_ERRORS.clear()
    return found


def _irregular_line_starts(block: bytes, at_file_start: bool) -> list[int]:
    """Sorted start offsets of the lines of ``block`` that need attention (usually none)."""
    hits: list[int] = []
    pos = block.find(b"\n\n")
    while pos >= 0:
        hits.append(pos + 1)
        pos = block.find(b"\n\n", pos + 1)
    if at_file_start and block[:1] == b"\n":
        hits.append(0)
    if b"\r" in block:
        hits.extend(m.start() for m in _LONE_CR.finditer(block))
    hits.extend(_utf8_error_offsets(block))
    return sorted({block.rfind(b"\n", 0, pos) + 1 for pos in hits})


def _copy_prefix(path: str | Path, out: BinaryIO, n_bytes: int) -> None:
    """Copy the first ``n_bytes`` (decompressed) bytes of ``path`` to ``out``: the regular blocks so far."""
    with open_dump(path) as src:
        while n_bytes > 0:
            chunk = src.read(min(CHUNK_BYTES, n_bytes))
            if not chunk:
                break
            out.write(chunk)
            n_bytes -= len(chunk)


def prescan(path: str | Path, *, sanitised_path: str | Path | None = None) -> Prescan:
    """Hash and count ``path``; if it has irregular lines and ``sanitised_path`` is given, write the copy.

    Only the irregular lines are looked at one by one; the rest of each block is copied as it is.
    """
    digest = hashlib.sha256()
    total_bytes = 0
    line_no = 0  # lines completed before the current block
    rejected: list[IrregularLine] = []
    lone_cr = 0
    out = None
    try:
        with open_dump(path) as fh:
            for block in _blocks(fh):
                digest.update(block)
                total_bytes += len(block)
                starts = _irregular_line_starts(block, at_file_start=line_no == 0)
                if starts and out is None and sanitised_path is not None:
                    out = open(sanitised_path, "wb")
                    _copy_prefix(path, out, total_bytes - len(block))
                parts: list[bytes] = []
                pos = 0
                counted = line_no
                for start in starts:
                    end = block.find(b"\n", start)
                    end = len(block) if end < 0 else end
                    counted += block.count(b"\n", pos, start)
                    parts.append(block[pos:start])
                    fixed, had_cr = _line_fix(block[start:end], counted + 1, rejected)
                    lone_cr += had_cr
                    parts.append(fixed)
                    pos = end
                parts.append(block[pos:])
                if out is not None:
                    out.writelines(parts)
                line_no += block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
    finally:
        if out is not None:
            out.close()
    return Prescan(path=Path(path), sha256=digest.hexdigest(), bytes=total_bytes, lines=line_no,
                   rejected=rejected, lone_cr_lines=lone_cr)
