"""The Last.FM dump formats musim reads, and detecting which one a file is."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Literal

from musim.errors import IngestError
from musim.ingest.dump_files import PROFILE_PATTERNS, open_dump, reading

Format = Literal["360k", "1k"]

#: Fields per line of each plays/events format.
FIELDS: dict[str, int] = {"360k": 4, "1k": 6}
FILE_KIND: dict[str, str] = {"360k": "plays", "1k": "events"}


#: How much of a file tells its format and its line ends.
HEAD_BYTES = 1 << 20

def cr_advice(path: str | Path) -> str:
    """What a file whose lines end with a carriage return alone is, and the command that converts it."""
    name = Path(path).name
    plain = name.removesuffix(".gz")
    convert = f"gunzip -c {name} | tr '\\r' '\\n'" if plain != name else f"tr '\\r' '\\n' < {name}"
    return ("its lines end with a carriage return alone (classic Mac OS line ends, as Excel for Mac writes text), "
            f"which end no line here: convert them to newlines and ingest that, e.g. {convert} > unix-{plain}")


def cr_line_ends(head: bytes) -> bool:
    """Whether ``head`` (a file's first bytes) holds carriage returns and no newline: lines that end with a lone
    carriage return, read as one line (a lone carriage return inside a line stands for a space)."""
    return b"\r" in head and b"\n" not in head and head.count(b"\r") > 1


def starts_cr_only(path: str | Path) -> bool:
    """Whether the file at ``path`` (decompressed) has lines that end with a carriage return alone
    (:func:`cr_line_ends` of its first :data:`HEAD_BYTES`)."""
    try:
        with reading(path), open_dump(path) as fh:
            return cr_line_ends(fh.read(HEAD_BYTES))
    except (IngestError, OSError):
        return False


#: Fields per line of a profiles file (user, gender, age, country, signup).
PROFILE_FIELDS = 5


def looks_like_profiles(path: str | Path) -> bool:
    """Whether ``path`` is named as a profiles file (``usersha1-profile.tsv``, the 1K ``userid-profile.tsv``)."""
    return any(fnmatch.fnmatch(Path(path).name.lower(), pattern) for pattern in PROFILE_PATTERNS)


def profiles_given_as_plays(path: str | Path) -> str:
    """What to say of a profiles file given as the dump file."""
    return ("it is a profiles file (user, gender, age, country, signup), given as the dump's plays file: pass the "
            f"plays file, with this one as its profiles: musim ingest lastfm PLAYS --profiles {path}")


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
        for _ in range(200):
            raw = fh.readline(HEAD_BYTES)  # bounded: a file without newlines is no line read whole into memory
            if not raw:
                break
            if len(raw) == HEAD_BYTES and not raw.endswith(b"\n") and cr_line_ends(raw):
                raise IngestError(f"{path}: {cr_advice(path)}; nothing was stored.")
            if raw.strip():
                n = raw.count(b"\t") + 1
                counts[n] = counts.get(n, 0) + 1
    if not counts:
        return "360k"  # an empty file: nothing to tell, and nothing to load either way
    fields = max(counts, key=counts.get)  # type: ignore[arg-type]
    for fmt, n in FIELDS.items():
        if n == fields:
            return fmt  # type: ignore[return-value]
    if fields == PROFILE_FIELDS or looks_like_profiles(path):
        raise IngestError(f"{path}: {profiles_given_as_plays(path)}; nothing was stored.")
    raise IngestError(
        f"{path}: lines have {fields} tab-separated fields; expected 4 (Last.FM 360K "
        "user-sha1/artist-mbid/artist-name/plays) or 6 (Last.FM 1K listening events). Pass --format to force one.")
