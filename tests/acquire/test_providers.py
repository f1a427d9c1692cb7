"""The providers against the fake services: shapes, fallback order, Spotify credentials and secrets."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from musim.acquire import Preview, get_preview, resolve_artist
from musim.acquire.errors import ProviderError
from musim.acquire.providers import DeezerProvider, ItunesProvider, SpotifyProvider, build_providers
from musim.acquire.providers.spotify import SpotifyCredentials, spotify_credentials
from musim.config import get_settings
from musim.errors import ConfigError
from musim.redact import redact
from tests.fakes.provider_server import FakeArtist, FakeProviderServer, FakeTrack, Fault

pytestmark = pytest.mark.server
CREDS = SpotifyCredentials("fake-client-id", "fake-client-secret")


def test_deezer_match_top_tracks_and_album_genre(provider_server):
    with DeezerProvider(provider_server.settings()) as deezer:
        match = deezer.match_artist("the muse")
        assert match is not None and match.method == "exact" and match.candidate.popularity == 1_500_000
        tracks = deezer.top_tracks(match, limit=2)
    assert [t.title for t in tracks] == ["First Song", "Second Song"] and [t.rank for t in tracks] == [1, 2]
    first = tracks[0]
    assert (first.provider, first.format, first.genre, first.duration_s) == ("deezer", "mp3", "Rock", 200.0)
    assert first.preview_url.endswith(f"/audio/deezer/{first.provider_track_id}.mp3")
    assert provider_server.count(r"^/deezer/album/") == 1  # one album: its genre is cached


def test_itunes_groups_songs_by_artist_id(provider_server):
    with ItunesProvider(provider_server.settings()) as itunes:
        match = itunes.match_artist("Beyonce")
        tracks = itunes.top_tracks(match, limit=3)
    assert match.candidate.provider_artist_id == provider_server.artist_id("itunes", "Beyoncé")
    assert {t.provider_artist_id for t in tracks} == {match.candidate.provider_artist_id}
    assert [t.rank for t in tracks] == [1, 2, 3] and tracks[0].format == "m4a" and tracks[0].genre == "Pop"
    assert provider_server.count(r"^/itunes/search$") == 1  # top tracks came from the matching search


def test_spotify_matches_but_reports_no_preview(provider_server):
    with SpotifyProvider(provider_server.settings(), CREDS) as spotify:
        match = spotify.match_artist("Radiohead")
        tracks = spotify.top_tracks(match)
    assert match.method == "exact" and match.candidate.genres == ("alternative",)
    assert len(tracks) == 3 and not any(t.has_audio for t in tracks)
    assert provider_server.matching(r"/top-tracks$")[0].query["market"] == "US"
    assert provider_server.count(r"^/spotify/api/token$") == 1  # token cached in memory


def test_spotify_preview_when_present():
    artist = FakeArtist("Muse", [FakeTrack("Uprising", spotify_preview=True)])
    with FakeProviderServer([artist]) as server, SpotifyProvider(server.settings(), CREDS) as spotify:
        (track,) = spotify.top_tracks(spotify.match_artist("Muse"))
        assert track.has_audio and track.format == "mp3"
        preview = get_preview(spotify, track)
        assert isinstance(preview, Preview) and preview.format == "mp3" and preview.duration_s == 8.0


def test_spotify_429_retry_after_and_bad_credentials(provider_server, sleeps):
    provider_server.add_fault(r"^/spotify/v1/search$", Fault("status", status=429, retry_after="2", times=1))
    with SpotifyProvider(provider_server.settings(), CREDS, sleep=sleeps) as spotify:
        assert spotify.match_artist("Muse") is not None
    assert sleeps.calls == [2.0]
    wrong = SpotifyCredentials("fake-client-id", "wrong")
    with SpotifyProvider(provider_server.settings(), wrong) as spotify, pytest.raises(Exception) as info:
        spotify.match_artist("Muse")
    assert "token refused (invalid_client)" in str(info.value) and "wrong" not in str(info.value)


def test_fallback_spotify_without_preview_then_deezer(provider_server):
    settings = provider_server.settings(order=("spotify", "deezer", "itunes"))
    providers = build_providers(settings, env={"SPOTIPY_CLIENT_ID": "fake-client-id", "SPOTIPY_CLIENT_SECRET": "fake-client-secret"})
    assert [p.name for p in providers] == ["spotify", "deezer", "itunes"]
    result = resolve_artist(providers, "Radiohead", limit=2)
    assert result.provider == "deezer" and len(result.tracks) == 2
    assert [(a.provider, a.status) for a in result.attempts] == [("spotify", "no_preview"), ("deezer", "found")]
    assert provider_server.count(r"^/itunes/") == 0
    for p in providers:
        p.close()


def test_fallback_past_a_failing_provider_and_an_unknown_artist(provider_server, sleeps):
    provider_server.add_fault(r"^/deezer/", Fault("status", status=500))
    settings = provider_server.settings(order=("deezer", "itunes"))
    providers = build_providers(settings, env={}, sleep=sleeps)
    result = resolve_artist(providers, "Muse")
    assert result.provider == "itunes" and result.attempts[0].status == "error"
    assert "gave up after 3 attempts" in result.attempts[0].detail
    missing = resolve_artist(providers, "Metallica")
    assert not missing.found and [a.status for a in missing.attempts] == ["error", "no_match"]


def test_misspelled_catalogue_name_matches_fuzzily():
    artist = FakeArtist("Radiohead", [FakeTrack("Creep")], names={"deezer": "Radiohed", "itunes": "Radiohaed"})
    with FakeProviderServer([artist, FakeArtist("Muse", [FakeTrack("Uprising")])]) as server:
        for cls in (DeezerProvider, ItunesProvider):
            with cls(server.settings()) as provider:
                match = provider.match_artist("Radiohead")
                assert match.method == "fuzzy" and 0.85 <= match.score < 1
                assert provider.match_artist("Portishead") is None


def test_empty_results_are_no_match(provider_server):
    provider_server.add_fault(r"^/(deezer/search|itunes/search)", Fault("empty"))
    for cls in (DeezerProvider, ItunesProvider):
        with cls(provider_server.settings()) as provider:
            assert provider.match_artist("Muse") is None


def test_spotify_skipped_with_exactly_one_log_line(provider_server, caplog):
    caplog.set_level(logging.DEBUG)
    providers = build_providers(provider_server.settings(order=("spotify", "deezer")), env={})
    assert [p.name for p in providers] == ["deezer"]
    lines = [r for r in caplog.records if "spotify" in r.getMessage().lower()]
    assert len(lines) == 1 and "skipped: no credentials" in lines[0].getMessage()


def test_credentials_from_env_and_airflow_connection():
    def creds(env):
        return spotify_credentials(get_settings(env))

    assert creds({}) is None
    assert creds({"MUSIM_SPOTIFY_CLIENT_ID": "a", "MUSIM_SPOTIFY_CLIENT_SECRET": "b"}).client_id == "a"
    assert creds({"MUSIM_SPOTIFY_CLIENT_ID": "a", "SPOTIPY_CLIENT_ID": "c", "SPOTIPY_CLIENT_SECRET": "d"}).client_id == "c"
    conn = json.dumps({"conn_type": "generic", "login": "cid", "password": "s3cret"})
    found = creds({"AIRFLOW_CONN_MUSIM_SPOTIFY": conn})
    assert (found.client_id, found.client_secret) == ("cid", "s3cret") and "s3cret" not in repr(found)
    uri = creds({"AIRFLOW_CONN_MUSIM_SPOTIFY": "spotify://cid:s%2Fcret@"})
    assert uri.client_secret == "s/cret"
    with pytest.raises(ConfigError) as info:
        creds({"AIRFLOW_CONN_MUSIM_SPOTIFY": '{"login": "cid", "password": "s3cret"'})
    assert "s3cret" not in str(info.value)
    with pytest.raises(ConfigError, match="AIRFLOW_CONN_MUSIM_SPOTIFY needs both login"):
        creds({"AIRFLOW_CONN_MUSIM_SPOTIFY": '{"login": "cid"}'})


def test_no_secret_in_logs(caplog, monkeypatch):
    secret = "very-secret-value-42"
    caplog.set_level(logging.DEBUG)
    with FakeProviderServer(client_secret=secret) as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("AIRFLOW_CONN_MUSIM_SPOTIFY", json.dumps({"login": "fake-client-id", "password": secret}))
        monkeypatch.setenv("MUSIM_ACQUIRE_PROVIDERS", "spotify,deezer")
        providers = build_providers()
        result = resolve_artist(providers, "Muse")
        assert result.provider == "deezer"
        for p in providers:
            p.close()
        token = server.access_tokens[0]
    basic = base64.b64encode(f"fake-client-id:{secret}".encode()).decode()
    assert "Authorization" in caplog.text  # spotipy did log its headers at DEBUG ...
    for needle in (secret, basic, token):  # ... but nothing secret
        assert needle not in caplog.text
    assert secret not in repr(providers) and secret not in repr(get_settings())


def test_the_access_token_is_masked_wherever_it_is_quoted(monkeypatch):
    """Spotify's access token was masked in an Authorization header only: an error or a log line quoting it (a proxy's
    page, a URL) showed it, and Airflow's task log too."""
    with FakeProviderServer(client_secret="pw-42x") as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("AIRFLOW_CONN_MUSIM_SPOTIFY", json.dumps({"login": "fake-client-id", "password": "pw-42x"}))
        monkeypatch.setenv("MUSIM_ACQUIRE_PROVIDERS", "spotify")
        providers = build_providers()
        resolve_artist(providers, "Muse")
        for p in providers:
            p.close()
        token = server.access_tokens[0]
    assert redact(f"the proxy said: token {token} expired") == "the proxy said: token *** expired"


