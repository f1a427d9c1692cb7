"""The providers and :func:`build_providers`, which makes them in the configured order."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

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

log = logging.getLogger(__name__)

__all__ = [
    "DeezerProvider",
    "HttpProvider",
    "ItunesProvider",
    "LocalFolderProvider",
    "Provider",
    "SpotifyProvider",
    "build_providers",
]


def build_providers(
    settings: AcquireSettings | None = None,
    *,
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    skipped: list[tuple[int, str]] | None = None,
) -> list[Provider]:
    """Make the providers of ``settings.order`` (default: from the environment), in that order.

    A provider that cannot run here is left out, saying why (Spotify without credentials, the local folder
    without ``MUSIM_LOCAL_MUSIC_DIR``): appended to ``skipped`` as (log level, why) where given, else logged; at
    WARNING where the order was asked for (``--provider``, ``MUSIM_ACQUIRE_PROVIDERS``, a DAG's providers), at INFO
    where the provider is only in the default order (every provider). Credentials are read
    from the settings of ``env`` (default ``os.environ``) and never logged. ``sleep`` is used for retry waits
    (tests pass a fast one).
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
