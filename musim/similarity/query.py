"""Questions asked of a published snapshot: similar artists by name, with helpful errors."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import duckdb
import numpy as np

from musim import sql
from musim.errors import NotFoundError, ParameterError, StorageError
from musim.names import name_key, name_norm
from musim.similarity import METRICS, metrics


@dataclass(frozen=True)
class Neighbor:
    artist: str
    score: float
    co_listeners: int
    rank: int
    artist_id: int
    listeners: int | None


def serving_dump(con: duckdb.DuckDBPyConnection, dump_id: str | None) -> str:
    """The dump to answer from: a unique id prefix, or the latest dump with a similarity build."""
    if dump_id is None:
        row = sql.query(con, "similarity/snapshot_latest_dump.sql").fetchone()
        if row is None:
            raise NotFoundError("the published snapshot has no similarity build yet: run `musim similarity build` "
                                "(from a Last.FM dump); neighbours by sound need none: `musim similar NAME --audio`")
        return row[0]
    rows = sql.query(con, "similarity/built_dumps_with_prefix.sql", prefix=dump_id).fetchall()
    if len(rows) != 1:
        known = ", ".join(r[0][:12] for r in sql.query(con, "similarity/built_dumps.sql").fetchall())
        raise NotFoundError(f"dump {dump_id!r} has {'no' if not rows else 'an ambiguous'} similarity build in the "
                            f"published snapshot; built dumps: {known or 'none'}")
    return rows[0][0]


class ArtistNotFound(NotFoundError):
    """No artist by that name; ``suggestions`` are the closest known names."""

    def __init__(self, name: str, dump_id: str | None, suggestions: list[str]):
        self.name, self.dump_id, self.suggestions = name, dump_id, suggestions
        hint = f"; did you mean: {', '.join(map(repr, suggestions))}?" if suggestions else ""
        where = f"in dump {dump_id[:12]}" if dump_id else "in the catalogue"
        super().__init__(f"no artist named {name!r} {where}{hint}")


def find_artist(con: duckdb.DuckDBPyConnection, name: str, dump_id: str | None) -> tuple[int, str]:
    """``(artist_id, display name)`` for a name, case- and whitespace-insensitively, else by its
    :func:`~musim.names.name_key` (spacing, punctuation and Latin accents aside, as a music library keys names:
    ``OaktamSoljun`` finds ``Oaktam Soljun``); several artists of that name: the most listened. ``dump_id`` None
    (a music library without listening data): among every catalogue artist.

    Unknown names raise :class:`ArtistNotFound` with the closest known names; an empty one
    :class:`ParameterError`.
    """
    norm = _norm_of(name)
    row = _snapshot_query(con, "serving/find_artist.sql", name_norm=norm, name_key=name_key(name),
                          dump_id=dump_id).fetchone()
    if row is not None:
        return int(row[0]), str(row[1])
    close = [r[0] for r in sql.query(con, "serving/suggest_artist.sql", name_norm=norm, dump_id=dump_id,
                                     limit=5).fetchall()]
    raise ArtistNotFound(name, dump_id, close)


def _norm_of(name: str) -> str:
    """The name's normal form; an empty name refused."""
    norm = name_norm(name)
    if not norm:
        raise ParameterError("the artist name is empty: give a name, e.g. musim similar 'Radiohead'")
    return norm


def _snapshot_query(con: duckdb.DuckDBPyConnection, name: str, **params: object) -> duckdb.DuckDBPyConnection:
    """:func:`musim.sql.query`, a snapshot of an earlier layout (a column it lacks) asked to be published again."""
    try:
        return sql.query(con, name, **params)
    except (duckdb.BinderException, duckdb.CatalogException) as e:
        raise StorageError("the current snapshot was published by an earlier version of musim; publish a new one "
                           "(`musim publish`)") from e


@dataclass(frozen=True)
class DumpArtists:
    """The artists with listeners in one dump, for answering many questions from memory."""

    listeners: np.ndarray  # indexed by artist id, 0 where the artist has none
    names: dict[int, str]
    by_name: dict[str, int]  # normalised name -> the most listened artist of that name (then the lower id)
    by_key: dict[str, int]  # name key -> the most listened artist of that key (then the lower id)

    def listeners_of(self, artist_id: int) -> int:
        return int(self.listeners[artist_id]) if 0 <= artist_id < len(self.listeners) else 0