@pytest.mark.parametrize(("provider", "path", "answer", "message"), [
    ("deezer", r"^/deezer/search/artist$", {"data": [{"id": 7, "name": 5}]},
     r"deezer: unexpected answer from GET /search/artist: data\.0\.name: Input should be a valid string \(got 5\)"),
    ("deezer", r"^/deezer/search/artist$", [1, 2, 3],
     r"deezer: unexpected answer from GET /search/artist: the answer: Input should be a JSON object \(got \[1, 2, 3\]\)"),
    ("itunes", r"^/itunes/search$", {"results": [{"artistId": 1, "trackTimeMillis": "long"}]},
     r"itunes: unexpected answer from GET /search: results\.0\.trackTimeMillis: Input should be a valid number"),
    ("spotify", r"^/spotify/v1/search$", {"artists": {"items": "none"}},
     r"spotify: unexpected answer from GET /search: artists\.items: Input should be a valid list"),
    # an answer without its results (a gateway's JSON with a 200, a body of null) was "nothing found": the artist
    # given up as unmatched, not retried
    ("deezer", r"^/deezer/search/artist$", {"message": "upstream busy, try later"},
     r"deezer: unexpected answer from GET /search/artist: data: Field required \(got \{'message': 'upstream busy"),
    ("deezer", r"^/deezer/search/artist$", None,
     r"deezer: unexpected answer from GET /search/artist: the answer: Input should be a JSON object \(got None\)"),
    ("itunes", r"^/itunes/search$", {"errorMessage": "Invalid value(s) for key(s): [term]"},
     r"itunes: unexpected answer from GET /search: results: Field required"),
    ("spotify", r"^/spotify/v1/search$", {"albums": {"items": []}},
     r"spotify: unexpected answer from GET /search: artists: Field required"),
])
def test_an_answer_of_another_shape_names_the_call_and_the_field(provider_server, provider, path, answer, message):
    """Such answers failed the artist with "TypeError: 'NoneType' object is not iterable" and the like."""
    provider_server.add_fault(path, Fault("answer", answer=answer))
    make = {"deezer": DeezerProvider, "itunes": ItunesProvider,
            "spotify": lambda settings: SpotifyProvider(settings, CREDS)}[provider]
    with make(provider_server.settings()) as client, pytest.raises(ProviderError, match=message) as info:
        client.match_artist("Muse")
    assert not info.value.retryable and "has the API changed?" in str(info.value)


