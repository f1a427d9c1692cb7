"""A good warehouse, built once per session and copied into each test's MUSIM_HOME, and ways to break it.

The warehouse holds one small synthetic 360K dump (with profiles and a few quirky lines), its similarity
build, and two acquired tracks with spectrograms (real .npy objects in the local store) and descriptors,
so every built-in suite has rows to check.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path

import numpy as np
import pytest

from musim import warehouse
from musim.config import get_settings
from musim.ingest.lastfm import ingest_lastfm
from musim.similarity.build import SimilarityParams, build
from musim.storage import open_store
from musim.synth.lastfm import write_lastfm_dump

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def add_audio(con, store) -> None:
    """Two tracks of two known artists: previews, tracks, log-mel objects, descriptors (of the registry's
    ``track_descriptors`` view) and a feature service over them."""
    from musim.features.definitions import track_descriptors
    from musim.features.registry import FeatureService, register_service

    con.execute("""INSERT INTO feature_params VALUES ('p1', 'log_mel', '{"n_mels": 4}', now()),
                                                      (?, 'descriptors', '{}', now())""",
                [track_descriptors.params_hash])
    for i, artist_id in enumerate((1, 2)):
        sha = f"{i:064x}".replace("0", "a", 10)
        track_id = f"{i:016x}"
        key = f"audio/previews/{sha}.mp3"
        con.execute("""INSERT INTO preview (track_id, artist_id, provider, provider_track_id, title, status, attempts,
                           object_key, sha256, bytes, duration_s, sample_rate, channels, format, excerpt_offset_s,
                           excerpt_duration_s)
                       VALUES (?, ?, 'deezer', ?, 'Song', 'downloaded', 1, ?, ?, 1000, 30.0, 44100, 2, 'mp3', 0, 30)""",
                    [track_id, artist_id, str(i), key, sha])
        con.execute("""INSERT INTO track VALUES (?, ?, 'Song', NULL, 'deezer', ?, 1, ?, ?, 'mp3', 30.0, 44100, 2,
                                                 0.0, 30.0, ?)""", [track_id, artist_id, str(i), key, sha, NOW])
        arr = np.linspace(-80, 0, 8 * 4, dtype=np.float16).reshape(8, 4)
        buf = io.BytesIO()
        np.save(buf, arr)
        mel_key = f"features/mel/p1/{sha}.npy"
        store.put_bytes(mel_key, buf.getvalue())
        con.execute("""INSERT INTO track_mel VALUES ('log_mel', 'p1', ?, ?, ?, ?, [8, 4], 'float16', -80, 0, ?, 'r1', ?)""",
                    [track_id, sha, sha, mel_key, len(buf.getvalue()), NOW])
        con.execute("""INSERT INTO track_descriptors VALUES (?, ?, ?, ?, ?, 9, 'A minor', 'r1', ?)""",
                    [track_descriptors.params_hash, track_id, sha, sha, [0.5 + 0.25 * i] * track_descriptors.dim, NOW])
    register_service(con, FeatureService("q_training", (track_descriptors,), description="test service"))


@pytest.fixture(scope="session")
def good_template(tmp_path_factory) -> Path:
    """MUSIM_HOME of a good warehouse (built once)."""
    home = tmp_path_factory.mktemp("quality_good")
    settings = get_settings({"MUSIM_HOME": str(home), "MUSIM_DUCKDB_MEMORY": "2GB", "MUSIM_DUCKDB_THREADS": "2"})
    s = write_lastfm_dump(home / "dump", users=300, artists=50, communities=3, quirks=0.005, seed=3,
                          max_artists_per_user=20)
    ingest_lastfm(s.plays_path, profiles=s.profiles_path, settings=settings)
    build(params=SimilarityParams(min_listeners=5, min_co_listeners=2, k=5, catalogue_size=20), settings=settings)
    with warehouse.writer(settings) as con:
        add_audio(con, open_store(settings.storage.object_store))
    return home


@pytest.fixture
def good(good_template, musim_home) -> Path:
    """This test's MUSIM_HOME, holding a copy of the good warehouse and its objects."""
    shutil.copy(good_template / "warehouse.duckdb", musim_home / "warehouse.duckdb")
    shutil.copytree(good_template / "objects", musim_home / "objects", dirs_exist_ok=True)
    return musim_home


def drop_constraints(con, table: str) -> None:
    """Recreate ``table`` without its keys and checks, so a test can store what they would refuse."""
    con.execute(f"CREATE TABLE q_copy AS SELECT * FROM {table}")
    con.execute(f"DROP TABLE {table}")
    con.execute(f"ALTER TABLE q_copy RENAME TO {table}")
