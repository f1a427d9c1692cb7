"""Fixtures of the provider-layer tests: the fake provider server, a recording sleep, a clean env."""

from __future__ import annotations

import pytest

from tests.fakes.provider_server import provider_server  # noqa: F401 - a fixture

CREDENTIAL_VARS = (
    "SPOTIPY_CLIENT_ID",
    "SPOTIPY_CLIENT_SECRET",
    "MUSIM_SPOTIFY_CLIENT_ID",
    "MUSIM_SPOTIFY_CLIENT_SECRET",
    "AIRFLOW_CONN_MUSIM_SPOTIFY",
    "MUSIM_LOCAL_MUSIC_DIR",
    "MUSIM_ACQUIRE_PROVIDERS",
)


@pytest.fixture(autouse=True)
def _no_outside_credentials(monkeypatch):
    """Credentials or provider settings of the machine running the tests never leak in."""
    for var in CREDENTIAL_VARS:
        monkeypatch.delenv(var, raising=False)


class SleepRecorder:
    """A ``sleep`` that records the waits asked for and returns at once."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()
