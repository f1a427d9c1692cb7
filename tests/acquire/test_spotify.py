"""Spotify's answers obey the cap on an API answer the other providers' have (MAX_JSON_BYTES), against the fake
server speaking Spotify's wire format (token + Web API)."""

from __future__ import annotations

import pytest

from musim.acquire import resolve_artist
from musim.acquire.errors import ProviderError
from musim.acquire.http import MAX_JSON_BYTES
from musim.acquire.providers import DeezerProvider, SpotifyProvider, build_providers
from musim.acquire.providers.spotify import SpotifyCredentials
from tests.fakes.provider_server import Fault

pytestmark = pytest.mark.server
CREDS = SpotifyCredentials("fake-client-id", "fake-client-secret")
CAP = f"{MAX_JSON_BYTES / 2**20:g} MiB"


def oversized(answer: dict) -> dict:
    """``answer`` of the right shape, padded past the cap (a proxy's or a broken server's stream)."""
    return {**answer, "pad": "x" * (MAX_JSON_BYTES + 2**20)}


@pytest.mark.parametrize(("provider", "path", "answer", "what"), [
    ("spotify", r"^/spotify/v1/search$", {"artists": {"items": []}}, "GET /search"),
    ("deezer", r"^/deezer/search/artist$", {"data": []}, "GET /search/artist"),
])
def test_an_api_answer_over_the_cap_is_refused_alike_for_spotify_and_deezer(provider_server, sleeps, provider, path,
                                                                           answer, what):
    """spotipy read Spotify's answers whole, with no cap: a 9 MiB answer of the right shape was read and taken as
    "no artist found" (a never-ending one: until memory ran out), where Deezer's and iTunes' stop at MAX_JSON_BYTES.
    Now Spotify's is the same failure of that call: the provider and the size named, not retried, no outage."""
    provider_server.add_fault(path, Fault("answer", answer=oversized(answer), times=1))
    make = {"deezer": DeezerProvider, "spotify": lambda settings, **kw: SpotifyProvider(settings, CREDS, **kw)}[provider]
    with make(provider_server.settings(), sleep=sleeps) as client:
        with pytest.raises(ProviderError) as info:
            client.match_artist("Muse")
        assert not client.http.outage.down  # the provider answered
        assert client.match_artist("Muse") is not None  # the next answer, of the usual size, is read as ever
    assert str(info.value) == f"{provider}: {what} answered over {CAP}: not an answer of the API"
    assert (info.value.retryable, info.value.status, info.value.attempts) == (False, 200, 1)
    assert provider_server.count(path) == 2 and sleeps.calls == []  # the oversized one was asked once, not retried


def test_a_spotify_token_answer_over_the_cap_is_refused(provider_server, sleeps):
    provider_server.add_fault(r"^/spotify/api/token$",
                              Fault("answer", answer=oversized({"access_token": "t", "token_type": "Bearer",
                                                                "expires_in": 3600}), times=1))
    with SpotifyProvider(provider_server.settings(), CREDS, sleep=sleeps) as spotify, \
            pytest.raises(ProviderError) as info:
        spotify.match_artist("Muse")
    assert str(info.value) == f"spotify: POST token answered over {CAP}: not an answer of the API"
    assert provider_server.count(r"^/spotify/v1/") == 0  # no call was sent without a token


def test_an_oversized_spotify_answer_fails_the_attempt_and_the_next_provider_is_asked(provider_server, sleeps):
    """Counted as the other providers' oversized answers are: the attempt failed with its reason."""
    provider_server.add_fault(r"^/spotify/v1/artists/[^/]+/top-tracks$",
                              Fault("answer", answer=oversized({"tracks": []}), times=1))
    settings = provider_server.settings(order=("spotify", "deezer"))
    providers = build_providers(settings, env={"SPOTIPY_CLIENT_ID": "fake-client-id",
                                               "SPOTIPY_CLIENT_SECRET": "fake-client-secret"}, sleep=sleeps)
    try:
        result = resolve_artist(providers, "Radiohead", limit=2)
    finally:
        for p in providers:
            p.close()
    assert result.provider == "deezer"
    spotify = result.attempts[0]
    assert (spotify.provider, spotify.status, spotify.outage, spotify.network) == ("spotify", "error", False, False)
    assert spotify.detail.startswith("GET /artists/") and spotify.detail.endswith(
        f"/top-tracks answered over {CAP}: not an answer of the API")


@pytest.mark.parametrize("fault", [Fault("html"), Fault("answer", answer={}), Fault("answer", answer=["token"]),
                                   Fault("answer", answer={"access_token": 5, "expires_in": "soon"})],
                         ids=["page", "empty", "list", "wrong-types"])
def test_a_token_url_answering_no_token_refuses_the_configuration_not_each_artist(provider_server, sleeps, fault):
    """The token URL answering 200 with something that is no token (a portal's page, JSON of another shape) reached
    spotipy as it was: each artist failed with "KeyError: 'expires_in'" or a TypeError (a traceback logged, an attempt
    counted against every artist of the run). Now it refuses musim's configuration: the provider is left out of the
    run, its artists stay pending; the fix names MUSIM_SPOTIFY_TOKEN_URL."""
    from musim.acquire.errors import ProviderRefused

    provider_server.add_fault(r"^/spotify/api/token$", fault)
    with SpotifyProvider(provider_server.settings(), CREDS, sleep=sleeps) as spotify, \
            pytest.raises(ProviderRefused) as info:
        spotify.match_artist("Muse")
    assert info.value.reason.startswith("POST token answered no access token (")
    assert "MUSIM_SPOTIFY_TOKEN_URL" in info.value.fix and not info.value.retryable


def test_a_token_answer_cut_off_is_retried_as_any_broken_answer(provider_server, sleeps):
    """JSON cut off by a proxy on the token URL (a KeyError before) is a broken answer: tried again, then it works."""
    provider_server.add_fault(r"^/spotify/api/token$", Fault("cut_json", keep_bytes=12, times=1))
    with SpotifyProvider(provider_server.settings(), CREDS, sleep=sleeps) as spotify:
        assert spotify.match_artist("Muse") is not None
    assert provider_server.count(r"^/spotify/api/token$") == 2 and len(sleeps.calls) == 1
