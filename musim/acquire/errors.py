"""Errors of the provider layer: one type the caller records as ``failed``, with its reason."""

from __future__ import annotations

from musim.errors import MusimError


class ProviderError(MusimError):
    """A provider call failed for good (after retries where retrying made sense).

    Parameters
    ----------
    provider : str
        Provider name (``"deezer"``, ``"itunes"``, ``"spotify"``, ``"local"``).
    reason : str
        What went wrong, safe to store and log (never contains credentials).
    status : int or None
        HTTP status (or provider error code) when there was one.
    retryable : bool
        Whether trying again later could succeed (429, 5xx, timeouts, connection errors).
    attempts : int
        How many attempts were made before giving up.
    """

    def __init__(
        self,
        provider: str,
        reason: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        attempts: int = 1,
    ) -> None:
        self.provider = provider
        self.reason = reason
        self.status = status
        self.retryable = retryable
        self.attempts = attempts
        super().__init__(f"{provider}: {reason}")


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
