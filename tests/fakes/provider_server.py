"""A fake of Deezer, iTunes Search and Spotify (token + Web API) on 127.0.0.1, for provider tests.

It speaks each service's real JSON shapes for an in-memory catalogue, serves generated previews (mp3
for Deezer and Spotify, m4a/AAC for iTunes), records every request with a timestamp, and injects faults
per path::

    with FakeProviderServer([FakeArtist("Radiohead", [FakeTrack("Creep")])]) as server:
        server.add_fault(r"^/deezer/search/artist$", Fault("status", status=429, retry_after="1", times=1))
        settings = server.settings()            # AcquireSettings pointing at it, tiny waits and limits
        ...
        server.count(r"^/deezer/search")        # requests seen
        server.move_audio(dead_url)             # the lookups' preview URLs on another host (say one that is down)

Paths: ``/deezer/...`` (Deezer API root), ``/itunes/search``, ``/spotify/api/token``, ``/spotify/v1/...``,
``/audio/<provider>/<track id>.<ext>``.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from rapidfuzz import fuzz

from tests.fakes.audio import tone_bytes

FaultKind = Literal["status", "slow", "truncate", "corrupt", "empty", "deezer_error", "answer", "html", "cut_json"]
PROVIDERS = ("deezer", "itunes", "spotify")


@dataclass
class FakeTrack:
    """A track: ``duration_s`` is the full length reported, ``audio_s`` the preview served."""

    title: str
    duration_s: int = 240
    audio_s: float = 8.0
    spotify_preview: bool = False
    #: serve the very audio (the same bytes) of the artist's track at this index: a song listed twice (the single
    #: and the album's), each under its own id and URL
    same_audio_as: int | None = None
    #: the track's main artist is this other one (of the catalogue, by name): the artist only features on it, and
    #: Deezer's top list names the main artist
    main_artist: str | None = None


@dataclass
class FakeArtist:
    """An artist in the catalogue; ``names`` gives a provider its own spelling (e.g. a misspelling)."""

    name: str
    tracks: list[FakeTrack] = field(default_factory=list)
    genre: str = "Alternative"
    fans: int = 100_000
    providers: tuple[str, ...] = PROVIDERS
    names: dict[str, str] = field(default_factory=dict)

    def name_on(self, provider: str) -> str:
        return self.names.get(provider, self.name)


@dataclass
class Fault:
    """Something to go wrong on matching paths, for the next ``times`` requests (``None``: always).

    kinds: ``status`` (HTTP ``status``, with ``Retry-After: retry_after`` if set), ``slow`` (sleep
    ``delay_s`` first), ``truncate`` (audio cut to ``keep_bytes``), ``corrupt`` (audio replaced by noise
    bytes), ``empty`` (no results / a 0-byte file), ``deezer_error`` (HTTP 200 with Deezer's error body,
    ``code`` 4 = quota), ``answer`` (HTTP 200 with ``answer`` as the JSON body: a changed API), ``html`` (HTTP 200
    with a web page: a proxy's or a portal's "access denied", a CDN's error page), ``cut_json`` (HTTP 200, a JSON
    type and the first ``keep_bytes`` of a JSON answer: a server or proxy that broke off, its length told as cut).
    """

    kind: FaultKind
    status: int = 500
    retry_after: str | None = None
    delay_s: float = 0.0
    times: int | None = None
    code: int = 4
    keep_bytes: int = 2000
    answer: Any = None


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    t: float


@dataclass
class _Ids:
    artist: dict[str, FakeArtist]
    track: dict[str, tuple[FakeArtist, FakeTrack, int]]


class FakeProviderServer:
    """The fake services on a free loopback port; use as a context manager (or ``start``/``stop``)."""

    def __init__(
        self,
        catalogue: list[FakeArtist] | None = None,
        *,
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",
    ) -> None:
        self.catalogue = catalogue if catalogue is not None else default_catalogue()
        self.client_id, self.client_secret = client_id, client_secret
        self.access_tokens: list[str] = []
        self.requests: list[RecordedRequest] = []
        self._faults: list[tuple[re.Pattern[str], Fault]] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._url = ""
        self._audio_bases: dict[str | None, str] = {}
        #: appended to every preview URL the lookups give (say Deezer's signing ``?hdnea=exp=...~hmac=...``)
        self.audio_query = ""
        self.ids = {p: _Ids({}, {}) for p in PROVIDERS}
        for i, artist in enumerate(self.catalogue):
            for p in artist.providers:
                aid = self._artist_id(p, i)
                self.ids[p].artist[aid] = artist
                for j, track in enumerate(artist.tracks):
                    self.ids[p].track[self._track_id(p, i, j)] = (artist, track, i)

    # ids in each provider's style
    @staticmethod
    def _artist_id(provider: str, i: int) -> str:
        return {"deezer": str(1000 + i), "itunes": str(2_000_000 + i), "spotify": f"0sp{i:019d}"}[provider]

    @staticmethod
    def _track_id(provider: str, i: int, j: int) -> str:
        if provider == "spotify":
            return f"1tr{i:09d}{j:010d}"
        return str((3_000_000 if provider == "deezer" else 4_000_000) + i * 100 + j)

    # lifecycle
    def start(self) -> FakeProviderServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        host, port = self._httpd.server_address[:2]
        self._url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeProviderServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # addresses and settings
    @property
    def url(self) -> str:
        assert self._url, "server not started"
        return self._url

    def env(self) -> dict[str, str]:
        """The ``MUSIM_*_URL`` variables that point the providers here."""
        return {
            "MUSIM_DEEZER_API_URL": f"{self.url}/deezer",
            "MUSIM_ITUNES_API_URL": f"{self.url}/itunes",
            "MUSIM_SPOTIFY_API_URL": f"{self.url}/spotify/v1/",
            "MUSIM_SPOTIFY_TOKEN_URL": f"{self.url}/spotify/api/token",
        }

    def settings(self, **overrides: Any) -> Any:
        """:class:`AcquireSettings` for this server with fast limits and tiny retry waits; ``rate_limits`` may be
        a dict of the limits to change (the others stay fast)."""
        from musim.config import AcquireSettings, RateLimit, RateLimits, RetryPolicy

        env = self.env()
        fast = {name: RateLimit(1000, 1.0) for name in ("deezer", "itunes", "spotify", "download")}
        if isinstance(overrides.get("rate_limits"), dict):  # model_copy(update=) does not validate: a model, not a dict
            overrides["rate_limits"] = RateLimits(**{**fast, **overrides["rate_limits"]})
        base = AcquireSettings(
            deezer_url=env["MUSIM_DEEZER_API_URL"],
            itunes_url=env["MUSIM_ITUNES_API_URL"],
            spotify_api_url=env["MUSIM_SPOTIFY_API_URL"],
            spotify_token_url=env["MUSIM_SPOTIFY_TOKEN_URL"],
            rate_limits=RateLimits(**fast),
            timeout_s=2.0,
            retry=RetryPolicy(max_attempts=3, initial_s=0.01, max_s=0.05, jitter_s=0.01, max_retry_after_s=5),
        )
        return base.model_copy(update=overrides)

    def move_audio(self, url: str | None, *artists: str) -> None:
        """The lookups answer with preview URLs on ``url`` (say a port nothing listens on: the API up, its audio
        host down) for ``artists`` (by name; none given: every artist); ``None`` puts them back here."""
        with self._lock:
            for name in artists or (None,):
                if url is None:
                    self._audio_bases.pop(name, None)
                else:
                    self._audio_bases[name] = url

    def audio_url(self, provider: str, track_id: str, ext: str, artist: FakeArtist) -> str:
        """Where the lookups say ``track_id``'s preview is (see :meth:`move_audio`)."""
        with self._lock:
            base = self._audio_bases.get(artist.name, self._audio_bases.get(None, self.url))
        return f"{base}/audio/{provider}/{track_id}.{ext}{self.audio_query}"

    # faults and the request log
    def add_fault(self, path_pattern: str, fault: Fault) -> None:
        with self._lock:
            self._faults.append((re.compile(path_pattern), fault))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for pattern, fault in self._faults:
                if pattern.search(path) and (fault.times is None or fault.times > 0):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def _record(self, method: str, path: str, query: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(RecordedRequest(method, path, query, time.monotonic()))

    def matching(self, path_pattern: str) -> list[RecordedRequest]:
        rx = re.compile(path_pattern)
        with self._lock:
            return [r for r in self.requests if rx.search(r.path)]

    def count(self, path_pattern: str) -> int:
        return len(self.matching(path_pattern))

    def times(self, path_pattern: str) -> list[float]:
        return [r.t for r in self.matching(path_pattern)]

    # catalogue views
    def search(self, provider: str, query: str) -> list[tuple[str, FakeArtist]]:
        """Artists of ``provider`` most similar to ``query`` first (like a real search, never empty)."""
        found = [(aid, a) for aid, a in self.ids[provider].artist.items()]
        return sorted(found, key=lambda ia: -fuzz.WRatio(query.casefold(), ia[1].name_on(provider).casefold()))

    def artist_id(self, provider: str, name: str) -> str:
        return next(aid for aid, a in self.ids[provider].artist.items() if a.name == name)

    def audio(self, provider: str, track_id: str) -> tuple[bytes, str]:
        artist, track, i = self.ids[provider].track[track_id]
        fmt = "m4a" if provider == "itunes" else "mp3"
        j = track.same_audio_as if track.same_audio_as is not None else artist.tracks.index(track)
        freq = 220.0 + 55.0 * (i % 8) + 5.0 * j
        return tone_bytes(fmt, track.audio_s, freq), fmt


def default_catalogue() -> list[FakeArtist]:
    """Three artists with three tracks each; Spotify has no previews (as for new apps since 2024)."""
    tracks = [FakeTrack("First Song", 200), FakeTrack("Second Song", 210), FakeTrack("Third Song", 220)]
    return [
        FakeArtist("Radiohead", [dataclasses.replace(t) for t in tracks], "Alternative", 2_000_000),
        FakeArtist("Beyoncé", [dataclasses.replace(t) for t in tracks], "Pop", 5_000_000),
        FakeArtist("Muse", [dataclasses.replace(t) for t in tracks], "Rock", 1_500_000),
    ]


def _make_handler(server: FakeProviderServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        # plumbing
        def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # client gave up (timeouts in tests)
                pass

        def _json(self, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(obj).encode(), "application/json; charset=utf-8", headers)

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            if method == "POST":
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                query.update({k: v[-1] for k, v in form.items()})
            server._record(method, path, query)
            fault = server._take_fault(path)
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.delay_s)
                fault = None
            if fault is not None and fault.kind == "status":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                self._json({"error": {"status": fault.status, "message": "injected fault"}}, fault.status, headers)
                return
            if fault is not None and fault.kind == "answer":
                self._json(fault.answer)
                return
            if fault is not None and fault.kind == "cut_json":
                cut = json.dumps({"data": [{"id": 1, "name": "x" * 200}]}).encode()[: fault.keep_bytes]
                self._send(200, cut, "application/json; charset=utf-8")
                return
            if fault is not None and fault.kind == "html":
                page = b"<!DOCTYPE html><html><head><title>Access denied</title></head><body>Denied</body></html>"
                self._send(200, page, "text/html; charset=utf-8")
                return
            if fault is not None and fault.kind == "deezer_error":
                message = "Quota limit exceeded" if fault.code == 4 else "injected error"
                self._json({"error": {"type": "Exception", "message": message, "code": fault.code}})
                return
            route = self._route(method, path)
            if route is None:
                self._json({"error": {"status": 404, "message": "Not found"}}, 404)
                return
            handler, args = route
            handler(query, fault, *args)

        def _route(self, method: str, path: str) -> tuple[Any, tuple[str, ...]] | None:
            table = [
                ("GET", r"^/deezer/search/artist/?$", self.deezer_search),
                ("GET", r"^/deezer/artist/([^/]+)/top/?$", self.deezer_top),
                ("GET", r"^/deezer/album/([^/]+)/?$", self.deezer_album),
                ("GET", r"^/itunes/search/?$", self.itunes_search),
                ("POST", r"^/spotify/api/token$", self.spotify_token),
                ("GET", r"^/spotify/v1/search$", self.spotify_search),
                ("GET", r"^/spotify/v1/artists/([^/]+)/top-tracks$", self.spotify_top),
                ("GET", r"^/audio/(deezer|itunes|spotify)/([^/.]+)\.\w+$", self.audio),
            ]
            for m, rx, fn in table:
                found = re.match(rx, path)
                if found and m == method:
                    return fn, found.groups()
            return None

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        # Deezer
        def _deezer_no_data(self) -> None:
            self._json({"error": {"type": "DataException", "message": "no data", "code": 800}})

        def deezer_search(self, q: dict[str, str], fault: Fault | None) -> None:
            limit = int(q.get("limit", 25))
            hits = [] if fault and fault.kind == "empty" else server.search("deezer", q.get("q", ""))[:limit]
            data = [
                {
                    "id": int(aid), "name": a.name_on("deezer"), "link": f"https://www.deezer.com/artist/{aid}",
                    "picture": "", "nb_album": 5, "nb_fan": a.fans, "radio": True,
                    "tracklist": f"{server.url}/deezer/artist/{aid}/top?limit=50", "type": "artist",
                }
                for aid, a in hits
            ]
            self._json({"data": data, "total": len(data)})

        def deezer_top(self, q: dict[str, str], fault: Fault | None, aid: str) -> None:
            artist = server.ids["deezer"].artist.get(aid)
            if artist is None:
                return self._deezer_no_data()
            i = server.catalogue.index(artist)
            data = [] if fault and fault.kind == "empty" else [
                {
                    "id": int(server._track_id("deezer", i, j)), "readable": True, "title": t.title,
                    "title_short": t.title, "duration": t.duration_s, "rank": 900_000 - 1000 * j,
                    "explicit_lyrics": False,
                    "preview": server.audio_url("deezer", server._track_id("deezer", i, j), "mp3", artist),
                    "contributors": [],
                    "artist": self._deezer_main(aid, artist, t),
                    "album": {"id": 5000 + i, "title": f"{artist.name} Album", "cover": "", "type": "album"},
                    "type": "track",
                }
                for j, t in enumerate(artist.tracks)
            ][: int(q.get("limit", 5))]
            self._json({"data": data, "total": len(artist.tracks)})

        @staticmethod
        def _deezer_main(aid: str, artist: FakeArtist, track: FakeTrack) -> dict[str, Any]:
            if track.main_artist is not None:
                main = next(a for a in server.catalogue if a.name == track.main_artist)
                aid, artist = server.artist_id("deezer", main.name), main
            return {"id": int(aid), "name": artist.name_on("deezer"), "type": "artist"}

        def deezer_album(self, q: dict[str, str], fault: Fault | None, album_id: str) -> None:
            i = int(album_id) - 5000
            if not 0 <= i < len(server.catalogue):
                return self._deezer_no_data()
            a = server.catalogue[i]
            self._json({
                "id": int(album_id), "title": f"{a.name} Album", "genre_id": 100 + i,
                "genres": {"data": [{"id": 100 + i, "name": a.genre, "picture": "", "type": "genre"}]},
                "type": "album",
            })

        # iTunes
        def itunes_search(self, q: dict[str, str], fault: Fault | None) -> None:
            limit = int(q.get("limit", 50))
            results = []
            if not (fault and fault.kind == "empty"):
                for aid, a in server.search("itunes", q.get("term", "")):
                    i = server.catalogue.index(a)
                    for j, t in enumerate(a.tracks):
                        tid = server._track_id("itunes", i, j)
                        results.append({
                            "wrapperType": "track", "kind": "song", "artistId": int(aid), "collectionId": 6000 + i,
                            "trackId": int(tid), "artistName": a.name_on("itunes"), "collectionName": f"{a.name} Album",
                            "trackName": t.title, "previewUrl": server.audio_url("itunes", tid, "m4a", a),
                            "trackTimeMillis": t.duration_s * 1000, "primaryGenreName": a.genre,
                            "country": q.get("country", "USA"), "currency": "USD",
                        })
            results = results[:limit]
            self._json({"resultCount": len(results), "results": results}, headers={"Content-Type": "text/javascript"})

        # Spotify
        def _spotify_authorized(self) -> bool:
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            if token in server.access_tokens:
                return True
            self._json({"error": {"status": 401, "message": "Invalid access token"}}, 401)
            return False

        def spotify_token(self, q: dict[str, str], fault: Fault | None) -> None:
            expected = base64.b64encode(f"{server.client_id}:{server.client_secret}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {expected}" or q.get("grant_type") != "client_credentials":
                self._json({"error": "invalid_client", "error_description": "Invalid client"}, 400)
                return
            token = "fake-token-" + secrets.token_hex(8)
            with server._lock:
                server.access_tokens.append(token)
            self._json({"access_token": token, "token_type": "Bearer", "expires_in": 3600})

        def spotify_search(self, q: dict[str, str], fault: Fault | None) -> None:
            if not self._spotify_authorized():
                return
            limit = int(q.get("limit", 10))
            hits = [] if fault and fault.kind == "empty" else server.search("spotify", q.get("q", ""))[:limit]
            items = [
                {
                    "id": aid, "name": a.name_on("spotify"), "popularity": min(100, a.fans // 50_000),
                    "genres": [a.genre.lower()], "followers": {"href": None, "total": a.fans}, "type": "artist",
                    "uri": f"spotify:artist:{aid}", "href": f"{server.url}/spotify/v1/artists/{aid}", "images": [],
                }
                for aid, a in hits
            ]
            self._json({"artists": {"href": "", "items": items, "limit": limit, "next": None,
                                    "offset": int(q.get("offset", 0)), "previous": None, "total": len(items)}})

        def spotify_top(self, q: dict[str, str], fault: Fault | None, aid: str) -> None:
            if not self._spotify_authorized():
                return
            if not (q.get("market") or q.get("country")):
                return self._json({"error": {"status": 400, "message": "Missing market"}}, 400)
            artist = server.ids["spotify"].artist.get(aid)
            if artist is None:
                return self._json({"error": {"status": 404, "message": "Resource not found"}}, 404)
            i = server.catalogue.index(artist)
            tracks = [] if fault and fault.kind == "empty" else [
                {
                    "id": server._track_id("spotify", i, j), "name": t.title, "duration_ms": t.duration_s * 1000,
                    "popularity": 80 - j, "explicit": False, "type": "track",
                    "preview_url": server.audio_url("spotify", server._track_id("spotify", i, j), "mp3", artist)
                    if t.spotify_preview else None,
                    "artists": [{"id": aid, "name": artist.name_on("spotify"), "type": "artist"}],
                    "album": {"id": f"al{i}", "name": f"{artist.name} Album", "type": "album"},
                }
                for j, t in enumerate(artist.tracks)
            ]
            self._json({"tracks": tracks[:10]})

        # audio
        def audio(self, q: dict[str, str], fault: Fault | None, provider: str, track_id: str) -> None:
            if track_id not in server.ids[provider].track:
                return self._send(404, b"not found", "text/plain")
            data, fmt = server.audio(provider, track_id)
            if fault and fault.kind == "truncate":
                data = data[: fault.keep_bytes]
            elif fault and fault.kind == "corrupt":
                data = np.random.default_rng(1234).bytes(len(data))  # fixed noise: never decodes
            elif fault and fault.kind == "empty":
                data = b""
            self._send(200, data, "audio/mp4" if fmt == "m4a" else "audio/mpeg")

    return Handler


@pytest.fixture
def provider_server() -> Iterator[FakeProviderServer]:
    """A started :class:`FakeProviderServer` with the default catalogue, stopped after the test."""
    with FakeProviderServer() as server:
        yield server
