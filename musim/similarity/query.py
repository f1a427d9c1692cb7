"""Questions asked of a published snapshot: similar artists by name, with helpful errors."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import duckdb

from musim import sql
from musim.errors import NotFoundError
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
        row = con.execute("SELECT dump_id FROM latest_dump").fetchone()
        if row is None:
            raise NotFoundError("the published snapshot has no similarity build yet: run `musim similarity build`")
        return row[0]
    rows = con.execute("SELECT dump_id FROM similarity_build WHERE starts_with(dump_id, ?)", [dump_id]).fetchall()
    if len(rows) != 1:
        known = ", ".join(r[0][:12] for r in con.execute("SELECT dump_id FROM similarity_build").fetchall())
        raise NotFoundError(f"dump {dump_id!r} has {'no' if not rows else 'an ambiguous'} similarity build in the "
                            f"published snapshot; built dumps: {known or 'none'}")
    return rows[0][0]


def find_artist(con: duckdb.DuckDBPyConnection, name: str, dump_id: str) -> tuple[int, str]:
    """``(artist_id, display name)`` for a name, case- and whitespace-insensitively.

    Unknown names raise :class:`NotFoundError` listing the closest known names.
    """
    norm = normalise_name(name)
    row = con.execute(sql.load("serving/find_artist.sql"), {"name_norm": norm, "dump_id": dump_id}).fetchone()
    if row is not None:
        return int(row[0]), str(row[1])
    close = [r[0] for r in con.execute(sql.load("serving/suggest_artist.sql"),
                                       {"name_norm": norm, "dump_id": dump_id, "limit": 5}).fetchall()]
    hint = f"; did you mean: {', '.join(close)}?" if close else ""
    raise NotFoundError(f"no artist named {name!r} in dump {dump_id[:12]}{hint}")


def similar_artists(con: duckdb.DuckDBPyConnection, name: str, *, k: int = 10, metric: str = "seed",
                    dump_id: str | None = None) -> tuple[str, list[Neighbor]]:
    """The ``k`` most similar artists to ``name`` by ``metric``; returns (display name, neighbours)."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: choose one of {', '.join(METRICS)}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    dump = serving_dump(con, dump_id)
    artist_id, display = find_artist(con, name, dump)
    rows = con.execute(sql.load("serving/similar.sql"),
                       {"dump_id": dump, "metric": metric, "artist_id": artist_id, "k": k}).fetchall()
    return display, [Neighbor(artist=r[0], score=float(r[1]), co_listeners=int(r[2]), rank=int(r[3]),
                              artist_id=int(r[4]), listeners=None if r[5] is None else int(r[5])) for r in rows]
