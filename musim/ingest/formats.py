"""The Last.FM dump formats musim reads, and detecting which one a file is."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from musim.errors import IngestError
from musim.ingest.prescan import open_dump, reading

Format = Literal["360k", "1k"]

#: Fields per line of each plays/events format.
FIELDS: dict[str, int] = {"360k": 4, "1k": 6}
FILE_KIND: dict[str, str] = {"360k": "plays", "1k": "events"}


def detect_format(path: str | Path, requested: str = "auto") -> Format:
    """``360k`` or ``1k``: as requested, else from the file name, else from the first lines' field count."""
    if requested in FIELDS:
        return requested  # type: ignore[return-value]
    if requested != "auto":
        raise IngestError(f"unknown format {requested!r}: use auto, 360k or 1k")
    name = Path(path).name.lower()
    if "artmbid-artname-plays" in name:
        return "360k"
    if "timestamp-artid-artname-traid-traname" in name:
        return "1k"
    counts: dict[int, int] = {}
    with reading(path), open_dump(path) as fh:
        for i, raw in enumerate(fh):
            if i >= 200:
                break
            if raw.strip():
                n = raw.count(b"\t") + 1
                counts[n] = counts.get(n, 0) + 1
    if not counts:
        return "360k"  # an empty file: nothing to tell, and nothing to load either way
    fields = max(counts, key=counts.get)  # type: ignore[arg-type]
    for fmt, n in FIELDS.items():
        if n == fields:
            return fmt  # type: ignore[return-value]
    raise IngestError(
        f"{path}: lines have {fields} tab-separated fields; expected 4 (Last.FM 360K "
        "user-sha1/artist-mbid/artist-name/plays) or 6 (Last.FM 1K listening events). Pass --format to force one.")
