"""Small hand-made Last.FM files for tests."""

from __future__ import annotations

import gzip
from pathlib import Path

U1 = "a" * 40
U2 = "b" * 40
U3 = "c" * 40
U4 = "d" * 40
MB_A = "11111111-1111-4111-8111-111111111111"
MB_B = "22222222-2222-4222-8222-222222222222"
MB_C = "33333333-3333-4333-8333-333333333333"


def write_lines(path: Path, lines: list[str | bytes], *, newline_at_end: bool = True, gz: bool = False) -> Path:
    """Write raw lines (str is UTF-8 encoded, bytes are written as they are) joined by '\\n'."""
    data = b"\n".join(x if isinstance(x, bytes) else x.encode("utf-8") for x in lines)
    if newline_at_end and lines:
        data += b"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def tiny_dump(path: Path) -> Path:
    """Four users, three artists A, B, C with hand-computable similarity (see tests/similarity)."""
    return write_lines(path, [
        f"{U1}\t{MB_A}\tArtist A\t10",
        f"{U1}\t{MB_B}\tArtist B\t5",
        f"{U1}\t{MB_C}\tArtist C\t1",
        f"{U2}\t{MB_A}\tArtist A\t3",
        f"{U2}\t{MB_B}\tArtist B\t4",
        f"{U3}\t{MB_B}\tArtist B\t7",
        f"{U3}\t{MB_C}\tArtist C\t2",
        f"{U4}\t{MB_A}\tArtist A\t8",
        f"{U4}\t{MB_C}\tArtist C\t0",
    ])
