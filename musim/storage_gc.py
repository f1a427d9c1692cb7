"""Garbage collection of the object store (``musim store gc``): the objects no warehouse row refers to any more.

musim writes objects and then rows that name them, and deletes rows without their objects: a recompute that gives
new bytes (the old row's object stays), a build killed between its objects and its rows, a library track removed, a
model version deleted. This finds them and, asked to, deletes them, as ``git gc`` or Delta's ``VACUUM`` do:

1. list the store under :data:`COLLECTED_PREFIXES` and :data:`STAGING_PREFIXES` (every page of an S3 listing);
2. read every key and key prefix a row refers to, from one query, ``sql/storage/referenced_keys.sql`` (a new table
   that refers to objects is added there, and only there). Superseded feature values kept for point-in-time reads
   are referenced: a training set pinned before a recompute must still read them (see the query's comments);
3. keep what is referenced, and what is younger than the grace period (``older_than``, 24 hours by default): a build
   in flight writes its objects before the rows that name them (a feature build's batches, an acquisition's audio
   before its journal is recorded), so a young object no row names yet may be one a row is about to name. The grace
   period must be longer than any build takes from its first object to its last row. The staging of DAG runs (:data:`STAGING_PREFIXES`: a training run's inputs and models under ``models/runs/``, a
   feature build's batch manifests under ``features/runs/``) is no row's: a retried task of its run reads it back,
   and no row says when the run is over. A run's folder is collected whole, once its newest object is older than
   the staging grace period (``staging_older_than``, 7 days by default: Airflow retries a task within minutes, a
   user clears a failed run by hand within days); a build that still beats keeps its folder young;
4. delete the rest, only when asked (``delete=True``), reading the references once more just before (a row
   recorded while the store was listed keeps its object). A key gone meanwhile is no error.

Outside the collected prefixes nothing is ever listed or deleted: the acquisition's journals and progress
(``acquire/``) and the library's notes (``library/examined/``) are state their writers keep and remove themselves;
whatever else shares the store (a landing area, another program's keys) is not musim's. A warehouse that names no object at all while the
store holds musim's objects is refused for deletion: it is more likely the wrong warehouse for this store (a new
``MUSIM_HOME`` beside a shared bucket) than one whose every object is garbage.

Audio is stored once per content (``put_content_addressed``): an acquisition or a library add that finds an old
unreferenced copy of what it is about to store reuses it, and touches it first (``ObjectStore.reused``: its
modification time becomes now), so the grace period keeps it until its row is written; and the store is listed
again just before deleting, so an object touched while the collection ran is kept. One narrow race is left: a reuse
that touches an object between that second listing and its deletion (the seconds a deletion batch takes) leaves a row
naming a missing object (a library add stores it again when it finds it missing; for an acquisition the features
build rejects the track as ``missing object`` until its audio is stored again). Collecting when no acquisition or
library add runs avoids it.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from musim import sql, warehouse
from musim.config import Settings
from musim.errors import StorageError
from musim.progress import progress_bar
from musim.storage import ObjectInfo, ObjectStore

__all__ = ["COLLECTED_PREFIXES", "DEFAULT_OLDER_THAN", "DEFAULT_STAGING_OLDER_THAN", "STAGING_PREFIXES", "GcResult",
           "References", "collect_garbage", "delete_objects", "is_collected", "referenced_keys", "staged_run",
           "warehouse_references"]

#: The key prefixes whose objects are rows' objects (kept in step with their writers by tests/test_storage_gc.py):
#: audio previews and library excerpts (``musim.acquire.journal.PREVIEW_PREFIX``,
#: ``musim.library.add_files.OBJECT_PREFIX``), log-mel and slice tensors (``musim.features.params``), model versions
#: (``musim.models.registry.object_prefix``) and quality Data Docs (``musim.quality.report.DOCS_PREFIX``).
COLLECTED_PREFIXES = ("audio/previews/", "features/mel/", "features/slices/", "models/", "quality/docs/")
#: The staging of DAG runs, a folder per run (``<prefix><run>/``): feature builds' batch manifests and heartbeats
#: (``musim.features.work.MANIFEST_PREFIX``) and training runs' inputs and models
#: (``musim.models.families.staged.STAGING_PREFIX``). Collected a run's folder at a time (:func:`staged_run`).
STAGING_PREFIXES = ("features/runs/", "models/runs/")
DEFAULT_OLDER_THAN = dt.timedelta(hours=24)
DEFAULT_STAGING_OLDER_THAN = dt.timedelta(days=7)
#: What is listed: the collected and staging prefixes, none under another (``models/runs/`` is under ``models/``).
_LISTED = tuple(p for p in sorted({*COLLECTED_PREFIXES, *STAGING_PREFIXES})
                if not any(p != q and p.startswith(q) for q in (*COLLECTED_PREFIXES, *STAGING_PREFIXES)))
#: Keys handed to the store's ``delete_many`` at a time (S3's ``DeleteObjects`` takes at most 1,000).
DELETE_BATCH = 1000


def is_collected(key: str) -> bool:
    """Whether ``key`` is under a prefix garbage collection may delete from."""
    return key.startswith(_LISTED)


def staged_run(key: str) -> str | None:
    """The run folder (``models/runs/<run>/``) that ``key`` is staged in; None for a key outside
    :data:`STAGING_PREFIXES`. A key right under a staging prefix is a folder of its own."""
    for prefix in STAGING_PREFIXES:
        if key.startswith(prefix):
            run, slash, _ = key[len(prefix):].partition("/")
            return prefix + run + slash
    return None


def _newest_by_run(listed: Iterable[ObjectInfo]) -> dict[str, dt.datetime | None]:
    """Each staged run folder's newest modification time; None where an object's time is unknown (kept)."""
    newest: dict[str, dt.datetime | None] = {}
    for info in listed:
        run = staged_run(info.key)
        if run is None:
            continue
        if run in newest and newest[run] is None:
            continue
        if info.modified is None:
            newest[run] = None
        else:
            newest[run] = max(newest.get(run) or info.modified, info.modified)
    return newest


@dataclass(frozen=True)
class References:
    """The keys rows refer to: whole keys, and prefixes every key under which is referenced."""

    keys: frozenset[str]
    prefixes: tuple[str, ...]  # sorted, none under another (see :meth:`of`)

    @classmethod
    def of(cls, rows: Iterable[tuple[str, bool]]) -> References:
        keys, prefixes = set(), []
        for ref, is_prefix in rows:
            (prefixes.append if is_prefix else keys.add)(ref)
        outer: list[str] = []
        for prefix in sorted(set(prefixes)):
            if not (outer and prefix.startswith(outer[-1])):  # one under a kept prefix adds nothing
                outer.append(prefix)
        return cls(frozenset(keys), tuple(outer))

    def __len__(self) -> int:
        return len(self.keys) + len(self.prefixes)

    def holds(self, key: str) -> bool:
        """Whether a row refers to ``key``: by name, or by a prefix of it. With no prefix under another, the only
        prefix that can start ``key`` is the greatest one not after it."""
        if key in self.keys:
            return True
        at = bisect.bisect_right(self.prefixes, key) - 1
        return at >= 0 and key.startswith(self.prefixes[at])


def referenced_keys(con: duckdb.DuckDBPyConnection) -> References:
    """Every key and key prefix a warehouse row refers to (``sql/storage/referenced_keys.sql``)."""
    return References.of((key, bool(is_prefix)) for key, is_prefix, _source
                         in sql.query(con, "storage/referenced_keys.sql").fetchall())


@dataclass
class GcResult:
    """What one collection found: the unreferenced objects older than the grace period (deleted when ``deleted``),
    those kept for being younger, and those a row refers to."""

    store: str
    older_than: dt.timedelta
    staging_older_than: dt.timedelta
    deleted: bool
    unreferenced: list[ObjectInfo] = field(default_factory=list)
    young: int = 0
    young_bytes: int = 0
    referenced: int = 0
    referenced_bytes: int = 0

    @property
    def unreferenced_bytes(self) -> int:
        return sum(o.size for o in self.unreferenced)

    def summary(self) -> str:
        """One line: how many objects and megabytes are unreferenced, what became of them, and what was kept."""
        done = "deleted" if self.deleted else "would be deleted (dry run: --delete deletes them)"
        hours = self.older_than.total_seconds() / 3600
        staging_hours = self.staging_older_than.total_seconds() / 3600
        return (f"{len(self.unreferenced):,} objects, {_mb(self.unreferenced_bytes)} unreferenced in {self.store}: "
                f"{done}; kept {self.young:,} unreferenced younger than {hours:g} h or in a run's staging changed "
                f"within {staging_hours:g} h ({_mb(self.young_bytes)}) and {self.referenced:,} referenced "
                f"({_mb(self.referenced_bytes)})")

    def to_json(self) -> dict[str, Any]:
        return {"store": self.store, "older_than_s": self.older_than.total_seconds(),
                "staging_older_than_s": self.staging_older_than.total_seconds(), "deleted": self.deleted,
                "unreferenced": len(self.unreferenced), "unreferenced_bytes": self.unreferenced_bytes,
                "young": self.young, "young_bytes": self.young_bytes, "referenced": self.referenced,
                "referenced_bytes": self.referenced_bytes, "prefixes": list(COLLECTED_PREFIXES),
                "staging_prefixes": list(STAGING_PREFIXES), "keys": [o.key for o in self.unreferenced]}


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def list_collected(store: ObjectStore, *, progress: bool | None = None) -> list[ObjectInfo]:
    """Every object under the collected and staging prefixes (:func:`is_collected`), a progress bar counting them."""
    found = []
    bar = progress_bar(None, unit="object", desc="listing the object store", enabled=progress)
    try:
        for prefix in _LISTED:
            for info in store.list(prefix):
                bar.update(1)
                found.append(info)
    finally:
        bar.close()
    return found


def warehouse_references(settings: Settings | None = None) -> References:
    """:func:`referenced_keys` of the warehouse, opened for that read alone: a build waiting to record its rows waits
    for this read only, not for the store's listing or the deletions."""
    with warehouse.writer(settings) as con:
        return referenced_keys(con)


