"""Questions asked of a published snapshot: similar artists by name, id or MBID, with helpful errors."""

from __future__ import annotations

import numbers
import shlex
import uuid
from dataclasses import asdict, dataclass

import duckdb
import numpy as np

from musim import sql
from musim.errors import NotFoundError, ParameterError, StorageError, refuse_blank
from musim.names import MAX_QUERY_CHARS, lookup_problem, name_key, name_norm
from musim.similarity import METRICS, listed_dumps, metrics


@dataclass(frozen=True)
class Neighbor:
    artist: str
    score: float
    co_listeners: int
    rank: int
    artist_id: int
    listeners: int | None
    mbid: str | None = None
    shared_name: bool = False  # another artist has the same (normalised) name: the id tells them apart


@dataclass(frozen=True)
class Namesake:
    """One of several artists with the same (normalised) name, or of the same name key where a name was found by its
    key: its id, MBID, listeners in the dump and tracks, and (the artists of a key, whose names differ) its name."""

    artist_id: int
    mbid: str | None
    listeners: int
    tracks: int = 0
    name: str | None = None

    @property
    def heard(self) -> str:
        """What tells it apart besides its MBID: its listeners, else its tracks (an artist of the music library)."""
        if self.listeners:
            return f"{self.listeners:,} listener{'s' * (self.listeners != 1)}"
        return f"{self.tracks:,} track{'s' * (self.tracks != 1)}"


def namesakes_of(con: duckdb.DuckDBPyConnection, artist_id: int, dump_id: str | None) -> list[Namesake]:
    """The artists of artist ``artist_id``'s (normalised) name, itself included, in the order a name is answered in
    (the most listened in ``dump_id``, without listeners the most tracks, then the lower id); [] when no other artist
    has its name."""
    found = _snapshot_query(con, "serving/namesakes.sql", artist_id=artist_id, name_key=None,
                            dump_id=dump_id).fetchall()
    return [Namesake(int(i), m, int(n), int(t)) for i, m, _, n, t in found] if len(found) > 1 else []


def key_namesakes(con: duckdb.DuckDBPyConnection, key: str, dump_id: str | None) -> list[Namesake]:
    """The artists of the name key ``key`` (:func:`~musim.names.name_key`: ``Motley Crue`` and ``Mötley Crüe``), each
    with its name, in the order a name found by its key is answered in (as :func:`namesakes_of`); [] when one artist
    has it. A name typed as none of them is stored is found by its key: these are the artists it could mean."""
    found = _snapshot_query(con, "serving/namesakes.sql", artist_id=None, name_key=key, dump_id=dump_id).fetchall()
    return [Namesake(int(i), m, int(n), int(t), str(name)) for i, m, name, n, t in found] if len(found) > 1 else []


@dataclass(frozen=True)
class SimilarArtists:
    """One answer of :meth:`ArtistSimilarity.similar`: the artist, what answered (dump, metric, the ``k`` asked
    and the build's ``build_k``, the most it keeps per artist) and the neighbours, ranked."""

    artist: str
    artist_id: int
    mbid: str | None
    dump_id: str
    metric: str
    k: int
    build_k: int
    neighbors: list[Neighbor]
    namesakes: list[Namesake]  # when several artists have this name: all of them (this one too), most listened first
    reason: str | None  # why there are no neighbours; None when there are
    #: how the artist was found: "name" (its normalised name), "key" (its name key: the name was typed as no artist's
    #: is stored, and ``namesakes`` are the artists of that key), None (by id or MBID)
    matched_by: str | None = None
    compared: int = 0  # the artists the build compared (listeners >= its min_listeners): at most compared - 1 neighbours
    co_listened: int = 0  # the artists co-listened with this one in the build: its neighbours before the build's k
    #: the options of ``musim similarity build`` that make the dump's build again with its parameters (besides k)
    build_options: tuple[str, ...] = ()

    @property
    def cut(self) -> bool:
        """The build's k cut this answer: a larger ``k`` was asked and the artist has more neighbours than it keeps."""
        return self.k > self.build_k and self.co_listened > self.build_k

    def to_json(self) -> dict:
        return {"artist": self.artist, "artist_id": self.artist_id, "mbid": self.mbid, "dump_id": self.dump_id,
                "metric": self.metric, "k": self.k, "build_k": self.build_k,
                "matched_by": self.matched_by, "namesakes": [asdict(n) for n in self.namesakes], "reason": self.reason,
                "rows": [{"rank": n.rank, "artist": n.artist, "artist_id": n.artist_id, "mbid": n.mbid,
                          "score": n.score, "co_listeners": n.co_listeners, "listeners": n.listeners}
                         for n in self.neighbors]}


