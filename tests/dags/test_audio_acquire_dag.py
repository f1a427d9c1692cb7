"""The audio_acquire DAG through Airflow (`airflow dags test`) against the fake providers on 127.0.0.1: a refusal
that no retry can pass (every provider refusing musim) fails `fetch` at once, without its retries."""

from __future__ import annotations

import re

import pytest

from musim import embedded
from tests.acquire.conftest import fake_server, snapshot, snapshot_serving_dir  # noqa: F401 - fixtures
from tests.dags.airflow_db import airflow_db
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

    with pytest.raises(embedded.AirflowRunError):  # the run fails
        embedded.run_dag("audio_acquire", env, log, {"top_n": 4, "providers": ["spotify", "deezer"],
                                                     "concurrency": 1})
    text = log.read_text(errors="replace")
    # one try: the token URL asked once, Deezer's search once (then both left out), never again
    assert fake_server.count(r"^/spotify/api/token$") == 1, text[-3000:]
    assert fake_server.count(r"^/deezer/search/artist$") == 1 and fake_server.count(r"^/spotify/v1/") == 0
    tries = airflow_db(env, "SELECT state, try_number FROM task_instance WHERE dag_id = 'audio_acquire' "
                            "AND task_id = 'fetch'")
    assert tries == [("failed", 1)]  # its first try, no retry (nor a minute of retry delay) spent
    assert "up_for_retry" not in text.lower()
    said = [line for line in text.splitlines() if "no provider is left:" in line]
    assert said, text[-3000:]
    line = said[-1][said[-1].index("no provider is left:"):]
    assert re.search(r"spotify refused musim's configuration \(client-credentials token refused \(invalid_client\)\)"
                     r".*MUSIM_SPOTIFY_CLIENT_ID.*AIRFLOW_CONN_MUSIM_SPOTIFY", line), line
    assert "deezer refused musim's configuration (HTTP 403 on GET /search/artist): check MUSIM_DEEZER_API_URL" in line
    assert "not retried" in line and "not-the-secret" not in text



def test_a_provider_down_records_what_was_fetched_announces_it_and_fails_the_run_in_one_line(  # noqa: F811
        airflow, snapshot, fake_server):  # noqa: F811
    """Deezer's audio host answers 503 to every preview of Beyoncé (the second batch, its own `fetch` task): the
    host is down, so Beyoncé is left for the next run, no attempt counted. The run ended green (artists pending in
    silence); now Radiohead's previews (the first batch) are recorded and announced, and the run fails, not retried,
    on the line `musim acquire` ends with."""
    env, log = airflow
    env = {k: v for k, v in env.items() if k not in CREDENTIALS}
    env.update(**fake_server.env(), **FAST, MUSIM_SERVING_DIR=str(snapshot))
    beyonce = "|".join(str(fake_server._track_id("deezer", 1, j)) for j in range(4))
    fake_server.add_fault(rf"^/audio/deezer/({beyonce})\.mp3$", Fault("status", status=503))
    _ingested_artists()  # the quality gate's tracks belong to artists of the warehouse, as after an ingest

    with pytest.raises(embedded.AirflowRunError):  # the run fails
        embedded.run_dag("audio_acquire", env, log, {"top_n": 2, "providers": ["deezer"], "batch_size": 1,
                                                     "concurrency": 1, "max_attempts": 1})
    text = log.read_text(errors="replace")
    tries = dict(airflow_db(env, "SELECT task_id || ':' || map_index, state || ' ' || try_number FROM task_instance "
                                 "WHERE dag_id = 'audio_acquire'"))
    # `airflow dags test` runs mapped tasks in no set order: when Beyoncé's batch ran first, Radiohead's found Deezer
    # down already and asked it nothing (left too, nothing stored, no event); else Radiohead's previews are stored
    started = dict(airflow_db(env, "SELECT map_index, start_date FROM task_instance WHERE task_id = 'fetch'"))
    radiohead_first = started[0] < started[1]
    assert tries == {"plan:-1": "success 1", "fetch:0": "success 1", "fetch:1": "success 1", "record:-1": "success 1",
                     "check_quality:-1": "success 1", "emit:-1": "success 1" if radiohead_first else "skipped 1",
                     "outage:-1": "failed 1"}, text[-3000:]
    assert "up_for_retry" not in text.lower()
    assert airflow_db(env, "SELECT count(*) FROM asset_event") == [(int(radiohead_first),)]  # Radiohead's previews
    said = [line for line in text.splitlines() if "deezer unavailable since" in line]
    assert said, text[-3000:]
    line = said[-1][said[-1].index("deezer unavailable since"):]
    left = "1 artist" if radiohead_first else "2 artists"
    assert re.fullmatch(r"deezer unavailable since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(gave up after \d+ attempts: "
                        rf"HTTP 503 server error on preview of track \d+\), {left} left for the next run \(not "
                        r"counted as failed attempts\) \(not retried: the next audio_acquire run asks them again\)",
                        line.strip()), line

    from musim import warehouse

    with warehouse.writer() as con:
        assert dict(con.execute("SELECT name, status || ' ' || attempts FROM acquire_artist").fetchall()) == {
            "Radiohead": "downloaded 0" if radiohead_first else "pending 0", "Beyoncé": "pending 0"}
        assert con.execute("SELECT status, count(*) FROM preview GROUP BY ALL").fetchall() == (
            [("downloaded", 3)] if radiohead_first else [])

    fake_server.clear_faults()  # back: the next run gets Beyoncé's previews, and ends green as before
    embedded.run_dag("audio_acquire", env, log, {"top_n": 2, "providers": ["deezer"], "batch_size": 1,
                                                 "concurrency": 1, "max_attempts": 1})
    assert airflow_db(env, "SELECT count(*) FROM asset_event") == [(int(radiohead_first) + 1,)]
    with warehouse.writer() as con:
        assert dict(con.execute("SELECT name, status || ' ' || attempts FROM acquire_artist").fetchall()) == {
            "Radiohead": "downloaded 0", "Beyoncé": "downloaded 0"}




