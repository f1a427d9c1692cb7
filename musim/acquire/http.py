"""Polite HTTP for providers: a thread-safe rate limiter, a session that waits for it, and a tenacity
retry policy (exponential backoff with jitter; ``Retry-After`` honoured) that turns failures into
:class:`~musim.acquire.errors.ProviderError`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import math
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import requests
import urllib3
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

import musim
from musim.acquire.breaker import Outage
from musim.acquire.errors import ProviderDown, ProviderError, RateLimited, is_outage
from musim.acquire.inward import InwardURL, check_inward
from musim.acquire.models import scrub
from musim.acquire.ratelimit import RateLimiter, Stop
from musim.config import RateLimit, RetryPolicy
from musim.params import whole_number

log = logging.getLogger(__name__)
T = TypeVar("T")
# getattr: an editable install made before musim/__init__.py existed maps musim as a namespace package
USER_AGENT = f"musim/{getattr(musim, '__version__', '0.1.0')} (music-similarity research; polite client)"


class PoliteSession(requests.Session):
    """A :class:`requests.Session` that takes a rate-limiter slot before every request and sets a timeout.

    Also given to spotipy (``requests_session=``), so its calls are limited too and not retried by
    urllib3 behind tenacity's back. An answer 429 or 503 with ``Retry-After`` pauses the limiter: every thread
    sharing it waits (:meth:`HttpClient.wait_for_pause`), not only the one that was told.
    """

    def __init__(self, limiter: RateLimiter | None = None, *, timeout_s: float = 10.0) -> None:
        super().__init__()
        self.limiter = limiter
        self.timeout_s = timeout_s
        self.headers["User-Agent"] = USER_AGENT
        self.max_redirects = MAX_REDIRECTS

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Each redirect followed is a request too: it takes its own slot (requests sends it here, ``allow_redirects``
        false; the first request took its slot in :meth:`request`)."""
        if self.limiter is not None and kwargs.get("allow_redirects") is False:
            self.limiter.acquire()
        return super().send(request, **kwargs)

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        """A redirect from a public host to a local or private address is not followed (:func:`check_inward`)."""
        check_inward(str(prepared_request.url), response.url or None)
        super().rebuild_auth(prepared_request, response)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.limiter is not None:
            self.limiter.acquire()
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout_s
        response = super().request(method, url, *args, **kwargs)
        if self.limiter is not None and response.status_code in PAUSING_STATUSES:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            if wait:
                self.limiter.pause(wait)
        return response


#: Redirects followed per request (requests' own default, 30, let a redirect loop send 31 requests per call)
MAX_REDIRECTS = 5

