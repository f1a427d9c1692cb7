"""Errors of the provider layer: one type the caller records as ``failed``, with its reason; a refusal of musim's
configuration (:class:`ProviderRefused`), which is not the artist's failure; and the run's own failures."""

from __future__ import annotations

import datetime as dt

from musim.errors import ConfigError, MusimError
from musim.redact import redact


class ProviderError(MusimError):
    """A provider call failed for good (after retries where retrying made sense).

    Parameters
    ----------
    provider : str
        Provider name (``"deezer"``, ``"itunes"``, ``"spotify"``, ``"local"``).
    reason : str
        What went wrong, safe to store and log: credentials in it are masked (:func:`musim.redact.redact`).
    status : int or None
        HTTP status (or provider error code) when there was one.
    retryable : bool
        Whether trying again later could succeed (429, 5xx, timeouts, connection errors).
    attempts : int
        How many attempts were made before giving up.
    network : bool
        The service was not reached (connection refused, a name that does not resolve, a timeout, a connection
        broken off): nothing about the artist is known, unlike a 404 or "not found".
    """

    def __init__(
        self,
        provider: str,
        reason: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        attempts: int = 1,
        network: bool = False,
    ) -> None:
        self.provider = provider
        self.reason = redact(reason)  # stored in journals and the warehouse, shown by the CLI and the UI
        self.status = status
        self.retryable = retryable
        self.attempts = attempts
        self.network = network
        super().__init__(f"{provider}: {self.reason}")


