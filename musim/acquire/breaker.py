"""A provider's circuit breaker: its failures in a run, and when it is taken as down (:class:`Outage`)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from musim.acquire.errors import ProviderDown, ProviderError

__all__ = ["Outage", "begin_batch", "down_by_name", "providers_down"]

log = logging.getLogger(__name__)


class Outage:
    """One provider's failures in this run, a circuit breaker in front of its calls (:meth:`HttpClient.call`).

    A call that ends, after its retries, in an outage's failure (:func:`~musim.acquire.errors.is_outage`: a server
    error, a rate limit, or the provider not reached at all: connection refused, a name that does not resolve, a
    timeout) lengthens the streak; an answer (a success, or a 4xx about the request) ends it. ``after`` failures in a
    row (the setting ``MUSIM_OUTAGE_AFTER``) open the breaker: from then on every call fails at once without a request
    (:class:`ProviderDown`) for the rest of the run. The provider is :attr:`down` when the breaker is open, or when
    every call it got in the current batch (:meth:`new_batch`) ended in such a failure (it answered nothing).
    Thread-safe.
    """

    def __init__(self, provider: str, after: int) -> None:
        if after < 1:
            raise ValueError(f"a breaker opens after at least 1 failure, got {after}")
        self.provider = provider
        self.after = after
        self._lock = threading.Lock()
        self.streak = 0
        self.since: dt.datetime | None = None  # when the current streak began
        self.reason: str | None = None  # its first failure
        self.answered = 0  # in the current batch
        self.failed = 0
        self.open = False

    def new_batch(self) -> None:
        """A batch begins: whether the provider answered nothing is judged on this batch's calls (providers shared by
        a run's batches, as `musim acquire` shares them, answered the earlier batches before it went down)."""
        with self._lock:
            self.answered = self.failed = 0

    def trip(self, since: dt.datetime, reason: str | None) -> None:
        """Open the breaker now: an earlier batch of the run (another task of the DAG, with providers of its own) found
        the provider down ``since`` then, first on ``reason``; nothing is sent to it from now on."""
        with self._lock:
            if self.open:
                return
            self.open, self.since, self.reason = True, since, reason

    @property
    def down(self) -> bool:
        with self._lock:
            return self.open or self._answered_nothing()

    def settle(self) -> bool:
        """At the end of a batch: whether the provider is :attr:`down`; when it is, the breaker opens (it answered
        nothing but failures: it is asked nothing more in this run either)."""
        with self._lock:
            self.open = self.open or self._answered_nothing()
            return self.open

    def _answered_nothing(self) -> bool:
        """Every call so far ended in an outage's failure (caller holds the lock)."""
        return self.failed > 0 and self.answered == 0

    def check(self, what: str) -> None:
        """Raise :class:`ProviderDown` when the breaker is open (nothing is sent)."""
        with self._lock:
            if not self.open:
                return
            since, reason = self.since, self.reason
        assert since is not None
        raise ProviderDown(self.provider, f"{what} not sent: {self.provider} unavailable since "
                                          f"{since:%Y-%m-%d %H:%M:%S} UTC ({reason})", since=since)

    def answer(self) -> None:
        with self._lock:
            self.answered += 1
            if not self.open:
                self.streak, self.since, self.reason = 0, None, None

    def failure(self, err: ProviderError) -> None:
        with self._lock:
            self.failed += 1
            if self.open:
                return
            self.streak += 1
            if self.since is None:
                self.since, self.reason = dt.datetime.now(dt.UTC), err.reason
            if self.streak < self.after:
                return
            self.open = True
            since, reason = self.since, self.reason
        log.warning("%s: %d calls in a row failed (since %s UTC, first: %s): asked nothing more in this run, its "
                    "artists left for the next run", self.provider, self.after, f"{since:%Y-%m-%d %H:%M:%S}", reason)

    def summary(self) -> dict[str, Any]:
        """``{"since": ISO time, "reason": first failure}`` of the outage (for a run's summary)."""
        with self._lock:
            return {"since": self.since.isoformat() if self.since else None, "reason": self.reason}


def begin_batch(providers: Sequence[Any], down: Mapping[str, Mapping[str, Any]]) -> None:
    """A batch begins: each provider's breakers judge what it answers in this batch (:meth:`Outage.new_batch`), and
    the ones ``down`` names are open from the start (found down by an earlier batch: asked nothing)."""
    for p in providers:
        http = getattr(p, "http", None)
        for outage in (http.outage, http.download_outage) if http is not None else ():
            outage.new_batch()
            known = down.get(p.name)
            if known is not None:
                since = known.get("since")
                outage.trip(dt.datetime.fromisoformat(since).astimezone(dt.UTC) if since else dt.datetime.now(dt.UTC),
                            known.get("reason"))


def down_by_name(providers: Sequence[Any]) -> dict[str, Any]:
    """The providers taken as down in this run (their :class:`Outage`), by name."""
    found = {}
    for p in providers:
        http = getattr(p, "http", None)
        for outage in (http.outage, http.download_outage) if http is not None else ():
            if outage.settle():  # its API, or its audio host
                found.setdefault(p.name, outage)
    return found


def providers_down(providers: Sequence[Any]) -> list[str]:
    """The names of ``providers`` taken as down in this run (see :class:`Outage`)."""
    return list(down_by_name(providers))
