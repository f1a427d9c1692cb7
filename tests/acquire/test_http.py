"""Politeness: the rate limiter, and tenacity retries on 429 / 5xx / timeouts with a bounded budget."""

from __future__ import annotations

import contextlib
import threading
import time
from email.utils import formatdate

import pytest

from musim.acquire import ProviderError, RateLimit, RetryPolicy
from musim.acquire.http import HttpClient, parse_retry_after
from musim.acquire.providers import DeezerProvider, ItunesProvider
from musim.acquire.ratelimit import RateLimiter, Stop, Stopped
from tests.fakes.provider_server import Fault

pytestmark = pytest.mark.server


#: how late the test server may see a request the client sent in time (its threads wait on a loaded machine)
JITTER_S = 0.1


def max_in_window(times: list[float], period: float) -> int:
    """Most requests seen in any half-open window of ``period`` seconds."""
    times = sorted(times)
    return max(sum(1 for u in times[i:] if u - t < period) for i, t in enumerate(times))


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_rate_limiter_sliding_window_with_a_fake_clock():
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(3, 1.0), clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(7):
        limiter.acquire()
        stamps.append(clock.now)
    assert stamps == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0]


def test_a_thread_waiting_for_a_rate_limit_slot_ends_when_the_run_is_stopped():
    """A provider limited to one call a minute: a worker waiting for the next slot slept the minute through Ctrl-C
    (``time.sleep``). Now its wait is the run's stop signal's: it ends at once, and no later call takes a slot."""
    limiter = RateLimiter(RateLimit(1, 60.0), stop=Stop())
    limiter.acquire()
    ended: list[BaseException] = []

    def second() -> None:
        try:
            limiter.acquire()
        except Stopped as exc:
            ended.append(exc)

    worker = threading.Thread(target=second, daemon=True)
    worker.start()
    time.sleep(0.1)  # in its wait for the slot (were it not yet, its first look at the signal stops it)
    limiter.stop.set()
    worker.join(timeout=15)
    assert not worker.is_alive() and len(ended) == 1
    with pytest.raises(Stopped):
        limiter.acquire()


def test_rate_limit_respected_on_the_wire(provider_server):
    limit = RateLimit(4, 0.3)
    settings = provider_server.settings(rate_limits={"deezer": limit, "download": RateLimit(100, 1.0)})
    with DeezerProvider(settings, fetch_album_genre=False) as deezer:
        for _ in range(10):
            deezer.match_artist("Muse")
    times = provider_server.times(r"^/deezer/search/artist$")
    assert len(times) == 10
    # the client sends at most 4 per 0.3 s (unlimited, the 10 arrive within milliseconds); allow for the server's
    # threads being scheduled late on a loaded machine, which bunches arrivals that left the client in time
    assert max_in_window(times, limit.period_s - JITTER_S) <= limit.calls
    assert times[-1] - times[0] >= 2 * limit.period_s - JITTER_S


