"""Fixtures of the provider-layer tests: the fake provider server, a recording sleep, a clean env."""

from __future__ import annotations

import pytest

from tests.fakes.provider_server import provider_server  # noqa: F401 - a fixture
from tests.storage.conftest import moto_server, s3_env  # noqa: F401 - fixtures (S3 on moto)

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


# -- the acquisition pipeline: a published snapshot with a known catalogue --------------------------------

#: (name, is_placeholder, listeners) of the snapshot's artists; junk ones must never reach the catalogue.
SNAPSHOT_ARTISTS = [
    ("[unknown]", True, 9),          # a placeholder (flagged at ingest)
    ("Radiohead", False, 8),
    ("Various Artists", True, 8),    # a placeholder
    ("Beyoncé", False, 7),
    ("v/a", False, 7),               # junk the catalogue filter catches itself
    (None, False, 6),                # no name: ingest shows it by its MBID
    ("   ", False, 6),               # blank
    ("Muse", False, 5),
    ("Metallica", False, 4),         # unknown to the fake providers
    ("Björk", False, 3),
]
REAL = ["Radiohead", "Beyoncé", "Muse", "Metallica", "Björk"]
DUMP = "d" * 64


def insert_snapshot_artists(con) -> None:
    """The dump DUMP and the artists of SNAPSHOT_ARTISTS (ids 1.., an mbid each), as an ingest leaves them."""
    con.execute("""INSERT INTO lastfm_dump (dump_id, seq, file_name, format, bytes, lines, loaded, rejected,
                   plays_rows, users, artists, started_at, finished_at)
                   VALUES (?, 1, 'plays.tsv', '360k', 1, 63, 63, 0, 63, 9, 10, now(), now())""", [DUMP])
    for i, (name, placeholder, _listeners) in enumerate(SNAPSHOT_ARTISTS, start=1):
        mbid = f"{i:08d}-0000-4000-8000-000000000000"
        shown = mbid if name is None else name
        con.execute("""INSERT INTO artist (artist_id, artist_key, mbid, name, name_norm, is_placeholder,
                       first_dump_id) VALUES (?, ?, ?, ?, ?, ?, ?)""",
                    [i, f"mbid:{mbid}", mbid, shown, " ".join(shown.lower().split()), placeholder, DUMP])


@pytest.fixture(scope="session")
def snapshot_serving_dir(tmp_path_factory):
    """A snapshot published (by :func:`musim.serving.publish`) from a warehouse holding one built dump with
    the artists and listener counts of SNAPSHOT_ARTISTS; built once per session."""
    from musim import serving, warehouse
    from musim.config import get_settings

    home = tmp_path_factory.mktemp("snapshot_home")
    settings = get_settings({"MUSIM_HOME": str(home), "MUSIM_DUCKDB_MEMORY": "1GB", "MUSIM_DUCKDB_THREADS": "2"})
    with warehouse.writer(settings) as con:
        insert_snapshot_artists(con)
        for i, (_name, _placeholder, listeners) in enumerate(SNAPSHOT_ARTISTS, start=1):
            con.execute("INSERT INTO artist_listeners VALUES (?, ?, ?, ?)", [DUMP, i, listeners, 10 * listeners])
        con.execute("""INSERT INTO similarity_build (dump_id, min_listeners, min_co_listeners, k, users, artists, pairs, seed_raw_max, catalogue_size, built_at, seconds) VALUES (?, 1, 1, 5, 9, 10, 0, 1.0, 10, now(), 0.1)""", [DUMP])
        serving.publish(con, settings)
    return settings.serving_dir


@pytest.fixture
def snapshot(snapshot_serving_dir, monkeypatch):
    """The test's MUSIM_HOME reads the session's published snapshot (its own warehouse and objects)."""
    monkeypatch.setenv("MUSIM_SERVING_DIR", str(snapshot_serving_dir))
    return snapshot_serving_dir


def fake_catalogue(tracks: int = 4):
    """The fake providers' artists: the catalogue's real artists but Metallica, ``tracks`` tracks each."""
    from tests.fakes.provider_server import FakeArtist, FakeTrack

    titles = ["First Song", "Second Song", "Third Song", "Fourth Song", "Fifth Song"]
    return [FakeArtist(name, [FakeTrack(t, 200 + 10 * i) for i, t in enumerate(titles[:tracks])], genre, fans)
            for name, genre, fans in (("Radiohead", "Alternative", 2_000_000), ("Beyoncé", "Pop", 5_000_000),
                                      ("Muse", "Rock", 1_500_000), ("Björk", "Electronic", 900_000))]


@pytest.fixture
def fake_server():
    """The fake provider services with :func:`fake_catalogue`."""
    from tests.fakes.provider_server import FakeProviderServer

    with FakeProviderServer(fake_catalogue()) as server:
        yield server


@pytest.fixture
def fake_env(fake_server, monkeypatch):
    """:func:`fake_server` in the environment, as the CLI reads it: its URLs, tiny retry waits, fast limits."""
    for key, value in fake_server.env().items():
        monkeypatch.setenv(key, value)
    for var, value in (("MUSIM_RETRY_INITIAL_S", "0.01"), ("MUSIM_RETRY_MAX_S", "0.02"),
                       ("MUSIM_RETRY_JITTER_S", "0"), ("MUSIM_DOWNLOAD_RATE_LIMIT", "1000/1"),
                       ("MUSIM_DEEZER_RATE_LIMIT", "1000/1")):
        monkeypatch.setenv(var, value)
    return fake_server


def breaker_after(settings, calls: int):
    """``settings`` (:class:`AcquireSettings`) whose providers are taken as down after ``calls`` calls in a row failed
    (``MUSIM_OUTAGE_AFTER``)."""
    return settings.model_copy(update={"retry": settings.retry.model_copy(update={"outage_after": calls})})