class RateLimited(ProviderError):
    """HTTP 429 (or Deezer's quota error, code 4); ``retry_after`` in seconds when the server said."""

    def __init__(
        self,
        provider: str,
        reason: str,
        *,
        retry_after: float | None = None,
        status: int | None = 429,
        retryable: bool = True,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(provider, reason, status=status, retryable=retryable)


class ProviderDown(ProviderError):
    """The provider is taken as down for the rest of the run (its circuit breaker is open: calls in a row ended in
    server errors or reached no server, see :class:`~musim.acquire.breaker.Outage`): this call was not sent. ``since``: when its failures
    began (UTC). Not the artist's failure: an artist it leaves without an answer is left for the next run."""

    def __init__(self, provider: str, reason: str, *, since: dt.datetime) -> None:
        self.since = since
        super().__init__(provider, reason, retryable=True)


def is_outage(err: ProviderError) -> bool:
    """Whether ``err`` says the provider is failing, whatever the artist: a server error (5xx, after its retries;
    Deezer's "service busy"), a rate limit (429, Deezer's quota, a ``Retry-After`` pause too long to wait), the
    provider not reached at all (``network``: connection refused, a name that does not resolve, a timeout, after its
    retries), or the provider taken as down. A 4xx about the request (404), Deezer's error codes about the request
    (500 parameter, 600 invalid query: not retryable), unusable audio or a broken answer are the artist's (they
    count)."""
    return (isinstance(err, ProviderDown | RateLimited) or (err.retryable and (err.status or 0) >= 500)
            or (err.retryable and err.network))


class ProviderRefused(ProviderError):
    """The provider refused musim's own configuration (Spotify's token URL refused the client credentials): no call
    to it can succeed until that is fixed. It is left out for the rest of the run at the first refusal, and the
    artists it was asked about are not counted as failed. ``fix`` says what to check."""

    def __init__(self, provider: str, reason: str, *, fix: str, status: int | None = None) -> None:
        self.fix = fix
        super().__init__(provider, reason, status=status, retryable=False)


class NoProviderLeft(ConfigError):
    """Every provider of the run refused musim's configuration (:class:`ProviderRefused`): nothing more can be
    tried; the artists not done stay pending (no attempt counted)."""

    def __init__(self, refused: list[ProviderRefused]) -> None:
        self.refused = refused
        why = "; ".join(f"{r.provider} refused musim's configuration ({r.reason}): {r.fix}" for r in refused)
        super().__init__(f"no provider is left: {why}. Nothing more was tried; the artists not done stay pending "
                         "(not counted as failed attempts)")


class ProvidersUnavailable(MusimError):
    """A run left artists for the next one because a provider was down (:class:`ProviderDown`): their attempts were
    not counted. ``unavailable``: provider -> ``{"since", "reason", "left"}`` as in the run's summary."""

    def __init__(self, unavailable: dict[str, dict]) -> None:
        self.unavailable = unavailable
        super().__init__("; ".join(unavailable_line(name, u) for name, u in unavailable.items() if u.get("left")))


def unavailable_line(provider: str, outage: dict) -> str:
    """``deezer unavailable since 2026-01-02 03:04:05 UTC (HTTP 503 ...), 12 artists left for the next run``."""
    left = int(outage.get("left") or 0)
    since = dt.datetime.fromisoformat(outage["since"]).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (f"{provider} unavailable since {since} ({outage.get('reason') or 'server errors'}), "
            f"{left:,} artist{'' if left == 1 else 's'} left for the next run (not counted as failed attempts)")


class AcquireFailed(MusimError):
    """Artists were planned and every one of them failed (every provider asked failed, or every preview tried
    failed): the run acquired nothing. Their attempts are recorded; a later run tries them again."""


class AcquireInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C (:func:`~musim.acquire.pipeline.acquire`): ``done`` of the ``planned`` artists were
    fetched and are recorded, the others stay pending for the next run. Still a ``KeyboardInterrupt`` for a caller
    that only knows that; ``str()`` is the line the CLI prints."""

    def __init__(self, done: int, planned: int) -> None:
        self.done, self.planned = done, planned
        left = planned - done
        super().__init__(f"interrupted: {done:,} of {planned:,} artist{'' if planned == 1 else 's'} done and recorded, "
                         f"{left:,} left pending; run the same `musim acquire` again to resume")


#: How an outage's message ends where nothing retries by itself (the CLI, a direct call of ``fetch_batch``).
RERUN_LATER = "run `musim acquire --retry` once the network is back"


def task_then(try_number: int | None, max_tries: int | None) -> str:
    """How an outage's message ends in the ``audio_acquire`` DAG's ``fetch`` task, from its task instance's
    ``try_number`` (1 on the first try) and ``max_tries`` (the retries: Airflow retries a failed try while
    ``try_number <= max_tries``): that the task retries, or, on its last try, what to do."""
    if try_number is not None and max_tries is not None and try_number <= max_tries:
        return f"the task retries (this was try {try_number} of {max_tries + 1})"
    return "no retries left: rerun the task or `musim acquire --retry`"


class ProvidersUnreachable(MusimError):
    """No artist of a batch got anything and every failure was the network (connection refused, a name that does
    not resolve, a timeout): the providers were not reached, so nothing is known about the artists. Raised by
    ``fetch_batch`` after journaling them as failed (they stay retryable) so that the DAG's task retries apply and
    the run fails; the CLI stops on it (exit 2). A batch where some artist got an answer is not this. ``then`` ends
    the message: what happens next (:func:`task_then` in the DAG; default :data:`RERUN_LATER`)."""

    def __init__(self, artists: int, providers: list[str], first: str, *, then: str | None = None) -> None:
        self.artists = artists
        self.providers = providers
        self.first = first
        self.then = then or RERUN_LATER
        super().__init__(self._message())

    def _which(self) -> str:
        return "the one artist" if self.artists == 1 else f"all {self.artists:,} artists"

    def _message(self) -> str:
        return (f"{self._which()} of the batch failed on network errors with {', '.join(self.providers) or 'no provider'}"
                f" (first: {self.first}): the provider could not be reached: check the network/proxy; {self.then}")


class PreviewsUnreachable(ProvidersUnreachable):
    """The lookups of a batch were answered but every preview download tried failed on network errors (the audio
    host not reached: connection refused, a name that does not resolve, a timeout) and nothing was stored: an outage
    as :class:`ProvidersUnreachable` (and handled as one), raised after the previews are journaled as failed (they
    stay retryable). ``downloads``: the downloads tried; ``artists``: the artists they were for."""

    def __init__(self, artists: int, downloads: int, providers: list[str], first: str, *,
                 then: str | None = None) -> None:
        self.downloads = downloads
        super().__init__(artists, providers, first, then=then)

    def _message(self) -> str:
        which = "the one preview download" if self.downloads == 1 else f"all {self.downloads:,} preview downloads"
        of = "the one artist" if self.artists == 1 else f"{self.artists:,} artists"
        return (f"{which} of the batch ({of}) failed on network errors with {', '.join(self.providers)} (first: "
                f"{self.first}) and nothing was stored: the previews' host could not be reached: check the "
                f"network/proxy; {self.then}")
