"""Spotify through spotipy: client-credentials auth, artist search and top tracks.

Since late 2024 Spotify returns ``preview_url: null`` for new apps, so this provider mostly matches
artists; a track without a preview has no audio and the caller falls through to the next provider.

spotipy is pointed at any server by setting the client's ``prefix`` attribute (spotipy 2.26 has no
constructor argument for it) and the auth manager's ``OAUTH_TOKEN_URL`` (a class attribute, overridden on
the instance). Both get our own :class:`~musim.acquire.http.PoliteSession`, so spotipy's calls are rate
limited and are retried only by tenacity (spotipy's urllib3 retries are installed only on sessions it
builds itself). spotipy logs request headers (the bearer token, the Basic client credentials) at DEBUG:
a filter on its loggers redacts them.
"""

from __future__ import annotations

import base64
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import requests
import spotipy
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.exceptions import SpotifyException, SpotifyOauthError

from musim.acquire.errors import ProviderError, ProviderRefused
from musim.acquire.http import (
    MAX_JSON_BYTES,
    PoliteSession,
    body_deadline,
    error_for_exception,
    error_for_status,
    read_capped,
)
from musim.acquire.matching import match_artist
from musim.acquire.models import ArtistCandidate, ArtistMatch, TrackCandidate
from musim.acquire.providers.base import HttpProvider
from musim.acquire.providers.wire import SpotifySearch, SpotifyTopTracks, parse
from musim.acquire.ratelimit import RateLimiter
from musim.config import AcquireSettings, Settings, get_settings
from musim.errors import ConfigError
from musim.redact import register_secret

log = logging.getLogger(__name__)
T = TypeVar("T")
CREDENTIAL_HELP = (
    "set MUSIM_SPOTIFY_CLIENT_ID and MUSIM_SPOTIFY_CLIENT_SECRET (or SPOTIPY_CLIENT_ID and "
    "SPOTIPY_CLIENT_SECRET, or the Airflow connection AIRFLOW_CONN_MUSIM_SPOTIFY with login/password)"
)


@dataclass(frozen=True)
class SpotifyCredentials:
    """Client id and secret (the secret never appears in ``repr``); ``source`` names where they came from."""

    client_id: str
    client_secret: str = field(repr=False)
    source: str = ""


def spotify_credentials(settings: Settings | None = None) -> SpotifyCredentials | None:
    """Spotify client credentials from the settings (default: the environment), or ``None`` when there are none.

    Looked up in order: ``MUSIM_SPOTIFY_CLIENT_ID``/``_SECRET``, ``SPOTIPY_CLIENT_ID``/``_SECRET``, the
    Airflow connection ``musim_spotify`` as ``AIRFLOW_CONN_MUSIM_SPOTIFY`` (JSON with ``login`` and
    ``password``, or a URI ``spotify://ID:SECRET@``).
    """
    settings = settings or get_settings()
    acq = settings.acquire
    for cid, secret, source in ((acq.spotify_client_id, acq.spotify_client_secret, "MUSIM_SPOTIFY_CLIENT_ID/_SECRET"),
                                (acq.spotipy_client_id, acq.spotipy_client_secret, "SPOTIPY_CLIENT_ID/_SECRET")):
        if cid and secret:
            return SpotifyCredentials(cid, secret.get_secret_value(), source)
    found = settings.connection("musim_spotify", ask_airflow=False)
    if found:
        conn, source = found
        if conn["login"] and conn["password"]:
            return SpotifyCredentials(conn["login"], conn["password"], source)
        raise ConfigError(f"{source} needs both login (client id) and password (client secret)")
    return None


def half_credentials(settings: Settings | None = None) -> str | None:
    """What is missing when only one variable of a pair is set (an id without its secret, or the other way round):
    said instead of "no credentials", which reads as if nothing had been set; ``None`` when no pair is half set."""
    acq = (settings or get_settings()).acquire
    pairs = ((acq.spotify_client_id, acq.spotify_client_secret, "MUSIM_SPOTIFY_CLIENT_ID", "MUSIM_SPOTIFY_CLIENT_SECRET"),
             (acq.spotipy_client_id, acq.spotipy_client_secret, "SPOTIPY_CLIENT_ID", "SPOTIPY_CLIENT_SECRET"))
    for cid, secret, id_name, secret_name in pairs:
        if bool(cid) != bool(secret):
            have, lack = (id_name, secret_name) if cid else (secret_name, id_name)
            return f"{lack} is not set ({have} is): set both"
    return None


class RedactSecrets(logging.Filter):
    """Logging filter that blanks bearer/basic credentials and registered secret strings."""

    _AUTH = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+")

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = self._AUTH.sub(r"\1 [redacted]", record.getMessage())
        for secret in self.secrets:
            message = message.replace(secret, "[redacted]")
        record.msg, record.args = message, None
        return True


_REDACT = RedactSecrets()