def test_null_where_a_list_is_expected_is_nothing_found(provider_server):
    provider_server.add_fault(r"^/deezer/search/artist$", Fault("answer", answer={"data": None}))
    with DeezerProvider(provider_server.settings()) as deezer:
        assert deezer.match_artist("Muse") is None


def test_a_refused_token_is_a_refusal_a_token_server_error_is_retried(provider_server, sleeps):
    """A refusal of the credentials is no artist's failure (musim acquire leaves the provider out); a 503 of the token
    URL is a server's hiccup, retried as any call."""
    from musim.acquire.errors import NoProviderLeft, ProviderRefused

    wrong = SpotifyCredentials("fake-client-id", "wrong")
    with SpotifyProvider(provider_server.settings(), wrong) as spotify, pytest.raises(ProviderRefused) as info:
        spotify.match_artist("Muse")
    assert info.value.status == 400 and not info.value.retryable and "MUSIM_SPOTIFY_CLIENT_ID" in info.value.fix
    provider_server.add_fault(r"^/spotify/api/token$", Fault("status", status=503, times=1))
    with SpotifyProvider(provider_server.settings(), CREDS, sleep=sleeps) as spotify:
        assert spotify.match_artist("Muse") is not None and len(sleeps.calls) == 1

    asked = provider_server.count(r"^/spotify/api/token$")
    deezer = DeezerProvider(provider_server.settings())
    with SpotifyProvider(provider_server.settings(), wrong) as spotify, deezer:
        assert resolve_artist([spotify, deezer], "Muse").provider == "deezer"  # spotify left out, no attempt
        assert [a.provider for a in resolve_artist([spotify, deezer], "Radiohead").attempts] == ["deezer"]
        assert provider_server.count(r"^/spotify/api/token$") == asked + 1  # refused once, never asked again
        with pytest.raises(NoProviderLeft, match="spotify refused musim's configuration"):
            resolve_artist([spotify], "Muse")