@dataclass(frozen=True)
class ServedBuild:
    """A dump's similarity build as a snapshot serves it: its users, seed scale, thresholds and k, and the rowids
    of its rows in the snapshot's pair lookup (``end_row`` one past the last)."""

    users: int
    seed_raw_max: float
    k: int
    min_listeners: int
    min_co_listeners: int
    first_row: int
    end_row: int


def serving_dump(con: duckdb.DuckDBPyConnection, dump_id: str | None) -> str:
    """The dump to answer from: a unique id prefix (not empty), or the latest dump with a similarity build."""
    refuse_blank(dump_id, "the dump id", "a dump id or unique prefix (`musim dumps`), or none for the latest")
    if dump_id is None:
        row = _snapshot_query(con, "similarity/snapshot_latest_dump.sql").fetchone()
        if row is None:
            raise NotFoundError("the published snapshot has no similarity build yet: run `musim similarity build` "
                                "(from a Last.FM dump); neighbours by sound need none: `musim similar NAME --audio`")
        return row[0]
    rows = _snapshot_query(con, "similarity/built_dumps_with_prefix.sql", prefix=dump_id).fetchall()
    if len(rows) != 1:  # ambiguous: the built dumps it matches; none: the built ones
        known = [r[0] for r in (rows or _snapshot_query(con, "similarity/built_dumps.sql").fetchall())]
        raise NotFoundError(f"dump {dump_id!r} has {'no' if not rows else 'an ambiguous'} similarity build in the "
                            f"published snapshot; {'built dumps' if not rows else 'it matches'}: "
                            f"{listed_dumps(known)}")
    return rows[0][0]


@dataclass(frozen=True)
class Suggestion:
    """An artist suggested for a name (``serving/suggest_artist.sql``): ``namesakes`` > 1 when other artists
    suggested have the same name (two bands called "Nirvana"): its id tells it apart, ``detail`` says how."""

    artist_id: int
    name: str
    mbid: str | None
    listeners: int
    tracks: int
    namesakes: int

    @property
    def shared(self) -> bool:
        return self.namesakes > 1

    @property
    def detail(self) -> str:
        """What tells it from its namesakes: its MBID's first 8 characters and its listeners (else tracks)."""
        mbid = f"MBID {self.mbid[:8]}…" if self.mbid else "no MBID"
        heard = (f"{self.listeners:,} listener{'s' * (self.listeners != 1)}" if self.listeners
                 else f"{self.tracks:,} track{'s' * (self.tracks != 1)}")
        return f"{mbid}, {heard}"

    def to_json(self) -> dict:
        return {**asdict(self), "shared": self.shared, "detail": self.detail}


def suggest_artists(con: duckdb.DuckDBPyConnection, name: str, dump_id: str | None, *,
                    limit: int = 10) -> list[Suggestion]:
    """The artists suggested for ``name`` (as typed, or its beginning): the one rule of ``musim similar``'s "did
    you mean" and the page's autocomplete (``serving/suggest_artist.sql``): the name, then its
    :func:`~musim.names.name_key`, then names and keys starting with it, containing it, then the closest names."""
    norm = name_norm(name)
    if not norm:
        return []
    _refuse_unlookable(name)
    rows = _snapshot_query(con, "serving/suggest_artist.sql", name_norm=norm, name_key=name_key(name),
                           dump_id=dump_id, limit=limit).fetchall()
    return [Suggestion(int(i), str(n), m, int(ln), int(t), int(k)) for i, n, m, ln, t, k in rows]


