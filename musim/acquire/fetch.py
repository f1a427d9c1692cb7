"""The network half of acquisition: resolve a batch of artists, download their previews into the object
store, journal each artist. Never touches the warehouse (the DAG runs it in pool ``audio_fetch``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any

from musim.acquire.breaker import begin_batch, down_by_name
from musim.acquire.errors import (
    NoProviderLeft,
    PreviewsUnreachable,
    ProvidersUnreachable,
    is_outage,
    unavailable_line,
)
from musim.acquire.journal import (
    JOURNAL_PREFIX,
    ArtistOutcome,
    PreviewOutcome,
    drop_progress,
    read_journals,
    read_progress,
    read_sources_index,
    track_id_for,
    write_journal,
    write_progress,
)
from musim.acquire.preview_fetch import as_duplicate, fetch_preview, now_text, reuse_stored
from musim.acquire.resolve import resolve_artist
from musim.acquire.sources import source_key
from musim.config import AcquireSettings
from musim.errors import MusimError
from musim.redact import redact
from musim.storage import ObjectStore, open_store

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 4
def fetch_artist(item: Mapping[str, Any], providers: Sequence[Any], store: ObjectStore, *, batch_id: str,
                 per_artist: int, max_attempts: int, download: bool = True,
                 sources: Mapping[str, Mapping[str, Any]] | None = None) -> ArtistOutcome:
    """Resolve one artist and download up to ``per_artist`` previews, most popular first.

    ``item`` is a batch entry from :func:`musim.acquire.pipeline.plan`: ``artist_id``, ``name`` and ``known``
    (``track_id`` -> status and attempts of previews tried before); ``sources`` maps a ``source_key`` to
    the object it gave. A downloaded or rejected track is never fetched again, a failed one only while
    its attempts are below ``max_attempts``, and a source whose object is still stored is reused. Only the
    artist's own tracks are taken (not another artist's track it features on). A rejected track frees its
    slot for the next one; a failed one keeps it (it is retried next run), and so do the artist's previews that
    another provider gave (stored, or failed and to be retried) when this one answers instead. Each preview finished
    here (stored, or rejected) is noted at once in the artist's progress object, and one that an interrupted fetch
    noted is taken from it (its object still whole in the store) instead of being fetched again
    (:func:`~musim.acquire.journal.read_progress`).

    The outcome is ``unreachable`` when the artist got nothing only because of the network: every provider's
    lookup failed on network errors, or every preview it tried failed on network errors (its audio host not
    reached; nothing stored, none reused).
    """
    artist_id, name = int(item["artist_id"]), str(item["name"])
    known: Mapping[str, Any] = item.get("known") or {}
    sources = sources or {}
    outcome = ArtistOutcome(artist_id=artist_id, name=name, batch_id=batch_id, resolve_status="no_match",
                            fetched_at=now_text(), wanted=per_artist)
    res = resolve_artist(providers, name, limit=per_artist + min(per_artist, 2))
    outcome.providers_tried = [a.provider for a in res.attempts]
    outcome.outage = sorted({a.provider for a in res.attempts if a.outage})
    errors = [f"{a.provider}: {a.detail}" for a in res.attempts if a.status == "error"]
    if not res.found:
        if errors:
            outcome.resolve_status, outcome.error = "failed", "; ".join(errors)[:1000]
            outcome.unreachable = all(a.network for a in res.attempts)  # no provider answered anything
        elif any(a.status == "no_preview" for a in res.attempts):
            outcome.resolve_status = "no_preview"
        match = next((a.match for a in res.attempts if a.match is not None), None)
    else:
        match = res.match
    if match is not None:
        outcome.provider, outcome.provider_name = match.provider, match.candidate.name
        outcome.provider_artist_id = match.candidate.provider_artist_id
        outcome.match_score, outcome.match_method = round(float(match.score), 4), match.method
    if not res.found:
        return outcome
    assert match is not None
    own = [t for t in res.tracks if not t.provider_artist_id or t.provider_artist_id == match.candidate.provider_artist_id]
    if not own:
        outcome.resolve_status = "no_preview"
        return outcome
    outcome.resolve_status = "found" if download else "matched"
    if not download:
        return outcome
    provider = next(p for p in providers if p.name == res.provider)
    # the artist's previews from outside this list (another provider's, when that one failed to answer today) hold
    # their slots as the listed ones do: stored, or failed and to be retried; else each provider's own top tracks,
    # the same songs, filled per_artist slots anew. A failed one is tried again only by a provider that lists it, so
    # it holds its slot only when a provider before this one failed to answer today (it will be asked again): one
    # this provider no longer lists (its top list changed) would hold it for good, the artist short of a preview
    listed = {track_id_for(artist_id, t.provider, t.provider_track_id) for t in own}
    other_failed = any(a.status == "error" for a in res.attempts if a.provider != res.provider)
    slots = per_artist - sum(1 for tid, k in known.items() if tid not in listed and (
        k["status"] == "downloaded"
        or (other_failed and k["status"] == "failed" and int(k["attempts"]) < max_attempts)))
    network_failures = 0
    seen: set[str] = set()
    audio: dict[str, tuple[str, str]] = {}  # sha256 -> the artist's track with that audio (provider id, title)
    progress = read_progress(store, artist_id)  # what a fetch of this artist killed before its journal finished
    finished: list[PreviewOutcome] = []  # noted in the progress as each one is done (a kill loses none of them)
    for track in own:
        if slots <= 0:
            break
        tid = track_id_for(artist_id, track.provider, track.provider_track_id)
        if tid in seen:  # a provider listing the same track twice
            continue
        seen.add(tid)
        before = known.get(tid)
        if before is not None:
            if before["status"] == "downloaded":
                slots -= 1
                earlier = sources.get(source_key(track) or "")  # its audio, for the duplicates of a later track
                if earlier is not None and earlier.get("sha256"):
                    audio.setdefault(earlier["sha256"], (track.provider_track_id, track.title))
                continue
            if before["status"] == "rejected":
                continue
            if before["status"] == "failed" and int(before["attempts"]) >= max_attempts:
                continue
        key = source_key(track)
        stored = sources.get(key) if key else None
        carried = progress.get(tid)
        fresh = False
        if carried is not None and _finished(store, carried):  # done by a fetch killed before its journal
            result = carried
        elif stored is not None and _exists(store, stored["object_key"]):
            result = reuse_stored(track, artist_id, stored)
        else:
            result, err = fetch_preview(provider, track, artist_id, store)
            network_failures += bool(err and err.network)
            if err is not None and is_outage(err) and provider.name not in outcome.outage:
                outcome.outage.append(provider.name)
            fresh = result.status != "failed"
        if result.status == "downloaded" and result.sha256 in audio:  # one song listed twice (single and album)
            result = as_duplicate(result, audio[result.sha256])
        elif result.status == "downloaded" and result.sha256:
            audio[result.sha256] = (track.provider_track_id, track.title)
        outcome.previews.append(result)
        if result.status != "failed" and not result.reused:
            finished.append(result)
            if fresh:  # after its object is whole in the store: noted as done, never fetched again
                write_progress(store, artist_id, finished)
        if result.status != "rejected":
            slots -= 1
    # every preview tried failed on the network: nothing is known about its audio (a retried task asks again)
    outcome.unreachable = bool(outcome.previews) and network_failures == len(outcome.previews)
    return outcome


def _raise_outage(tried: int, unreachable: list[ArtistOutcome], downloading: list[ArtistOutcome],
                  then: str | None) -> None:
    """Raise :class:`ProvidersUnreachable` when the ``tried`` artists of a batch met an outage: every one reached no
    provider (no download tried), or every download tried failed on network errors (``downloading`` all
    ``unreachable``; then nothing was stored, as an artist with a preview stored, reused or rejected is not). A safety
    net: a network error is an outage of its provider's breaker, so such artists are left as for a provider down
    (``tried`` counts only the artists journaled); this catches a network failure that reached no breaker."""
    if downloading and all(o.unreachable for o in downloading):
        failed = [(o.provider or "?", p.error or "no reason recorded") for o in downloading for p in o.previews]
        raise PreviewsUnreachable(len(downloading), len(failed), sorted({name for name, _ in failed}),
                                  "{}: {}".format(*failed[0]), then=then)
    if len(unreachable) == tried:
        names = sorted({p for o in unreachable for p in o.providers_tried})
        first = next((o.error for o in unreachable if o.error), "no reason recorded")
        raise ProvidersUnreachable(tried, names, first.split("; ")[0], then=then)


def _finished(store: ObjectStore, preview: PreviewOutcome) -> bool:
    """Whether ``preview``, noted in an artist's progress, is finished: rejected (nothing stored), or downloaded with
    its object in the store, whole (its size, and its sha256 where the store knows it, as noted); else it is fetched
    again."""
    if preview.status == "rejected":
        return True
    if preview.status != "downloaded" or not preview.object_key or preview.bytes is None:
        return False
    try:
        info = store.stat(preview.object_key)
    except MusimError:
        return False
    return info.size == preview.bytes and info.sha256 in (None, preview.sha256)


def _exists(store: ObjectStore, key: str) -> bool:
    try:
        return store.exists(key)
    except MusimError:
        return False


def fetch_batch(
    batch: Mapping[str, Any],
    *,
    providers: Sequence[Any] | None = None,
    store: ObjectStore | None = None,
    settings: AcquireSettings | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_artist: Callable[[ArtistOutcome], None] | None = None,
    then: str | None = None,
    down: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Fetch every artist of ``batch`` (from :func:`musim.acquire.pipeline.plan`) with ``concurrency`` threads.

    Network and object store only. Each artist's outcome is written as a journal object as soon as it is
    done, and an artist already journaled for this batch (a retried task) is not fetched again; the return
    value (JSON-serialisable, small) names the journals and counts what happened (``artists_all_failed``: the
    artists that got nothing but failures; ``errors``: up to 3 of their reasons), for
    :func:`musim.acquire.pipeline.record`. ``providers`` (default: built from the batch's provider names and
    local folder over ``settings``) are shared by the threads, so their rate limits hold for the batch, and so does
    a provider's refusal of musim's configuration (:class:`~musim.acquire.errors.ProviderRefused`): once every
    provider has refused, the artists left are not tried, are not journaled (they stay pending) and
    :class:`~musim.acquire.errors.NoProviderLeft` is raised at the end of the batch.

    A provider not reached at all (connection refused, a name that does not resolve, a timeout) is an outage as a
    server error is (see below): its artists are left, not counted. When every artist tried failed only on network
    errors all the same (a failure no breaker saw), :class:`~musim.acquire.errors.ProvidersUnreachable` is raised at
    the end of the batch, after their journals are written (recorded as failed, retryable); so is a batch whose every
    preview download failed on network errors with nothing stored (:class:`~musim.acquire.errors.PreviewsUnreachable`).
    A retried call asks the unreached artists again (their journals are not taken as done).

    A provider down (its circuit breaker open, or nothing but server errors, rate limits and network errors from it in
    this batch: see
    :class:`~musim.acquire.breaker.Outage`) is no artist's failure: an artist whose lookup or a preview failed on that
    provider's outage is not journaled (nothing recorded, no attempt counted; the previews it stored stay noted in its
    progress) but counted ``artists_left``, and the summary's ``unavailable`` maps each provider down to ``since``,
    ``reason`` and the artists it ``left``; an artist that failed on an outage of a provider still up counts as
    usual. ``down`` (provider -> ``{"since", "reason"}``, as in ``unavailable``) names the providers an earlier batch
    of the run found down (the DAG's other ``fetch`` tasks): they are asked nothing in this batch (their breakers open
    from the start), the others as usual; an artist that only they could have answered is left as above. ``then`` ends
    that error's message (what happens next: :func:`~musim.acquire.errors.task_then` in the DAG; default
    :data:`~musim.acquire.errors.RERUN_LATER`).

    Interrupted (Ctrl-C; the task killed, which raises ``SystemExit`` or Airflow's ``AirflowTaskTerminated`` in the
    main thread), the batch stops within one request under way: the artists not begun are not begun, those being
    fetched stop at their next wait (a back-off, a ``Retry-After``, a rate limit) or request (:func:`stop`), and the
    interruption is raised. Those journaled before stay journaled; the others are not journaled and stay pending
    (the previews they stored whole stay noted in their progress: never fetched again).
    """
    started = time.perf_counter()
    own_providers = providers is None
    if providers is None:
        from musim.acquire.providers import open_providers

        providers = open_providers(batch.get("providers"), batch.get("local_dir"), settings)
    begin_batch(providers, down or {})
    store = store or open_store()
    batch_id = str(batch["batch_id"])
    per_artist, max_attempts = int(batch.get("per_artist", 3)), int(batch.get("max_attempts", 3))
    download = bool(batch.get("download", True))
    sources = read_sources_index(store, batch.get("sources_key"))
    journals: list[str] = []
    counts: Counter[str] = Counter()
    errors: list[str] = []
    refused: list[NoProviderLeft] = []
    unreachable: list[ArtistOutcome] = []
    downloading: list[ArtistOutcome] = []  # the artists that tried a download (not reused)
    deferred: list[ArtistOutcome] = []  # failed on a provider's outage: journaled at the end unless it is down
    lock = threading.Lock()

    def one(item: Mapping[str, Any]) -> None:
        surprise = False
        try:
            outcome = fetch_artist(item, providers, store, batch_id=batch_id, per_artist=per_artist,
                                   max_attempts=max_attempts, download=download, sources=sources)
        except NoProviderLeft as exc:  # every provider refused musim's configuration: the artist stays pending
            with lock:
                counts["artists_pending"] += 1
                refused[:] = [exc]
            return
        except Exception as exc:  # one artist's surprise must not lose the batch: record it as failed
            log.exception("acquire: artist %r failed", item.get("name"))
            surprise = True  # its progress stays: the previews finished are taken from it next time
            outcome = ArtistOutcome(artist_id=int(item["artist_id"]), name=str(item["name"]), batch_id=batch_id,
                                    resolve_status="failed", fetched_at=now_text(), wanted=per_artist,
                                    error=redact(f"{type(exc).__name__}: {exc}")[:1000])  # stored, shown
        if not surprise and outcome.outage and _failed(outcome):  # the provider's failure or the artist's: known
            with lock:  # once the batch is done (is the provider down?)
                deferred.append(outcome)
            return
        finish(outcome, surprise)

    def finish(outcome: ArtistOutcome, surprise: bool = False) -> None:
        key = write_journal(store, outcome)
        if not surprise:  # the journal holds what the progress noted
            drop_progress(store, outcome.artist_id)
        all_failed = outcome.resolve_status == "failed" or (  # every provider failed, or every preview it tried
            bool(outcome.previews) and all(p.status == "failed" for p in outcome.previews))
        with lock:
            journals.append(key)
            counts["artists_tried"] += 1
            if outcome.unreachable:
                unreachable.append(outcome)
            if any(not p.reused for p in outcome.previews):
                downloading.append(outcome)
            counts[f"artists_{outcome.resolve_status}"] += 1
            counts["artists_all_failed"] += all_failed
            why = outcome.error or next((p.error for p in outcome.previews if p.status == "failed"), None)
            if all_failed and why and why not in errors and len(errors) < 3:
                errors.append(why)
            for p in outcome.previews:
                counts["reused" if p.reused else p.status] += 1
                counts["bytes"] += 0 if p.reused else int(p.bytes or 0)
        if on_artist is not None:
            on_artist(outcome)

    try:
        # A retried task (or a rerun of the same batch) skips the artists journaled by the earlier try.
        done = {info.key for info in store.list(f"{JOURNAL_PREFIX}{batch_id}/")}
        done -= {k for k, o in read_journals(store, sorted(done)) if o.unreachable}  # asked again (an outage)
        artists = []
        for item in batch.get("artists") or []:
            key = f"{JOURNAL_PREFIX}{batch_id}/{int(item['artist_id'])}.json"
            if key in done:
                journals.append(key)
                counts["artists_resumed"] += 1
            else:
                artists.append(item)
        if concurrency <= 1 or len(artists) <= 1:
            for item in artists:
                one(item)
        else:
            with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="acquire") as pool:
                futures: list[Future] = []
                try:  # the submits too: a Ctrl-C among them (the first workers running) stopped no worker
                    for item in artists:
                        futures.append(pool.submit(one, item))
                    wait(futures, return_when=FIRST_EXCEPTION)  # an error of any artist at once, not in turn
                    for future in sorted(futures, key=lambda f: not f.done()):
                        future.result()
                except BaseException:  # Ctrl-C, a task killed (SIGTERM: SystemExit, Airflow's AirflowTaskTerminated)
                    # or a journal that cannot be written: the artists not begun are not begun, and the ones running
                    # stop at their next wait or request (Stopped: not journaled, their stored previews noted in their
                    # progress); they stay pending. The pool's exit waits for them: one request under way at most.
                    stop(providers)  # first: a second Ctrl-C below leaves no worker waiting out its back-off
                    for future in futures:
                        future.cancel()
                    raise
        down = down_by_name(providers)
        left: Counter[str] = Counter()
        for outcome in deferred:
            why = [name for name in outcome.outage if name in down]
            if not why:  # a provider that is up failed for this artist: its failure counts
                finish(outcome)
                continue
            # the provider is down, not the artist: no journal (nothing recorded, no attempt counted), its progress
            # kept (the previews it stored are not fetched again): the next run asks it again
            counts["artists_left"] += 1
            left.update(why)
            if on_artist is not None:
                on_artist(outcome)
        if refused:  # the journals written before stay in the store: the next record() applies them
            raise refused[0]
        tried = counts.pop("artists_tried", 0)
        if tried and not counts.get("artists_resumed"):
            _raise_outage(tried, unreachable, downloading, then)
    finally:
        if own_providers:
            for p in providers:
                p.close()
    unavailable = {name: {**outage.summary(), "left": left[name]} for name, outage in down.items()}
    for name, outage in unavailable.items():  # the batch's own log line (an Airflow task's log); the CLI ends with it
        log.info("batch %s: %s", batch_id, unavailable_line(name, outage))
    return {"batch_id": batch_id, "journals": sorted(journals), "artists": len(journals),
            "counts": dict(counts), "errors": errors, "seconds": round(time.perf_counter() - started, 3),
            "unavailable": unavailable}


def stop(providers: Sequence[Any]) -> None:
    """The run is stopped: every thread waiting on ``providers`` (a rate limit, a pause, a retry's back-off) stops now,
    and none sends another request (see :meth:`~musim.acquire.providers.base.Provider.stop`)."""
    for provider in providers:
        provider.stop()


def _failed(outcome: ArtistOutcome) -> bool:
    """Whether ``outcome`` would count as a failed attempt of the artist: its lookup failed, or a preview did."""
    return outcome.resolve_status == "failed" or any(p.status == "failed" for p in outcome.previews)
