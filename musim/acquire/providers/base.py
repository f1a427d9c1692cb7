"""The interface every provider implements."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import Any

from musim.acquire.errors import ProviderError, ProviderRefused
from musim.acquire.http import HttpClient
from musim.acquire.models import ArtistMatch, PassedOver, TrackCandidate
from musim.config import AcquireSettings


class Provider(abc.ABC):
    """A source of artists, top tracks and their audio.

    Subclasses set ``name`` and implement :meth:`match_artist`, :meth:`top_tracks` and :meth:`fetch`.
    Every method raises :class:`~musim.acquire.errors.ProviderError` on failure (after retries) and is
    safe to call from several threads.
    """

    name: str = ""
    #: accepted audio length in seconds (see :func:`musim.acquire.check_preview`); ``None``: no maximum
    min_audio_s: float = 5.0
    max_audio_s: float | None = 35.0
    #: set at the provider's first refusal of musim's configuration (:class:`ProviderRefused`): it is asked nothing
    #: more in this run (:func:`musim.acquire.resolve.resolve_artist`)
    refused: ProviderRefused | None = None
    #: the audio files of a music folder offered for no artist, with why (the local provider's; a run reports them)
    passed_over: Sequence[PassedOver] = ()

    @abc.abstractmethod
    def match_artist(self, name: str) -> ArtistMatch | None:
        """Search ``name`` and return the matching artist, or ``None`` when no candidate matches."""

    @abc.abstractmethod
    def top_tracks(self, match: ArtistMatch, limit: int = 3) -> list[TrackCandidate]:
        """The artist's most popular tracks, most popular first (at most ``limit``)."""

    @abc.abstractmethod
    def fetch(self, track: TrackCandidate) -> bytes:
        """Download the preview (or read the local file) of ``track``."""

    def endpoint(self) -> str | None:
        """The URL of the service this provider calls (checked before a run), or ``None`` (local files)."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def stop(self) -> None:  # noqa: B027 - optional hook
        """The run is stopped (Ctrl-C, a task killed): the threads waiting on this provider (a rate limit, a back-off)
        end now, and nothing more is asked of it (:class:`~musim.acquire.ratelimit.Stopped`)."""

    def __enter__(self) -> Provider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


#: HTTP statuses of a provider's API (not of a preview download) that refuse musim itself, whatever the artist
REFUSING_STATUSES = (401, 403)


class HttpProvider(Provider):
    """A provider that speaks HTTP through a rate-limited, retrying :class:`HttpClient`.

    ``url_var`` names the setting of its API's address, said in a refusal's fix."""

    url_var: str = ""

    def __init__(self, settings: AcquireSettings, *, sleep: Callable[[float], None] | None = None) -> None:
        self.settings = settings
        self.http = HttpClient(
            self.name,
            limit=settings.rate_limit(self.name),
            download_limit=settings.rate_limit("download"),
            timeout_s=settings.timeout_s,
            retry=settings.retry,
            sleep=sleep,
        )

    def stop(self) -> None:
        self.http.stop_now()

    def refusal(self, err: ProviderError, what: str) -> ProviderError:
        """``err`` as a refusal of musim (:class:`ProviderRefused`) when the API answered 401 or 403: no artist can
        pass while it does (a wrong address, a proxy or a block in between), so it is asked nothing more this run;
        any other error as it is."""
        if err.status not in REFUSING_STATUSES or isinstance(err, ProviderRefused):
            return err
        return ProviderRefused(self.name, f"HTTP {err.status} on {what}", status=err.status, fix=self.refusal_fix())

    def refusal_fix(self) -> str:
        """What to check when the API refuses musim (401, 403)."""
        return (f"check {self.url_var or 'its API address'} and any proxy in between, or leave {self.name} out of the "
                "providers (MUSIM_ACQUIRE_PROVIDERS, the audio_acquire DAG's providers)")

    def api_json(self, url: str, params: dict[str, Any] | None = None, *, what: str,
                 check: Callable[[Any], None] | None = None) -> Any:
        """GET the API's JSON (:meth:`HttpClient.get_json`); a 401 or 403 is a refusal (:meth:`refusal`)."""
        try:
            return self.http.get_json(url, params, what=what, check=check)
        except ProviderError as err:
            refused = self.refusal(err, what)
            if refused is err:
                raise
            raise refused from None

    def fetch(self, track: TrackCandidate) -> bytes:
        if not track.preview_url:
            raise ProviderError(self.name, f"track {track.provider_track_id} has no preview")
        return self.http.get_bytes(track.preview_url, what=f"preview of track {track.provider_track_id}",
                                   origin=self.endpoint())

    def close(self) -> None:
        self.http.close()