class ArtistNotFound(NotFoundError):
    """No artist by that name; ``suggestions`` are the closest known names (each once), ``artists`` the artists
    suggested (namesakes apart)."""

    def __init__(self, name: str, dump_id: str | None, artists: list[Suggestion]):
        self.name, self.dump_id, self.artists = name, dump_id, artists
        self.suggestions = list(dict.fromkeys(a.name for a in artists))
        said = ", ".join(f"{a.name!r} (--id {a.artist_id}: {a.detail})" if a.shared else repr(a.name)
                         for a in artists)
        hint = f"; did you mean: {said}?" if artists else ""
        where = f"in dump {dump_id[:12]}" if dump_id else "in the catalogue"
        super().__init__(f"no artist named {name!r} {where}{hint}")


def find_artist(con: duckdb.DuckDBPyConnection, name: str, dump_id: str | None) -> tuple[int, str]:
    """``(artist_id, display name)`` for a name, case- and whitespace-insensitively, else by its
    :func:`~musim.names.name_key` (spacing, punctuation and Latin accents aside, as a music library keys names:
    ``OaktamSoljun`` finds ``Oaktam Soljun``); several artists of that name: the most listened, without listeners
    the one with the most tracks. ``dump_id`` None (a music library without listening data): among every catalogue
    artist.

    Unknown names raise :class:`ArtistNotFound` with the closest known names; an empty one
    :class:`ParameterError`.
    """
    norm = _norm_of(name)
    row = _snapshot_query(con, "serving/find_artist.sql", name_norm=norm, name_key=name_key(name),
                          dump_id=dump_id).fetchone()
    if row is not None:
        return int(row[0]), str(row[1])
    raise ArtistNotFound(name, dump_id, suggest_artists(con, name, dump_id, limit=5))


def _norm_of(name: str) -> str:
    """The name's normal form; an empty name refused, and one no artist can have (:func:`_refuse_unlookable`)."""
    norm = name_norm(name)
    if not norm:
        raise ParameterError("the artist name is empty: give a name, e.g. musim similar 'Radiohead'")
    _refuse_unlookable(name)
    return norm


def _refuse_unlookable(name: str) -> None:
    """Refuse a name no artist can have (:func:`musim.names.lookup_problem`: a C1 control character), which the
    lookup would otherwise match silently as the name without it (:func:`~musim.names.name_key` drops it): the one
    check of every name lookup (:func:`find_artist`, :meth:`ArtistSimilarity.similar`, :func:`suggest_artists`), so
    the command line, the web API and page, and a direct caller refuse it alike."""
    problem = lookup_problem(name)
    if problem is not None:
        raise ParameterError(f"the artist name {problem}")


#: What a reader says of a snapshot that lacks a table or column this version reads (an earlier layout).
EARLIER_LAYOUT = "the current snapshot was published by an earlier version of musim; publish a new one (`musim publish`)"


def _snapshot_query(con: duckdb.DuckDBPyConnection, name: str, **params: object) -> duckdb.DuckDBPyConnection:
    """:func:`musim.sql.query`, a snapshot of an earlier layout (a table or column this version's has and it lacks,
    :func:`musim.sql.earlier_layout`) asked to be published again; any other binder error raised as it is."""
    try:
        return sql.query(con, name, **params)
    except (duckdb.BinderException, duckdb.CatalogException) as e:
        if not sql.earlier_layout(con, e):
            raise
        raise StorageError(EARLIER_LAYOUT) from e


