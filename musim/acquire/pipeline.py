"""Audio acquisition for the catalogue: plan → fetch (batches, concurrent) → record.

The catalogue is the top ``top_n`` artists by listeners in the latest published snapshot (placeholders and
junk names left out). The three steps split the work so that the warehouse writer is never held during
network I/O (the ``audio_acquire`` DAG runs ``plan`` and ``record`` in pool ``duckdb_writer`` and each
``fetch_batch`` in pool ``audio_fetch``):

:func:`plan`
    Applies journals a killed run left behind, records the catalogue (new artists ``pending``) and returns
    batches of the artists with work left, each with what earlier runs did for it. Short transactions.
:func:`fetch_batch`
    Network and object store only: resolves each artist with the providers, downloads up to
    ``per_artist`` previews (most popular first), checks them (decoded length and rate), stores the good
    ones content-addressed under ``audio/previews/<sha256>.<ext>`` and writes one journal object per
    artist (:mod:`musim.acquire.journal`). Returns a small JSON-serialisable summary.
:func:`record`
    Applies journals to ``acquire_artist``, ``preview``, ``preview_source`` and ``track`` exactly once, then
    deletes them.

:func:`acquire` runs the three for the CLI. A rerun does only what is left: downloaded previews are
never fetched again, failed ones are retried while their attempts stay below ``max_attempts``, and a
source whose object is stored is reused without a download.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from musim import serving, sql, warehouse
from musim.acquire.breaker import providers_down
from musim.acquire.errors import (
    RERUN_LATER,
    AcquireInterrupted,
    NoProviderLeft,
    ProviderError,
    ProvidersUnreachable,
)
from musim.acquire.fetch import DEFAULT_CONCURRENCY, fetch_batch
from musim.acquire.journal import (
    PREVIEW_PREFIX,
    ArtistOutcome,
    drop_progress,
    pending_journals,
    read_journals,
    write_sources_index,
)
from musim.config import AcquireSettings, Settings, get_settings
from musim.names import name_norm
from musim.params import Count, params_record
from musim.scratch import one_at_a_time
from musim.storage import ObjectStore, open_store

__all__ = ["AcquireSummary", "acquire", "catalogue", "fetch_batch", "list_previews", "plan", "record", "status_counts"]

log = logging.getLogger(__name__)

ARTIST_STATUSES = ("pending", "matched", "no_match", "no_preview", "downloaded", "rejected", "failed")
_RECORD_CHUNK = 200


@params_record("acquire parameter")
class _Counts:
    """The run's counts, checked as every record is (a DAG param's ``2.0`` is 2; ``true``, ``2.5``, 0 refused)."""

    top_n: Count
    per_artist: Count
    batch_size: Count
    max_attempts: Count


def _check_counts(top_n: int, per_artist: int, batch_size: int, max_attempts: int) -> _Counts:
    return _Counts(top_n=top_n, per_artist=per_artist, batch_size=batch_size, max_attempts=max_attempts)


def catalogue(top_n: int = 1000, *, settings: Settings | None = None) -> list[dict[str, Any]]:
    """The audio catalogue from the published snapshot: ``artist_id``, ``name``, ``listeners``,
    ``dump_id``, ``catalogue_rank`` of the top ``top_n`` real artists by listeners (latest dump)."""
    top_n = _check_counts(top_n, 1, 1, 1).top_n
    con = serving.open_snapshot(settings)
    try:
        return sql.rows(con, "acquire/catalogue.sql", top_n=top_n)
    finally:
        con.close()


def plan(
    top_n: int = 1000,
    *,
    per_artist: int = 3,
    batch_size: int = 25,
    max_attempts: int = 3,
    providers: Sequence[str] | None = None,
    local_dir: str | Path | None = None,
    download: bool = True,
    retry: bool = False,
    acquire_settings: AcquireSettings | None = None,
    settings: Settings | None = None,
    store: ObjectStore | None = None,
) -> list[dict[str, Any]]:
    """Record the catalogue and return the batches of artists with work left (JSON-serialisable).

    Parameters
    ----------
    top_n : int
        Catalogue size: the top artists by listeners in the latest published snapshot.
    per_artist : int
        Previews wanted per artist.
    batch_size : int
        Artists per batch (one ``fetch_batch`` call, one mapped DAG task).
    max_attempts : int
        A failed artist or preview is retried while its attempts stay below this.
    providers, local_dir
        Provider order (default ``MUSIM_ACQUIRE_PROVIDERS``) and the local music folder; checked here
        (a configuration that runs no provider raises :class:`~musim.errors.ConfigError`) and carried in
        every batch.
    download : bool
        ``False``: only match artists (status ``matched``), download nothing.
    retry : bool
        Also plan the artists given up (matched nothing, no preview, only rejects), failed past
        ``max_attempts`` or with a failed or rejected preview, and try those previews again
        (``musim acquire --retry``).

    Returns
    -------
    list of dict
        ``{"batch_id", "per_artist", "max_attempts", "providers", "local_dir", "download", "artists": [...]}``
        where each artist is ``{"artist_id", "name", "known"}`` (``known``: ``track_id`` -> status and attempts
        of the previews tried before), and ``sources_key`` names the object holding every source downloaded
        so far with the object it gave (written by this call; ``None`` when there is none).
    """
    counts = _check_counts(top_n, per_artist, batch_size, max_attempts)
    top_n, per_artist, batch_size, max_attempts = (counts.top_n, counts.per_artist, counts.batch_size,
                                                   counts.max_attempts)
    settings = settings or get_settings()
    store = store or open_store(settings.storage.object_store)
    record(store=store, settings=settings, max_attempts=max_attempts)  # journals a killed run left behind
    store.cleanup_incomplete(PREVIEW_PREFIX)  # and the partial previews it was writing
    from musim.acquire.providers import open_providers

    names = [p.name for p in _closing(open_providers(providers, local_dir, acquire_settings))]
    rows = catalogue(top_n, settings=settings)
    with warehouse.writer(settings) as con:
        sql.run(con, "acquire/stage_plan.sql")
        warehouse.fill(con, "plan_catalogue", rows)
        with warehouse.transaction(con):
            sql.run(con, "acquire/plan_catalogue.sql")
        todo = sql.rows(con, "acquire/todo.sql", max_attempts=max_attempts, providers=sorted(names),
                      per_artist=per_artist, retry=retry)
        warehouse.fill(con, "plan_todo", todo)
        known = sql.rows(con, "acquire/known_previews.sql", retry=retry)
        sources = sql.rows(con, "acquire/known_sources.sql") if todo and download else []
    by_artist: dict[int, dict[str, Any]] = {
        int(t["artist_id"]): {"artist_id": int(t["artist_id"]), "name": t["name"], "known": {}} for t in todo}
    for k in known:
        by_artist[int(k["artist_id"])]["known"][k["track_id"]] = {"status": k["status"],
                                                                  "attempts": int(k["attempts"])}
    run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)
    sources_key = write_sources_index(store, run_id, sources)
    items = list(by_artist.values())
    batches = [
        {"batch_id": f"{run_id}-{i // batch_size:04d}", "per_artist": per_artist, "max_attempts": max_attempts,
         "providers": names, "local_dir": str(local_dir) if local_dir else None, "download": download,
         "sources_key": sources_key, "artists": items[i:i + batch_size]}
        for i in range(0, len(items), batch_size)]
    log.info("acquire plan: catalogue of %d artists, %d with work left, %d batches (providers %s)",
             len(rows), len(items), len(batches), ",".join(names))
    return batches


def _closing(providers: list) -> list:
    for p in providers:
        p.close()
    return providers


ARTIST_FIELDS = ("artist_id", "name", "resolve_status", "wanted", "providers_tried", "provider",
                 "provider_artist_id", "provider_name", "match_score", "match_method", "error")


def _chunks(journals: list[tuple[str, ArtistOutcome]]) -> Iterable[list[tuple[str, ArtistOutcome]]]:
    """Journals in fetch order, in chunks where no artist appears twice (one upsert row per key)."""
    chunk: list[tuple[str, ArtistOutcome]] = []
    seen: set[int] = set()
    for key, outcome in sorted(journals, key=lambda j: (j[1].fetched_at, j[0])):
        if outcome.artist_id in seen or len(chunk) >= _RECORD_CHUNK:
            yield chunk
            chunk, seen = [], set()
        chunk.append((key, outcome))
        seen.add(outcome.artist_id)
    if chunk:
        yield chunk


def _apply(con: duckdb.DuckDBPyConnection, chunk: list[tuple[str, ArtistOutcome]], max_attempts: int) -> None:
    artists, previews = [], []
    for key, o in chunk:
        artists.append({**{f: getattr(o, f) for f in ARTIST_FIELDS}, "journal_key": key})
        for p in o.previews:
            previews.append({**asdict(p), "artist_id": o.artist_id})
    sql.run(con, "acquire/stage_journal.sql")
    warehouse.fill(con, "journal_artists", artists)
    warehouse.fill(con, "journal_previews", previews)
    sql.run(con, "acquire/record_previews.sql")
    sql.run(con, "acquire/record_artists.sql", max_attempts=max_attempts)


def record(
    fetched: Iterable[Mapping[str, Any]] | None = None,
    *,
    max_attempts: int = 3,
    settings: Settings | None = None,
    store: ObjectStore | None = None,
) -> dict[str, Any]:
    """Apply fetch journals to the warehouse, each exactly once, then delete them.

    ``fetched`` are :func:`fetch_batch` summaries (their ``journals`` are applied); with ``None``, or in
    addition, every journal left under ``acquire/journal/`` by an interrupted run is applied too. Reads
    the journals first, then holds the writer only for short transactions (one per chunk of artists).

    Returns
    -------
    dict
        ``journals`` applied, ``already_applied``, ``artists`` (outcome counts) and ``previews`` counts.
    """
    settings = settings or get_settings()
    store = store or open_store(settings.storage.object_store)
    keys = set(pending_journals(store))
    for summary in fetched or ():
        keys.update(summary.get("journals") or ())
    journals = read_journals(store, sorted(keys))
    applied: list[str] = []
    already: list[str] = []
    artists: Counter[str] = Counter()
    previews: Counter[str] = Counter()
    if journals:
        with warehouse.writer(settings) as con:
            done = {r[0] for r in sql.query(con, "acquire/applied_journals.sql",
                                            keys=[k for k, _ in journals]).fetchall()}
            fresh = [(k, o) for k, o in journals if k not in done]
            already = [k for k, _ in journals if k in done]
            for chunk in _chunks(fresh):
                with warehouse.transaction(con):
                    _apply(con, chunk, max_attempts)
                applied.extend(k for k, _ in chunk)
                for _, o in chunk:
                    artists[o.resolve_status] += 1
                    for p in o.previews:
                        previews["reused" if p.reused else p.status] += 1
    for key in applied + already:  # after the commit: a crash before this only leaves no-op journals
        store.delete(key)
    for artist_id in {o.artist_id for _, o in journals}:  # a fetch killed before it dropped it: obsolete now
        drop_progress(store, artist_id)
    return {"journals": len(applied), "already_applied": len(already), "artists": dict(artists),
            "previews": dict(previews)}


def has_new_previews(recorded: dict[str, Any]) -> bool:
    """Whether a DAG run's ``record`` summary stored previews (downloaded, or taken over from identical audio):
    the ``previews`` asset's consumers (the feature build) have work only then."""
    return recorded.get("downloaded", 0) + recorded.get("reused", 0) > 0