def test_the_batches_after_every_provider_was_found_down_ask_nothing(airflow, snapshot, fake_server):  # noqa: F811
    """Deezer answers 503 to everything: the first batch's `fetch` finds it down; each mapped `fetch` has its own
    providers, so every later batch asked it again (a run of 40 batches hammered it 40 times). Now, as `musim acquire`,
    the batches after ask nothing, their artists left too; the run fails on the one line."""
    env, log = airflow
    env = {k: v for k, v in env.items() if k not in CREDENTIALS}
    env.update(**fake_server.env(), **FAST, MUSIM_SERVING_DIR=str(snapshot), MUSIM_RETRY_ATTEMPTS="2")
    fake_server.add_fault(r"^/deezer/", Fault("status", status=503))

    with pytest.raises(embedded.AirflowRunError):
        embedded.run_dag("audio_acquire", env, log, {"top_n": 3, "providers": ["deezer"], "batch_size": 1,
                                                     "concurrency": 1})
    text = log.read_text(errors="replace")
    assert fake_server.count(r"^/deezer/") == 2, text[-3000:]  # Radiohead's search, 2 attempts; then nothing
    states = dict(airflow_db(env, "SELECT task_id || ':' || map_index, state FROM task_instance "
                                  "WHERE dag_id = 'audio_acquire'"))
    assert states == {"plan:-1": "success", "fetch:0": "success", "fetch:1": "success", "fetch:2": "success",
                      "record:-1": "success", "check_quality:-1": "success", "emit:-1": "skipped",
                      "outage:-1": "failed"}, text[-3000:]
    assert re.search(r"deezer unavailable since .* UTC \(gave up after 2 attempts: HTTP 503 server error on GET "
                     r"/search/artist\), 3 artists left for the next run \(not counted as failed attempts\)", text)


