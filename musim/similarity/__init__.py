"""Artist–artist similarity from co-listening, computed in SQL (``sql/similarity/``)."""

from __future__ import annotations

from collections.abc import Sequence

METRICS: tuple[str, ...] = ("seed", "jaccard", "cosine", "lift", "pmi")

#: Dumps an error message names at most (an hourly landing ingests hundreds): the newest.
DUMPS_LISTED = 10


def listed_dumps(ids: Sequence[str]) -> str:
    """Dump ids (oldest first) as an error message lists them: their short ids, the newest :data:`DUMPS_LISTED`
    where there are more, saying how many and where all are listed."""
    short = [dump_id[:12] for dump_id in ids]
    if len(short) <= DUMPS_LISTED:
        return ", ".join(short) or "none"
    return (f"{', '.join(short[-DUMPS_LISTED:])} (the newest {DUMPS_LISTED} of {len(short):,}; `musim dumps` lists "
            "them all)")