def test_rate_limit_is_shared_by_threads(provider_server):
    limit = RateLimit(3, 0.25)
    settings = provider_server.settings(rate_limits={"itunes": limit})
    with ItunesProvider(settings) as itunes:
        workers = [threading.Thread(target=lambda: [itunes.match_artist("Muse") for _ in range(3)]) for _ in range(3)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    times = provider_server.times(r"^/itunes/search$")
    assert len(times) == 9
    assert max_in_window(times, limit.period_s - JITTER_S) <= limit.calls


def test_429_retry_after_is_honoured(provider_server):
    provider_server.add_fault(r"^/deezer/search/artist$", Fault("status", status=429, retry_after="1", times=1))
    with DeezerProvider(provider_server.settings()) as deezer:
        assert deezer.match_artist("Muse") is not None
    first, second = provider_server.times(r"^/deezer/search/artist$")
    assert second - first >= 0.95  # waited the server's Retry-After, not the tiny test backoff


def test_429_retry_after_is_the_wait_asked_of_sleep(provider_server, sleeps):
    provider_server.add_fault(r"^/itunes/search$", Fault("status", status=429, retry_after="7", times=2))
    settings = provider_server.settings(retry=RetryPolicy(max_attempts=4, initial_s=0.01, max_s=0.05, jitter_s=0))
    with ItunesProvider(settings, sleep=sleeps) as itunes:
        assert itunes.match_artist("Muse") is not None
    assert sleeps.calls == [7.0, 7.0]
    assert provider_server.count(r"^/itunes/search$") == 3


def test_retry_after_beyond_the_limit_fails_at_once(provider_server, sleeps):
    provider_server.add_fault(r"^/itunes/search$", Fault("status", status=429, retry_after="3600"))
    with ItunesProvider(provider_server.settings(), sleep=sleeps) as itunes, pytest.raises(ProviderError) as info:
        itunes.match_artist("Muse")
    assert info.value.status == 429 and info.value.retryable
    assert "Retry-After 3600" in info.value.reason
    assert sleeps.calls == [] and provider_server.count(r"^/itunes/search$") == 1


def test_500_is_retried_with_exponential_backoff(provider_server, sleeps):
    provider_server.add_fault(r"^/deezer/artist/\d+/top$", Fault("status", status=500, times=2))
    policy = RetryPolicy(max_attempts=4, initial_s=0.5, max_s=30, jitter_s=0.0)
    with DeezerProvider(provider_server.settings(retry=policy), sleep=sleeps) as deezer:
        tracks = deezer.top_tracks(deezer.match_artist("Muse"))
    assert len(tracks) == 3
    assert sleeps.calls == [0.5, 1.0]
    assert provider_server.count(r"^/deezer/artist/\d+/top$") == 3


def test_gives_up_after_n_attempts_with_a_clear_error(provider_server, sleeps):
    provider_server.add_fault(r"^/deezer/search/artist$", Fault("status", status=503))
    with DeezerProvider(provider_server.settings(), sleep=sleeps) as deezer, pytest.raises(ProviderError) as info:
        deezer.match_artist("Muse")
    err = info.value
    assert err.attempts == 3 and err.status == 503 and err.provider == "deezer"
    assert str(err) == "deezer: gave up after 3 attempts: HTTP 503 server error on GET /search/artist"
    assert provider_server.count(r"^/deezer/search/artist$") == 3 and len(sleeps.calls) == 2


def test_other_4xx_are_not_retried(provider_server, sleeps):
    provider_server.add_fault(r"^/itunes/search$", Fault("status", status=403))
    with ItunesProvider(provider_server.settings(), sleep=sleeps) as itunes, pytest.raises(ProviderError) as info:
        itunes.match_artist("Muse")
    assert info.value.status == 403 and not info.value.retryable and info.value.attempts == 1
    assert provider_server.count(r"^/itunes/search$") == 1 and sleeps.calls == []


def test_deezer_quota_error_in_a_200_is_handled_like_429(provider_server, sleeps):
    provider_server.add_fault(r"^/deezer/search/artist$", Fault("deezer_error", code=4, times=2))
    with DeezerProvider(provider_server.settings(), sleep=sleeps) as deezer:
        assert deezer.match_artist("Muse") is not None
    assert provider_server.count(r"^/deezer/search/artist$") == 3 and len(sleeps.calls) == 2


def test_deezer_other_error_codes_are_not_retried(provider_server, sleeps):
    provider_server.add_fault(r"^/deezer/search/artist$", Fault("deezer_error", code=600))
    with DeezerProvider(provider_server.settings(), sleep=sleeps) as deezer, pytest.raises(ProviderError) as info:
        deezer.match_artist("Muse")
    assert info.value.status == 600 and provider_server.count(r"^/deezer/search/artist$") == 1


def test_timeouts_are_retried(provider_server):
    provider_server.add_fault(r"^/itunes/search$", Fault("slow", delay_s=0.6, times=1))
    with ItunesProvider(provider_server.settings(timeout_s=0.2)) as itunes:
        assert itunes.match_artist("Muse") is not None
    assert provider_server.count(r"^/itunes/search$") == 2


def test_connection_errors_are_retried_then_reported(sleeps):
    client = HttpClient(
        "deezer",
        limit=RateLimit(100, 1.0),
        download_limit=RateLimit(100, 1.0),
        timeout_s=0.5,
        retry=RetryPolicy(max_attempts=2, initial_s=0.01, max_s=0.01, jitter_s=0),
        sleep=sleeps,
    )
    with pytest.raises(ProviderError, match=r"gave up after 2 attempts: connection error"):
        client.get_json("http://127.0.0.1:9/nothing", what="GET /nothing")  # discard port: refused
    assert len(sleeps.calls) == 1


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after(formatdate(time.time() + 30, usegmt=True)) == pytest.approx(30, abs=2)


@pytest.mark.parametrize("declared", [True, False])
def test_a_download_over_the_limit_is_refused_without_reading_it_all(sleeps, declared):
    """A preview URL that serves a whole album (or never stops) was read whole into memory."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    sent: list[int] = []

    class Endless(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # no Content-Length: the body ends when the connection closes

        def log_message(self, *args) -> None:
            """Quiet: the test reads what was sent, not the access log."""

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            if declared:
                self.send_header("Content-Length", str(50 * 2**20))
            self.end_headers()
            try:
                for _ in range(50 * 16):  # 50 MiB in 64 KiB writes, unless the client hangs up
                    self.wfile.write(b"\0" * 65536)
                    sent.append(65536)
            except OSError:  # the client hung up: what it refused is what was not sent
                return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = HttpClient("deezer", limit=RateLimit(100, 1.0), download_limit=RateLimit(100, 1.0), timeout_s=5,
                        retry=RetryPolicy(max_attempts=3, initial_s=0.01, max_s=0.01, jitter_s=0), sleep=sleeps)
    try:
        with pytest.raises(ProviderError, match=r"preview of track 1 is over 1 MiB: not a preview") as info:
            client.get_bytes(f"http://127.0.0.1:{server.server_port}/p.mp3", what="preview of track 1",
                             max_bytes=2**20)
        assert not info.value.retryable and sleeps.calls == []
        assert client.get_bytes(f"http://127.0.0.1:{server.server_port}/p.mp3", what="x", max_bytes=60 * 2**20)
    finally:
        server.shutdown()
        client.close()
    assert sum(sent) < 50 * 2**20 * 2  # the refused download stopped early; the accepted one read 50 MiB


@pytest.mark.parametrize("error", ["Quota limit exceeded", True, ["busy"]])
def test_a_deezer_error_that_is_not_an_object_is_a_provider_error(provider_server, sleeps, error):
    """``{"error": "..."}`` (a proxy's or an older API's words) failed the artist with "AttributeError: 'str'
    object has no attribute 'get'" and a traceback in the log."""
    provider_server.add_fault(r"^/deezer/search/artist$", Fault("answer", answer={"error": error}))
    with DeezerProvider(provider_server.settings(), sleep=sleeps) as deezer, pytest.raises(ProviderError) as info:
        deezer.match_artist("Muse")
    assert info.value.reason == f"Deezer error: {error}" and not info.value.retryable
    assert provider_server.count(r"^/deezer/search/artist$") == 1


def test_a_deezer_quota_code_written_as_text_is_the_quota(provider_server, sleeps):
    """``"code": "4"`` was an unknown error, not retried: the artist failed instead of waiting for the quota."""
    provider_server.add_fault(r"^/deezer/search/artist$", Fault("answer", times=2, answer={
        "error": {"type": "Exception", "message": "Quota limit exceeded", "code": "4"}}))
    with DeezerProvider(provider_server.settings(), sleep=sleeps) as deezer:
        assert deezer.match_artist("Muse") is not None
    assert provider_server.count(r"^/deezer/search/artist$") == 3 and len(sleeps.calls) == 2


def test_a_retry_after_told_to_one_thread_pauses_the_others_too(provider_server):
    """Only the thread told "429, Retry-After: 4" waited; the other threads of the batch (the same provider, the same
    limiter) went on asking at once, and were refused in turn."""
    provider_server.add_fault(r"^/deezer/search/artist$", Fault("status", status=429, retry_after="4", times=1))
    asked: list[float] = []
    other: list[object] = []

    def sleep(seconds: float) -> None:  # the told thread's retry wait: meanwhile another thread asks
        asked.append(seconds)
        if len(asked) == 1:
            worker = threading.Thread(target=lambda: other.append(deezer.match_artist("Radiohead")))
            worker.start()
            worker.join()

    with DeezerProvider(provider_server.settings(), sleep=sleep, fetch_album_genre=False) as deezer:
        assert deezer.match_artist("Muse") is not None
    assert other and other[0] is not None
    # the told thread waits 4 s; the other one waits what is left of the 4 s before its request, not nothing
    assert asked[0] == 4.0 and len(asked) == 2 and 3.0 < asked[1] <= 4.0
    assert provider_server.count(r"^/deezer/search/artist$") == 3


def test_a_pause_longer_than_the_limit_fails_the_next_calls_without_a_request(provider_server, sleeps):
    """After "429, Retry-After: 3600" every later artist asked again at once, to be refused each time."""
    provider_server.add_fault(r"^/itunes/search$", Fault("status", status=429, retry_after="3600", times=1))
    with ItunesProvider(provider_server.settings(), sleep=sleeps) as itunes:
        for name in ("Muse", "Radiohead"):
            with pytest.raises(ProviderError) as info:
                itunes.match_artist(name)
            assert info.value.retryable and sleeps.calls == []
    assert provider_server.count(r"^/itunes/search$") == 1
    assert info.value.reason.startswith("GET /search not sent: the provider asked for a pause (Retry-After) with 3")


def test_a_503_with_retry_after_is_waited_for_not_only_backed_off(provider_server, sleeps):
    """A 503 "Retry-After: 4" (maintenance) was retried after the backoff (0.01 s here), ignoring the server."""
    provider_server.add_fault(r"^/itunes/search$", Fault("status", status=503, retry_after="4", times=1))
    with ItunesProvider(provider_server.settings(), sleep=sleeps) as itunes:
        assert itunes.match_artist("Muse") is not None
    assert provider_server.count(r"^/itunes/search$") == 2
    assert sum(sleeps.calls) == pytest.approx(4, abs=0.5)  # the backoff, then what is left of the 4 s


@pytest.mark.parametrize("zone", [" -0000", ""])
def test_a_retry_after_date_without_a_zone_is_gmt_not_local_time(monkeypatch, zone):
    """"Retry-After: Sun, 06 Dec 2026 10:00:30 -0000" was read in the machine's local time: in Tokyo 9 hours in the
    past (no wait at all), in New York 5 hours over (the call given up at once)."""
    when = time.gmtime(time.time() + 30)
    value = time.strftime("%a, %d %b %Y %H:%M:%S", when) + zone
    try:
        for tz in ("Asia/Tokyo", "America/New_York"):
            monkeypatch.setenv("TZ", tz)
            time.tzset()
            assert parse_retry_after(value) == pytest.approx(30, abs=2), tz
    finally:
        monkeypatch.undo()  # the machine's own zone again, then read it back
        time.tzset()


def test_a_json_answer_cut_off_is_retried_a_web_page_is_not(provider_server, sleeps):
    """An answer broken off mid-JSON (its type JSON, its length as cut) failed the artist at once ("invalid JSON"),
    counting an attempt, where the next try would have passed."""
    provider_server.add_fault(r"^/deezer/search/artist$", Fault("cut_json", keep_bytes=40, times=1))
    with DeezerProvider(provider_server.settings(), sleep=sleeps) as deezer:
        assert deezer.match_artist("Muse") is not None
    assert provider_server.count(r"^/deezer/search/artist$") == 2 and len(sleeps.calls) == 1
    provider_server.add_fault(r"^/itunes/search$", Fault("html", times=1))  # a portal's page: not the API's answer
    with ItunesProvider(provider_server.settings(), sleep=sleeps) as itunes, pytest.raises(ProviderError) as info:
        itunes.match_artist("Muse")
    assert info.value.reason == "invalid JSON from GET /search (text/html)" and not info.value.retryable
    assert provider_server.count(r"^/itunes/search$") == 1


def test_calls_in_a_row_failing_on_the_server_open_the_breaker_and_an_answer_ends_a_streak(provider_server, sleeps):
    """The provider's circuit breaker: an answer about the request (a 404, Deezer's 'invalid query' code 600) ends a
    streak of server errors; MUSIM_OUTAGE_AFTER 5xx in a row open it, and then nothing more is sent (ProviderDown); the
    downloads' breaker is another one (the audio host)."""
    from musim.acquire.errors import ProviderDown, is_outage
    from tests.acquire.conftest import breaker_after

    with DeezerProvider(breaker_after(provider_server.settings(), 3), sleep=sleeps) as deezer:
        breaker = deezer.http.outage
        for fault in (Fault("status", status=502, times=3), Fault("status", status=404, times=1),
                      Fault("status", status=503, times=6), Fault("deezer_error", code=600, times=1)):
            provider_server.add_fault(r"^/deezer/search/artist$", fault)
            with pytest.raises(ProviderError) as info:
                deezer.match_artist("Muse")
            assert is_outage(info.value) == (fault.kind == "status" and fault.status >= 500)
            while fault.times:  # the 503s: twice
                with pytest.raises(ProviderError):
                    deezer.match_artist("Muse")
        assert (breaker.streak, breaker.open, breaker.down) == (0, False, False)  # streaks of 1 and 2: never 3

        provider_server.add_fault(r"^/deezer/search/artist$", Fault("status", status=500))
        for _ in range(3):
            with pytest.raises(ProviderError, match="HTTP 500"):
                deezer.match_artist("Muse")
        sent = provider_server.count(r"^/deezer/search/artist$")
        with pytest.raises(ProviderDown, match=r"GET /search/artist not sent: deezer unavailable since .* UTC \(gave up "
                                               r"after 3 attempts: HTTP 500 server error on GET /search/artist\)"):
            deezer.match_artist("Muse")
        assert provider_server.count(r"^/deezer/search/artist$") == sent and breaker.open and breaker.down
        assert not deezer.http.download_outage.open  # the audio host is asked still


def _closed_port() -> str:
    """A URL on 127.0.0.1 where nothing listens: every connection is refused."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_a_provider_that_cannot_be_reached_opens_its_breaker_as_one_answering_503(provider_server, sleeps):
    """Deezer's API on a port nothing listens on: each call failed (connection refused, after its retries) without
    touching the breaker, so a provider unreachable for days was asked again for every artist and its artists failed.
    Now MUSIM_OUTAGE_AFTER such calls in a row open it, as 5xx do, and nothing more is sent (ProviderDown)."""
    from musim.acquire.errors import ProviderDown, is_outage
    from tests.acquire.conftest import breaker_after

    settings = breaker_after(provider_server.settings(deezer_url=f"{_closed_port()}/deezer"), 2)
    with DeezerProvider(settings, sleep=sleeps) as deezer:
        for _ in range(2):
            with pytest.raises(ProviderError) as info:
                deezer.match_artist("Muse")
            assert info.value.network and is_outage(info.value)
        assert deezer.http.outage.open and deezer.http.outage.down
        tries = len(sleeps.calls)
        with pytest.raises(ProviderDown, match=r"^deezer: GET /search/artist not sent: deezer unavailable since .* UTC "
                                               r"\(gave up after 3 attempts: connection error on GET /search/artist: "
                                               r"ConnectionError\)$"):
            deezer.match_artist("Muse")
        assert len(sleeps.calls) == tries  # no request, so no retry wait either


def test_a_server_that_never_answers_in_time_opens_the_breaker_too(provider_server, sleeps):
    """A timeout (the server accepts the connection but says nothing in time) is the network's failure as well."""
    from musim.acquire.errors import ProviderDown
    from tests.acquire.conftest import breaker_after

    provider_server.add_fault(r"^/itunes/search$", Fault("slow", delay_s=0.6))
    with ItunesProvider(breaker_after(provider_server.settings(timeout_s=0.2), 1), sleep=sleeps) as itunes:
        with pytest.raises(ProviderError, match="timeout on GET /search"):
            itunes.match_artist("Muse")
        asked = provider_server.count(r"^/itunes/search$")
        with pytest.raises(ProviderDown):
            itunes.match_artist("Björk")
        assert provider_server.count(r"^/itunes/search$") == asked == 3


def test_the_breaker_s_threshold_is_a_setting_refused_when_not_a_positive_integer(monkeypatch):
    """MUSIM_OUTAGE_AFTER was a constant (5) in the code; now a setting with that default, checked."""
    from musim.config import get_settings
    from musim.errors import ConfigError

    monkeypatch.delenv("MUSIM_OUTAGE_AFTER", raising=False)
    assert get_settings({}).acquire.retry.outage_after == 5
    assert get_settings({"MUSIM_OUTAGE_AFTER": " 2 "}).acquire.retry.outage_after == 2
    for bad in ("0", "-3", "five", "2.5"):
        with pytest.raises(ConfigError) as info:
            get_settings({"MUSIM_OUTAGE_AFTER": bad})
        assert str(info.value) == f"MUSIM_OUTAGE_AFTER must be a positive integer, got '{bad}'"


class _OneAnswer:
    """A server on 127.0.0.1 that answers every GET with ``body`` (bytes, or an iterable of chunks streamed until the
    client stops reading), typed JSON (or ``ctype``), and counts the bytes it got out."""

    def __init__(self, body, ctype: str = "application/json") -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        owner = self
        self.body, self.sent = body, 0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Connection", "close")
                self.end_headers()
                chunks = [owner.body] if isinstance(owner.body, bytes) else owner.body()
                with contextlib.suppress(OSError):  # the client hung up
                    for chunk in chunks:
                        self.wfile.write(chunk)
                        owner.sent += len(chunk)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _client(sleeps) -> HttpClient:
    return HttpClient("deezer", limit=RateLimit(100, 1.0), download_limit=RateLimit(100, 1.0), timeout_s=5,
                      retry=RetryPolicy(max_attempts=2, initial_s=0.01, max_s=0.01, jitter_s=0), sleep=sleeps)


def test_an_api_answer_too_big_to_be_one_is_refused_without_reading_it_all(sleeps):
    """A proxy or a broken server streaming JSON without end: the API's answer was read whole into memory (a
    never-ending one: forever), where a download stops at 32 MiB. Now an answer stops at MAX_JSON_BYTES: a failure
    of that call (an answer, not an outage), after a few MiB read, not the 64 MiB sent."""
    from musim.acquire.http import MAX_JSON_BYTES

    def endless():
        yield b'{"data": [], "pad": "'
        for _ in range(64):
            yield b"x" * 2**20
        yield b'"}'

    client = _client(sleeps)
    with _OneAnswer(endless) as server, pytest.raises(ProviderError) as info:
        client.get_json(f"{server.url}/search/artist", what="GET /search/artist")
    assert info.value.reason == f"GET /search/artist answered over {MAX_JSON_BYTES / 2**20:g} MiB: not an answer of the API"
    # the socket's buffers aside (on loopback they grow to several MiB as fast as the body is read)
    assert not info.value.retryable and server.sent < MAX_JSON_BYTES + 16 * 2**20
    assert not client.outage.down  # the provider answered


@pytest.mark.parametrize("download", [False, True], ids=["api", "preview"])
def test_a_body_that_trickles_in_for_ever_is_a_timeout_not_a_hung_worker(sleeps, download):
    """A server (or a proxy) sending a byte now and then, each within the read timeout: the body was read on for as
    long as it came (a preview at a byte every 9 s: days), the artist's worker and the run hung with it. Now a body
    still coming in after ``body_deadline_s`` is a timeout (the network's: retried, then an outage), read no further."""

    def drip():
        yield b'{"data": [], "pad": "' if not download else b"ID3"
        for _ in range(400):  # 20 s in all
            time.sleep(0.05)
            yield b"x"
        yield b'"}'

    client = _client(sleeps)
    client.body_deadline_s = 0.5
    started = time.monotonic()
    with _OneAnswer(drip, ctype="audio/mpeg" if download else "application/json") as server, \
            pytest.raises(ProviderError) as info:
        if download:
            client.get_bytes(f"{server.url}/preview.mp3", what="preview of track 1")
        else:
            client.get_json(f"{server.url}/search/artist", what="GET /search/artist")
    what = "preview of track 1" if download else "GET /search/artist"
    assert info.value.reason == f"gave up after 2 attempts: timeout on {what}"
    assert info.value.retryable and info.value.network
    assert time.monotonic() - started < 5


def test_json_nested_too_deep_to_decode_is_a_broken_answer_not_a_crash(sleeps):
    """A body of 100,000 nested arrays: json raised RecursionError (no ValueError), which escaped every handler of the
    provider layer (the artist recorded with a Python error, and a traceback logged)."""
    client = _client(sleeps)
    with _OneAnswer(b"[" * 100_000 + b"]" * 100_000) as server, pytest.raises(ProviderError) as info:
        client.get_json(f"{server.url}/search/artist", what="GET /search/artist")
    assert info.value.reason == "invalid JSON from GET /search/artist (nested too deep)" and not info.value.retryable


@pytest.mark.parametrize("value", ["inf", "Infinity", "nan", "1e400", "-inf"])
def test_a_retry_after_that_is_no_number_of_seconds_is_ignored(value):
    """``Retry-After: inf`` (no delta-seconds nor HTTP date) paused the provider for ever: every later call of the
    run failed at once ("Retry-After inf s"). Now ignored, as any unreadable value."""
    assert parse_retry_after(value) is None


def test_a_redirect_loop_is_cut_short_and_each_hop_takes_a_rate_limit_slot(sleeps):
    """An API that redirects to itself: requests followed 30 redirects per call, none of them counted by the rate
    limiter (31 requests sent for one slot, per artist). Now at most MAX_REDIRECTS are followed, each taking a slot;
    the call fails as a broken request, not retried."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from musim.acquire.http import MAX_REDIRECTS

    seen: list[str] = []

    class Loop(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(302)
            self.send_header("Location", f"/hop{len(seen)}")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Loop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    clock = FakeClock()
    client = _client(sleeps)
    client.session.limiter = RateLimiter(RateLimit(1000, 1.0), clock=clock, sleep=clock.sleep)
    try:
        with pytest.raises(ProviderError) as info:
            client.get_json(f"http://127.0.0.1:{server.server_address[1]}/search", what="GET /search")
    finally:
        server.shutdown()
        server.server_close()
    assert info.value.reason == "request failed on GET /search: TooManyRedirects" and not info.value.retryable
    assert len(seen) == MAX_REDIRECTS + 1 and len(client.session.limiter._sent) == MAX_REDIRECTS + 1


#: A preview URL's signing and token parameters, each value unique, as Deezer (``hdnea=exp=...~acl=...~data=...~hmac=``),
#: a CDN on S3 (``X-Amz-Signature``, ``X-Amz-Credential``) or on Azure (``sig``) sign them.
SIGNED = {"hdnea": "exp=1733500000~acl=/audio/*~data=user_id=0,application_id=42~hmac=5eC7e7d1ce0b",
          "token": "t0kenvalue77", "signature": "s1gnature88", "X-Amz-Signature": "feedfacecafe99",
          "X-Amz-Credential": "AKIAFAKE0123%2F20261206%2Fus-east-1%2Fs3%2Faws4_request", "sig": "azuresig4242"}


def test_a_signed_preview_url_shows_no_signature_in_the_verbose_output(snapshot, fake_server):
    """`musim -v acquire` run with its log records at DEBUG (an Airflow task's log, a program logging at DEBUG)
    printed urllib3's request lines with Deezer's signing key whole (`hdnea=exp=...~acl=...~hmac=...`) and an Azure
    CDN's (`sig=`): the redaction of log lines and errors masked `token`, `signature` and `credential` values only up
    to a comma or a semicolon, and neither `hdnea` nor `sig`."""
    import os
    import subprocess
    import sys

    from tests.fakes.provider_server import Fault

    fake_server.audio_query = "?" + "&".join(f"{k}={v}" for k, v in SIGNED.items()) + "&quality=128"
    fake_server.add_fault(r"^/audio/deezer/3000001\.mp3$", Fault("status", status=404))  # a failed download too
    env = dict(os.environ, **fake_server.env(), MUSIM_RETRY_INITIAL_S="0.01", MUSIM_RETRY_MAX_S="0.02",
               MUSIM_RETRY_JITTER_S="0", MUSIM_DOWNLOAD_RATE_LIMIT="1000/1", MUSIM_DEEZER_RATE_LIMIT="1000/1")
    # the real command line, its log records at DEBUG (urllib3's request lines: as an Airflow task or a program
    # logging at DEBUG runs it)
    debug = ("import logging, sys; logging.basicConfig(level=logging.DEBUG); from musim.cli import main; "
             "sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", debug, "-v", "acquire", "--provider", "deezer", "--top", "1",
                           "--per-artist", "3"], env=env, capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    assert fake_server.count(r"^/audio/deezer/") == 3, out[-3000:]  # downloaded with the whole URL
    assert "/audio/deezer/3000000.mp3?" in out, out[-3000:]  # the URLs are in the output, their signatures not
    for secret in ("5eC7e7d1ce0b", "application_id=42", "acl=/audio/", "t0kenvalue77", "s1gnature88", "feedfacecafe99",
                   "AKIAFAKE0123", "aws4_request", "azuresig4242"):
        assert secret not in out, (secret, [line for line in out.splitlines() if secret in line][:3])


def test_a_preview_redirected_or_pointed_to_a_local_address_is_not_fetched(sleeps, monkeypatch):
    """A preview URL of a public API's answer, or a redirect of its audio host, sending musim to the machine's own
    network (127.0.0.1:5432, a cloud's metadata service at 169.254.169.254) was followed: whatever answered there was
    fetched (and, were it audio, stored). Now such a download fails at once, nothing sent there; a service that is
    itself local (this test's, a mirror on the LAN) may still send to local addresses. Here "localhost" plays the
    local address and 127.0.0.1 the public host."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import musim.acquire.inward as inward

    monkeypatch.setattr(inward, "local_host", lambda host: host == "localhost")
    inside: list[str] = []

    class Inside(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            inside.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"ID3")

    target = ThreadingHTTPServer(("127.0.0.1", 0), Inside)
    local_url = f"http://localhost:{target.server_address[1]}/secret"

    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", local_url)
            self.send_header("Content-Length", "0")
            self.end_headers()

    public = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    for server in (target, public):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    client = _client(sleeps)
    public_url = f"http://127.0.0.1:{public.server_address[1]}"
    try:
        with pytest.raises(ProviderError) as redirected:
            client.get_bytes(f"{public_url}/p.mp3", what="preview of track 1")
        with pytest.raises(ProviderError) as pointed:
            client.get_bytes(local_url, what="preview of track 2", origin=f"{public_url}/api")
        assert inside == []  # nothing was sent there
        assert client.get_bytes(local_url, what="preview of track 3", origin=local_url) == b"ID3"  # local to local
    finally:
        for server in (target, public):
            server.shutdown()
            server.server_close()
        client.close()
    assert redirected.value.reason == ("preview of track 1 not fetched: it leads to localhost, a local or private "
                                       "address, from a public one")
    assert pointed.value.reason.startswith("preview of track 2 not fetched: it leads to localhost")
    assert not redirected.value.retryable and not pointed.value.retryable and sleeps.calls == []


@pytest.mark.parametrize("ctype", ["text/plain", "text/plain; charset=utf-8", "text/css"])
def test_a_preview_answered_with_a_text_page_is_a_page_not_audio_rejected_for_good(sleeps, ctype):
    """A CDN's or a proxy's 200 "Forbidden" typed text/plain was taken as audio: checked, it was rejected, and a
    rejection is never tried again. Any text/* answer is a page, as text/html was: the download fails (tried again
    next run)."""
    client = _client(sleeps)
    with _OneAnswer(b"Forbidden", ctype=ctype) as server, pytest.raises(ProviderError) as info:
        client.get_bytes(f"{server.url}/p.mp3", what="preview of track 1")
    assert info.value.reason.startswith(f"preview of track 1 answered a page ({ctype.split(';')[0]}), not audio")


def test_a_read_timeout_set_longer_than_the_body_deadline_lengthens_it():
    """MUSIM_HTTP_TIMEOUT_S=300 (a slow link) let one read wait 5 minutes, yet a whole body was cut at 120 s."""
    from musim.acquire.http import MAX_BODY_S

    slow = HttpClient("deezer", limit=RateLimit(1, 1.0), download_limit=RateLimit(1, 1.0), timeout_s=300,
                      retry=RetryPolicy())
    assert _client(None).body_deadline_s == MAX_BODY_S and slow.body_deadline_s == 600
