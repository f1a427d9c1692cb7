"""Walk the providers in order until one has the artist with playable tracks."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from musim.acquire.errors import NoProviderLeft, ProviderDown, ProviderError, ProviderRefused, is_outage
from musim.acquire.models import ArtistMatch, TrackCandidate

if TYPE_CHECKING:
    from musim.acquire.providers.base import Provider

log = logging.getLogger(__name__)
_REFUSALS = threading.Lock()
AttemptStatus = Literal["found", "no_match", "no_preview", "error"]


@dataclass(frozen=True)
class ProviderAttempt:
    """What one provider answered for one artist (``detail``: the match score or the error reason; ``network``:
    an error because the provider was not reached, see :attr:`ProviderError.network`; ``outage``: an error that says
    the provider is failing whatever the artist, see :func:`~musim.acquire.errors.is_outage`)."""

    provider: str
    status: AttemptStatus
    detail: str = ""
    match: ArtistMatch | None = None
    network: bool = False
    outage: bool = False


@dataclass(frozen=True)
class Resolution:
    """The first provider with audio for an artist (``provider`` ``None`` if none), and every attempt."""

    artist: str
    provider: str | None = None
    match: ArtistMatch | None = None
    tracks: list[TrackCandidate] = field(default_factory=list)
    attempts: list[ProviderAttempt] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.provider is not None


def resolve_artist(providers: Sequence[Provider], artist: str, *, limit: int = 3) -> Resolution:
    """Ask ``providers`` in order for ``artist``; stop at the first with tracks that have audio.

    A provider that fails (:class:`ProviderError`, after its retries), does not know the artist, or
    has no previews (Spotify) is recorded in ``attempts`` and the next one is asked. A provider that refuses musim's
    configuration (:class:`ProviderRefused`: Spotify's token URL refusing the credentials) is left out from then on,
    for every artist, with one warning, and is no attempt: when no provider is left, :class:`NoProviderLeft` (the
    artist stays pending). Only the tracks with audio are returned, at most ``limit``, most popular first.
    """
    attempts: list[ProviderAttempt] = []
    for provider in providers:
        if provider.refused is not None:
            continue
        try:
            match = provider.match_artist(artist)
            if match is None:
                attempts.append(ProviderAttempt(provider.name, "no_match"))
                continue
            tracks = [t for t in provider.top_tracks(match, limit=limit) if t.has_audio][:limit]
        except ProviderRefused as err:
            _leave_out(provider, err, providers)
            continue
        except ProviderError as err:
            if not isinstance(err, ProviderDown):  # said once, when its breaker opened
                log.warning("%s failed for artist %r: %s", provider.name, artist, err.reason)
            attempts.append(ProviderAttempt(provider.name, "error", err.reason, network=err.network,
                                            outage=is_outage(err)))
            continue
        detail = f"{match.method} {match.score:.2f} {match.candidate.name!r}"
        if not tracks:
            attempts.append(ProviderAttempt(provider.name, "no_preview", detail, match))
            continue
        attempts.append(ProviderAttempt(provider.name, "found", detail, match))
        return Resolution(artist, provider.name, match, tracks, attempts)
    if not attempts and providers and all(p.refused is not None for p in providers):
        raise NoProviderLeft([p.refused for p in providers if p.refused is not None])
    return Resolution(artist, attempts=attempts)


def _leave_out(provider: Provider, err: ProviderRefused, providers: Sequence[Provider]) -> None:
    """Mark ``provider`` refused (once: the threads of a batch share it) and say so in one warning while others are
    left to ask (else :class:`NoProviderLeft` says it)."""
    with _REFUSALS:
        if provider.refused is not None:
            return
        provider.refused = err
        others = [p.name for p in providers if p.refused is None]
    if others:
        log.warning("%s refused musim's configuration (%s): left out for the rest of this run, its artists not counted "
                    "as failed (asking %s); %s", provider.name, err.reason, ", ".join(others), err.fix)
