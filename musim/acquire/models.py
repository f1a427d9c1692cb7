"""Data model of the provider layer: candidates, matches, tracks and the outcome of a download."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

MatchMethod = Literal["exact", "fuzzy"]
_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub(value: Any) -> Any:
    """``value`` (decoded JSON: dicts, lists, strings) with every lone UTF-16 surrogate (``"\\ud83d"``: half an emoji,
    a title an API cut in the middle of one) replaced by U+FFFD: such a string cannot be written as UTF-8 (the journal,
    the warehouse), and one title would fail its batch on every run."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


@dataclass(frozen=True)
class ArtistCandidate:
    """An artist as one provider knows it.

    ``popularity`` is the provider's own measure (Deezer ``nb_fan``, Spotify ``popularity``, number of
    results for iTunes, number of files for a local folder); it breaks ties between equal names.
    """

    provider: str
    provider_artist_id: str
    name: str
    popularity: float | None = None
    genres: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArtistMatch:
    """The candidate chosen for a wanted artist name; ``score`` in [0, 1] (1.0 for ``"exact"``)."""

    candidate: ArtistCandidate
    score: float
    method: MatchMethod
    query: str = ""

    @property
    def provider(self) -> str:
        return self.candidate.provider


@dataclass(frozen=True)
class TrackCandidate:
    """One track of a matched artist, in the provider's popularity order (``rank`` 1 = most popular).

    Exactly one of ``preview_url`` (remote preview, usually 30 s) and ``local_path`` (a whole local file)
    is set when audio is available; neither is set when the provider has no preview (Spotify since 2024),
    so the caller falls through to the next provider. ``duration_s`` is the length of the whole track as
    the provider reports it; ``excerpt`` is the window ``(offset_s, duration_s)`` to analyse for local
    whole-track files (see :func:`excerpt_window`), ``None`` for previews (use all of it).
    """

    provider: str
    provider_track_id: str
    provider_artist_id: str
    title: str
    preview_url: str | None = None
    local_path: str | None = None
    format: str | None = None
    duration_s: float | None = None
    genre: str | None = None
    rank: int = 0
    artist_name: str | None = None
    popularity: float | None = None
    excerpt: tuple[float, float] | None = None

    @property
    def has_audio(self) -> bool:
        """Whether :meth:`Provider.fetch` can get audio for this track."""
        return bool(self.preview_url or self.local_path)


@dataclass(frozen=True)
class Preview:
    """Audio that passed :func:`musim.acquire.check_preview`: the bytes and what was measured.

    A local file is checked where it lies and never read whole (a two-hour DJ mix is gigabytes decoded): ``path``
    is the file, stored as it is (streamed), ``data`` is empty, ``channels`` what its header says and ``window`` the
    analysis window ``(offset_s, duration_s)`` that was read to check it (see
    :meth:`musim.acquire.providers.local.LocalFolderProvider.preview`).
    """

    track: TrackCandidate
    data: bytes = field(repr=False)
    format: str
    duration_s: float
    sample_rate: int
    path: Path | None = None
    channels: int | None = None
    window: tuple[float, float] | None = None


@dataclass(frozen=True)
class PassedOver:
    """An audio file of a music folder that is offered for no artist, and why (``reason``: what to do about it)."""

    relpath: str
    reason: str


@dataclass(frozen=True)
class RejectedPreview:
    """Audio that was downloaded but is unusable (empty, undecodable, too short/long); not an exception."""

    track: TrackCandidate
    reason: str
