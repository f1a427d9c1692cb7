"""What the providers answer, as pydantic models of the fields musim reads (any other field is ignored).

A provider that answers with another shape (an API change, a proxy's page turned into JSON, ``"data": 5``)
is a :class:`~musim.acquire.errors.ProviderError` naming the call and the first field that is wrong, not a
``TypeError`` from deep inside the parsing. ``null`` where a list is expected counts as empty, but an answer without
its results at all (``null``, a gateway's ``{"message": ...}`` with a 200) is no answer of the API: taken as "nothing
found", it gave every artist up as unmatched.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from musim.acquire.errors import ProviderError
from musim.acquire.models import scrub
from musim.params import first_error

M = TypeVar("M", bound=BaseModel)


def _null_is_empty(value: Any) -> Any:
    return [] if value is None else value


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


Id = int | str  # numeric ids in Deezer and iTunes, strings in Spotify: stored as text


def ids(value: Id | None) -> str:
    return "" if value is None else str(value)


# -- Deezer ----------------------------------------------------------------------------------------
class DeezerArtist(_Wire):
    id: Id | None = None
    name: str = ""
    nb_fan: float | None = None


class DeezerGenre(_Wire):
    name: str | None = None


class DeezerGenres(_Wire):
    data: Annotated[list[DeezerGenre], BeforeValidator(_null_is_empty)] = []


class DeezerAlbum(_Wire):
    id: Id | None = None
    genres: DeezerGenres | None = None


class DeezerRef(_Wire):
    id: Id | None = None
    name: str | None = None


class DeezerTrack(_Wire):
    id: Id
    title: str = ""
    preview: str | None = None
    duration: float | None = None
    rank: float | None = None
    artist: DeezerRef | None = None
    album: DeezerAlbum | None = None


class DeezerArtists(_Wire):
    data: Annotated[list[DeezerArtist], BeforeValidator(_null_is_empty)]  # required: see the module


class DeezerTracks(_Wire):
    data: Annotated[list[DeezerTrack], BeforeValidator(_null_is_empty)]  # required: see the module


# -- iTunes Search ---------------------------------------------------------------------------------
class ITunesSong(_Wire):
    wrapperType: str = "track"  # noqa: N815 - the wire's names
    kind: str = "song"
    artistId: Id | None = None  # noqa: N815
    artistName: str = ""  # noqa: N815
    trackId: Id | None = None  # noqa: N815
    trackName: str = ""  # noqa: N815
    previewUrl: str | None = None  # noqa: N815
    trackTimeMillis: float | None = None  # noqa: N815
    primaryGenreName: str | None = None  # noqa: N815


class ITunesSearch(_Wire):
    results: Annotated[list[ITunesSong], BeforeValidator(_null_is_empty)]  # required: see the module


# -- Spotify Web API -------------------------------------------------------------------------------
class SpotifyArtist(_Wire):
    id: str | None = None
    name: str = ""
    popularity: float | None = None
    genres: Annotated[list[str], BeforeValidator(_null_is_empty)] = []


class SpotifyArtistPage(_Wire):
    items: Annotated[list[SpotifyArtist | None], BeforeValidator(_null_is_empty)] = []


class SpotifySearch(_Wire):
    artists: SpotifyArtistPage | None  # required: see the module


class SpotifyRef(_Wire):
    name: str | None = None


class SpotifyTrack(_Wire):
    id: str | None = None
    name: str = ""
    preview_url: str | None = None
    duration_ms: float | None = None
    popularity: float | None = None
    artists: Annotated[list[SpotifyRef], BeforeValidator(_null_is_empty)] = []


class SpotifyTopTracks(_Wire):
    tracks: Annotated[list[SpotifyTrack], BeforeValidator(_null_is_empty)]  # required: see the module


def parse(model: type[M], body: Any, *, provider: str, what: str) -> M:
    """``body`` (decoded JSON) as ``model``; a :class:`ProviderError` naming ``what`` and the first wrong field."""
    try:
        return model.model_validate(scrub(body))
    except ValidationError as exc:
        where, first, got = first_error(exc)
        msg = "Input should be a JSON object" if first["type"] in ("model_type", "dict_type") else first["msg"]
        raise ProviderError(provider, f"unexpected answer from {what}: {where or 'the answer'}: {msg} (got {got}); "
                                      "has the API changed?") from None