def status_counts(settings: Settings | None = None) -> dict[str, Any]:
    """Catalogue artists per status (those with a catalogue rank) and the stored tracks."""
    with warehouse.writer(settings) as con:
        rows = sql.query(con, "acquire/status_counts.sql").fetchall()
        tracks, artists = sql.query(con, "acquire/track_counts.sql").fetchone()
    by_status = dict.fromkeys(ARTIST_STATUSES, 0) | {s: int(n) for s, n in rows}
    return {"artists": by_status, "tracks": int(tracks), "artists_with_tracks": int(artists)}


@dataclass
class AcquireSummary:
    """What one :func:`acquire` run did (the CLI's ``--json`` object)."""

    planned: int = 0
    batches: int = 0
    matched: int = 0
    no_match: int = 0
    no_preview: int = 0
    artists_failed: int = 0
    downloaded: int = 0
    reused: int = 0
    rejected: int = 0
    failed: int = 0
    bytes: int = 0
    seconds: float = 0.0
    catalogue: dict[str, Any] = field(default_factory=dict)
    #: artists that got nothing but failures (every provider failed, or every preview tried), and up to 3 reasons
    artists_all_failed: int = 0
    errors: list[str] = field(default_factory=list)
    #: artists left for the next run because a provider was down (not recorded, no attempt counted)
    left: int = 0
    #: provider -> ``{"since", "reason", "left"}`` for each provider down in this run (see ``fetch_batch``)
    unavailable: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: ``{"provider", "path", "reason"}`` of each audio file a music folder offered for no artist
    passed_over: list[dict[str, str]] = field(default_factory=list)

    @property
    def previews_per_s(self) -> float:
        return self.downloaded / self.seconds if self.seconds > 0 else 0.0

    @property
    def every_artist_failed(self) -> bool:
        """Artists were planned and every one got nothing but failures: the run acquired nothing."""
        return self.planned > 0 and self.artists_all_failed == self.planned

    def add(self, fetched: Mapping[str, Any]) -> None:
        c = fetched.get("counts", {})
        self.matched += c.get("artists_found", 0) + c.get("artists_matched", 0)
        self.no_match += c.get("artists_no_match", 0)
        self.no_preview += c.get("artists_no_preview", 0)
        self.artists_failed += c.get("artists_failed", 0)
        self.downloaded += c.get("downloaded", 0)
        self.reused += c.get("reused", 0)
        self.rejected += c.get("rejected", 0)
        self.failed += c.get("failed", 0)
        self.bytes += c.get("bytes", 0)
        self.artists_all_failed += c.get("artists_all_failed", 0)
        self.errors += [e for e in fetched.get("errors") or () if e not in self.errors][:3 - len(self.errors)]
        self.left += c.get("artists_left", 0)
        for name, outage in (fetched.get("unavailable") or {}).items():
            self.down(name, outage, outage.get("left", 0))

    def down(self, provider: str, outage: Mapping[str, Any], left: int) -> None:
        """Note ``provider`` down (its first ``since`` and ``reason`` kept) and ``left`` more artists it left."""
        known = self.unavailable.setdefault(provider, {"since": outage.get("since"), "reason": outage.get("reason"),
                                                       "left": 0})
        known["left"] += left

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"previews_per_s": round(self.previews_per_s, 3)}