def collect_garbage(store: ObjectStore, *, references: Callable[[], References] = warehouse_references,
                    older_than: dt.timedelta = DEFAULT_OLDER_THAN,
                    staging_older_than: dt.timedelta = DEFAULT_STAGING_OLDER_THAN, delete: bool = False,
                    now: dt.datetime | None = None, progress: bool | None = None) -> GcResult:
    """Find the objects under the collected prefixes that no row refers to (``references()``, by default
    :func:`warehouse_references`) and that are older than ``older_than`` (at ``now``, default the present), and the
    staged runs' folders whose newest object is older than ``staging_older_than``; delete them with ``delete`` (see
    the module doc).

    The store is listed before the references are read, so an object and the row a build records for it while
    this runs are both seen, or the row is. Raises :class:`~musim.errors.StorageError`, deleting nothing, when
    ``delete`` is asked of a warehouse that refers to no object while the store holds some."""
    if older_than < dt.timedelta(0) or staging_older_than < dt.timedelta(0):
        raise StorageError(f"the grace period must not be negative, got {min(older_than, staging_older_than)}")
    now = now or dt.datetime.now(dt.UTC)
    cutoff, staging_cutoff = now - older_than, now - staging_older_than

    def young(info: ObjectInfo, newest: dict[str, dt.datetime | None]) -> bool:  # no time known: kept, as young
        run = staged_run(info.key)
        changed, limit = (info.modified, cutoff) if run is None else (newest[run], staging_cutoff)
        return changed is None or changed > limit

    listed = list_collected(store, progress=progress)
    newest = _newest_by_run(listed)
    refs = references()
    result = GcResult(store.root_url, older_than, staging_older_than, delete)
    for info in listed:
        if refs.holds(info.key):
            result.referenced += 1
            result.referenced_bytes += info.size
        elif young(info, newest):
            result.young += 1
            result.young_bytes += info.size
        else:
            result.unreferenced.append(info)
    if delete and result.unreferenced:
        if not len(refs):
            raise StorageError(
                f"the warehouse refers to no object, while {store.root_url} holds {len(listed):,} of musim's: is "
                "this the warehouse of this store (MUSIM_WAREHOUSE / MUSIM_HOME, MUSIM_OBJECT_STORE)? nothing was "
                "deleted; delete the objects by hand if they are garbage")
        again = references()  # rows recorded while the store was listed keep their objects
        relisted = list_collected(store, progress=progress)
        now_listed, newest = {o.key: o for o in relisted}, _newest_by_run(relisted)
        doomed = []
        for old in result.unreferenced:
            info = now_listed.get(old.key)
            if info is None or again.holds(old.key):  # gone meanwhile, or a row names it now
                continue
            if young(info, newest):  # rewritten, touched by a reuse, or its run staged more since the listing
                result.young += 1
                result.young_bytes += info.size
                continue
            doomed.append(info)
        result.unreferenced = doomed
        delete_objects(store, [o.key for o in result.unreferenced], progress=progress)
    return result


def delete_objects(store: ObjectStore, keys: Sequence[str], *, progress: bool | None = None) -> None:
    """Delete ``keys`` from ``store``, :data:`DELETE_BATCH` a call of :meth:`~musim.storage.ObjectStore.delete_many`
    (one request each on S3; a key gone meanwhile is fine), a progress bar counting them; a key outside the
    collected prefixes is refused, before anything is deleted."""
    outside = [k for k in keys if not is_collected(k)]
    if outside:
        raise StorageError(f"refusing to delete {outside[0]!r} from {store.root_url}: it is outside the prefixes "
                           f"garbage collection may delete from ({', '.join(_LISTED)})")
    bar = progress_bar(len(keys), unit="object", desc="deleting unreferenced objects", enabled=progress)
    try:
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start:start + DELETE_BATCH]
            store.delete_many(batch)
            bar.update(len(batch))
    finally:
        bar.close()
