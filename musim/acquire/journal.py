"""What one artist's fetch produced, as JSON objects in the object store (the acquisition journal).

``fetch_batch`` writes one small journal object per artist as soon as that artist is done
(``acquire/journal/<batch_id>/<artist_id>.json``), after its audio objects are stored; ``record`` applies
journals to the warehouse exactly once (their keys go into ``acquire_journal`` in the same transaction)
and then deletes them. A process killed between fetching and recording therefore loses no download: the
next ``plan`` or ``record`` applies the journals it left behind.

While an artist is fetched, each preview finished (stored, or rejected) is noted at once in the artist's progress
object (``acquire/progress/<artist_id>.json``), after its audio object is whole in the store: a process killed
between two previews of an artist (no journal yet) leaves the ones done there, and the next fetch of that artist
takes them from it instead of downloading them again (:func:`read_progress`). The progress goes once the artist's
journal is written, or applied.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from musim.acquire.models import scrub
from musim.storage import DamagedObject, ObjectNotFound, ObjectStore

log = logging.getLogger(__name__)

JOURNAL_PREFIX = "acquire/journal/"
PROGRESS_PREFIX = "acquire/progress/"
SOURCES_PREFIX = "acquire/sources/"
PREVIEW_PREFIX = "audio/previews"

PreviewStatus = Literal["downloaded", "rejected", "failed"]
ResolveStatus = Literal["found", "matched", "no_match", "no_preview", "failed"]


def track_id_for(artist_id: int, provider: str, provider_track_id: str) -> str:
    """The stable id of a catalogue artist's provider track: 16 hex digits of a sha256."""
    return hashlib.sha256(f"{int(artist_id)}|{provider}|{provider_track_id}".encode()).hexdigest()[:16]


@dataclass
class PreviewOutcome:
    """One track tried for an artist: downloaded (stored or found stored), rejected or failed.

    ``attempts`` is 1 when audio was fetched now and 0 when a stored object was reused (``reused``).
    """

    track_id: str
    provider: str
    provider_track_id: str
    provider_artist_id: str | None
    title: str
    genre: str | None
    provider_rank: int | None
    status: PreviewStatus
    attempts: int = 1
    reused: bool = False
    error: str | None = None
    object_key: str | None = None
    sha256: str | None = None
    bytes: int | None = None
    duration_s: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    format: str | None = None
    track_duration_s: float | None = None
    excerpt_offset_s: float | None = None
    excerpt_duration_s: float | None = None
    source_url: str | None = None
    source_key: str | None = None
    fetched_at: str | None = None


@dataclass
class ArtistOutcome:
    """Everything one artist's fetch found out: the resolution and each preview tried. ``unreachable``: it
    failed only because no provider was reached, or no preview's host (every error a network one), so nothing is
    known about it, or its audio: a retried fetch task asks again rather than take this journal as done."""

    artist_id: int
    name: str
    batch_id: str
    resolve_status: ResolveStatus
    fetched_at: str
    wanted: int
    providers_tried: list[str] = field(default_factory=list)
    provider: str | None = None
    provider_artist_id: str | None = None
    provider_name: str | None = None
    match_score: float | None = None
    match_method: str | None = None
    error: str | None = None
    unreachable: bool = False
    #: the providers whose failure for this artist said the provider was failing (5xx, 429, taken as down), not the
    #: artist: while one of them is down, a failure of the artist is left for the next run, not counted
    outage: list[str] = field(default_factory=list)
    previews: list[PreviewOutcome] = field(default_factory=list)

    @property
    def journal_key(self) -> str:
        return f"{JOURNAL_PREFIX}{self.batch_id}/{self.artist_id}.json"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ArtistOutcome:
        names = {f.name for f in fields(PreviewOutcome)}
        previews = [PreviewOutcome(**{k: v for k, v in p.items() if k in names}) for p in doc.get("previews", [])]
        known = {f.name for f in fields(cls)} - {"previews"}
        return cls(**{k: v for k, v in doc.items() if k in known}, previews=previews)

    def count(self, status: str, *, reused: bool | None = None) -> int:
        return sum(p.status == status and (reused is None or p.reused == reused) for p in self.previews)


