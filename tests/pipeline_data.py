"""A tiny but complete warehouse for model and orchestration tests: a synthetic dump with taste
communities, its similarity, synthesized audio for every artist acquired through the local provider, and
the features extracted — all through the library, in the current MUSIM_HOME."""

from __future__ import annotations

import json
from pathlib import Path

from musim import serving, warehouse
from musim.acquire.pipeline import acquire
from musim.features.extract import build as build_features
from musim.ingest.lastfm import ingest_lastfm
from musim.quality.gates import gate_features
from musim.similarity.build import SimilarityParams, build_similarity
from musim.synth.folders import write_music_folder
from musim.synth.lastfm import TRUTH_FILE, write_lastfm_dump


def prepare(root: Path, *, users: int = 400, artists: int = 24, communities: int = 4, clips: int = 3,
            clip_s: float = 6.0, seed: int = 3) -> dict:
    """Build everything up to features; return a summary (dump id, track count, communities)."""
    dump_dir = root / "dump"
    s = write_lastfm_dump(dump_dir, users=users, artists=artists, communities=communities, seed=seed,
                          max_artists_per_user=8)
    result = ingest_lastfm(s.plays_path)
    with warehouse.writer() as con:
        build_similarity(con, None, SimilarityParams(min_listeners=3, min_co_listeners=1, k=20,
                                                     catalogue_size=artists))
        serving.publish(con)
    truth = json.loads((dump_dir / TRUTH_FILE).read_text())
    music = root / "music"
    write_music_folder(music, [(a["name"], a["community"]) for a in truth["artists"]], tracks_per_artist=clips,
                       fmt="flac", duration=clip_s, genre_names=truth["genres"])
    acquire(artists, per_artist=clips, providers=["local"], local_dir=music)
    build_features(gate=gate_features)
    with warehouse.writer() as con:
        tracks = con.execute("SELECT count(*) FROM track").fetchone()[0]
    return {"dump_id": result.dump_id, "tracks": tracks, "truth": truth}
