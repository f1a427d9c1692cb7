"""Settings of the provider layer, read from the environment with defaults that reach the real services.

==============================  ==========================================  ===================================
variable                        default                                     meaning
==============================  ==========================================  ===================================
``MUSIM_ACQUIRE_PROVIDERS``     ``local,deezer,itunes,spotify``             provider order (first wins)
``MUSIM_DEEZER_API_URL``        ``https://api.deezer.com``                  Deezer API base URL
``MUSIM_ITUNES_API_URL``        ``https://itunes.apple.com``                iTunes Search base URL
``MUSIM_SPOTIFY_API_URL``       ``https://api.spotify.com/v1/``             Spotify Web API prefix
``MUSIM_SPOTIFY_TOKEN_URL``     ``https://accounts.spotify.com/api/token``  client-credentials token URL
``MUSIM_SPOTIFY_MARKET``        ``US``                                      market of Spotify top tracks
``MUSIM_ITUNES_COUNTRY``        ``US``                                      iTunes store country
``MUSIM_LOCAL_MUSIC_DIR``       (unset: local provider off)                 a folder of the user's own music
``MUSIM_MATCH_THRESHOLD``       ``0.85``                                    fuzzy artist-name match threshold
``MUSIM_<P>_RATE_LIMIT``        deezer ``50/5``, itunes ``20/60``,          ``calls/seconds`` per provider
                                spotify ``20/10``, download ``10/1``        (``P`` = DEEZER, ITUNES, ...)
``MUSIM_HTTP_TIMEOUT_S``        ``10``                                      connect/read timeout per request
``MUSIM_RETRY_ATTEMPTS``        ``5``                                       attempts per call, first included
``MUSIM_RETRY_INITIAL_S``       ``1``                                       first backoff wait (doubles)
``MUSIM_RETRY_MAX_S``           ``30``                                      longest backoff wait
``MUSIM_RETRY_JITTER_S``        ``1``                                       random extra wait, up to this
``MUSIM_RETRY_AFTER_MAX_S``     ``120``                                     longest ``Retry-After`` honoured
``MUSIM_EXCERPT_S``             ``30``                                      analysis window of local files
``MUSIM_EXCERPT_ANCHOR``        ``middle``                                  ``start``/``middle``/``end``/0..1
==============================  ==========================================  ===================================

Spotify credentials are read separately (:func:`musim.acquire.providers.spotify.spotify_credentials`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from musim.errors import ConfigError

KNOWN_PROVIDERS = ("local", "deezer", "itunes", "spotify")


@dataclass(frozen=True)
class RateLimit:
    """At most ``calls`` requests in any window of ``period_s`` seconds."""

    calls: int
    period_s: float

    @classmethod
    def parse(cls, text: str, *, name: str = "rate limit") -> RateLimit:
        """Parse ``"calls/seconds"`` (e.g. ``"50/5"``)."""
        try:
            calls_s, period_s = text.split("/")
            limit = cls(int(calls_s), float(period_s))
        except ValueError:
            raise ConfigError(f"{name} must look like CALLS/SECONDS (e.g. 50/5), got {text!r}") from None
        if limit.calls < 1 or not limit.period_s > 0:
            raise ConfigError(f"{name} needs CALLS >= 1 and SECONDS > 0, got {text!r}")
        return limit


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: wait ``min(initial_s * 2**n, max_s) + U(0, jitter_s)``.

    A ``Retry-After`` from the server replaces the computed wait, up to ``max_retry_after_s``; a longer
    one is not waited for (the call fails at once, retryable later).
    """

    max_attempts: int = 5
    initial_s: float = 1.0
    max_s: float = 30.0
    jitter_s: float = 1.0
    max_retry_after_s: float = 120.0


