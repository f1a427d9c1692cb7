"""Fixtures of the feature-store tests: a small extracted catalogue shared by the read-only tests, and a
fresh warehouse + local store per test for the tests that change things.

Extraction runs on two worker processes; the parent warms librosa up once per session so every later
pool starts warm (see musim.features.pool.warm_up).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import pytest

from musim import warehouse
from musim.config import get_settings
from musim.features import BuildOptions, BuildResult, build
from musim.storage import ObjectStore, open_store
from tests.features.helpers import Catalogue, clip, corrupt_bytes, encode, silent_bytes
from tests.storage.conftest import moto_server, s3_env  # noqa: F401 - fixtures (S3 on moto)

OPTIONS = BuildOptions(workers=2, progress=False)


@dataclass
class Built:
    """The shared catalogue after one build."""

    con: duckdb.DuckDBPyConnection
    store: ObjectStore
    result: BuildResult
    keys: dict[str, str]  # track_id -> preview object key


def add_standard_tracks(cat: Catalogue) -> dict[str, str]:
    """Three good tracks of two artists (one mp3), a windowed local track, and three unusable previews."""
    keys = {
        "a1t1": cat.add_clip("a1t1", 1, community=0, track_no=1),
        "a1t2": cat.add_clip("a1t2", 1, community=0, track_no=2, fmt="mp3"),
        "a2t1": cat.add_clip("a2t1", 2, community=4, track_no=1),
        # a local whole track: 12 s stored, the 6 s from 3 s on are analysed
        "a2local": cat.add("a2local", 2, encode(clip(4, 1002, 3, 12.0)), duration_s=12.0, offset_s=3.0,
                           excerpt_s=6.0),
        "bad": cat.add("bad", 3, corrupt_bytes(), fmt="mp3", duration_s=6.0),
        "quiet": cat.add("quiet", 3, silent_bytes(), duration_s=6.0),
        "short": cat.add("short", 3, encode(clip(2, 1003, 1, 2.0)), duration_s=2.0),
    }
    return keys


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Iterator[Built]:
    """One extraction over the standard tracks, in its own MUSIM_HOME (read-only for the tests using it)."""
    home = tmp_path_factory.mktemp("features_shared")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MUSIM_HOME", str(home))
        mp.setenv("MUSIM_DUCKDB_THREADS", "2")
        mp.setenv("MUSIM_DUCKDB_MEMORY", "1GB")
        for var in ("MUSIM_WAREHOUSE", "MUSIM_OBJECT_STORE", "MUSIM_SERVING_DIR", "MUSIM_TMP"):
            mp.delenv(var, raising=False)
        settings = get_settings()
        con = warehouse.connect(settings=settings)
        store = open_store(settings.storage.object_store)
        keys = add_standard_tracks(Catalogue(con, store))
        result = build(con=con, store=store, options=OPTIONS, publish=False)
    yield Built(con, store, result, keys)
    con.close()


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """The per-test warehouse (under the per-test MUSIM_HOME), migrated."""
    c = warehouse.connect()
    yield c
    c.close()


#: Artist ids the per-test warehouse of ``artist_con`` holds (vectors are pushed only for known entities).
TEST_ARTISTS = 5000


@pytest.fixture
def artist_con(con) -> duckdb.DuckDBPyConnection:
    """The per-test warehouse with artists 0 .. TEST_ARTISTS - 1 (bare rows, as an ingested dump leaves them)."""
    con.execute("INSERT INTO artist (artist_id, artist_key, name, name_norm, first_dump_id) "
                "SELECT i, 'artist-' || i, 'Artist ' || i, 'artist ' || i, 'test' FROM range(?) t(i)",
                [TEST_ARTISTS])
    return con


@pytest.fixture
def store() -> ObjectStore:
    return open_store()


@pytest.fixture
def catalogue(con, store) -> Catalogue:
    return Catalogue(con, store)