def test_later_batches_skip_only_the_provider_found_down_and_fetch_from_the_others(airflow, snapshot):  # noqa: F811
    """Deezer answers 503 to everything, iTunes answers (but knows no Beyoncé). Each mapped `fetch` has its own
    providers and skipped a provider only when every one was down, so each batch asked Deezer again (2 tries each,
    6 in all) before its own breaker opened. Now the batches after the first ask only iTunes: Deezer is asked by one
    batch, whichever runs first; Radiohead and Muse come from iTunes, Beyoncé (only Deezer has her) stays pending, no
    attempt counted, and the run fails on the one line naming Deezer. Holds in any order of the mapped tasks."""
    from musim import warehouse
    from tests.acquire.conftest import fake_catalogue
    from tests.fakes.provider_server import FakeProviderServer

    catalogue = fake_catalogue()
    catalogue[1].providers = ("deezer",)  # Beyoncé
    assert catalogue[1].name == "Beyoncé"
    env, log = airflow
    env = {k: v for k, v in env.items() if k not in CREDENTIALS}
    with FakeProviderServer(catalogue) as server:
        env.update(**server.env(), **FAST, MUSIM_SERVING_DIR=str(snapshot), MUSIM_RETRY_ATTEMPTS="2",
                   MUSIM_ITUNES_RATE_LIMIT="1000/1")
        server.add_fault(r"^/deezer/", Fault("status", status=503))
        _ingested_artists()
        with pytest.raises(embedded.AirflowRunError):
            embedded.run_dag("audio_acquire", env, log, {"top_n": 3, "providers": ["deezer", "itunes"],
                                                         "batch_size": 1, "concurrency": 1, "max_attempts": 1})
        text = log.read_text(errors="replace")
        assert server.count(r"^/deezer/") == 2, text[-3000:]  # one batch's search, 2 tries; then never again
        assert server.count(r"^/itunes/search$") == 3 and server.count(r"^/audio/itunes/") == 6
    states = dict(airflow_db(env, "SELECT task_id || ':' || map_index, state FROM task_instance "
                                  "WHERE dag_id = 'audio_acquire'"))
    assert states == {"plan:-1": "success", "fetch:0": "success", "fetch:1": "success", "fetch:2": "success",
                      "record:-1": "success", "check_quality:-1": "success", "emit:-1": "success",
                      "outage:-1": "failed"}, text[-3000:]
    said = [line for line in text.splitlines() if "deezer unavailable since" in line and "not retried" in line]
    assert said, text[-3000:]
    line = said[-1][said[-1].index("deezer unavailable since"):]
    assert re.fullmatch(r"deezer unavailable since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(gave up after 2 attempts: HTTP "
                        r"503 server error on GET /search/artist\), 1 artist left for the next run \(not counted as "
                        r"failed attempts\) \(not retried: the next audio_acquire run asks them again\)",
                        line.strip()), line
    assert "itunes unavailable" not in text
    with warehouse.writer() as con:
        assert dict(con.execute("SELECT name, status || ' ' || attempts FROM acquire_artist").fetchall()) == {
            "Radiohead": "downloaded 0", "Beyoncé": "pending 0", "Muse": "downloaded 0"}
        assert con.execute("SELECT provider, count(*) FROM track GROUP BY ALL").fetchall() == [("itunes", 6)]


def _ingested_artists() -> None:
    """The snapshot's dump and artists in the test's own warehouse, as the ingest that built the snapshot left them."""
    from musim import warehouse
    from tests.acquire.conftest import insert_snapshot_artists

    with warehouse.writer() as con:
        insert_snapshot_artists(con)

CHILD = r"""
import json, sys, types
from airflow.sdk.exceptions import AirflowFailException
sys.path.insert(0, "dags")
import audio_acquire

fetch = audio_acquire.audio_acquire().get_task("fetch")
batch = {"batch_id": sys.argv[1], "providers": [sys.argv[2]], "per_artist": 1,
         "artists": [{"artist_id": 1, "name": "Muse", "known": {}}]}
# the fields of Airflow's task instance that the task reads (Airflow passes `ti` to a task function asking for it)
ti = types.SimpleNamespace(try_number=int(sys.argv[3]), max_tries=int(sys.argv[4])) if len(sys.argv) > 3 else None
try:
    out = fetch.python_callable(batch, params={"concurrency": 1}, ti=ti)
    print(json.dumps(["returned", out["counts"], out["journals"], sorted(out["unavailable"])]))
except AirflowFailException as exc:
    print(json.dumps(["failed, not retried", str(exc)]))
except Exception as exc:
    print(json.dumps(["raised, retried", type(exc).__name__, fetch.partial_kwargs["retries"], str(exc)]))
"""