@dataclass(frozen=True)
class AcquireSettings:
    """Everything the providers need; build with :func:`acquire_settings`, adjust with ``replace``."""

    order: tuple[str, ...] = KNOWN_PROVIDERS
    deezer_url: str = "https://api.deezer.com"
    itunes_url: str = "https://itunes.apple.com"
    spotify_api_url: str = "https://api.spotify.com/v1/"
    spotify_token_url: str = "https://accounts.spotify.com/api/token"
    spotify_market: str = "US"
    itunes_country: str = "US"
    local_dir: Path | None = None
    match_threshold: float = 0.85
    rate_limits: Mapping[str, RateLimit] = field(
        default_factory=lambda: {
            "deezer": RateLimit(50, 5.0),
            "itunes": RateLimit(20, 60.0),
            "spotify": RateLimit(20, 10.0),
            "download": RateLimit(10, 1.0),
        }
    )
    timeout_s: float = 10.0
    retry: RetryPolicy = RetryPolicy()
    excerpt_s: float = 30.0
    excerpt_anchor: str | float = "middle"

    def rate_limit(self, name: str) -> RateLimit:
        """The limit for ``name`` (a provider or ``"download"``); one call per second if unset."""
        return self.rate_limits.get(name, RateLimit(1, 1.0))


def _number(env: Mapping[str, str], var: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.get(var)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{var} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{var} must be >= {minimum}, got {raw!r}")
    return value


def acquire_settings(env: Mapping[str, str] | None = None) -> AcquireSettings:
    """Read :class:`AcquireSettings` from ``env`` (default ``os.environ``); nothing is cached."""
    env = os.environ if env is None else env
    base = AcquireSettings()
    order = tuple(p.strip().lower() for p in (env.get("MUSIM_ACQUIRE_PROVIDERS") or ",".join(base.order)).split(",") if p.strip())
    unknown = sorted(set(order) - set(KNOWN_PROVIDERS))
    if unknown or not order:
        raise ConfigError(f"MUSIM_ACQUIRE_PROVIDERS: unknown or no providers {unknown}; known: {KNOWN_PROVIDERS}")
    limits = dict(base.rate_limits)
    for name in limits:
        var = f"MUSIM_{name.upper()}_RATE_LIMIT"
        if env.get(var):
            limits[name] = RateLimit.parse(env[var], name=var)
    anchor_raw = env.get("MUSIM_EXCERPT_ANCHOR") or "middle"
    anchor: str | float = anchor_raw if anchor_raw in ("start", "middle", "end") else _number(env, "MUSIM_EXCERPT_ANCHOR", 0.5)
    threshold = _number(env, "MUSIM_MATCH_THRESHOLD", base.match_threshold)
    if threshold > 1:
        raise ConfigError(f"MUSIM_MATCH_THRESHOLD must be in [0, 1], got {threshold}")
    local = env.get("MUSIM_LOCAL_MUSIC_DIR")
    return AcquireSettings(
        order=order,
        deezer_url=env.get("MUSIM_DEEZER_API_URL") or base.deezer_url,
        itunes_url=env.get("MUSIM_ITUNES_API_URL") or base.itunes_url,
        spotify_api_url=env.get("MUSIM_SPOTIFY_API_URL") or base.spotify_api_url,
        spotify_token_url=env.get("MUSIM_SPOTIFY_TOKEN_URL") or base.spotify_token_url,
        spotify_market=env.get("MUSIM_SPOTIFY_MARKET") or base.spotify_market,
        itunes_country=env.get("MUSIM_ITUNES_COUNTRY") or base.itunes_country,
        local_dir=Path(local).expanduser() if local else None,
        match_threshold=threshold,
        rate_limits=limits,
        timeout_s=_number(env, "MUSIM_HTTP_TIMEOUT_S", base.timeout_s, minimum=0.001),
        retry=RetryPolicy(
            max_attempts=int(_number(env, "MUSIM_RETRY_ATTEMPTS", base.retry.max_attempts, minimum=1)),
            initial_s=_number(env, "MUSIM_RETRY_INITIAL_S", base.retry.initial_s),
            max_s=_number(env, "MUSIM_RETRY_MAX_S", base.retry.max_s),
            jitter_s=_number(env, "MUSIM_RETRY_JITTER_S", base.retry.jitter_s),
            max_retry_after_s=_number(env, "MUSIM_RETRY_AFTER_MAX_S", base.retry.max_retry_after_s),
        ),
        excerpt_s=_number(env, "MUSIM_EXCERPT_S", base.excerpt_s, minimum=0.001),
        excerpt_anchor=anchor,
    )