#: Statuses whose ``Retry-After`` pauses every request to the provider, not only the retry of the one told
PAUSING_STATUSES = (429, 503)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` if absent/invalid."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:  # "inf", "nan", "1e400": no number of seconds (it would pause the provider for ever, or not at all)
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" or no zone: an HTTP date is GMT, not this machine's local time
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - time.time())


def error_for_status(provider: str, status: int, headers: Any, *, what: str) -> ProviderError | None:
    """The error an HTTP status means (``None`` for 2xx/3xx): 429 and 5xx retryable, other 4xx not."""
    if status == 429:
        retry_after = parse_retry_after((headers or {}).get("Retry-After"))
        reason = f"HTTP 429 rate limited on {what}" + (f" (Retry-After {retry_after:g} s)" if retry_after is not None else "")
        return RateLimited(provider, reason, retry_after=retry_after)
    if status >= 500:
        return ProviderError(provider, f"HTTP {status} server error on {what}", status=status, retryable=True)
    if status >= 400:
        return ProviderError(provider, f"HTTP {status} on {what}", status=status, retryable=False)
    return None


def error_for_exception(provider: str, exc: requests.RequestException, *, what: str) -> ProviderError:
    """Timeouts and connection errors are retryable, and are the network's (``network``); other request errors
    are not."""
    if isinstance(exc, InwardURL):
        return ProviderError(provider, f"{what} not fetched: it leads to {exc.host}, a local or private address, from a "
                                       "public one")
    if isinstance(exc, requests.Timeout):
        return ProviderError(provider, f"timeout on {what}", retryable=True, network=True)
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return ProviderError(provider, f"connection error on {what}: {type(exc).__name__}", retryable=True,
                             network=True)
    return ProviderError(provider, f"request failed on {what}: {type(exc).__name__}", retryable=False)


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_exponential_jitter(initial=policy.initial_s, max=policy.max_s, jitter=policy.jitter_s)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return exc.retry_after
        return float(backoff(state))

    return wait


def call_with_retries(
    fn: Callable[[], T],
    *,
    provider: str,
    policy: RetryPolicy,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``fn`` (which raises :class:`ProviderError`) with tenacity retries per ``policy``.

    Retryable errors are retried up to ``policy.max_attempts`` attempts in all, then a
    :class:`ProviderError` "gave up after N attempts" with the last reason is raised; other errors are
    raised at once, and so is a 429 whose ``Retry-After`` exceeds ``policy.max_retry_after_s`` (still
    ``retryable``: later). ``sleep`` is injectable (tests).
    """

    def retry_now(exc: BaseException) -> bool:
        if not (isinstance(exc, ProviderError) and exc.retryable):
            return False
        wait = exc.retry_after if isinstance(exc, RateLimited) else None
        return wait is None or wait <= policy.max_retry_after_s

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s: %s; attempt %d/%d, retrying in %.2f s",
            provider, getattr(exc, "reason", exc), state.attempt_number, policy.max_attempts, delay,
        )

    retrying = Retrying(
        stop=stop_after_attempt(policy.max_attempts),
        wait=_wait(policy),
        retry=retry_if_exception(retry_now),
        before_sleep=before_sleep,
        sleep=sleep,
    )
    try:
        return retrying(fn)
    except RetryError as err:
        last = err.last_attempt.exception()
        attempts = err.last_attempt.attempt_number
        reason = getattr(last, "reason", repr(last))
        if isinstance(last, RateLimited):  # still a rate limit (an outage's failure, not the artist's): a plain error
            # with its 429 (or Deezer's quota code 4) counted each artist a provider rate-limits as failed, and gave it up
            limited = RateLimited(provider, f"gave up after {attempts} attempts: {reason}", retry_after=last.retry_after,
                                  status=last.status)
            limited.attempts = attempts
            raise limited from last
        raise ProviderError(
            provider,
            f"gave up after {attempts} attempts: {reason}",
            status=getattr(last, "status", None),
            retryable=True,
            attempts=attempts,
            network=bool(getattr(last, "network", False)),
        ) from last
    except ProviderError as err:
        err.attempts = int(retrying.statistics.get("attempt_number", 1))
        raise


#: What a download's ``Content-Type`` says when the answer is a page, not audio (a 200 error page)
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/json", "text/xml", "application/xml"})

#: The largest API answer read: a search or a top list is a few kB; anything this big is no answer of the API (a proxy's
#: or a broken server's stream), and is not read on into memory.
MAX_JSON_BYTES = 8 * 2**20

#: The largest download taken: a 30-second preview is 0.5-2 MB; anything this big is not one (a wrong URL, a
#: whole album, a server that never stops sending).
MAX_DOWNLOAD_BYTES = 32 * 2**20


#: The longest a body is read, however it trickles in: a preview (2 MB) or an API answer takes seconds even on a slow
#: link; a server sending a byte now and then, each within the read timeout, held a worker (and the run) for ever.
MAX_BODY_S = 120.0


def body_deadline(timeout_s: float) -> float:
    """The longest a body is read with a read timeout of ``timeout_s``: :data:`MAX_BODY_S`, or twice ``timeout_s``."""
    return max(MAX_BODY_S, 2 * timeout_s)


def _chunks(response: requests.Response, deadline_s: float, stop: Stop | None = None) -> Iterator[bytes]:
    """The body of a streamed ``response``, decoded, one socket read at a time (so that a body dripping in is seen
    between reads), until ``deadline_s`` seconds have passed: then :class:`requests.Timeout`; or until ``stop`` is set
    (:class:`~musim.acquire.ratelimit.Stopped`). urllib3's errors are requests' as
    :meth:`requests.Response.iter_content` raises them."""
    raw = response.raw
    read1 = getattr(raw, "read1", None)
    if read1 is None:  # an urllib3 before 2.3, or no urllib3 response: requests' chunks
        yield from response.iter_content(1 << 16)
        return
    end = time.monotonic() + deadline_s
    while True:
        if stop is not None:
            stop.check()
        if time.monotonic() > end:
            raise requests.Timeout(f"the body was still coming in after {deadline_s:g} s")
        try:
            chunk = read1(1 << 16, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise requests.exceptions.ReadTimeout(exc) from None
        except urllib3.exceptions.ProtocolError as exc:
            raise requests.exceptions.ChunkedEncodingError(exc) from None
        except urllib3.exceptions.DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc) from None
        except urllib3.exceptions.SSLError as exc:
            raise requests.exceptions.SSLError(exc) from None
        if not chunk:
            return
        yield chunk


def read_body(response: requests.Response, provider: str, what: str, max_bytes: int, too_big: str,
              *, deadline_s: float = MAX_BODY_S, stop: Stop | None = None) -> bytes:
    """The body of a streamed ``response``, refusing one over ``max_bytes`` as soon as that is known (its
    Content-Length, else while it streams) with a :class:`ProviderError` saying ``too_big`` (the server answered: no
    outage). A connection broken or stalled mid-body, or a body still coming in after ``deadline_s`` seconds, is the
    network's error (a timeout). ``stop`` set ends the read between two socket reads
    (:class:`~musim.acquire.ratelimit.Stopped`)."""
    try:
        size_said = whole_number(response.headers.get("Content-Length", ""), max_digits=30)  # more digits: read on
        if size_said is not None and size_said > max_bytes:
            raise ProviderError(provider, too_big, status=response.status_code)
        chunks, size = [], 0
        for chunk in _chunks(response, deadline_s, stop):
            size += len(chunk)
            if size > max_bytes:
                raise ProviderError(provider, too_big, status=response.status_code)
            chunks.append(chunk)
    except BaseException as exc:
        response.close()  # drop the connection rather than read the rest (a body read whole goes back to the pool)
        if isinstance(exc, requests.RequestException):
            raise error_for_exception(provider, exc, what=what) from None
        raise
    return b"".join(chunks)


def read_capped(response: requests.Response, provider: str, what: str, max_bytes: int, verdict: str,
                *, deadline_s: float = MAX_BODY_S, stop: Stop | None = None) -> None:
    """Read the body of a streamed ``response`` into it (``response.content`` after), refusing one over ``max_bytes``
    as soon as that is known (its Content-Length, else while it streams): a :class:`ProviderError` of ``provider``'s
    call (the server answered: no outage). A connection broken or stalled mid-body, or a body still coming in after
    ``deadline_s`` seconds, is the network's error."""
    response._content = read_body(response, provider, what, max_bytes,
                                  f"{what} answered over {max_bytes / 2**20:g} MiB: {verdict}", deadline_s=deadline_s,
                                  stop=stop)


class HttpClient:
    """GET JSON and bytes for one provider: API calls and downloads each behind their own rate limiter.

    Parameters
    ----------
    provider : str
        Name used in errors and logs.
    limit, download_limit : RateLimit
        Limits for API calls and for audio downloads (a different host: the provider's CDN).
    timeout_s : float
        Connect and read timeout of each request.
    retry : RetryPolicy
        Backoff and attempts.
    sleep : callable
        Used for retry waits and pauses (not for the rate limiter); injectable in tests. Default: :attr:`stop`'s
        wait.

    Every wait of the client (its rate limiters', a pause's, a retry's back-off) is :attr:`stop`'s
    (:class:`~musim.acquire.ratelimit.Stop`): once it is set (:meth:`stop_now`), they end at once and no request is
    sent (:class:`~musim.acquire.ratelimit.Stopped`); a request under way ends at its timeout, a body between reads.
    """

    def __init__(
        self,
        provider: str,
        *,
        limit: RateLimit,
        download_limit: RateLimit,
        timeout_s: float,
        retry: RetryPolicy,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.provider = provider
        self.retry = retry
        self.stop = Stop()
        self.sleep = sleep or self.stop.wait
        self.session = PoliteSession(RateLimiter(limit, stop=self.stop), timeout_s=timeout_s)
        self.download_session = PoliteSession(RateLimiter(download_limit, stop=self.stop), timeout_s=timeout_s)
        self._waited = threading.local()  # .until: when the pause this thread last waited out ends (monotonic)
        #: the API's and the downloads' (another host: the provider's CDN) circuit breakers
        self.outage = Outage(provider, retry.outage_after)
        self.download_outage = Outage(provider, retry.outage_after)
        #: the longest one body (an API answer, a preview) is read, however it trickles in (:data:`MAX_BODY_S`, or
        #: twice a longer read timeout: MUSIM_HTTP_TIMEOUT_S set for a slow link)
        self.body_deadline_s = body_deadline(timeout_s)

    def _sleep(self, seconds: float) -> None:
        """``sleep``, noting that this thread has waited until ``seconds`` from now (a retry's wait for the
        ``Retry-After`` it was told is that pause waited out)."""
        until = time.monotonic() + seconds
        self.stop.check()
        self.sleep(seconds)
        self.stop.check()  # an injected sleep (tests) does not look at it
        self._waited.until = max(getattr(self._waited, "until", float("-inf")), until)

    def call(self, fn: Callable[[], T], *, what: str, outage: Outage | None = None) -> T:
        """Retry ``fn`` per this client's policy (for SDK calls such as spotipy's), behind a circuit breaker
        (:class:`Outage`; default the API's: once open, :class:`ProviderDown` at once, nothing sent)."""
        outage = outage or self.outage
        outage.check(what)
        try:
            result = call_with_retries(fn, provider=self.provider, policy=self.retry, what=what, sleep=self._sleep)
        except ProviderDown:
            raise
        except ProviderError as err:
            if is_outage(err):
                outage.failure(err)
            elif err.status is not None:  # the provider answered (a 404, a page instead of JSON): it is up
                outage.answer()
            raise
        outage.answer()
        return result

    def wait_for_pause(self, session: requests.Session, what: str) -> None:
        """Before a request of ``session``: wait out a pause the provider asked for (``Retry-After``, told to this
        thread or another), or, when what is left of it is longer than the policy's ``max_retry_after_s``, fail at
        once without a request (:class:`RateLimited`, retryable later) rather than be refused again."""
        limiter = getattr(session, "limiter", None)
        if limiter is None:
            return
        resume_at = limiter.resume_at
        left = resume_at - time.monotonic()
        if left <= 0 or getattr(self._waited, "until", float("-inf")) >= resume_at:
            return
        if left > self.retry.max_retry_after_s:
            raise RateLimited(self.provider, f"{what} not sent: the provider asked for a pause (Retry-After) with "
                                             f"{left:.0f} s left, over MUSIM_RETRY_AFTER_MAX_S "
                                             f"({self.retry.max_retry_after_s:g} s)", retry_after=left, status=None)
        log.info("%s: waiting %.2f s before %s (the provider asked for a pause)", self.provider, left, what)
        self._sleep(left)

    def _get(self, session: requests.Session, url: str, params: dict[str, Any] | None, what: str,
             *, stream: bool = False) -> requests.Response:
        self.wait_for_pause(session, what)
        try:
            response = session.get(url, params=params, stream=stream)
        except requests.RequestException as exc:
            raise error_for_exception(self.provider, exc, what=what) from None
        err = error_for_status(self.provider, response.status_code, response.headers, what=what)
        if err is not None:
            response.close()  # a streamed error page is not read
            raise err
        return response

    def get_json(
        self,
        url: str,
        params: dict[str, Any] | None = None,
        *,
        what: str,
        check: Callable[[Any], None] | None = None,
    ) -> Any:
        """GET ``url`` and decode JSON; ``check(body)`` may raise :class:`ProviderError` (retried if so marked)."""

        def attempt() -> Any:
            response = self._get(self.session, url, params, what, stream=True)
            self._read_capped(response, what, MAX_JSON_BYTES, "not an answer of the API")
            try:
                body = scrub(response.json())
            except RecursionError:  # arrays or objects nested thousands deep: no answer of any API
                raise ProviderError(self.provider, f"invalid JSON from {what} (nested too deep)",
                                    status=response.status_code) from None
            except ValueError:
                # said to be JSON but broken (cut off by the server or a proxy): likely fine on the next try; any other
                # page (a portal's HTML) is no answer of the API and will not be one in a second
                said = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                meant = said == "application/json" or said.endswith("+json") or said == "text/javascript"
                raise ProviderError(self.provider, f"invalid JSON from {what}" + ("" if meant else f" ({said or 'no type'})"),
                                    status=response.status_code, retryable=meant) from None
            if check is not None:
                check(body)
            return body

        return self.call(attempt, what=what)

    def _read_capped(self, response: requests.Response, what: str, max_bytes: int, verdict: str) -> None:
        """:func:`read_capped` for this client's provider."""
        read_capped(response, self.provider, what, max_bytes, verdict, deadline_s=self.body_deadline_s, stop=self.stop)

    def get_bytes(self, url: str, *, what: str, max_bytes: int = MAX_DOWNLOAD_BYTES, origin: str | None = None) -> bytes:
        """Download ``url`` whole (a preview); retried like API calls, limited by the download limiter. A body
        over ``max_bytes`` is refused as soon as it is known (its Content-Length, else while it streams); one still
        coming in after ``body_deadline_s`` seconds is a timeout. ``origin`` (the provider's API, which gave ``url``): on a
        public host, a ``url`` on a local or private address is refused (:func:`check_inward`); so is such a redirect."""

        def attempt() -> bytes:
            try:
                check_inward(url, origin)
            except InwardURL as exc:
                raise error_for_exception(self.provider, exc, what=what) from None
            response = self._get(self.download_session, url, None, what, stream=True)
            said = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if said in PAGE_TYPES or said.endswith("+json") or said.startswith("text/"):  # a proxy's, a portal's or a
                # CDN's page (text/plain "Forbidden" too: it was checked as audio and rejected for good): no audio was
                response.close()  # offered, so none was refused (a rejection is never tried again)
                raise ProviderError(self.provider, f"{what} answered a page ({said}), not audio: an error page of the "
                                                   "server or of a proxy in between")
            return read_body(response, self.provider, what, max_bytes,
                             f"{what} is over {max_bytes / 2**20:g} MiB: not a preview", deadline_s=self.body_deadline_s,
                             stop=self.stop)

        return self.call(attempt, what=what, outage=self.download_outage)

    def stop_now(self) -> None:
        """The run is stopped: every wait of its threads ends now and nothing more is sent (see :attr:`stop`)."""
        self.stop.set()

    def close(self) -> None:
        self.session.close()
        self.download_session.close()


def unreachable(url: str, timeout_s: float) -> str | None:
    """Why the host of ``url`` cannot be reached (its name does not resolve, nothing answers on its port), or
    ``None`` when a TCP connection opens: one check before a run, so that a machine without the network fails in
    seconds, not after every artist's retries."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    if not host:
        return f"{url} names no host"
    try:
        socket.create_connection((host, port), timeout=min(timeout_s, 10.0)).close()
    except socket.gaierror:
        return f"the name {host} does not resolve (no network, or no DNS)"
    except OSError as exc:
        return f"nothing answers on {host}:{port} ({exc.strerror or type(exc).__name__})"
    return None