def test_an_api_answering_401_or_403_refuses_musim_a_preview_answering_403_is_one_failure(provider_server, sleeps):
    """Deezer's or iTunes' API answering 401/403 (a wrong address, a proxy, a block) fails every artist alike: a
    refusal, left out at once (no artist counted as failed) and, once every provider refuses, NoProviderLeft naming
    each with what to check. A 403 of one preview download (an expired signed URL) stays that preview's failure."""
    from musim.acquire.errors import NoProviderLeft, ProviderRefused

    provider_server.add_fault(r"^/deezer/search/artist$", Fault("status", status=403))
    provider_server.add_fault(r"^/itunes/search$", Fault("status", status=401))
    with DeezerProvider(provider_server.settings(), sleep=sleeps) as deezer, \
            ItunesProvider(provider_server.settings(), sleep=sleeps) as itunes:
        with pytest.raises(ProviderRefused) as info:
            deezer.match_artist("Muse")
        assert info.value.status == 403 and not info.value.retryable and sleeps.calls == []  # not retried
        assert "MUSIM_DEEZER_API_URL" in info.value.fix
        with pytest.raises(NoProviderLeft) as left:
            resolve_artist([deezer, itunes], "Muse")
    assert "deezer refused musim's configuration (HTTP 403 on GET /search/artist): check MUSIM_DEEZER_API_URL" in str(left.value)
    assert "itunes refused musim's configuration (HTTP 401 on GET /search): check MUSIM_ITUNES_API_URL" in str(left.value)

    provider_server.clear_faults()
    provider_server.add_fault(r"^/audio/deezer/", Fault("status", status=403))
    with DeezerProvider(provider_server.settings(), sleep=sleeps) as deezer:
        track = deezer.top_tracks(deezer.match_artist("Muse"), limit=1)[0]
        with pytest.raises(ProviderError) as failed:
            deezer.fetch(track)
    assert failed.value.status == 403 and not isinstance(failed.value, ProviderRefused)