@dataclass(frozen=True)
class DumpArtists:
    """The artists with listeners in one dump, for answering many questions from memory."""

    listeners: np.ndarray  # indexed by artist id, 0 where the artist has none
    names: dict[int, str]
    by_name: dict[str, int]  # normalised name -> the most listened artist of that name (then the lower id)
    by_key: dict[str, int]  # name key -> the most listened artist of that key (then the lower id)
    mbids: dict[int, str | None]
    shared_names: set[int]  # the artists whose normalised name another artist of the snapshot has too

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
        self._builds: dict[str, ServedBuild] = {}
        self._artists: dict[str, DumpArtists] = {}
        self._compared: dict[str, int] = {}

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
            self._artists[dump] = DumpArtists(
                listeners, dict(zip(ids.tolist(), found["name"].tolist(), strict=True)), by_name, by_key,
                dict(zip(ids.tolist(), found["mbid"].tolist(), strict=True)),
                set(ids[np.asarray(found["namesakes"]) > 1].tolist()))
        return self._artists[dump]

    def build(self, dump: str) -> ServedBuild:
        """The dump's similarity build as the snapshot serves it."""
        if dump not in self._builds:
            # (a snapshot of a release before pair_lookup_dumps asks for a new publish)
            users, seed_raw_max, *rest = _snapshot_query(self.con, "serving/build_of.sql", dump_id=dump).fetchone()
            scale = float(seed_raw_max) if seed_raw_max is not None else 1.0  # a build without pairs (stored before they were refused)
            self._builds[dump] = ServedBuild(int(users), scale, *map(int, rest))
        return self._builds[dump]

    def compared(self, dump: str) -> int:
        """The artists the dump's build compared (listeners >= its min_listeners)."""
        if dump not in self._compared:
            self._compared[dump] = int(np.count_nonzero(self.artists(dump).listeners >= self.build(dump).min_listeners))
        return self._compared[dump]

    def build_options(self, dump: str) -> tuple[str, ...]:
        """The options of ``musim similarity build`` (besides ``--dump`` and ``--k``) that make the dump's build
        again with the parameters it was made with, those at their default left out: a rebuild suggested without
        them would compare other artists (``--min-listeners`` 50 where the build took 1) or be refused."""
        from musim.similarity.params import SimilarityParams

        min_listeners, min_co_listeners, catalogue, compared = _snapshot_query(
            self.con, "similarity/served_build_params.sql", dump_id=dump).fetchone()
        default = SimilarityParams()
        options = []
        if min_listeners != default.min_listeners:
            options += ["--min-listeners", str(min_listeners)]
        if min_co_listeners != default.min_co_listeners:
            options += ["--min-co-listeners", str(min_co_listeners)]
        if catalogue != min(default.catalogue_size, compared):  # recorded: at most the compared artists
            options += ["--catalogue-size", str(catalogue)]
        return tuple(options)

    def similar(self, name: str | None = None, *, artist_id: int | None = None, mbid: str | None = None,
                k: int = 10, metric: str = "seed", dump_id: str | None = None) -> SimilarArtists:
        """The ``k`` most similar artists by ``metric`` to the artist named ``name``, or of id ``artist_id``, or of
        MBID ``mbid`` (one of the three), ranked like the ``artist_neighbors`` view (score, co-listeners, lower
        id), at most the build's k. The name is found as :func:`find_artist` finds it (normalised name, else name
        key); several artists sharing it (the name, or where it was found by its key, the key: ``Motley-Crue``
        keys ``Motley Crue`` and ``Mötley Crüe``): the most listened one (the answer's ``namesakes`` list them all,
        its ``matched_by`` says which; ``artist_id`` or ``mbid`` asks for another)."""
        if metric not in METRICS:
            raise ParameterError(f"unknown metric {metric!r}: choose one of {', '.join(METRICS)}")
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ParameterError(f"k must be a whole number >= 1, got {k!r}")
        if (name is None) + (artist_id is None) + (mbid is None) != 2:
            raise ParameterError("ask for one artist: by its name, its id or its MBID")
        dump = self.dump(dump_id)
        artists = self.artists(dump)
        matched_by = None
        if name is None:
            artist_id = artist_id_of(self.con, artist_id, mbid)
        else:
            norm, key = _norm_of(name), name_key(name)
            artist_id, matched_by = artists.by_name.get(norm), "name"
            if artist_id is None:
                # (how: 0 by name, 1 by key, artist_id, name) of every artist, listeners in this dump or not
                named = _snapshot_query(self.con, "serving/artists_by_name.sql", name_norm=norm,
                                        name_key=key).fetchall()
                if not any(how == 0 for how, _, _ in named):  # the name as typed wins over a key
                    artist_id, matched_by = artists.by_key.get(key), "key"
                if artist_id is None:  # an artist without listeners in this dump (the most tracks), or none of that
                    artist_id = find_artist(self.con, name, dump)[0]  # name: ArtistNotFound with suggestions
        build = self.build(dump)
        listeners = artists.listeners_of(artist_id)
        elsewhere: list[tuple[str, int]] = []
        if not listeners:
            elsewhere = [(str(d), int(n)) for d, n in _snapshot_query(
                self.con, "serving/listened_dumps.sql", artist_id=artist_id).fetchall() if d != dump]
        top: list[tuple[int, float, int, int]] = []
        co_listened = 0
        if listeners >= build.min_listeners:
            pairs = sql.query(self.con, "serving/pairs_of.sql", artist_id=artist_id, first_row=build.first_row,
                              end_row=build.end_row).fetchnumpy()
            ids = np.asarray(pairs["neighbor_id"], dtype=np.int64)
            co_listened = int(ids.size)
            top = metrics.top_k(metric, ids, np.asarray(pairs["co_listeners"], dtype=np.int64),
                                artists.listeners[ids], listeners, build.users, build.seed_raw_max,
                                min(int(k), build.k))
        if listeners:
            display, artist_mbid, placeholder = artists.names[artist_id], artists.mbids[artist_id], False
        else:  # a placeholder, an artist of the music library or of another dump
            display, artist_mbid, placeholder = sql.query(self.con, "serving/artist_of.sql",
                                                          artist_id=artist_id).fetchone()
        namesakes = []
        if matched_by == "key":  # the artists the key could mean ("Motley-Crue": "Motley Crue", "Mötley Crüe")
            namesakes = key_namesakes(self.con, key, dump)
        elif artist_id in artists.shared_names or not listeners:
            namesakes = namesakes_of(self.con, artist_id, dump)
        options = self.build_options(dump) if int(k) > build.k and co_listened > build.k else ()
        return SimilarArtists(
            artist=display, artist_id=artist_id, mbid=artist_mbid, dump_id=dump, metric=metric, k=int(k),
            build_k=build.k, namesakes=namesakes, matched_by=matched_by,
            reason=None if top else _why_no_neighbours(display, placeholder, listeners, build, dump, elsewhere,
                                                       artist_id=artist_id, shared=bool(namesakes)),
            compared=self.compared(dump), co_listened=co_listened, build_options=options,
            neighbors=[Neighbor(artist=artists.names[nid], score=value, co_listeners=co, rank=rank, artist_id=nid,
                                listeners=lb, mbid=artists.mbids[nid], shared_name=nid in artists.shared_names)
                       for rank, (nid, value, co, lb) in enumerate(top, start=1)])