def _fetch_in_airflow(tmp_path, env: dict[str, str], batch_id: str, provider: str, *tries: int) -> list:
    import json
    import os
    import subprocess
    import sys

    from musim.embedded import REPO

    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path / 'never-used.db'}", PYTHONPATH=str(REPO),
               **env)
    for var in CREDENTIALS:
        env.pop(var, None)
    proc = subprocess.run([sys.executable, "-c", CHILD, batch_id, provider, *map(str, tries)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_fetch_fails_a_refusal_without_retries_and_leaves_a_network_error_to_its_retries(tmp_path, fake_server,  # noqa: F811
                                                                                        musim_home):
    """The task's wiring maps only what no retry can pass to AirflowFailException: the object store unreachable
    (a network error) still raises as it is, and the task's retries take it."""
    import socket

    refused = _fetch_in_airflow(tmp_path, {**fake_server.env(), **FAST, "MUSIM_HOME": str(musim_home),
                                           "MUSIM_SPOTIFY_CLIENT_ID": "fake-client-id",
                                           "MUSIM_SPOTIFY_CLIENT_SECRET": "not-the-secret"}, "b1", "spotify")
    assert refused[0] == "failed, not retried" and refused[1].startswith("no provider is left: spotify refused")
    assert refused[1].endswith("(not retried: fix it, then trigger audio_acquire again)")

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    unreachable = _fetch_in_airflow(tmp_path, {**fake_server.env(), **FAST, "MUSIM_HOME": str(musim_home),
                                               "MUSIM_OBJECT_STORE": "s3://bucket/musim", "MUSIM_S3_ENDPOINT_URL": dead,
                                               "MUSIM_S3_MAX_ATTEMPTS": "1", "MUSIM_S3_CONNECT_TIMEOUT": "1",
                                               "MUSIM_S3_AIRFLOW_LOOKUP": "never", "AWS_ACCESS_KEY_ID": "a",
                                               "AWS_SECRET_ACCESS_KEY": "b", "AWS_REGION": "us-east-1",
                                               "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE":
                                               "/nonexistent"}, "b2", "deezer")
    assert unreachable[:3] == ["raised, retried", "StorageUnavailable", 2]


def test_fetch_of_a_batch_that_reaches_no_provider_returns_it_down_not_its_artists_failed(tmp_path, fake_server,  # noqa: F811
                                                                                           musim_home):
    """Every lookup of the batch refused (nothing listens on the provider's port): `fetch` journaled the artists
    failed (an attempt counted each) and raised to its retries, so an outage lasting days gave the artists up. Now
    the provider is down, as one answering 503: `fetch` returns, nothing journaled, the artist left (the `outage`
    task then fails the run on the one line)."""
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    env = {**fake_server.env(), **FAST, "MUSIM_HOME": str(musim_home), "MUSIM_DEEZER_API_URL": f"{dead}/deezer",
           "MUSIM_RETRY_ATTEMPTS": "2"}
    assert _fetch_in_airflow(tmp_path, env, "b3", "deezer", 1, 2) == ["returned", {"artists_left": 1}, [], ["deezer"]]


def test_fetch_of_a_batch_whose_audio_host_is_unreachable_returns_it_down(tmp_path, fake_server, musim_home):  # noqa: F811
    """The lookups answered, every preview download refused (the previews' host down): the same, on its last try
    too."""
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    env = {**fake_server.env(), **FAST, "MUSIM_HOME": str(musim_home), "MUSIM_RETRY_ATTEMPTS": "2"}
    fake_server.move_audio(dead)
    assert _fetch_in_airflow(tmp_path, env, "b4", "deezer", 3, 2) == ["returned", {"artists_left": 1}, [], ["deezer"]]
    assert fake_server.count(r"^/deezer/search/artist$") == 1 and fake_server.count(r"^/audio/") == 0


