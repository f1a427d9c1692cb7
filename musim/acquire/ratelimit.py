"""A thread-safe sliding-window rate limiter: the providers' calls a second, shared by every thread of a run, and
paused when a server asks for a pause (``Retry-After``); and :class:`Stop`, the one way a provider's thread waits
(a rate limit, a pause, a retry's back-off), cut short when the run is stopped (Ctrl-C, a task killed)."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

from musim.config import RateLimit

__all__ = ["RateLimiter", "Stop", "Stopped"]


class Stopped(BaseException):  # noqa: N818 - an interruption, as KeyboardInterrupt, not an error
    """The run was stopped while this thread waited, or was about to send a request: the artist it was fetching is
    left as it was (not journaled, still pending; the previews it stored stay noted in its progress). A
    ``BaseException``, as ``KeyboardInterrupt``: no ``except Exception`` takes it for the artist's failure."""


class Stop:
    """A run's stop signal, shared by the waits of a provider's threads: :meth:`wait` replaces ``time.sleep`` and
    ends at once (:class:`Stopped`) when :meth:`set` is called, so that Ctrl-C (or a task killed) does not wait out a
    back-off or a ``Retry-After`` of a minute in every worker."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        """Stop: every wait ends now, and every later one, and every request not yet sent, raises :class:`Stopped`."""
        self._event.set()

    def check(self) -> None:
        """Raise :class:`Stopped` once :meth:`set` was called."""
        if self._event.is_set():
            raise Stopped

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds``, or raise :class:`Stopped` as soon as :meth:`set` is called."""
        if self._event.wait(max(0.0, seconds)):
            raise Stopped


class RateLimiter:
    """Sliding-window limiter: at most ``limit.calls`` acquisitions in any ``limit.period_s`` window.

    Thread-safe; :meth:`acquire` blocks until a slot is free, or raises :class:`Stopped` once ``stop`` is set (its
    waits are ``stop``'s: cut short by it). ``clock`` and ``sleep`` (default ``stop.wait``) are injectable.
    """

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        stop: Stop | None = None,
    ) -> None:
        self.limit = limit
        self._clock = clock
        self.stop = stop or Stop()
        self._sleep = sleep or self.stop.wait
        self._sent: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()
        self._resume_at = float("-inf")

    def pause(self, seconds: float) -> None:
        """The server asked for a pause (``Retry-After``): no request of any thread before ``seconds`` from now
        (see :meth:`HttpClient.wait_for_pause`); a shorter pause does not end a longer one."""
        with self._lock:
            self._resume_at = max(self._resume_at, self._clock() + seconds)

    @property
    def resume_at(self) -> float:
        """When the last pause asked for ends (on ``clock``); in the past when there is none."""
        with self._lock:
            return self._resume_at

    def acquire(self) -> float:
        """Take one slot, waiting as long as needed; return the seconds waited."""
        waited = 0.0
        while True:
            self.stop.check()
            with self._lock:
                now = self._clock()
                while self._sent and now - self._sent[0] >= self.limit.period_s:
                    self._sent.popleft()
                if len(self._sent) < self.limit.calls:
                    self._sent.append(now)
                    return waited
                delay = self.limit.period_s - (now - self._sent[0])
            self._sleep(delay)
            waited += delay