def artist_id_of(con: duckdb.DuckDBPyConnection, artist_id: int | None, mbid: str | None) -> int:
    """The id of the artist of id ``artist_id`` or MBID ``mbid`` (one of them), checked against the snapshot's
    artists (what ``musim similar --id`` and ``--mbid`` take)."""
    if mbid is not None:
        try:
            key = str(uuid.UUID(str(mbid).strip()))
        except ValueError:
            raise ParameterError(f"{mbid!r} is not an MBID: give a MusicBrainz id such as "
                                 "11111111-2222-4333-8444-555555555555") from None
        row = sql.query(con, "serving/artist_by_mbid.sql", mbid=key).fetchone()
        if row is None:
            raise NotFoundError(f"no artist has the MBID {key} in the published snapshot")
        return int(row[0])
    if isinstance(artist_id, bool) or not isinstance(artist_id, numbers.Integral):
        raise ParameterError(f"an artist id is a whole number, got {artist_id!r}")
    if sql.query(con, "serving/artist_of.sql", artist_id=int(artist_id)).fetchone() is None:
        raise NotFoundError(f"no artist has the id {artist_id} in the published snapshot (`musim similar NAME "
                            "--json` shows an artist's id and MBID)")
    return int(artist_id)


def similar_command(name: str, artist_id: int, shared: bool, *options: str) -> str:
    """The ``musim similar`` command line that asks for the artist ``name`` (id ``artist_id``) with ``options``:
    by ``--id`` where other artists share its name (``shared``: the name answers for the most listened of them, maybe
    another) or where the name cannot be given (longer than a query takes, or with characters the terminal is shown
    escaped), else by its name, quoted for a shell (after the options and ``--`` where it starts with a dash: argparse
    read ``-M-`` as an option)."""
    if shared or len(name) > MAX_QUERY_CHARS or not name.isprintable():
        return shlex.join(["musim", "similar", "--id", str(artist_id), *options])
    if name.startswith("-"):
        return shlex.join(["musim", "similar", *options, "--", name])
    return shlex.join(["musim", "similar", name, *options])