class ArtistSimilarity:
    """Similar-artist questions on one open snapshot connection.

    Snapshots never change once published, so the resolved dump, its build and its artists (listeners and
    names) are read once per connection; a question is then one probe of the artist's pairs in the snapshot,
    scored and ranked in Python (:mod:`musim.similarity.metrics`).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self._dumps: dict[str | None, str] = {}
        self._builds: dict[str, tuple[int, float, int, int, int]] = {}
        self._artists: dict[str, DumpArtists] = {}

    def dump(self, dump_id: str | None = None) -> str:
        if dump_id not in self._dumps:
            self._dumps[dump_id] = serving_dump(self.con, dump_id)
        return self._dumps[dump_id]

    def artists(self, dump: str) -> DumpArtists:
        """The artists with listeners in ``dump``."""
        if dump not in self._artists:
            found = _snapshot_query(self.con, "serving/dump_artists.sql", dump_id=dump).fetchnumpy()
            ids = np.asarray(found["artist_id"], dtype=np.int64)
            listeners = np.zeros(int(ids.max()) + 1 if len(ids) else 0, dtype=np.int64)
            listeners[ids] = found["listeners"]
            by_name: dict[str, int] = {}
            by_key: dict[str, int] = {}
            for artist_id, norm, key in sorted(zip(ids.tolist(), found["name_norm"].tolist(),
                                                   found["name_key"].tolist(), strict=True),
                                               key=lambda a: (-listeners[a[0]], a[0])):
                by_name.setdefault(norm, artist_id)
                if key:
                    by_key.setdefault(key, artist_id)
            self._artists[dump] = DumpArtists(listeners, dict(zip(ids.tolist(), found["name"].tolist(), strict=True)),
                                              by_name, by_key)
        return self._artists[dump]

    def build(self, dump: str) -> tuple[int, float, int, int, int]:
        """``(users, seed_raw_max, k, first_row, end_row)`` of the dump's similarity build: its users, the seed
        scale, its k, and the rowids of its rows in the snapshot's pair lookup (``end_row`` one past the last)."""
        if dump not in self._builds:
            # (a snapshot of a release before pair_lookup_dumps asks for a new publish)
            users, seed_raw_max, k, first_row, end_row = _snapshot_query(self.con, "serving/build_of.sql",
                                                                         dump_id=dump).fetchone()
            scale = float(seed_raw_max) if seed_raw_max is not None else 1.0  # a build without pairs (stored before they were refused)
            self._builds[dump] = (int(users), scale, int(k), int(first_row), int(end_row))
        return self._builds[dump]

    def similar(self, name: str, *, k: int = 10, metric: str = "seed",
                dump_id: str | None = None) -> tuple[str, list[Neighbor]]:
        """The ``k`` most similar artists to ``name`` by ``metric``: (display name, neighbours), ranked like
        the ``artist_neighbors`` view (score, co-listeners, lower id), at most the build's k. The name is found as
        :func:`find_artist` finds it (normalised name, else name key); several artists sharing it: the most
        listened one."""
        if metric not in METRICS:
            raise ParameterError(f"unknown metric {metric!r}: choose one of {', '.join(METRICS)}")
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ParameterError(f"k must be a whole number >= 1, got {k!r}")
        dump = self.dump(dump_id)
        artists = self.artists(dump)
        norm, key = _norm_of(name), name_key(name)
        artist_id = artists.by_name.get(norm)
        if artist_id is None:
            # (how: 0 by name, 1 by key, artist_id, name) of every artist, listeners in this dump or not
            named = _snapshot_query(self.con, "serving/artists_by_name.sql", name_norm=norm, name_key=key).fetchall()
            if not any(how == 0 for how, _, _ in named):  # the name as typed wins over a key, listeners or not
                artist_id = artists.by_key.get(key)
            if artist_id is None:  # an artist without listeners in this dump, or none of that name
                if not named:
                    find_artist(self.con, name, dump)  # raises ArtistNotFound with suggestions
                return min(named)[2], []
        users, seed_raw_max, build_k, first_row, end_row = self.build(dump)
        pairs = sql.query(self.con, "serving/pairs_of.sql", artist_id=artist_id, first_row=first_row,
                          end_row=end_row).fetchnumpy()
        ids = np.asarray(pairs["neighbor_id"], dtype=np.int64)
        top = metrics.top_k(metric, ids, np.asarray(pairs["co_listeners"], dtype=np.int64), artists.listeners[ids],
                            artists.listeners_of(artist_id), users, seed_raw_max, min(int(k), build_k))
        return artists.names[artist_id], [
            Neighbor(artist=artists.names[nid], score=value, co_listeners=co, rank=rank, artist_id=nid, listeners=lb)
            for rank, (nid, value, co, lb) in enumerate(top, start=1)]


def similar_artists(con: duckdb.DuckDBPyConnection, name: str, *, k: int = 10, metric: str = "seed",
                    dump_id: str | None = None) -> tuple[str, list[Neighbor]]:
    """The ``k`` most similar artists to ``name`` (see :class:`ArtistSimilarity` for repeated questions)."""
    return ArtistSimilarity(con).similar(name, k=k, metric=metric, dump_id=dump_id)
