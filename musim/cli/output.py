"""Printing results: a readable table for people, ``--json`` for programs.

Text for people goes through :func:`printable`: control characters (ESC, CR, LF, NUL, the other C0 and C1
codes, DEL) and the invisible bidirectional/format controls (U+202E and friends) are shown escaped
(``\\x1b``, ``\\r``, ``\\u202e``; :func:`musim.terminal.escaped`), so a hostile artist name or dump line cannot
move the cursor, recolour or rewrite the terminal; long values are cut to :data:`CELL_WIDTH` columns with an
ellipsis (``musim --width N``; 0 = never cut). Widths are terminal columns (wcwidth): a CJK character or an emoji takes two, a
combining accent none, so tables of such names stay aligned. JSON keeps every string exact (controls are JSON
escapes, so they are still inert on a terminal).
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from wcwidth import wcswidth, wcwidth

from musim.jsonable import json_safe
from musim.redact import redact
from musim.terminal import escaped

#: Terminal columns of a table cell shown at most (``musim --width N``; 0 = no limit).
DEFAULT_CELL_WIDTH = 60
CELL_WIDTH = DEFAULT_CELL_WIDTH
ELLIPSIS = "…"
# musim.terminal.UNSAFE without C0, for JSON text (the encoder escapes C0 itself).
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
                          "\ud800-\udfff\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]")


def columns(text: str) -> int:
    """Terminal columns ``text`` takes (its characters where wcwidth knows none of them)."""
    width = wcswidth(text)
    return width if width >= 0 else len(text)


def _cut(text: str, width: int, keep_end: bool) -> str:
    """``text`` in at most ``width`` columns, an ellipsis where it was cut (at the start with ``keep_end``)."""
    budget, used, kept = max(width - 1, 1), 0, []
    for char in reversed(text) if keep_end else text:
        w = max(wcwidth(char), 0)
        if used + w > budget:
            break
        kept.append(char)
        used += w
    return ELLIPSIS + "".join(reversed(kept)) if keep_end else "".join(kept) + ELLIPSIS


def printable(text: Any, width: int | None = None, *, keep_end: bool = False) -> str:
    """``text`` safe for a terminal: controls escaped, cut to ``width`` columns (default :data:`CELL_WIDTH`;
    0 = whole) with an ellipsis, at the start instead of the end with ``keep_end`` (paths: the file name
    stays)."""
    out = escaped(text)
    width = CELL_WIDTH if width is None else width
    if width and columns(out) > width:
        out = _cut(out, width, keep_end)
    return out


def safe_line(text: Any) -> str:
    """A message or report of one line or more that quotes what musim did not write (an exception, a file name, a
    reason): redacted (:func:`musim.redact.redact`), its controls escaped (line breaks kept, other controls shown),
    never cut."""
    return "\n".join(printable(line, 0) for line in redact(text).split("\n"))


def set_cell_width(width: int) -> int:
    """Set :data:`CELL_WIDTH`; return the previous width."""
    global CELL_WIDTH
    previous, CELL_WIDTH = CELL_WIDTH, width
    return previous


def _json_escape(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless one: ``counted(1, "file")`` is "1 file", ``counted(2_000, "row")``
    "2,000 rows"."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


#: Items of a streamed list (:func:`print_json`) encoded, then written, together.
STREAM_CHUNK = 1000
_ENCODER = json.JSONEncoder(indent=2, default=str, ensure_ascii=False, allow_nan=False)


def _json_text(obj: Any, level: int = 0) -> str:
    """``obj`` as :func:`print_json` writes it, its lines after the first indented as at nesting ``level``."""
    return _inert(_indented(_ENCODER.encode(json_safe(obj)), level))


def _indented(text: str, level: int) -> str:
    """JSON ``text`` with its lines after the first indented by ``level`` more: its only raw line breaks are the
    indent's (a string's own are written ``\\n``)."""
    return text.replace("\n", "\n" + "  " * level) if level else text


def _inert(text: str) -> str:
    """JSON ``text`` with DEL, C1 and the invisible format characters written as ``\\uXXXX``."""
    return _JSON_UNSAFE.sub(_json_escape, text)


def print_json(obj: Any) -> None:
    """``obj`` as strict JSON (NaN and infinities as ``null``): strings exact; DEL, C1 and invisible format
    characters written as ``\\uXXXX``. A value of a dict ``obj`` that is an iterator (``{"rows": (... for r in
    rows)}``, its keys text) is written as a list, :data:`STREAM_CHUNK` items at a time as they come: the text of a
    large answer (``musim sql --json --limit 0``) is never held whole, and reads byte for byte as the list's."""
    out = sys.stdout
    if not (isinstance(obj, dict) and any(isinstance(v, Iterator) for v in obj.values())):
        out.write(_json_text(obj))
        out.write("\n")
        return
    for n, (key, value) in enumerate(obj.items()):
        out.write(("{" if n == 0 else ",") + "\n  " + _json_text(str(key)) + ": ")
        if isinstance(value, Iterator):
            _stream_list(value)
        else:
            out.write(_json_text(value, 1))
    out.write("\n}\n")


def _stream_list(items: Iterator[Any]) -> None:
    """``items`` as a list at nesting level 1 of :func:`print_json`, :data:`STREAM_CHUNK` at a time."""
    out, first = sys.stdout, True
    while chunk := list(itertools.islice(items, STREAM_CHUNK)):
        text = _ENCODER.encode(json_safe(chunk))  # "[\n  item,\n  item\n]": the items, one level too far out
        out.write(("[" if first else ",") + _inert(_indented(text[1:-2], 1)))
        first = False
    out.write("[]" if first else "\n  ]")


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != 0 and abs(value) < 0.00005:  # would read 0.0000 (or -0.0000): its significant digits instead
            return f"{value:.3g}"
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    return printable(value)


def print_table(rows: Iterable[Sequence[Any]], headers: Sequence[str], *, title: str | None = None,
                path_columns: Sequence[str] = ()) -> None:
    """A plain aligned text table (numbers right-aligned); every cell through :func:`printable`, those of the
    ``path_columns`` (headers) cut at the start, so that a long path keeps its file name."""
    tails = [h in path_columns for h in headers]
    cells = [[printable(v, keep_end=True) if tail and isinstance(v, str) else _fmt(v)
              for v, tail in zip(row, tails, strict=True)] for row in rows]
    headers = [printable(h) for h in headers]
    widths = [columns(h) for h in headers]
    for row in cells:
        widths = [max(w, columns(c)) for w, c in zip(widths, row, strict=True)]
    numeric = [all(_is_number(r[i]) for r in cells) and bool(cells) for i in range(len(headers))]
    out = sys.stdout
    if title:
        out.write(printable(title, 0) + "\n")
    out.write("  ".join(_pad(h, w, n) for h, w, n in zip(headers, widths, numeric, strict=True)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write("  ".join(_pad(c, w, n) for c, w, n in zip(row, widths, numeric, strict=True)).rstrip() + "\n")


def _pad(text: str, width: int, right: bool) -> str:
    """``text`` padded with spaces to ``width`` columns, on the left for numbers (``right``)."""
    fill = " " * max(width - columns(text), 0)
    return fill + text if right else text + fill


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return text == ""
    return True