def acquire(
    top_n: int = 1000,
    *,
    per_artist: int = 3,
    providers: Sequence[str] | None = None,
    local_dir: str | Path | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    batch_size: int = 25,
    max_attempts: int = 3,
    download: bool = True,
    retry: bool = False,
    acquire_settings: AcquireSettings | None = None,
    settings: Settings | None = None,
    store: ObjectStore | None = None,
    on_plan: Callable[[int], None] | None = None,
    on_artist: Callable[[ArtistOutcome], None] | None = None,
) -> AcquireSummary:
    """Plan, fetch every batch (``concurrency`` threads, one set of providers so rate limits hold across
    batches) and record after each batch (``retry``: see :func:`plan`). ``on_plan(n_artists)`` and ``on_artist(outcome)`` report
    progress (the CLI's progress bar). Raises :class:`~musim.acquire.errors.NoProviderLeft` (a configuration error)
    once every provider has refused musim's configuration, after recording what was fetched before; the artists
    left stay pending, and (a safety net, see ``fetch_batch``) :class:`~musim.acquire.errors.ProvidersUnreachable`
    when every artist of a batch failed on network errors that no provider's breaker saw: that batch's artists and
    previews are recorded as failed, the batches left are not tried. A run where every artist failed otherwise returns
    (``every_artist_failed``): the CLI exits 2 on it. A provider down (server errors, rate limits or network errors
    only in a batch, or ``MUSIM_OUTAGE_AFTER`` calls in a row: see ``fetch_batch``) leaves the artists it failed for the next run, not counted (``left``, ``unavailable``);
    once every provider is down the batches left are not tried, their artists left too; the CLI exits 2 on it.
    Ctrl-C stops the batch at once (see ``fetch_batch``), records what was done and raises
    :class:`~musim.acquire.errors.AcquireInterrupted` (a ``KeyboardInterrupt``): a rerun does the artists left."""
    settings = settings or get_settings()
    with one_at_a_time(settings.ensure_tmp(), "acquire", "`musim acquire`"):
        return _acquire(top_n, per_artist=per_artist, providers=providers, local_dir=local_dir,
                        concurrency=concurrency, batch_size=batch_size, max_attempts=max_attempts, download=download,
                        retry=retry, acquire_settings=acquire_settings, settings=settings, store=store,
                        on_plan=on_plan, on_artist=on_artist)


