"""Small generated previews in an object store, with their `track` rows, for the feature-store tests."""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from musim.storage import ObjectStore
from musim.synth.files import write_clip
from musim.synth.sound import synthesize_clip

SR = 22050


def encode(y: np.ndarray, fmt: str = "wav", sr: int = SR) -> bytes:
    """Audio samples encoded as ``fmt`` bytes."""
    if fmt == "wav":
        import soundfile as sf

        buf = io.BytesIO()
        sf.write(buf, y, sr, format="WAV", subtype="PCM_16")
        return buf.getvalue()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_clip(Path(tmp) / f"clip.{fmt}", y, sr=sr, format=fmt)
        return path.read_bytes()


def clip(community: int, artist_seed: int, track_no: int, duration: float = 6.0) -> np.ndarray:
    return synthesize_clip(community=community, artist_seed=artist_seed, track_no=track_no, sr=SR,
                           duration=duration)


@dataclass
class Catalogue:
    """The tracks put into a store and the warehouse."""

    con: duckdb.DuckDBPyConnection
    store: ObjectStore

    def add(self, track_id: str, artist_id: int, data: bytes, *, fmt: str = "wav", duration_s: float,
            offset_s: float = 0.0, excerpt_s: float | None = None, genre: str | None = None) -> str:
        """Store ``data`` content-addressed and insert its `track` row; returns the object key."""
        info = self.store.put_content_addressed(data, prefix="audio/previews", ext=fmt)
        self.con.execute(
            """INSERT INTO track (track_id, artist_id, title, genre, provider, provider_track_id, provider_rank,
                                  object_key, sha256, format, duration_s, sample_rate, channels,
                                  excerpt_offset_s, excerpt_duration_s, added_at)
               VALUES (?, ?, ?, ?, 'test', ?, 1, ?, ?, ?, ?, ?, 1, ?, ?, ?)""",
            [track_id, artist_id, f"title {track_id}", genre, track_id, info.key, info.sha256, fmt, duration_s,
             SR, offset_s, excerpt_s if excerpt_s is not None else duration_s - offset_s,
             dt.datetime.now(dt.UTC)])
        return info.key

    def add_clip(self, track_id: str, artist_id: int, *, community: int, track_no: int = 1,
                 duration: float = 6.0, fmt: str = "wav", **kw) -> str:
        y = clip(community, 1000 + artist_id, track_no, duration)
        return self.add(track_id, artist_id, encode(y, fmt), fmt=fmt, duration_s=duration, **kw)


def three_artists_two_clips() -> None:
    """Six generated clips (tracks ``a<artist>t<k>``, artists 1-3, two each) in the home's store and warehouse:
    what the features-gate tests build, break and build again."""
    from musim import warehouse
    from musim.storage import open_store

    con = warehouse.connect()
    try:
        cat = Catalogue(con, open_store())
        for artist in (1, 2, 3):
            for k in (1, 2):
                cat.add_clip(f"a{artist}t{k}", artist, community=artist, track_no=k)
    finally:
        con.close()


# the features-gate tests' build: the log-mels and the artist means (whose descriptors the gate checks), one worker
GATED_BUILD = ["features", "build", "--view", "track_log_mel", "--view", "artist_descriptors_mean", "--workers", "1",
               "--no-progress"]


def corrupt_bytes() -> bytes:
    """Bytes that look like an mp3 (ID3 tag) but decode as nothing."""
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(np.random.default_rng(5).integers(0, 256, 4000, dtype=np.uint8))


def silent_bytes(duration: float = 6.0) -> bytes:
    return encode(np.zeros(int(duration * SR), dtype=np.float32))
