"""iTunes Search: ``/search?term=&entity=song&attribute=artistTerm``; m4a (AAC) previews.

There is no artist search with popularity: songs are grouped by ``artistId``, the groups matched by
name, and a group's songs in result order are its top tracks (the API returns them by popularity).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from musim.acquire.matching import match_artist
from musim.acquire.models import ArtistCandidate, ArtistMatch, TrackCandidate
from musim.acquire.providers.base import HttpProvider
from musim.acquire.providers.wire import ITunesSearch, ITunesSong, ids, parse

SEARCH_LIMIT = 50
CACHE_SIZE = 256


class ItunesProvider(HttpProvider):
    """Apple's iTunes Search API (no credentials)."""

    name = "itunes"
    url_var = "MUSIM_ITUNES_API_URL"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base = self.settings.itunes_url.rstrip("/")
        self._songs: OrderedDict[str, list[ITunesSong]] = OrderedDict()
        self._lock = threading.Lock()

    def endpoint(self) -> str:
        return self.base

    def _search(self, term: str) -> dict[str, list[ITunesSong]]:
        params = {
            "term": term,
            "entity": "song",
            "attribute": "artistTerm",
            "limit": SEARCH_LIMIT,
            "country": self.settings.itunes_country,
        }
        body = parse(ITunesSearch, self.api_json(f"{self.base}/search", params, what="GET /search"),
                     provider=self.name, what="GET /search")
        groups: dict[str, list[ITunesSong]] = {}
        for r in body.results:
            if r.wrapperType != "track" or r.kind != "song" or r.artistId is None:
                continue
            groups.setdefault(ids(r.artistId), []).append(r)
        with self._lock:
            for artist_id, songs in groups.items():
                self._songs[artist_id] = songs
                self._songs.move_to_end(artist_id)
            while len(self._songs) > CACHE_SIZE:
                self._songs.popitem(last=False)
        return groups

    def match_artist(self, name: str) -> ArtistMatch | None:
        groups = self._search(name)
        candidates = [
            ArtistCandidate(self.name, artist_id, songs[0].artistName, float(len(songs)))
            for artist_id, songs in groups.items()
        ]
        return match_artist(name, candidates, threshold=self.settings.match_threshold)

    def top_tracks(self, match: ArtistMatch, limit: int = 3) -> list[TrackCandidate]:
        artist_id = match.candidate.provider_artist_id
        with self._lock:
            songs = self._songs.get(artist_id)
        if songs is None:
            songs = self._search(match.candidate.name).get(artist_id, [])
        tracks = []
        for rank, s in enumerate(songs[:limit], start=1):
            tracks.append(
                TrackCandidate(
                    provider=self.name,
                    provider_track_id=ids(s.trackId),
                    provider_artist_id=artist_id,
                    title=s.trackName,
                    preview_url=s.previewUrl or None,
                    format="m4a",
                    duration_s=s.trackTimeMillis / 1000.0 if s.trackTimeMillis is not None else None,
                    genre=s.primaryGenreName,
                    rank=rank,
                    artist_name=s.artistName or None,
                )
            )
        return tracks