def write_journal(store: ObjectStore, outcome: ArtistOutcome) -> str:
    """Store ``outcome`` as its journal object; return the key."""
    data = json.dumps(scrub(outcome.to_json()), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    store.put_bytes(outcome.journal_key, data, content_type="application/json")
    return outcome.journal_key


def progress_key(artist_id: int) -> str:
    """Where the previews finished so far for ``artist_id`` are noted while it is fetched."""
    return f"{PROGRESS_PREFIX}{int(artist_id)}.json"


def write_progress(store: ObjectStore, artist_id: int, previews: Iterable[PreviewOutcome]) -> None:
    """Note ``previews`` (finished: stored, or rejected) as the artist's progress (one object, replaced whole)."""
    doc = {"artist_id": int(artist_id), "previews": [asdict(p) for p in previews]}
    data = json.dumps(scrub(doc), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    store.put_bytes(progress_key(artist_id), data, content_type="application/json")


def read_progress(store: ObjectStore, artist_id: int) -> dict[str, PreviewOutcome]:
    """The previews an earlier, interrupted fetch of ``artist_id`` finished, by ``track_id`` (empty when none, or
    when the progress object is damaged: those previews are then fetched again)."""
    key = progress_key(artist_id)
    try:
        doc = store.get_json(key)
    except ObjectNotFound:
        return {}
    except DamagedObject:
        log.warning("acquire progress %s is not valid JSON; its previews are fetched again", store.url(key))
        return {}
    names = {f.name for f in fields(PreviewOutcome)}
    try:
        found = [PreviewOutcome(**{k: v for k, v in p.items() if k in names}) for p in doc.get("previews") or []]
        return {str(p.track_id): p for p in found}
    except (AttributeError, TypeError):  # JSON of another shape (another version's, or not musim's): damaged too; it
        # failed the artist with a Python error on every run, until it was given up
        log.warning("acquire progress %s is not an artist's progress; its previews are fetched again", store.url(key))
        return {}


def drop_progress(store: ObjectStore, artist_id: int) -> None:
    """Forget the artist's progress (its journal holds those previews now)."""
    store.delete(progress_key(artist_id))


def pending_journals(store: ObjectStore) -> list[str]:
    """Keys of every journal object not yet applied and deleted, sorted."""
    return sorted(info.key for info in store.list(JOURNAL_PREFIX) if info.key.endswith(".json"))


def read_journals(store: ObjectStore, keys: Iterable[str]) -> list[tuple[str, ArtistOutcome]]:
    """``(key, outcome)`` of each journal that still exists (a missing one was applied and deleted)."""
    found: list[tuple[str, ArtistOutcome]] = []
    for key in keys:
        try:
            doc = store.get_json(key)
        except ObjectNotFound:
            continue
        except DamagedObject:
            log.warning("journal %s is not valid JSON; left in place", store.url(key))
            continue
        try:
            outcome = ArtistOutcome.from_json(doc)
        except (AttributeError, TypeError):  # JSON of another shape: it failed every fetch and record with a TypeError
            log.warning("journal %s is not an artist's outcome; left in place", store.url(key))
            continue
        found.append((key, outcome))
    return found


def write_sources_index(store: ObjectStore, run_id: str, sources: list[dict[str, Any]]) -> str | None:
    """Store the source -> object mapping for one run's fetches (``None`` when empty); indexes older than a day
    go (a younger one may be a run's still fetching: a DAG run beside a command)."""
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    for info in list(store.list(SOURCES_PREFIX)):
        if info.modified is None or info.modified < stale:
            store.delete(info.key)
    if not sources:
        return None
    index = {s["source_key"]: {k: v for k, v in s.items() if k != "source_key"} for s in sources}
    key = f"{SOURCES_PREFIX}{run_id}.json"
    store.put_bytes(key, json.dumps(index, separators=(",", ":")).encode("utf-8"), content_type="application/json")
    return key


def read_sources_index(store: ObjectStore, key: str | None) -> dict[str, dict[str, Any]]:
    """The mapping written by :func:`write_sources_index`; empty when ``key`` is ``None`` or gone."""
    if not key:
        return {}
    try:
        return store.get_json(key)
    except ObjectNotFound:
        log.warning("sources index %s is gone: known sources will be downloaded again", store.url(key))
        return {}
