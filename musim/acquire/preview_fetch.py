"""One preview of an artist: downloaded (or taken from a local file) into the object store under its content's
sha256, checked as audio, or taken from what an earlier run stored; the per-track half of :mod:`musim.acquire.fetch`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from musim.acquire.check import get_preview
from musim.acquire.errors import ProviderError
from musim.acquire.journal import PREVIEW_PREFIX, PreviewOutcome, track_id_for
from musim.acquire.models import RejectedPreview, TrackCandidate
from musim.acquire.sources import probe_channels, public_url, source_key
from musim.errors import MusimError
from musim.filenames import path_text
from musim.storage import ObjectInfo, ObjectNotFound, ObjectStore
from musim.storage.base import file_sha256


def now_text() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _base_outcome(track: TrackCandidate, artist_id: int) -> dict[str, Any]:
    offset, window = track.excerpt if track.excerpt else (None, None)
    return {
        "track_id": track_id_for(artist_id, track.provider, track.provider_track_id),
        "provider": track.provider,
        "provider_track_id": track.provider_track_id,
        "provider_artist_id": track.provider_artist_id,
        "title": track.title,
        "genre": track.genre,
        "provider_rank": track.rank or None,
        "track_duration_s": track.duration_s,
        "excerpt_offset_s": offset,
        "excerpt_duration_s": window,
        "source_url": track.local_path or (public_url(track.preview_url) if track.preview_url else None),
        "source_key": source_key(track),
    }


def _download(provider: Any, track: TrackCandidate, artist_id: int,
              store: ObjectStore) -> tuple[PreviewOutcome, bool]:
    """The preview's outcome, and whether it failed because its host was not reached (a network error)."""
    outcome, err = fetch_preview(provider, track, artist_id, store)
    return outcome, bool(err and err.network)


def fetch_preview(provider: Any, track: TrackCandidate, artist_id: int,
                   store: ObjectStore) -> tuple[PreviewOutcome, ProviderError | None]:
    """The preview's outcome, and the provider's error it failed on (``None``: it did not fail on the provider)."""
    base = _base_outcome(track, artist_id)
    try:
        got = get_preview(provider, track)
    except ProviderError as err:
        return PreviewOutcome(**base, status="failed", error=err.reason, fetched_at=now_text()), err
    if isinstance(got, RejectedPreview):
        return PreviewOutcome(**base, status="rejected", error=got.reason, fetched_at=now_text()), None
    fmt = (got.format or Path(track.local_path or "").suffix.lstrip(".") or "bin").lower()
    try:
        if got.path is not None:  # a local file: stored as it is, streamed
            info = store_file(store, got.path, ext=fmt)
        else:
            info = store.put_content_addressed(got.data, prefix=PREVIEW_PREFIX, ext=fmt)
    except ProviderError as err:  # a local file unreadable or changed: not the network's, nor an outage
        return PreviewOutcome(**base, status="failed", error=err.reason, fetched_at=now_text()), None
    except MusimError as err:
        return PreviewOutcome(**base, status="failed", error=f"object store: {err}", fetched_at=now_text()), None
    if got.window is not None:  # the window read when the file was checked
        base["excerpt_offset_s"], base["excerpt_duration_s"] = got.window
    elif base["excerpt_offset_s"] is None:  # a preview: analyse all of it
        base["excerpt_offset_s"], base["excerpt_duration_s"] = 0.0, got.duration_s
    channels = got.channels if got.channels is not None else probe_channels(got.data)
    return PreviewOutcome(
        **base, status="downloaded", object_key=info.key, sha256=info.sha256, bytes=info.size,
        duration_s=got.duration_s, sample_rate=got.sample_rate, channels=channels, format=fmt,
        fetched_at=now_text()), None


def store_file(store: ObjectStore, path: Path, *, ext: str) -> ObjectInfo:
    """The file at ``path`` stored as :meth:`~musim.storage.ObjectStore.put_content_addressed` stores bytes (under
    ``audio/previews/<sha256>.<ext>``, left as it is when there), hashed and copied in chunks: never read into memory
    whole. :class:`ProviderError` (``local``; failed, tried again next run) when it cannot be read or changed while it
    was stored."""
    try:
        before = os.stat(path)
        digest = file_sha256(path)
    except OSError as exc:
        raise ProviderError("local", f"cannot read {path_text(path)}: {exc.strerror or exc}") from None
    key = f"{PREVIEW_PREFIX}/{digest}.{ext}"
    try:
        info: ObjectInfo | None = store.stat(key)
    except ObjectNotFound:
        info = None
    fresh = info is None or info.size != before.st_size or info.sha256 not in (None, digest)
    if not fresh:
        assert info is not None
        try:
            info = store.reused(info)  # touched where old: garbage collection keeps it until its row is written
        except ObjectNotFound:
            fresh = True
    if fresh:
        info = store.put_file(key, path)
    assert info is not None
    try:
        after = os.stat(path)
    except OSError as exc:
        raise ProviderError("local", f"cannot read {path_text(path)}: {exc.strerror or exc}") from None
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or info.size != before.st_size:
        if fresh:  # what was copied is not the content its key names
            store.delete(key)
        raise ProviderError("local", f"{path_text(path)} changed while it was stored: run it again once it is written")
    return dataclasses.replace(info, sha256=digest)


def reuse_stored(track: TrackCandidate, artist_id: int, known: Mapping[str, Any]) -> PreviewOutcome:
    base = _base_outcome(track, artist_id)
    if base["excerpt_offset_s"] is None:
        base["excerpt_offset_s"], base["excerpt_duration_s"] = 0.0, known["duration_s"]
    return PreviewOutcome(
        **base, status="downloaded", attempts=0, reused=True, object_key=known["object_key"],
        sha256=known["sha256"], bytes=known["bytes"], duration_s=known["duration_s"],
        sample_rate=known["sample_rate"], channels=known.get("channels"), format=known["format"],
        fetched_at=now_text())


def as_duplicate(result: PreviewOutcome, first: tuple[str, str]) -> PreviewOutcome:
    """``result`` rejected as the very audio (the same bytes) of ``first`` (provider track id, title), an earlier track
    of the artist: its slot goes to the next track (the object stays: it is ``first``'s)."""
    why = f"duplicate: the same audio as track {first[0]} ({first[1]!r})"
    return dataclasses.replace(result, status="rejected", error=why, reused=False, object_key=None, sha256=None,
                               bytes=None, duration_s=None, sample_rate=None, channels=None, format=None)
