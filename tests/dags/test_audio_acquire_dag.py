"""The audio_acquire DAG through Airflow (`airflow dags test`) against the fake providers on 127.0.0.1: a refusal
that no retry can pass (every provider refusing musim) fails `fetch` at once, without its retries."""

from __future__ import annotations

import re
import time

import pytest

from musim import embedded
from tests.acquire.conftest import fake_server, snapshot, snapshot_serving_dir  # noqa: F401 - fixtures
from tests.fakes.provider_server import Fault

pytestmark = [pytest.mark.slow, pytest.mark.server]

FAST = {"MUSIM_RETRY_INITIAL_S": "0.01", "MUSIM_RETRY_MAX_S": "0.02", "MUSIM_RETRY_JITTER_S": "0",
        "MUSIM_DOWNLOAD_RATE_LIMIT": "1000/1", "MUSIM_DEEZER_RATE_LIMIT": "1000/1"}
CREDENTIALS = ("SPOTIPY_CLIENT_ID", "SPOTIPY_CLIENT_SECRET", "AIRFLOW_CONN_MUSIM_SPOTIFY", "MUSIM_ACQUIRE_PROVIDERS",
               "MUSIM_LOCAL_MUSIC_DIR")


def test_every_provider_refusing_fails_fetch_once_without_retries(airflow, snapshot, fake_server):  # noqa: F811
    """Spotify's token URL refusing the client credentials and Deezer's API answering 403: no retry can pass, so
    `fetch` fails on its first try (no retry, no minute of retry delay) with one line naming both and what to set."""
    env, log = airflow
    env = {k: v for k, v in env.items() if k not in CREDENTIALS}
    env.update(**fake_server.env(), **FAST, MUSIM_SERVING_DIR=str(snapshot), MUSIM_SPOTIFY_CLIENT_ID="fake-client-id",
               MUSIM_SPOTIFY_CLIENT_SECRET="not-the-secret")
    fake_server.add_fault(r"^/deezer/", Fault("status", status=403))

    started = time.perf_counter()
    with pytest.raises(embedded.AirflowRunError):  # the run fails
        embedded.run_dag("audio_acquire", env, log, {"top_n": 4, "providers": ["spotify", "deezer"],
                                                     "concurrency": 1})
    seconds = time.perf_counter() - started
    text = log.read_text(errors="replace")
    # one try: the token URL asked once, Deezer's search once (then both left out), never again
    assert fake_server.count(r"^/spotify/api/token$") == 1, text[-3000:]
    assert fake_server.count(r"^/deezer/search/artist$") == 1 and fake_server.count(r"^/spotify/v1/") == 0
    assert seconds < 60  # no retry delay (a minute) was waited
    assert "up_for_retry" not in text.lower()
    said = [line for line in text.splitlines() if "no provider is left:" in line]
    assert said, text[-3000:]
    line = said[-1][said[-1].index("no provider is left:"):]
    assert re.search(r"spotify refused musim's configuration \(client-credentials token refused \(invalid_client\)\)"
                     r".*MUSIM_SPOTIFY_CLIENT_ID.*AIRFLOW_CONN_MUSIM_SPOTIFY", line), line
    assert "deezer refused musim's configuration (HTTP 403 on GET /search/artist): check MUSIM_DEEZER_API_URL" in line
    assert "not retried" in line and "not-the-secret" not in text
