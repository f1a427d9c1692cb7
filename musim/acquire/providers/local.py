"""A folder of the user's own music (mp3, ogg, flac, wav, m4a): whole tracks, read from disk.

Artist, title and genre come from the tags (mutagen); without tags the artist is the top-level folder
under the root (``Artist/Album/NN - Title.ext`` or ``Artist/NN - Title.ext``) or, for a file directly in
the root, the part before `` - `` in ``Artist - Title.ext``; the title is the file name without a leading
track number. Each track carries its full duration and the analysis window picked by
:func:`musim.acquire.excerpt_window` with the configured length and anchor.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from musim.acquire.config import AcquireSettings
from musim.acquire.errors import ProviderError
from musim.acquire.matching import match_artist, normalize_name
from musim.acquire.models import ArtistCandidate, ArtistMatch, TrackCandidate, excerpt_window
from musim.acquire.providers.base import Provider
from musim.errors import ConfigError

log = logging.getLogger(__name__)
FORMATS = {".mp3": "mp3", ".ogg": "ogg", ".oga": "ogg", ".flac": "flac", ".wav": "wav", ".m4a": "m4a"}
_TRACK_NO = re.compile(r"^\s*\d{1,3}(?:\s*[-._)]\s*|\s+)(?=\S)")
_TAG_KEYS = {
    "artist": ("artist", "albumartist", "TPE1", "TPE2", "\xa9ART", "aART"),
    "title": ("title", "TIT2", "\xa9nam"),
    "genre": ("genre", "TCON", "\xa9gen"),
}


@dataclass(frozen=True)
class LocalTrack:
    """One audio file of the folder with what was read from it."""

    path: Path
    relpath: str
    artist: str
    title: str
    genre: str | None
    duration_s: float
    format: str


def _tag(tags: Any, field: str) -> str | None:
    if not tags:
        return None
    for key in _TAG_KEYS[field]:
        try:
            value = tags.get(key)
        except (KeyError, ValueError, TypeError):
            continue
        if value is None:
            continue
        value = getattr(value, "text", value)
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        text = str(value).strip() if value is not None else ""
        if text:
            return text
    return None


def read_track(path: Path, root: Path) -> LocalTrack | None:
    """Tags, names and duration of one file; ``None`` (logged) when it is unreadable or has no artist."""
    import mutagen

    rel = path.relative_to(root)
    try:
        audio = mutagen.File(path, easy=True)
    except Exception as exc:  # mutagen raises many types for broken files
        log.info("local: cannot read tags of %s (%s)", rel, type(exc).__name__)
        audio = None
    tags = getattr(audio, "tags", None)
    duration = float(getattr(getattr(audio, "info", None), "length", 0.0) or 0.0)
    if duration <= 0:
        try:
            import soundfile as sf

            duration = float(sf.info(str(path)).duration)
        except Exception:
            log.info("local: skipped %s: cannot tell its duration", rel)
            return None
    stem = _TRACK_NO.sub("", path.stem).strip() or path.stem
    artist_from_name = None
    if len(rel.parts) > 1:
        artist_from_name = rel.parts[0]
    elif " - " in stem:
        artist_from_name, stem = (s.strip() for s in stem.split(" - ", 1))
    artist = _tag(tags, "artist") or artist_from_name
    if not artist:
        log.info("local: skipped %s: no artist tag and no artist folder", rel)
        return None
    return LocalTrack(
        path=path,
        relpath=rel.as_posix(),
        artist=artist,
        title=_tag(tags, "title") or stem,
        genre=_tag(tags, "genre"),
        duration_s=round(duration, 3),
        format=FORMATS[path.suffix.lower()],
    )


class LocalFolderProvider(Provider):
    """The user's own files under ``root``; the folder is scanned once (call :meth:`refresh` to rescan)."""

    name = "local"
    max_audio_s = None

    def __init__(self, settings: AcquireSettings, root: Path | str | None = None) -> None:
        root = root if root is not None else settings.local_dir
        if root is None or not Path(root).is_dir():
            raise ConfigError(f"local music folder {root!s} does not exist (MUSIM_LOCAL_MUSIC_DIR)")
        self.root = Path(root).absolute()
        self.settings = settings
        self._tracks: list[LocalTrack] | None = None
        self._lock = threading.Lock()

    def refresh(self) -> list[LocalTrack]:
        """Scan the folder again; return every usable track, sorted by path."""
        files = sorted(p for p in self.root.rglob("*") if p.suffix.lower() in FORMATS and p.is_file())
        tracks = [t for t in (read_track(p, self.root) for p in files) if t is not None]
        with self._lock:
            self._tracks = tracks
        log.info("local: %d tracks in %s", len(tracks), self.root)
        return tracks

    @property
    def tracks(self) -> list[LocalTrack]:
        with self._lock:
            tracks = self._tracks
        return tracks if tracks is not None else self.refresh()

    def match_artist(self, name: str) -> ArtistMatch | None:
        by_artist: dict[str, list[LocalTrack]] = {}
        for t in self.tracks:
            by_artist.setdefault(normalize_name(t.artist), []).append(t)
        candidates = [ArtistCandidate(self.name, key, ts[0].artist, float(len(ts))) for key, ts in by_artist.items()]
        return match_artist(name, candidates, threshold=self.settings.match_threshold)

    def top_tracks(self, match: ArtistMatch, limit: int = 3) -> list[TrackCandidate]:
        key = match.candidate.provider_artist_id
        mine = [t for t in self.tracks if normalize_name(t.artist) == key][:limit]
        return [
            TrackCandidate(
                provider=self.name,
                provider_track_id=t.relpath,
                provider_artist_id=key,
                title=t.title,
                local_path=str(t.path),
                format=t.format,
                duration_s=t.duration_s,
                genre=t.genre,
                rank=rank,
                artist_name=t.artist,
                excerpt=excerpt_window(t.duration_s, length_s=self.settings.excerpt_s, anchor=self.settings.excerpt_anchor),  # type: ignore[arg-type]
            )
            for rank, t in enumerate(mine, start=1)
        ]

    def fetch(self, track: TrackCandidate) -> bytes:
        if not track.local_path:
            raise ProviderError(self.name, f"track {track.provider_track_id} has no local path")
        try:
            return Path(track.local_path).read_bytes()
        except OSError as exc:
            raise ProviderError(self.name, f"cannot read {track.provider_track_id}: {exc.strerror}") from None