def _acquire(top_n: int, *, per_artist: int, providers: Sequence[str] | None, local_dir: str | Path | None,
             concurrency: int, batch_size: int, max_attempts: int, download: bool, retry: bool,
             acquire_settings: AcquireSettings | None, settings: Settings, store: ObjectStore | None,
             on_plan: Callable[[int], None] | None, on_artist: Callable[[ArtistOutcome], None] | None) -> AcquireSummary:
    started = time.perf_counter()
    store = store or open_store(settings.storage.object_store)
    batches = plan(top_n, per_artist=per_artist, batch_size=batch_size, max_attempts=max_attempts,
                   providers=providers, local_dir=local_dir, download=download, retry=retry,
                   acquire_settings=acquire_settings, settings=settings, store=store)
    summary = AcquireSummary(planned=sum(len(b["artists"]) for b in batches), batches=len(batches))
    if on_plan is not None:
        on_plan(summary.planned)
    if batches:
        from musim.acquire.providers import open_providers

        built = _reachable(open_providers(providers, local_dir, acquire_settings, say_skipped=False),  # plan() said
                           (acquire_settings or settings.acquire).timeout_s)
        done = 0  # artists fetched and recorded
        try:
            for i, batch in enumerate(batches):
                down = providers_down(built)
                if down and len(down) == len(built):  # every provider down: asked nothing more, the rest left
                    rest = sum(len(b["artists"]) for b in batches[i:])
                    summary.left += rest
                    for name in down:
                        summary.down(name, summary.unavailable.get(name, {}), rest)
                    break
                try:
                    fetched = fetch_batch(batch, providers=built, store=store, concurrency=concurrency,
                                          on_artist=on_artist, then=_UNREACHABLE_THEN)
                except (NoProviderLeft, ProvidersUnreachable):  # every provider refused its configuration, or a
                    # whole batch met an outage (no provider, or no preview's host, reached): stop, the rest stays
                    # pending
                    record(max_attempts=max_attempts, settings=settings, store=store)  # what was fetched before
                    raise
                summary.add(fetched)
                record([fetched], max_attempts=max_attempts, settings=settings, store=store)
                done += fetched["artists"]
        except BaseException as exc:  # Ctrl-C: the batch stopped at once (fetch_batch), or a record rolled back; what
            # was journaled is recorded now, the artists not done stay pending for the next run
            if not _interrupted(exc):
                raise
            recorded = record(max_attempts=max_attempts, settings=settings, store=store)
            raise AcquireInterrupted(done + recorded["journals"] + recorded["already_applied"],
                                     summary.planned) from None
        finally:
            summary.passed_over = [{"provider": p.name, "path": f.relpath, "reason": f.reason}
                                   for p in built for f in p.passed_over]
            _closing(built)
    summary.seconds = round(time.perf_counter() - started, 3)
    summary.catalogue = status_counts(settings)
    return summary


