"""The version of the code that makes a similarity build: a fingerprint of the files that decide its stored rows.

A rerun of a build that stands is a no-op (:func:`musim.similarity.build.existing_build`) only when the build was
made by this code: after an upgrade that changes how the rows are computed, the same dump and parameters are built
again. The fingerprint is a sha256 over the bytes of, in a fixed order (their paths relative to the repository,
sorted):

- the Python modules of the build path: ``musim/similarity/*.py`` and ``musim/cooccurrence.py``;
- the C co-occurrence kernel: ``musim/_cooccurrence.c`` and the buffer header it includes, ``musim/_buffer.h``;
- the SQL files under ``sql/similarity/`` that those modules name (``"similarity/<name>.sql"``: every file the
  build runs, the metric definitions ``views.sql`` among them), read from the source, so a file the build starts
  to run is covered without a list to keep up to date.

Derived rather than a constant to bump by hand: a fix that forgets the bump would leave last night's build
standing, which is the trap this closes; the cost is a rebuild after a change that alters no row (a comment),
which is what ``--force`` did anyway. Computed once per process (a few dozen small files).
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: The build path's code, relative to the repository (the SQL files they name are added, :func:`fingerprinted`).
CODE = ("musim/similarity/*.py", "musim/cooccurrence.py", "musim/_cooccurrence.c", "musim/_buffer.h")
_SQL_NAME = re.compile(r"""["'](similarity/[A-Za-z0-9_]+\.sql)["']""")
#: How many hex digits of a fingerprint the CLI shows.
SHOWN = 12


def fingerprinted(root: Path = REPO) -> list[str]:
    """The files the fingerprint of the code under ``root`` covers, relative to ``root``, in their hashing order."""
    code = {p.relative_to(root).as_posix() for pattern in CODE for p in root.glob(pattern) if p.is_file()}
    named = {f"sql/{m}" for rel in code if rel.endswith(".py")
             for m in _SQL_NAME.findall((root / rel).read_text(encoding="utf-8"))}
    return sorted(code | named | {"sql/similarity/views.sql"})


@cache
def code_fingerprint(root: Path = REPO) -> str:
    """The sha256 (hex) of the similarity build's code under ``root``: each file's path, length and bytes, in the
    order of :func:`fingerprinted`; a file named there but absent counts as absent (its own mark)."""
    digest = hashlib.sha256()
    for rel in fingerprinted(root):
        path = root / rel
        data = path.read_bytes() if path.is_file() else None
        digest.update(rel.encode() + b"\0")
        digest.update(b"absent\0" if data is None else str(len(data)).encode() + b"\0" + data)
    return digest.hexdigest()


def short(fingerprint: str | None) -> str:
    """A fingerprint as the CLI shows it: its first hex digits, or ``unrecorded`` for a build made before builds
    recorded one (migration 024)."""
    return fingerprint[:SHOWN] if fingerprint else "unrecorded"
