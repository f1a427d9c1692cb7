"""Which catalogue artist the artist of each new library file is: one per MusicBrainz id, else one per name.

A file tagged with a MusicBrainz artist id (MBID) belongs to that id's artist, so one name with two ids is two
artists (two bands called "Nirvana") and one id under two spellings is one. A file without an id joins the id'd
artist of its name (:func:`musim.names.name_key`) when that name has exactly one id in the library (this run's
files and the artists stored before); a name with no id is one artist, and so is a name with two or more ids:
its untagged files cannot be told apart, so they are an artist of their own, beside the id'd ones. The order
files were added in does not matter: when a name gains a second id, its stored untagged files that joined the
first id by name (:func:`stranded`) move to the untagged artist of the name, as if they were added now.

Each group then meets the catalogue: a library artist stored before, else a catalogue artist by MBID, by
normalised name, then by any known spelling with the same key (never one with another MBID: an id'd group, or the
untagged group of a name with several ids, joins by name only a catalogue artist without one), else a new one.
Groups that meet the same catalogue artist are one library artist. A Last.FM dump ingested later meets the library's
artists by the same rule (:func:`join_dump`, in the ingest's transaction), so which came first does not matter.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb

from musim import sql
from musim.library.artists import UNKNOWN_ARTIST, display_name
from musim.names import name_key, name_norm

Ident = tuple[str, str]  # ("mbid", MBID) or ("name", name key)
_PLACEHOLDER = ("name", name_key(UNKNOWN_ARTIST))


@dataclass
class Group:
    """The new files of one artist: their spellings (one per file), name keys and MBID."""

    ident: Ident
    spellings: list[str] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    ambiguous: bool = False  # an untagged name with two or more MBIDs in the library
    sole_keys: set[str] = field(default_factory=set)  # its names whose only MBID in the library is its own
    artist_id: int | None = None
    lastfm_match: str = "none"
    is_new: bool = False
    artist_key: str | None = None  # of a new catalogue artist

    @property
    def mbid(self) -> str | None:
        return self.ident[1] if self.ident[0] == "mbid" else None


def group_files(artists: list[tuple[str, str | None]], known: list[dict[str, Any]]) -> tuple[dict[Ident, Group],
                                                                                                 list[Ident]]:
    """Group the new files by artist identity (see the module doc): ``artists`` is each file's ``(name,
    MBID)``, ``known`` the library artists stored before (``library/known_artists.sql``); returns the groups
    and each file's group."""
    key_mbids = _key_mbids(artists, known)
    keyed = [(name, name_key(name) or _PLACEHOLDER[1], mbid) for name, mbid in artists]
    groups: dict[Ident, Group] = {}
    of_file: list[Ident] = []
    for name, key, mbid in keyed:
        mbids = key_mbids[key]
        ident: Ident = ("mbid", mbid) if mbid else ("mbid", next(iter(mbids))) if len(mbids) == 1 else ("name", key)
        group = groups.setdefault(ident, Group(ident, ambiguous=ident[0] == "name" and len(mbids) > 1))
        group.spellings.append(name)
        group.keys.add(key)
        if mbids == {mbid or ident[1]}:
            group.sole_keys.add(key)
        of_file.append(ident)
    return groups, of_file