def _interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` is Ctrl-C: Python's, or DuckDB's (its SIGINT handler ends the query under way, a record's:
    ``RuntimeError: Query interrupted``, its transaction rolled back)."""
    return isinstance(exc, KeyboardInterrupt | duckdb.InterruptException) or (
        isinstance(exc, RuntimeError) and "Query interrupted" in str(exc))


_UNREACHABLE_THEN = ("the batches left were not tried (their artists stay pending, this batch's are recorded as "
                     f"failed): {RERUN_LATER}")


def _reachable(providers: list, timeout_s: float) -> list:
    """The providers whose service answers (one TCP connection each; a provider without a service always):
    the others are left out with a warning, and when none is left the run stops before any artist is tried,
    every artist still pending (:class:`ProviderError`)."""
    from musim.acquire.http import unreachable

    kept, why = [], []
    for provider in providers:
        url = provider.endpoint()
        problem = unreachable(url, timeout_s) if url else None
        if problem is None:
            kept.append(provider)
            continue
        why.append(f"{provider.name}: {problem}")
        provider.close()
    if kept:
        for problem in why:
            log.warning("acquire: left out %s", problem)
    else:
        raise ProviderError(",".join(p.name for p in providers), "cannot reach any provider (" + "; ".join(why)
                            + "); nothing was tried, every artist stays pending. Run it again on the network (or "
                            "check MUSIM_DEEZER_API_URL, MUSIM_ITUNES_API_URL, MUSIM_SPOTIFY_API_URL), or take your "
                            "own files: --provider local --path FOLDER")
    return kept


def list_previews(artist: str | None = None, *, all_statuses: bool = False, limit: int | None = None,
                  settings: Settings | None = None) -> list[dict[str, Any]]:
    """Previews in the warehouse: stored ones (or every one tried, ``all_statuses``), optionally of the
    artists whose name contains ``artist`` (as :func:`musim.names.name_norm` has it: case, spacing and Unicode
    composition do not matter; an exact match wins). Reads without the writer's
    lock, so a running ingest or build does not stop it (nor it them)."""
    from musim import sandbox

    with sandbox.reader(settings) as con:
        return sql.rows(con, "acquire/previews.sql", artist=None if artist is None else name_norm(artist),
                        all_statuses=all_statuses, limit=limit if limit and limit > 0 else 1 << 62)
