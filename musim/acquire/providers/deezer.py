"""Deezer: ``/search/artist``, ``/artist/{id}/top`` and ``/album/{id}`` (for the genre); mp3 previews.

Deezer reports errors as HTTP 200 with ``{"error": {"type", "message", "code"}}``: code 4 (quota) is
treated like HTTP 429, code 700 (service busy) like a 5xx, code 800 (no data) as nothing found.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from musim.acquire.errors import ProviderError, RateLimited
from musim.acquire.matching import match_artist
from musim.acquire.models import ArtistCandidate, ArtistMatch, TrackCandidate
from musim.acquire.providers.base import HttpProvider
from musim.config import AcquireSettings

log = logging.getLogger(__name__)
QUOTA, BUSY, NO_DATA = 4, 700, 800


class DeezerProvider(HttpProvider):
    """Deezer's public API (no credentials); ``fetch_album_genre`` adds one cached call per album."""

    name = "deezer"

    def __init__(
        self,
        settings: AcquireSettings,
        *,
        fetch_album_genre: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(settings, sleep=sleep)
        self.base = settings.deezer_url.rstrip("/")
        self.fetch_album_genre = fetch_album_genre
        self._genres: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def _check(self, body: Any) -> None:
        error = body.get("error") if isinstance(body, dict) else None
        if not error:
            return
        code = error.get("code") if isinstance(error, dict) else None
        text = f"Deezer error {code} {error.get('type', '')}: {error.get('message', '')}".strip()
        if code == QUOTA:
            raise RateLimited(self.name, text, status=code)
        raise ProviderError(self.name, text, status=code, retryable=code == BUSY)

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.http.get_json(f"{self.base}{path}", params, what=f"GET {path}", check=self._check)

    def match_artist(self, name: str) -> ArtistMatch | None:
        body = self._get("/search/artist", {"q": name, "limit": 25})
        candidates = [
            ArtistCandidate(self.name, str(a["id"]), a.get("name", ""), a.get("nb_fan"))
            for a in body.get("data", [])
            if "id" in a
        ]
        return match_artist(name, candidates, threshold=self.settings.match_threshold)

    def _album_genre(self, album: dict[str, Any]) -> str | None:
        genres = (album.get("genres") or {}).get("data") or []
        if genres:
            return genres[0].get("name")
        album_id = str(album.get("id", ""))
        if not self.fetch_album_genre or not album_id:
            return None
        with self._lock:
            if album_id in self._genres:
                return self._genres[album_id]
        try:
            body = self._get(f"/album/{album_id}")
            data = (body.get("genres") or {}).get("data") or []
            genre = data[0].get("name") if data else None
        except ProviderError as err:
            log.info("deezer: no genre for album %s (%s)", album_id, err.reason)
            return None
        with self._lock:
            self._genres[album_id] = genre
        return genre

    def top_tracks(self, match: ArtistMatch, limit: int = 3) -> list[TrackCandidate]:
        artist_id = match.candidate.provider_artist_id
        try:
            body = self._get(f"/artist/{artist_id}/top", {"limit": limit})
        except ProviderError as err:
            if err.status == NO_DATA:
                return []
            raise
        tracks = []
        for rank, t in enumerate(body.get("data", [])[:limit], start=1):
            tracks.append(
                TrackCandidate(
                    provider=self.name,
                    provider_track_id=str(t["id"]),
                    provider_artist_id=str((t.get("artist") or {}).get("id", artist_id)),
                    title=t.get("title", ""),
                    preview_url=t.get("preview") or None,
                    format="mp3",
                    duration_s=float(t["duration"]) if t.get("duration") is not None else None,
                    genre=self._album_genre(t.get("album") or {}),
                    rank=rank,
                    artist_name=(t.get("artist") or {}).get("name", match.candidate.name),
                    popularity=t.get("rank"),
                )
            )
        return tracks