class QuietHttpErrors(logging.Filter):
    """spotipy logs every HTTP error answer at ERROR ("HTTP Error for GET to ... returned 429 due to ...") before
    musim has retried it (a 429 or 503 that then passes) or said what failed in its own words: those lines go down
    to DEBUG (``-v`` still shows them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG and str(record.msg).startswith("HTTP Error for"):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


_QUIET = QuietHttpErrors()


def _install_redaction(creds: SpotifyCredentials) -> None:
    basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
    _REDACT.secrets.update({creds.client_secret, basic})
    for secret in (creds.client_secret, basic):
        register_secret(secret)  # every other log line and message too (musim.redact)
    for name in ("spotipy", "spotipy.client", "spotipy.oauth2", "spotipy.cache_handler", "spotipy.util"):
        logger = logging.getLogger(name)
        for wanted in (_QUIET, _REDACT):
            if wanted not in logger.filters:
                logger.addFilter(wanted)


class CappedSession(PoliteSession):
    """The :class:`PoliteSession` spotipy sends through, reading each answer at most ``MAX_JSON_BYTES`` as
    :meth:`HttpClient.get_json <musim.acquire.http.HttpClient.get_json>` does for Deezer and iTunes: requests reads
    a body whole into memory (spotipy then decodes it), so a proxy's or a broken server's endless stream was read
    until memory ran out. An answer over the cap is refused as soon as that is known (its Content-Length, else while
    it streams) with a :class:`ProviderError` naming the call and the cap (an answer of the provider: not retried,
    no outage). ``describe(method, url)``: the call as musim names it ("GET /search")."""

    def __init__(self, provider: str, limiter: RateLimiter | None, *, timeout_s: float,
                 describe: Callable[[str, str], str]) -> None:
        super().__init__(limiter, timeout_s=timeout_s)
        self.provider = provider
        self.describe = describe

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        streamed = kwargs.pop("stream", False)
        response = super().request(method, url, *args, stream=True, **kwargs)
        if not streamed:  # what requests itself would have read whole
            read_capped(response, self.provider, self.describe(str(method).upper(), str(url)), MAX_JSON_BYTES,
                        "not an answer of the API", deadline_s=body_deadline(self.timeout_s),
                        stop=getattr(self.limiter, "stop", None))
        return response


class TokenSession(CappedSession):
    """The :class:`CappedSession` of the token URL: an answer 200 that is no client-credentials token (a portal's page,
    JSON of another shape, JSON cut off) reached spotipy as it was, which failed each artist with a Python error
    (``KeyError: 'expires_in'``, ``TypeError``) counted against it. Now JSON said but cut off is a
    :class:`ProviderError` retried as any broken answer, and any other answer that is no token refuses musim's
    configuration (:class:`ProviderRefused`: ``MUSIM_SPOTIFY_TOKEN_URL`` points at something else)."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = super().request(method, url, *args, **kwargs)
        if response.status_code != 200:  # an error status: spotipy's own error, judged by _token_error
            return response
        said = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        try:
            body = response.json()
        except (ValueError, RecursionError):
            if said == "application/json" or said.endswith("+json"):
                raise ProviderError(self.provider, "invalid JSON from POST token", status=200, retryable=True) from None
            body = None
        token, expires = (body.get("access_token"), body.get("expires_in")) if isinstance(body, dict) else (None, None)
        if not (isinstance(token, str) and token and isinstance(expires, int | float) and not isinstance(expires, bool)
                and math.isfinite(expires)):
            raise ProviderRefused(self.provider, f"POST token answered no access token ({said or 'no type'})",
                                  status=200, fix="check MUSIM_SPOTIFY_TOKEN_URL (Spotify's is "
                                                  "https://accounts.spotify.com/api/token) and any proxy in between")
        register_secret(token)  # a bearer of the client's rights for an hour: masked wherever an error quotes it
        return response


def _token_error(provider: str, exc: SpotifyOauthError) -> ProviderError:
    """What an error of the token URL means: a server error or a rate limit is retried as for any call; any other
    answer (400 ``invalid_client``: the client credentials, 401, 403, 404 of a wrong ``MUSIM_SPOTIFY_TOKEN_URL``)
    refuses musim's configuration, and no later call can succeed: :class:`ProviderRefused`."""
    response = getattr(exc.__context__, "response", None)  # spotipy raises it while handling requests' HTTPError
    status = getattr(response, "status_code", None)
    if status is not None and (status == 429 or status >= 500):
        retried = error_for_status(provider, status, response.headers, what="POST token")
        assert retried is not None  # an error status
        return retried
    return ProviderRefused(provider, f"client-credentials token refused ({exc.error})", status=status or 401,
                           fix=f"check the client id and secret and MUSIM_SPOTIFY_TOKEN_URL; {CREDENTIAL_HELP}")


