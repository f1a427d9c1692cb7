"""A folder of the user's own music: whole tracks, read from disk.

Shares the library's code (:mod:`musim.library`): the one format list (formats told by content), the one
tag reader and the artist rules (tags, then the nearest non-generic folder, then ``Artist - Title.ext``).
Every audio file of the folder is offered for its artist, the unusable ones too, so that each is checked
and recorded with the library's reason (``empty``, ``not_audio``, ``truncated``, ...) as a rejected
preview instead of disappearing; files that name no artist, and files that are neither named nor made
like audio, are listed in :attr:`LocalFolderProvider.skipped` and logged; the audio files among them (no artist, or
no readable file: a name that is not UTF-8, a broken link, a pipe) also in :attr:`LocalFolderProvider.passed_over`
with the reason, which a run's summary reports (an audio file is never left out without a word). Each track carries its full
duration and the analysis window picked by :func:`musim.audio.excerpt.excerpt_window`; a file is checked as the library
checks it, by reading that window only (:meth:`LocalFolderProvider.preview`), and stored as it is.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from musim.acquire.errors import ProviderError, ProviderRefused
from musim.acquire.matching import match_artist, normalize_name
from musim.acquire.models import (
    ArtistCandidate,
    ArtistMatch,
    PassedOver,
    Preview,
    RejectedPreview,
    TrackCandidate,
)
from musim.acquire.providers.base import Provider
from musim.acquire.ratelimit import Stop
from musim.audio.excerpt import excerpt_window
from musim.audio.formats import rate_outside
from musim.config import AcquireSettings
from musim.errors import ConfigError
from musim.filenames import path_text
from musim.library.artists import resolve_artist, title_of
from musim.library.formats import AUDIO_SUFFIXES, FORMATS, FileSkipped, probe, read_excerpt, suffix_format
from musim.library.scan import check_name, find_files
from musim.library.tags import read_tags

log = logging.getLogger(__name__)
__all__ = ["FORMATS", "LocalFolderProvider", "LocalTrack", "PassedOver", "read_track"]

#: Why an audio file that names no artist is passed over, and what to do.
NO_ARTIST = "no artist: no artist tag, artist folder or 'Artist - Title' name (tag it, or put it in its artist's folder)"


@dataclass(frozen=True)
class LocalTrack:
    """One audio file of the folder with what was read from it (``duration_s`` 0 when it does not
    decode: checking its audio then rejects it with the reason)."""

    path: Path
    relpath: str
    artist: str
    title: str
    genre: str | None
    duration_s: float
    format: str


def read_track(path: Path, root: Path) -> LocalTrack | PassedOver | None:
    """Tags, artist and duration of one file; :class:`PassedOver` (logged) when it names no artist or cannot be
    read (a broken link, a named pipe, a name that is not UTF-8), ``None`` (logged) when it is not audio at all
    (neither an audio suffix nor audio content)."""
    import mutagen

    rel = path.relative_to(root)
    try:
        check_name(path)
        info = probe(path, min_seconds=0.0)
        audio, fmt, duration = info.mutagen, info.format, info.duration_s
    except FileSkipped as skip:
        if skip.reason == "not_audio" and path.suffix.lower() not in AUDIO_SUFFIXES:
            log.info("local: skipped %s: %s (%s)", path_text(rel), skip.reason, skip.detail)
            return None
        if skip.reason == "unreadable":
            log.info("local: skipped %s: %s (%s)", path_text(rel), skip.reason, skip.detail)
            return PassedOver(path_text(rel.as_posix()), f"unreadable: {skip.detail}" if skip.detail else "unreadable")
        try:
            audio = mutagen.File(path)
        except Exception:  # noqa: BLE001 - broken files: no tags
            audio = None
        fmt, duration = suffix_format(path) or "unknown", 0.0
    tags = read_tags(audio)
    artist = resolve_artist(tags, path, root)
    if artist.rule == "unknown":
        log.info("local: skipped %s: %s", rel, NO_ARTIST)
        return PassedOver(rel.as_posix(), NO_ARTIST)
    return LocalTrack(path=path, relpath=rel.as_posix(), artist=artist.name, title=title_of(tags, path),
                      genre=tags.genre, duration_s=round(duration, 3), format=fmt)


class LocalFolderProvider(Provider):
    """The user's own files under ``root``; the folder is scanned once (call :meth:`refresh` to rescan)."""

    name = "local"
    max_audio_s = None

    def __init__(self, settings: AcquireSettings, root: Path | str | None = None) -> None:
        root = root if root is not None else settings.local_dir
        if root is None or not Path(root).is_dir():
            problem = "is a file, not a folder" if root is not None and Path(root).exists() else "does not exist"
            raise ConfigError(f"local music folder {path_text(root or '')} {problem} (acquire --path or "
                              "MUSIM_LOCAL_MUSIC_DIR): give the folder that holds the music")
        self.root = Path(root).absolute()
        self.settings = settings
        self._tracks: list[LocalTrack] | None = None
        self.skipped: list[str] = []
        self._lock = threading.Lock()
        self._first_scan = threading.Lock()
        self._stop = Stop()

    def stop(self) -> None:
        """The run is stopped: a scan of the folder under way (minutes for a large one) ends at its next file, and
        no file is checked after (:class:`~musim.acquire.ratelimit.Stopped`)."""
        self._stop.set()

    def refresh(self) -> list[LocalTrack]:
        """Scan the folder again; return every track that names an artist, sorted by path."""
        read = []
        for found in find_files([self.root], open_zips=False):
            self._stop.check()
            read.append((found.path, read_track(found.path, self.root)))
        tracks = [t for _, t in read if isinstance(t, LocalTrack)]
        with self._lock:
            self._tracks = tracks
            self.skipped = [path_text(p.relative_to(self.root).as_posix()) for p, t in read
                            if not isinstance(t, LocalTrack)]
            self.passed_over = [t for _, t in read if isinstance(t, PassedOver)]
        log.info("local: %d tracks in %s (%d other files)", len(tracks), self.root, len(self.skipped))
        return tracks

    @property
    def tracks(self) -> list[LocalTrack]:
        """The tracks of the last scan; the first call scans (once: the fetch threads that ask meanwhile wait)."""
        with self._first_scan:
            with self._lock:
                tracks = self._tracks
            return tracks if tracks is not None else self.refresh()

    def match_artist(self, name: str) -> ArtistMatch | None:
        """The folder's artist that is ``name``; :class:`ProviderRefused` when the folder holds no track at all (an
        empty folder, a drive not mounted): not every artist's "no match", each given up until ``--retry``."""
        tracks = self.tracks
        if not tracks:
            n = len(self.skipped)
            other = f" ({n:,} other file{'' if n == 1 else 's'})" if n else ""
            raise ProviderRefused(self.name, f"the music folder {path_text(self.root)} holds no audio file that names "
                                             f"an artist{other}",
                                  fix="check --path or MUSIM_LOCAL_MUSIC_DIR (a drive not mounted?), then run it again")
        by_artist: dict[str, list[LocalTrack]] = {}
        for t in tracks:
            by_artist.setdefault(normalize_name(t.artist), []).append(t)
        candidates = [ArtistCandidate(self.name, key, ts[0].artist, float(len(ts))) for key, ts in by_artist.items()]
        return match_artist(name, candidates, threshold=self.settings.match_threshold)

    def top_tracks(self, match: ArtistMatch, limit: int = 3) -> list[TrackCandidate]:
        """Up to ``limit`` usable tracks of the artist, then every unusable file of it (checked and rejected
        with its reason, never downloaded: they cost nothing)."""
        key = match.candidate.provider_artist_id
        mine = [t for t in self.tracks if normalize_name(t.artist) == key]
        good = [t for t in mine if t.duration_s > 0][:limit]
        bad = [t for t in mine if t.duration_s <= 0]
        return [
            TrackCandidate(
                provider=self.name,
                provider_track_id=t.relpath,
                provider_artist_id=key,
                title=t.title,
                local_path=str(t.path),
                format=t.format,
                duration_s=t.duration_s or None,
                genre=t.genre,
                rank=rank,
                artist_name=t.artist,
                excerpt=excerpt_window(t.duration_s, length_s=self.settings.excerpt_s,
                                       anchor=self.settings.excerpt_anchor)  # type: ignore[arg-type]
                if t.duration_s > 0 else None,
            )
            for rank, t in enumerate(good + bad, start=1)
        ]

    def preview(self, track: TrackCandidate) -> Preview | RejectedPreview:
        """``track``'s file checked where it lies, as ``musim library add`` checks a file: :func:`probe` (audio, whole,
        not cut short; its length from the container, read without decoding it) and its analysis window
        (:func:`excerpt_window` of that length) read by seeking with :func:`read_excerpt` (it decodes, not silent).
        Memory is bounded by the window, not the file: nothing is decoded or read whole, and the file is stored as it
        is, streamed from disk (:func:`musim.acquire.fetch.fetch_artist`). An unusable file is a
        :class:`RejectedPreview` with the library's reason, as :func:`musim.acquire.check_preview` words it; a file gone
        or not readable now (a drive unmounted mid-run) is a :class:`ProviderError` (failed, tried again next run), as
        :meth:`fetch` raises."""
        self._stop.check()
        if not track.local_path:
            raise ProviderError(self.name, f"track {track.provider_track_id} has no local path")
        path = Path(track.local_path)
        try:
            info = probe(path, min_seconds=self.min_audio_s, key=f"{self.name}:{track.provider_track_id}")
            if (outside := rate_outside(info.sample_rate)) is not None:  # the library's reason and words
                return RejectedPreview(track, f"sample_rate_out_of_range: {outside}")
            window = excerpt_window(info.duration_s, length_s=self.settings.excerpt_s,
                                    anchor=self.settings.excerpt_anchor)  # type: ignore[arg-type]
            read_excerpt(path, info, offset_s=window[0], duration_s=window[1])
        except FileSkipped as err:
            if err.reason == "unreadable" or not path.is_file():  # gone or not readable now: no verdict on its audio
                raise ProviderError(self.name, f"cannot read {path_text(path)}: {err.detail or err.reason}") from None
            return RejectedPreview(track, f"{err.reason}: {err.detail[:200]}" if err.detail else err.reason)
        return Preview(track, b"", info.format, info.duration_s, info.sample_rate, path=path, channels=info.channels,
                       window=window)

    def fetch(self, track: TrackCandidate) -> bytes:
        """The whole file's bytes (the :class:`Provider` interface; acquisition checks and stores a local file with
        :meth:`preview` instead, which never reads it whole)."""
        if not track.local_path:
            raise ProviderError(self.name, f"track {track.provider_track_id} has no local path")
        try:
            return Path(track.local_path).read_bytes()
        except OSError as exc:
            raise ProviderError(self.name, f"cannot read {track.provider_track_id}: {exc.strerror}") from None
