"""The providers and :func:`build_providers`, which makes them in the configured order."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from musim.acquire.providers.base import HttpProvider, Provider
from musim.acquire.providers.deezer import DeezerProvider
from musim.acquire.providers.itunes import ItunesProvider
from musim.acquire.providers.local import LocalFolderProvider
from musim.acquire.providers.spotify import (
    CREDENTIAL_HELP,
    SpotifyProvider,
    half_credentials,
    spotify_credentials,
)
from musim.config import AcquireSettings, get_settings
from musim.errors import ConfigError, ParameterError

log = logging.getLogger(__name__)

__all__ = [
    "DeezerProvider",
    "HttpProvider",
    "ItunesProvider",
    "LocalFolderProvider",
    "Provider",
    "SpotifyProvider",
    "build_providers",
    "open_providers",
    "provider_settings",
]


def build_providers(
    settings: AcquireSettings | None = None,
    *,
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] | None = None,
    skipped: list[tuple[int, str]] | None = None,
) -> list[Provider]:
    """Make the providers of ``settings.order`` (default: from the environment), in that order.

    A provider that cannot run here is left out, saying why (Spotify without credentials, the local folder
    without ``MUSIM_LOCAL_MUSIC_DIR``): appended to ``skipped`` as (log level, why) where given, else logged; at
    WARNING where the order was asked for (``--provider``, ``MUSIM_ACQUIRE_PROVIDERS``, a DAG's providers), at INFO
    where the provider is only in the default order (every provider). Credentials are read
    from the settings of ``env`` (default ``os.environ``) and never logged. ``sleep`` is used for retry
    waits (default: each client's stop signal's, cut short when the run is stopped; tests pass a fast one).
    """

    def skip(level: int, why: str) -> None:
        if skipped is None:
            log.log(level, why)
        else:
            skipped.append((level, why))

    everything = get_settings(env)
    settings = settings or everything.acquire
    level = logging.WARNING if "order" in settings.model_fields_set else logging.INFO  # asked for, or the default
    providers: list[Provider] = []
    for name in settings.order:
        if name == "deezer":
            providers.append(DeezerProvider(settings, sleep=sleep))
        elif name == "itunes":
            providers.append(ItunesProvider(settings, sleep=sleep))
        elif name == "spotify":
            creds = spotify_credentials(everything)
            if creds is None:
                skip(level, f"spotify provider skipped: {half_credentials(everything) or 'no credentials'}; "
                            f"{CREDENTIAL_HELP}")
                continue
            providers.append(SpotifyProvider(settings, creds, sleep=sleep))
        elif name == "local":
            if settings.local_dir is None:
                skip(level, "local provider skipped: MUSIM_LOCAL_MUSIC_DIR is not set (or pass --path)")
                continue
            providers.append(LocalFolderProvider(settings))
    return providers


def provider_settings(providers: Sequence[str] | None = None, local_dir: str | Path | None = None,
                      base: AcquireSettings | None = None) -> AcquireSettings:
    """``base`` (default: from the environment) with the provider order and local folder overridden."""
    base = base or get_settings().acquire
    changes: dict[str, Any] = {}
    if providers:
        twice = sorted({name for name in providers if list(providers).count(name) > 1})
        if twice:  # asked twice, each failure was said twice and the same API asked again for every artist
            raise ParameterError(f"provider {', '.join(twice)} is given twice ({','.join(providers)}): give each "
                                 "provider once, in the order to ask them")
        changes["order"] = tuple(providers)
    if local_dir is not None and not str(local_dir).strip():  # an unset variable, not "no folder" (the network)
        raise ParameterError("the local music folder is empty (an unset variable?): give the folder that holds the "
                             "music")
    if local_dir:
        changes["local_dir"] = Path(local_dir).expanduser()
    return base.model_copy(update=changes) if changes else base


def open_providers(providers: Sequence[str] | None = None, local_dir: str | Path | None = None,
                   base: AcquireSettings | None = None, *, say_skipped: bool = True) -> list:
    """Build the providers that can run here, in order; :class:`ConfigError` if none can. A provider left out
    (Spotify without credentials) is logged, unless ``say_skipped`` is false (a run opening them a second time)."""
    settings = provider_settings(providers, local_dir, base)
    skipped: list[tuple[int, str]] = []
    built = build_providers(settings, skipped=skipped)
    if not built:  # one line saying why, not a warning for each provider and then the error
        raise ConfigError(f"no audio provider can run with providers={list(settings.order)}: "
                          + "; ".join(why for _, why in skipped))
    for level, why in skipped if say_skipped else ():
        log.log(level, why)
    return built
