"""What a user is told of a file of streams one after the other (:func:`musim.audio.window.chained_stream`: a chained
Ogg, MP3s ``cat``-ed together) that cannot be read whole: FFmpeg decodes a chain only while its parts share their
codec, sample rate and channel count, and libsndfile reads its first part only.

Such a file is stored from its first part, with a warning (the add's summary counts it, JSON ``first_part_only``),
rather than skipped: its first part is real audio of the track, tagged as it is, and a library that refused a whole
album side because its second part is mono loses more than it gains; the warning names the part where the format
changes and what to do to have it whole (split it into its parts, or re-encode it as one stream, and add that).
"""

from __future__ import annotations

import mmap
import os
from typing import Any

__all__ = ["first_part_only"]


def first_part_only(src: str | os.PathLike | bytes, errors: list[str]) -> str:
    """Why the chained file ``src`` is read from its first part only: the part where its format changes (an Ogg's, read
    from its beginning-of-stream pages), else what the decoder said (``errors``), and what to do."""
    change = _ogg_change(src) or ("; ".join(errors) or "its parts cannot be decoded as one stream")
    return (f"its parts cannot be decoded as one stream ({change}): its length and excerpt are its first part's; split "
            "it into its parts, or re-encode it as one stream, and add that")


def _ogg_change(src: str | os.PathLike | bytes) -> str | None:
    """``"part 2 is Opus, 48000 Hz, 1 channel after part 1's Vorbis, 22050 Hz, 2 channels"``: the first part of a
    chained Ogg whose codec, rate or channel count differs from the first one's; ``None`` when none does (or it is no
    Ogg)."""
    if isinstance(src, bytes):
        return _first_change(_ogg_parts(src))
    try:
        with open(src, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _first_change(_ogg_parts(buf))
    except (OSError, ValueError):
        return None


def _first_change(parts: list[tuple[str, int, int]]) -> str | None:
    for k, part in enumerate(parts[1:], start=2):
        if part != parts[0]:
            return f"part {k} is {_described(part)} after part 1's {_described(parts[0])}"
    return None


def _described(part: tuple[str, int, int]) -> str:
    codec, rate, channels = part
    return f"{codec}, {rate} Hz, {channels} channel{'' if channels == 1 else 's'}"


def _ogg_parts(buf: Any) -> list[tuple[str, int, int]]:
    """(codec, rate, channels) of each part of a chained Ogg: the first beginning-of-stream page of each run of them."""
    parts, pos, n, data = [], 0, len(buf), True
    while pos + 27 <= n and bytes(buf[pos:pos + 4]) == b"OggS":
        flags, segments = buf[pos + 5], buf[pos + 26]
        body = pos + 27 + segments
        if flags & 0x02 and data:
            parts.append(_identified(bytes(buf[body:body + 20])))
        data = not flags & 0x02
        pos = body + sum(buf[pos + 27:body])
    return parts


def _identified(head: bytes) -> tuple[str, int, int]:
    """An Ogg stream's codec, rate and channel count from its identification header."""
    if head.startswith(b"\x01vorbis") and len(head) >= 16:
        return "Vorbis", int.from_bytes(head[12:16], "little"), head[11]
    if head.startswith(b"OpusHead") and len(head) >= 10:
        return "Opus", 48000, head[9]  # decoded at 48 kHz whatever rate it was made from
    if head.startswith(b"\x7fFLAC") and len(head) >= 20:
        info = int.from_bytes(head[17:20], "big")  # STREAMINFO: rate 20 bits, channels - 1 3 bits
        return "FLAC", info >> 4, ((info >> 1) & 7) + 1
    return "an unknown codec", 0, 0
