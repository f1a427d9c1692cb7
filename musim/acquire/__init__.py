"""Audio acquisition, provider layer: find an artist on Deezer, iTunes Search, Spotify or a local music
folder, list its top tracks and download (or read) their audio, politely (rate limits, retries with
backoff) and checked (every preview must decode to a sane length).

Provider layer entry points: :func:`musim.acquire.providers.build_providers`, :func:`resolve_artist`,
:func:`get_preview`, :func:`check_preview` (the analysis window of whole tracks is
:func:`musim.audio.excerpt.excerpt_window`). The acquisition pipeline on top of it
(catalogue, warehouse state, object store, journals: ``plan`` → ``fetch_batch`` → ``record``, and
``acquire`` for the CLI) is :mod:`musim.acquire.pipeline`, imported on demand (it needs the warehouse).
"""

from musim.acquire.check import check_preview, get_preview
from musim.acquire.errors import ProviderError, RateLimited
from musim.acquire.matching import match_artist, normalize_name, similarity
from musim.acquire.models import (
    ArtistCandidate,
    ArtistMatch,
    Preview,
    RejectedPreview,
    TrackCandidate,
)
from musim.acquire.resolve import ProviderAttempt, Resolution, resolve_artist
from musim.config import AcquireSettings, RateLimit, RetryPolicy

__all__ = [
    "AcquireSettings",
    "ArtistCandidate",
    "ArtistMatch",
    "Preview",
    "ProviderAttempt",
    "ProviderError",
    "RateLimit",
    "RateLimited",
    "RejectedPreview",
    "Resolution",
    "RetryPolicy",
    "TrackCandidate",
    "check_preview",
    "get_preview",
    "match_artist",
    "normalize_name",
    "resolve_artist",
    "similarity",
]
