"""The acquire section of the settings: real endpoints by default, everything overridable, bad values named."""

from __future__ import annotations

import pytest

from musim.acquire import RateLimit
from musim.config import get_settings
from musim.errors import ConfigError


def acquire_settings(env):
    return get_settings(env).acquire


def test_defaults_are_the_real_public_endpoints():
    s = acquire_settings({})
    assert s.deezer_url == "https://api.deezer.com"
    assert s.itunes_url == "https://itunes.apple.com"
    assert s.spotify_api_url == "https://api.spotify.com/v1/"
    assert s.spotify_token_url == "https://accounts.spotify.com/api/token"
    assert s.order == ("local", "deezer", "itunes", "spotify") and s.local_dir is None
    assert s.rate_limit("deezer") == RateLimit(50, 5.0) and s.rate_limit("itunes") == RateLimit(20, 60.0)


def test_everything_is_overridable():
    s = acquire_settings({
        "MUSIM_ACQUIRE_PROVIDERS": " Spotify , deezer",
        "MUSIM_DEEZER_API_URL": "http://127.0.0.1:1/deezer",
        "MUSIM_SPOTIFY_TOKEN_URL": "http://127.0.0.1:1/token",
        "MUSIM_DEEZER_RATE_LIMIT": "5/0.5",
        "MUSIM_RETRY_ATTEMPTS": "2",
        "MUSIM_MATCH_THRESHOLD": "0.9",
        "MUSIM_EXCERPT_ANCHOR": "0.25",
        "MUSIM_LOCAL_MUSIC_DIR": "/music",
    })
    assert s.order == ("spotify", "deezer") and s.deezer_url.endswith("/deezer")
    assert s.spotify_token_url.endswith("/token") and s.rate_limit("deezer") == RateLimit(5, 0.5)
    assert s.retry.max_attempts == 2 and s.match_threshold == 0.9 and s.excerpt_anchor == 0.25
    assert str(s.local_dir) == "/music"
    assert acquire_settings({"MUSIM_EXCERPT_ANCHOR": "end"}).excerpt_anchor == "end"


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("MUSIM_ACQUIRE_PROVIDERS", "deezer,napster"),
        ("MUSIM_DEEZER_RATE_LIMIT", "fast"),
        ("MUSIM_ITUNES_RATE_LIMIT", "0/60"),
        ("MUSIM_MATCH_THRESHOLD", "high"),
        ("MUSIM_MATCH_THRESHOLD", "85"),
        ("MUSIM_RETRY_ATTEMPTS", "0"),
    ],
)
def test_bad_values_are_config_errors(var, value):
    with pytest.raises(ConfigError, match=var):
        acquire_settings({var: value})