def _key_mbids(artists: list[tuple[str, str | None]], known: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Each name key's MBIDs in the library: those of the artists stored before and of the new files."""
    key_mbids: dict[str, set[str]] = defaultdict(set)
    for artist in known:
        if artist["mbid"]:
            for key in artist["name_keys"]:
                key_mbids[key].add(artist["mbid"])
    for name, mbid in artists:
        if mbid:
            key_mbids[name_key(name) or _PLACEHOLDER[1]].add(mbid)
    return key_mbids


def stranded(artists: list[tuple[str, str | None]], known: list[dict[str, Any]],
             tracks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored tracks (``library/known_tracks.sql``) to group again with the new files ``artists``: those
    that joined an id'd artist by their name alone (no MBID tag of their own) when their name now has two or
    more MBIDs in the library, stored and new (what their artist would be, had they been added now)."""
    key_mbids = _key_mbids(artists, known)
    return [t for t in tracks if t["artist_rule"] != "mbid" and t["mbid"] is not None
            and len(key_mbids.get(t["name_key"], ())) > 1]


def without(known: list[dict[str, Any]], moved: list[dict[str, Any]], tracks: list[dict[str, Any]]
            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The stored library artists once the tracks ``moved`` have left them: each artist that lost some, its
    spellings and name keys those of its other stored ``tracks``; returns every artist, and those that lost
    tracks and keep some (``library_artists`` rows for them, to be recorded)."""
    gone = {t["track_id"] for t in moved}
    losing = {t["artist_id"] for t in moved}
    left: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for t in tracks:
        if t["artist_id"] in losing and t["track_id"] not in gone:
            left[t["artist_id"]].append(t)
    out, rows = [], []
    for artist in known:
        if artist["artist_id"] in losing:
            kept = left[artist["artist_id"]]
            artist = {**artist, "spellings": sorted({t["artist_spelling"] for t in kept}),
                      "name_keys": sorted({t["name_key"] for t in kept})}
            if kept:
                name = display_name([t["artist_spelling"] for t in kept])
                rows.append({"artist_id": artist["artist_id"], "name": name, "spellings": artist["spellings"],
                             "name_keys": artist["name_keys"], "mbid": artist["mbid"],
                             "lastfm_match": artist["lastfm_match"], "is_new": False, "artist_key": None,
                             "name_norm": name_norm(name), "is_placeholder": False})
        out.append(artist)
    return out, rows


def _known_artist(g: Group, by_mbid: dict[str, dict[str, Any]], name_only: dict[str, dict[str, Any]]
                  ) -> dict[str, Any] | None:
    """The library artist stored before that the group is (``by_mbid``: stored artists by MBID, ``name_only``:
    those without one by name key): the one with its MBID; for an id'd group, else a name-only one of a name
    whose only MBID is the group's (it takes the id), unless the catalogue gave it another; for a name-only
    group, the name-only one of its name."""
    if g.mbid is None:
        return name_only.get(g.ident[1])
    if g.mbid in by_mbid:
        return by_mbid[g.mbid]
    return next((a for k in sorted(g.sole_keys)
                 if (a := name_only.get(k)) is not None and a["catalogue_mbid"] in (None, g.mbid)), None)


def _first(candidates: list[tuple[int, str | None]], g: Group) -> int | None:
    """The first catalogue artist of ``candidates`` (``(artist_id, MBID)``) the group may join by name: one with
    an MBID only when the group has none and its name none in the library."""
    return next((i for i, mbid in candidates if mbid is None or not (g.mbid or g.ambiguous)), None)


Name = tuple[int, str | None, str | None, str, str]  # a catalogue name: artist id, MBID, name, name_norm, source


def _catalogue_names(con: duckdb.DuckDBPyConnection) -> list[Name]:
    """Every name the catalogue knows an artist by (``library/catalogue_names.sql``), in its order (hundreds of
    thousands at the full dump: read by column)."""
    found = sql.query(con, "library/catalogue_names.sql").fetchnumpy()
    return list(zip(*(found[c].tolist() for c in ("artist_id", "mbid", "name", "name_norm", "source")), strict=True))


def _catalogue(names: list[Name]) -> tuple[dict[str, int], dict[str, list[tuple[int, str | None]]],
                                          dict[str, list[tuple[int, str | None]]]]:
    """The catalogue's ``names`` (:func:`_catalogue_names`) by MBID, by normalised display name and by the name key
    of every name, each artist as ``(artist_id, MBID)``."""
    by_mbid = {mbid: artist_id for artist_id, mbid, _, _, _ in names if mbid}
    by_norm: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
    by_key: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
    keys = {name: name_key(name) for name in {n[2] or "" for n in names}}  # a display name is a spelling too
    for artist_id, mbid, name, norm, source in names:
        if source == "name":
            by_norm[norm].append((artist_id, mbid))
        if key := keys[name or ""]:
            by_key[key].append((artist_id, mbid))
    return by_mbid, by_norm, by_key


def _match(g: Group, catalogue: tuple[dict[str, int], dict[str, list[tuple[int, str | None]]],
                                      dict[str, list[tuple[int, str | None]]]]) -> tuple[str, int] | None:
    """How and which catalogue artist (:func:`_catalogue`) the group meets: by its MBID, else by a normalised name,
    else by any known spelling with one of its keys (the placeholder by its MBID alone); None: none."""
    by_mbid, by_norm, by_key = catalogue
    if g.mbid and g.mbid in by_mbid:
        return "mbid", by_mbid[g.mbid]
    if g.ident == _PLACEHOLDER:
        return None
    for norm in sorted({name_norm(s) for s in g.spellings}):
        if (hit := _first(by_norm.get(norm, []), g)) is not None:
            return "name", hit
    for key in sorted(g.keys):
        if (hit := _first(by_key.get(key, []), g)) is not None:
            return "variant", hit
    return None


def match_catalogue(con: duckdb.DuckDBPyConnection, groups: dict[Ident, Group], known: list[dict[str, Any]]) -> None:
    """Give each group its catalogue artist (see the module doc), a new one where none is."""
    catalogue = _catalogue(_catalogue_names(con))
    next_id = int(sql.query(con, "library/next_artist_id.sql").fetchone()[0])
    stored_by_mbid = {a["mbid"]: a for a in known if a["mbid"]}
    name_only = {k: a for a in known if not a["mbid"] for k in a["name_keys"]}
    for ident in sorted(groups):
        g = groups[ident]
        stored = _known_artist(g, stored_by_mbid, name_only)
        if stored is not None:
            g.artist_id, g.lastfm_match = stored["artist_id"], stored["lastfm_match"]
            continue
        match = _match(g, catalogue)
        g.artist_key = f"mbid:{g.mbid}" if g.mbid else f"name:{name_norm(display_name(g.spellings))}"
        if match is not None:
            g.lastfm_match, g.artist_id = match
        elif (same_key := sql.query(con, "library/artist_by_key.sql", artist_key=g.artist_key).fetchone()):
            g.artist_id = same_key[0]  # the artist a removed library artist left (keys are unique)
        else:
            g.artist_id, g.is_new = next_id, True
            next_id += 1


def join_dump(con: duckdb.DuckDBPyConnection, dump_id: str) -> list[tuple[int, int]]:
    """Meet the Last.FM artists of the dump ``dump_id``, just loaded (in its ingest's transaction), as if the library
    were added now: each library artist that met no Last.FM artist so far meets them by :func:`match_catalogue`'s
    rule, so that one artist is one catalogue artist whether its files or the dump came first. Met by the dump's
    spellings already (its MBID or name was the dump's key), the match is recorded; met in an artist the dump brought,
    that artist joins the library artist, which keeps its id and takes that artist's key, MBID, display name and
    spellings of the dump (the catalogue artist it would be, had the dump come first), unless another library artist
    meets it too (then they stay apart). Returns ``(artist of the dump, library artist)`` of each join: the dump's
    plays of the first are the second's."""
    known = sql.rows(con, "library/known_artists.sql")
    waiting = [a for a in known if a["lastfm_match"] == "none"]
    if not waiting:
        return []
    names = _catalogue_names(con)
    lastfm = {n[0] for n in names if n[4] == "variant"}  # the artists of some dump's spellings
    catalogue = _catalogue([n for n in names if n[0] in lastfm])
    new = {r["artist_id"] for r in sql.rows(con, "library/dump_new_artists.sql", dump_id=dump_id)}
    key_mbids = _key_mbids([], known)
    joined: list[tuple[int, int, str]] = []  # (artist met, library artist, how)
    met: dict[int, list[tuple[int, str]]] = defaultdict(list)  # an artist the dump brought -> who met it, how
    for artist in waiting:
        keys = set(artist["name_keys"])
        ident: Ident = ("mbid", artist["mbid"]) if artist["mbid"] else ("name", min(keys))
        g = Group(ident, list(artist["spellings"]), keys,
                  ambiguous=ident[0] == "name" and any(key_mbids.get(k) for k in keys))
        match = _match(g, catalogue)
        if match is None:
            continue
        how, other = match
        if other == artist["artist_id"]:  # the dump's spellings met it by its key
            joined.append((other, other, how))
        elif other in new and artist["artist_id"] not in lastfm:
            met[other].append((artist["artist_id"], how))
    joined += [(other, *by[0]) for other, by in sorted(met.items()) if len(by) == 1]
    if joined:
        sql.run(con, "library/join_dump.sql", lastfm_ids=[j[0] for j in joined], artist_ids=[j[1] for j in joined],
                matches=[j[2] for j in joined])
    return [(other, artist_id) for other, artist_id, _ in joined if other != artist_id]


def library_artists(groups: dict[Ident, Group], known: list[dict[str, Any]],
                    counts: Mapping[int, Counter[str]] | None = None) -> list[dict[str, Any]]:
    """One row per catalogue artist the groups met (``lib_artists`` of ``library/stage.sql``), merged with what
    the library stored of it before: ``counts``, each artist's stored tracks by spelling (those not in a group), so
    that its name is the spelling most of its tracks have, stored and new (without them, each stored spelling counts
    once)."""
    stored = {a["artist_id"]: a for a in known}
    merged: dict[int, list[Group]] = defaultdict(list)
    for ident in sorted(groups):
        merged[groups[ident].artist_id].append(groups[ident])  # type: ignore[index]
    rows = []
    for artist_id, gs in merged.items():
        before = stored.get(artist_id) or {}
        spelt = (counts or {}).get(artist_id)
        spellings = [s for g in gs for s in g.spellings]
        name = display_name(spellings + (list(spelt.elements()) if spelt else list(before.get("spellings") or [])))
        spellings += list(before.get("spellings") or [])
        rows.append({
            "artist_id": artist_id, "name": name, "spellings": sorted(set(spellings)),
            "name_keys": sorted(set().union(*(g.keys for g in gs), before.get("name_keys") or [])),
            "mbid": before.get("mbid") or next((g.mbid for g in gs if g.mbid), None),
            "lastfm_match": before.get("lastfm_match") or gs[0].lastfm_match, "is_new": gs[0].is_new,
            "artist_key": gs[0].artist_key, "name_norm": name_norm(name),
            "is_placeholder": all(g.ident == _PLACEHOLDER for g in gs),
        })
    return rows
