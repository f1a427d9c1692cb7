"""A thread-safe sliding-window rate limiter: the providers' calls a second, shared by every thread of a run, and
paused when a server asks for a pause (``Retry-After``)."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

from musim.config import RateLimit

__all__ = ["RateLimiter"]


class RateLimiter:
    """Sliding-window limiter: at most ``limit.calls`` acquisitions in any ``limit.period_s`` window.

    Thread-safe; :meth:`acquire` blocks until a slot is free. ``clock`` and ``sleep`` are injectable.
    """

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
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
