"""Deezer: ``/search/artist``, ``/artist/{id}/top`` and ``/album/{id}`` (for the genre); mp3 previews.

Deezer reports errors as HTTP 200 with ``{"error": {"type", "message", "code"}}``: code 4 (quota) is
treated like HTTP 429, code 700 (service busy) like a 5xx, code 800 (no data) as nothing found.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from musim.acquire.errors import ProviderError, RateLimited
from musim.acquire.matching import match_artist
from musim.acquire.models import ArtistCandidate, ArtistMatch, TrackCandidate
from musim.acquire.providers.base import HttpProvider
from musim.acquire.providers.wire import (
    DeezerAlbum,
    DeezerArtists,
    DeezerGenres,
    DeezerRef,
    DeezerTracks,
    M,
    ids,
    parse,
)
from musim.config import AcquireSettings

log = logging.getLogger(__name__)
QUOTA, BUSY, NO_DATA = 4, 700, 800


def _code(value: Any) -> int | None:
    """Deezer's error code as a number (``4`` and ``"4"`` alike); ``None`` when it is none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() and len(text) < 10 else None


class DeezerProvider(HttpProvider):
    """Deezer's public API (no credentials); ``fetch_album_genre`` adds one cached call per album."""

    name = "deezer"
    url_var = "MUSIM_DEEZER_API_URL"

    def __init__(
        self,
        settings: AcquireSettings,
        *,
        fetch_album_genre: bool = True,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(settings, sleep=sleep)
        self.base = settings.deezer_url.rstrip("/")
        self.fetch_album_genre = fetch_album_genre
        self._genres: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def endpoint(self) -> str:
        return self.base

    def _check(self, body: Any) -> None:
        error = body.get("error") if isinstance(body, dict) else None
        if not error:
            return
        if not isinstance(error, dict):  # {"error": "..."} or {"error": true}: a proxy's or an older API's words
            raise ProviderError(self.name, f"Deezer error: {str(error)[:200]}")
        code = _code(error.get("code"))
        # its words cut as a non-object error's are: a page-long message filled every error line and journal with it
        text = f"Deezer error {code} {str(error.get('type', ''))[:100]}: {str(error.get('message', ''))[:200]}".strip()
        if code == QUOTA:
            raise RateLimited(self.name, text, status=code)
        raise ProviderError(self.name, text, status=code, retryable=code == BUSY)

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.api_json(f"{self.base}{path}", params, what=f"GET {path}", check=self._check)

    def _get_as(self, model: type[M], path: str, params: dict[str, Any] | None = None) -> M:
        return parse(model, self._get(path, params), provider=self.name, what=f"GET {path}")

    def match_artist(self, name: str) -> ArtistMatch | None:
        body = self._get_as(DeezerArtists, "/search/artist", {"q": name, "limit": 25})
        candidates = [ArtistCandidate(self.name, ids(a.id), a.name, a.nb_fan) for a in body.data if a.id is not None]
        return match_artist(name, candidates, threshold=self.settings.match_threshold)

    def _album_genre(self, album: DeezerAlbum) -> str | None:
        if album.genres and album.genres.data:
            return album.genres.data[0].name
        album_id = ids(album.id)
        if not self.fetch_album_genre or not album_id:
            return None
        with self._lock:
            if album_id in self._genres:
                return self._genres[album_id]
        try:
            data = (self._get_as(DeezerAlbum, f"/album/{quote(album_id, safe='')}").genres or DeezerGenres()).data
            genre = data[0].name if data else None
        except ProviderError as err:
            log.info("deezer: no genre for album %s (%s)", album_id, err.reason)
            return None
        with self._lock:
            self._genres[album_id] = genre
        return genre

    def top_tracks(self, match: ArtistMatch, limit: int = 3) -> list[TrackCandidate]:
        """The artist's own most popular tracks: Deezer's top list also holds the tracks of other artists it only
        features on (their main artist named), so more are asked for and those are left out."""
        artist_id = match.candidate.provider_artist_id
        try:
            asked = max(limit, min(2 * limit + 5, 100))  # room for the features left out
            # the id as one path segment: one holding '/', '..', '?' or '#' sent the call elsewhere on the host
            body = self._get_as(DeezerTracks, f"/artist/{quote(artist_id, safe='')}/top", {"limit": asked})
        except ProviderError as err:
            if err.status == NO_DATA:
                return []
            raise
        own = [t for t in body.data if t.artist is None or t.artist.id is None or ids(t.artist.id) == artist_id]
        tracks = []
        for rank, t in enumerate(own[:limit], start=1):
            artist = t.artist or DeezerRef()
            tracks.append(
                TrackCandidate(
                    provider=self.name,
                    provider_track_id=ids(t.id),
                    provider_artist_id=ids(artist.id) or artist_id,
                    title=t.title,
                    preview_url=t.preview or None,
                    format="mp3",
                    duration_s=t.duration,
                    genre=self._album_genre(t.album or DeezerAlbum()),
                    rank=rank,
                    artist_name=artist.name if artist.name is not None else match.candidate.name,
                    popularity=t.rank,
                )
            )
        return tracks