def test_a_token_url_that_cannot_be_reached_is_an_outage_not_a_refusal(provider_server, sleeps):
    """Spotify's token URL on a port nothing listens on: a network error (retried, then an outage), never a refusal of
    the credentials (which would leave Spotify out for the run), and the error names the token call, not the search
    it stood in front of ("connection error on GET /search")."""
    import socket

    from musim.acquire.errors import ProviderRefused

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/api/token"
    with SpotifyProvider(provider_server.settings(spotify_token_url=dead), CREDS, sleep=sleeps) as spotify:
        with pytest.raises(ProviderError) as err:
            spotify.match_artist("Muse")
        (attempt,) = resolve_artist([spotify], "Muse").attempts
    assert not isinstance(err.value, ProviderRefused) and err.value.network and err.value.retryable
    assert err.value.reason == "gave up after 3 attempts: connection error on POST token: ConnectionError"
    assert spotify.refused is None and attempt.network and attempt.detail == err.value.reason
    assert provider_server.count(r"^/spotify/v1/") == 0 and len(sleeps.calls) == 4  # 2 waits per call


def test_an_error_answer_spotify_retried_is_no_error_line(provider_server, sleeps, caplog):
    """spotipy logged "ERROR spotipy.client: HTTP Error for GET to ... returned 502" for a call musim retried and that
    then passed (and for every try of one that failed, beside musim's own warning)."""
    provider_server.add_fault(r"^/spotify/v1/search$", Fault("status", status=502, times=1))
    caplog.set_level(logging.DEBUG, logger="spotipy")
    with SpotifyProvider(provider_server.settings(), CREDS, sleep=sleeps) as spotify:
        assert spotify.match_artist("Muse") is not None
    said = [r for r in caplog.records if r.name.startswith("spotipy") and "HTTP Error for" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.DEBUG  # still there with -v
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_page_spotify_answers_instead_of_json_is_an_error_not_no_match(provider_server, sleeps):
    """spotipy reads a body that is not JSON (a portal's page, 200) as None: the artist was "no match", given up."""
    provider_server.add_fault(r"^/spotify/v1/search$", Fault("html"))
    with SpotifyProvider(provider_server.settings(), CREDS, sleep=sleeps) as spotify, \
            pytest.raises(ProviderError, match=r"^spotify: invalid JSON from GET /search$"):
        spotify.match_artist("Muse")


@pytest.mark.parametrize("artist_id", ["../../evil", "1?limit=999#", "7/../../../other"])
def test_an_artist_id_from_an_answer_stays_one_path_segment(provider_server, artist_id):
    """Deezer's and Spotify's artist ids from a search answer went into the next call's path as they were: an id with
    '..', '/', '?' or '#' sent that call elsewhere on the API's host (``../../evil`` asked ``/evil/top``, with
    Spotify's bearer token). Now the id is one percent-encoded segment of ``/artist/ID/top``."""
    from musim.acquire.models import ArtistCandidate, ArtistMatch

    for provider, make, below in (("deezer", DeezerProvider, "/deezer/artist/"),
                                  ("spotify", lambda s: SpotifyProvider(s, CREDS), "/spotify/v1/artists/")):
        match = ArtistMatch(ArtistCandidate(provider, artist_id, "Muse"), 1.0, "exact")
        with make(provider_server.settings()) as client:
            try:
                client.top_tracks(match)
            except ProviderError:  # no such artist (a 404): what matters is where it was asked
                pass
        asked = [r.path for r in provider_server.matching(f"^/{provider}/") if not r.path.endswith(("/search", "/token"))]
        assert asked and all(p.startswith(below) and p.count("/") == below.count("/") + 1 for p in asked), asked
        assert not provider_server.matching(r"^/(evil|other)")


def test_a_deezer_error_message_a_page_long_is_cut(provider_server, sleeps):
    """``{"error": {"message": <5,000 characters>}}``: the whole message went into the error, and so into every error
    line, log line and journal of the artist; the other form (``{"error": "..."}``) was cut to 200 characters."""
    provider_server.add_fault(r"^/deezer/search/artist$", Fault("answer", answer={
        "error": {"type": "Exception" * 100, "message": "busy " + "y" * 5000, "code": 12}}))
    with DeezerProvider(provider_server.settings(), sleep=sleeps) as deezer, pytest.raises(ProviderError) as info:
        deezer.match_artist("Muse")
    assert info.value.reason.startswith("Deezer error 12 Exception") and "busy yyy" in info.value.reason
    assert len(info.value.reason) < 400
