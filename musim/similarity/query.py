"""Questions asked of a published snapshot: similar artists by name, with helpful errors."""

from __future__ import annotations

import numbers
import re
import unicodedata
from dataclasses import dataclass

import duckdb

from musim import sql
from musim.errors import NotFoundError, ParameterError
from musim.similarity import METRICS


@dataclass(frozen=True)
class Neighbor:
    artist: str
    score: float
    co_listeners: int
    rank: int
    artist_id: int
    listeners: int | None


def normalise_name(name: str) -> str:
    """The warehouse's ``name_norm``: NFC, lower case, whitespace trimmed and collapsed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", name)).strip().lower()


def serving_dump(con: duckdb.DuckDBPyConnection, dump_id: str | None) -> str:
    """The dump to answer from: a unique id prefix, or the latest dump with a similarity build."""
    if dump_id is None:
        row = sql.query(con, "similarity/snapshot_latest_dump.sql").fetchone()
        if row is None:
            raise NotFoundError("the published snapshot has no similarity build yet: run `musim similarity build`")
        return row[0]
    rows = sql.query(con, "similarity/built_dumps_with_prefix.sql", prefix=dump_id).fetchall()
    if len(rows) != 1:
        known = ", ".join(r[0][:12] for r in sql.query(con, "similarity/built_dumps.sql").fetchall())
        raise NotFoundError(f"dump {dump_id!r} has {'no' if not rows else 'an ambiguous'} similarity build in the "
                            f"published snapshot; built dumps: {known or 'none'}")
    return rows[0][0]


def find_artist(con: duckdb.DuckDBPyConnection, name: str, dump_id: str) -> tuple[int, str]:
    """``(artist_id, display name)`` for a name, case- and whitespace-insensitively.

    Unknown names raise :class:`NotFoundError` listing the closest known names.
    """
    norm = normalise_name(name)
    row = sql.query(con, "serving/find_artist.sql", name_norm=norm, dump_id=dump_id).fetchone()
    if row is not None:
        return int(row[0]), str(row[1])
    close = [r[0] for r in sql.query(con, "serving/suggest_artist.sql", name_norm=norm, dump_id=dump_id,
                                     limit=5).fetchall()]
    hint = f"; did you mean: {', '.join(map(repr, close))}?" if close else ""
    raise NotFoundError(f"no artist named {name!r} in dump {dump_id[:12]}{hint}")


class ArtistSimilarity:
    """Similar-artist questions on one open snapshot connection (the latest dump id resolved once).

    Snapshots never change once published, so caching the resolved dump is safe for the connection's life.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self._dumps: dict[str | None, str] = {}

    def dump(self, dump_id: str | None = None) -> str:
        if dump_id not in self._dumps:
            self._dumps[dump_id] = serving_dump(self.con, dump_id)
        return self._dumps[dump_id]

    def similar(self, name: str, *, k: int = 10, metric: str = "seed",
                dump_id: str | None = None) -> tuple[str, list[Neighbor]]:
        """The ``k`` most similar artists to ``name`` by ``metric``: (display name, neighbours).

        The artist by normalised name (an index lookup), then its co-listened pairs (consecutive rows of the
        snapshot's ``artist_pair_lookup``) scored now with ``metric`` and ranked (sql/serving/neighbors_of.sql).
        """
        if metric not in METRICS:
            raise ParameterError(f"unknown metric {metric!r}: choose one of {', '.join(METRICS)}")
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ParameterError(f"k must be a whole number >= 1, got {k!r}")
        k = int(k)
        dump = self.dump(dump_id)
        candidates = sql.query(self.con, "serving/artists_by_name.sql", name_norm=normalise_name(name)).fetchall()
        if not candidates:
            find_artist(self.con, name, dump)  # raises NotFoundError with suggestions
        if len(candidates) > 1:  # several artists share the name: the most listened one
            candidates.sort(key=lambda c: (-self._listeners(c[0], dump), c[0]))
        artist_id, display = candidates[0]
        rows = sql.query(self.con, "serving/neighbors_of.sql", artist_id=artist_id, metric=metric, dump_id=dump,
                         k=k).fetchall()
        return display, [Neighbor(artist=r[0], score=float(r[1]), co_listeners=int(r[2]), rank=int(r[3]),
                                  artist_id=int(r[4]), listeners=None if r[5] is None else int(r[5]))
                         for r in rows]

    def _listeners(self, artist_id: int, dump: str) -> int:
        row = sql.query(self.con, "serving/listeners_of.sql", artist_id=artist_id, dump_id=dump).fetchone()
        return int(row[0]) if row else 0


def similar_artists(con: duckdb.DuckDBPyConnection, name: str, *, k: int = 10, metric: str = "seed",
                    dump_id: str | None = None) -> tuple[str, list[Neighbor]]:
    """The ``k`` most similar artists to ``name`` (see :class:`ArtistSimilarity` for repeated questions)."""
    return ArtistSimilarity(con).similar(name, k=k, metric=metric, dump_id=dump_id)