def _why_no_neighbours(name: str, placeholder: bool, listeners: int, build: ServedBuild, dump: str,
                       elsewhere: list[tuple[str, int]] = (), *, artist_id: int = 0, shared: bool = False) -> str:
    """Why the artist ``name`` (``listeners`` in ``dump``; id ``artist_id``, ``shared``: its name is other artists'
    too) has no co-listening neighbours in ``build``; ``elsewhere``: the other served dumps where it has listeners
    (id, listeners), newest first."""
    if placeholder:
        return (f"{name} is a placeholder name (Last.FM's for plays of an unknown artist, or of many): it is never "
                "compared with other artists")
    if not listeners:
        said = f"{name} has no listeners in dump {dump[:12]}: it has no co-listening neighbours there"
        if elsewhere:
            other, heard = elsewhere[0]
            more = f" (and {len(elsewhere) - 1} older one{'s' if len(elsewhere) > 2 else ''})" if len(elsewhere) > 1 \
                else ""
            said += (f"; the snapshot also serves dump {other[:12]}{more}, where it has {heard:,} "
                     f"listener{'s' if heard != 1 else ''}: {similar_command(name, artist_id, shared, '--dump', other[:12])}")
        return said
    heard = f"{listeners:,} listener{'s' if listeners != 1 else ''} in dump {dump[:12]}"
    if listeners < build.min_listeners:
        return (f"{name} has {heard}, fewer than the build's min_listeners={build.min_listeners}: it was not "
                "compared with other artists")
    if listeners < build.min_co_listeners:  # no pair of it can reach the threshold: "shares 2 or more of its 1"
        return (f"{name} has {heard}, fewer than the build's min_co_listeners={build.min_co_listeners} that a pair "
                "needs: it has no co-listened artist")
    if build.min_co_listeners == 1:
        shared = "its listener" if listeners == 1 else "any of its listeners"
    else:
        shared = f"{build.min_co_listeners} or more of its listeners (the build's min_co_listeners)"
    return (f"{name} has {heard} but shares {shared} with no other compared artist (>= {build.min_listeners} "
            "listeners): it has no co-listened artist")


def similar_artists(con: duckdb.DuckDBPyConnection, name: str | None = None, *, artist_id: int | None = None,
                    mbid: str | None = None, k: int = 10, metric: str = "seed",
                    dump_id: str | None = None) -> SimilarArtists:
    """The ``k`` most similar artists to ``name`` (or ``artist_id``, ``mbid``; see :class:`ArtistSimilarity`
    for repeated questions)."""
    return ArtistSimilarity(con).similar(name, artist_id=artist_id, mbid=mbid, k=k, metric=metric,
                                         dump_id=dump_id)