class SpotifyProvider(HttpProvider):
    """Spotify Web API via spotipy with client credentials (see the module docstring)."""

    name = "spotify"
    url_var = "MUSIM_SPOTIFY_API_URL"

    def __init__(
        self,
        settings: AcquireSettings,
        credentials: SpotifyCredentials,
        *,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(settings, sleep=sleep)
        _install_redaction(credentials)
        self._token_session = TokenSession(self.name, None, timeout_s=settings.timeout_s,
                                            describe=lambda _method, _url: "POST token")
        api = self.http.session  # spotipy's calls: the API's rate limiter (and its pauses), each answer capped
        self.http.session = CappedSession(self.name, api.limiter, timeout_s=settings.timeout_s, describe=self._what)
        api.close()
        auth = spotipy.SpotifyClientCredentials(
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
            requests_session=self._token_session,
            requests_timeout=settings.timeout_s,
            cache_handler=MemoryCacheHandler(),
        )
        auth.OAUTH_TOKEN_URL = self._token_url = settings.spotify_token_url
        self.client = spotipy.Spotify(
            auth_manager=auth,
            requests_session=self.http.session,
            requests_timeout=settings.timeout_s,
            retries=0,
            status_retries=0,
        )
        self.client.prefix = settings.spotify_api_url.rstrip("/") + "/"

    def endpoint(self) -> str:
        return self.client.prefix

    def _what(self, method: str, url: str) -> str:
        """A call of spotipy's as musim names it: ``GET /search`` for ``<prefix>search?q=...``."""
        path = url.split("?", 1)[0]
        prefix = getattr(getattr(self, "client", None), "prefix", "")
        return f"{method} /{path[len(prefix):] if prefix and path.startswith(prefix) else path}"

    def _call(self, fn: Callable[[], T], what: str) -> T:
        def attempt() -> T:
            self.http.wait_for_pause(self.http.session, what)  # a Retry-After told to another thread
            try:
                body = fn()
                if body is None:  # spotipy's answer to a body that is not JSON (a proxy's or a portal's page): no
                    # answer of the API, not an empty one ("no match" would give the artist up)
                    raise ProviderError(self.name, f"invalid JSON from {what}")
                return body
            except SpotifyException as exc:
                err = error_for_status(self.name, exc.http_status, exc.headers, what=what)
                err = err or ProviderError(self.name, f"HTTP {exc.http_status} on {what}", status=exc.http_status)
                raise self.refusal(err, what) from None
            except SpotifyOauthError as exc:
                raise _token_error(self.name, exc) from None
            except requests.RequestException as exc:  # the token URL's too (spotipy lets those through): a network
                # error there is the network's (retried, an outage if it lasts), no refusal of the credentials
                token = getattr(exc.request, "url", None) == self._token_url
                raise error_for_exception(self.name, exc, what="POST token" if token else what) from None

        return self.http.call(attempt, what=what)

    def match_artist(self, name: str) -> ArtistMatch | None:
        body: Any = self._call(lambda: self.client.search(q=name, type="artist", limit=10), "GET /search")
        page = parse(SpotifySearch, body, provider=self.name, what="GET /search").artists
        candidates = [
            ArtistCandidate(self.name, a.id, a.name, a.popularity, tuple(a.genres))
            for a in (page.items if page else [])
            if a is not None and a.id
        ]
        return match_artist(name, candidates, threshold=self.settings.match_threshold)

    def top_tracks(self, match: ArtistMatch, limit: int = 3) -> list[TrackCandidate]:
        artist_id = match.candidate.provider_artist_id
        path = f"artists/{quote(artist_id, safe='')}/top-tracks"  # one segment: an id with '/' or '..' went elsewhere
        # spotipy's artist_top_tracks() sends the legacy ``country``; the Web API documents ``market``.
        body: Any = self._call(lambda: self.client._get(path, market=self.settings.spotify_market), f"GET /{path}")
        genre = match.candidate.genres[0] if match.candidate.genres else None
        tracks = []
        top = parse(SpotifyTopTracks, body, provider=self.name, what=f"GET /{path}")
        for rank, t in enumerate(top.tracks[:limit], start=1):
            preview = t.preview_url or None
            first_artist = t.artists[0].name if t.artists else None
            tracks.append(
                TrackCandidate(
                    provider=self.name,
                    provider_track_id=t.id or "",
                    provider_artist_id=artist_id,
                    title=t.name,
                    preview_url=preview,
                    format="mp3" if preview else None,
                    duration_s=t.duration_ms / 1000.0 if t.duration_ms is not None else None,
                    genre=genre,
                    rank=rank,
                    artist_name=first_artist if first_artist is not None else match.candidate.name,
                    popularity=t.popularity,
                )
            )
        return tracks

    def refusal_fix(self) -> str:
        return f"check the app's access to the Web API and {self.url_var}; {CREDENTIAL_HELP}"

    def close(self) -> None:
        super().close()
        self._token_session.close()
