"""Small catalogues in the warehouse and the object store, as acquisition + extraction + similarity leave
them, from generated data (no audio decoding): :func:`make_catalogue` (tracks, log-mel tensors,
descriptors, similarity targets, co-listening neighbours, and one artist with audio but no listening
data: cold start) and :func:`seed_catalogue` (the inputs of every family: genres and slices too)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import numpy as np

from musim.features.definitions import track_descriptors, track_log_mel
from musim.models.toy import ToyData
from tests.models.conftest import write_similarity

COLD_ARTIST = 99_991


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def make_catalogue(con, store, toy: ToyData, *, cold_artist: int = COLD_ARTIST, cold_like: int | None = None,
                   created_at: dt.datetime | None = None) -> dict[str, list[str]]:
    """Write ``toy`` as a catalogue; ``cold_artist`` gets 3 tracks shaped like artist ``cold_like``'s (default:
    the first artist), no listeners and no targets. Returns ``{"tracks": [...], "cold_tracks": [...]}``."""
    at = created_at or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    dump_id = write_similarity(con, toy)
    artists = toy.targets.artist_ids.tolist()
    con.executemany("INSERT INTO artist (artist_id, artist_key, name, name_norm, first_dump_id) VALUES (?, ?, ?, ?, ?)",
                    [(a, f"k{a}", f"Artist {a}", f"artist {a}", dump_id) for a in [*artists, cold_artist]])
    # co-listened pairs (what marks an artist as known): each artist with its 3 most similar by target
    pairs = set()
    for i, a in enumerate(artists):
        sims = np.nan_to_num(toy.targets.matrix[i], nan=-1.0)
        for j in np.argsort(-sims, kind="stable")[:3]:
            if sims[j] > 0:
                pairs.add((min(a, artists[j]), max(a, artists[j])))
    seq = con.execute("SELECT seq FROM lastfm_dump WHERE dump_id = ?", [dump_id]).fetchone()[0]
    con.executemany("INSERT INTO artist_pair_counts VALUES (?, ?, ?, ?)", [(seq, a, b, 3) for a, b in sorted(pairs)])

    ex = track_log_mel.source.extractor
    rng = np.random.default_rng(7)
    cold_like = artists[0] if cold_like is None else cold_like
    template = np.flatnonzero(toy.track_artist == cold_like)
    items = []
    counts: dict[int, int] = {}
    for i, a in enumerate(toy.track_artist.tolist()):
        counts[a] = counts.get(a, 0) + 1
        items.append((a, counts[a], toy.x[i], toy.descriptors[i]))
    for k, i in enumerate(template, start=1):
        noisy = np.clip(toy.x[i].astype(np.float32) + rng.normal(0, 2.0, toy.x[i].shape), -80, 0).astype(np.float16)
        items.append((cold_artist, k, noisy, toy.descriptors[i]))
    track_rows, mel_rows, desc_rows, tracks, cold = [], [], [], [], []
    for artist, k, arr, desc in items:
        tid = f"t{artist}-{k}"
        sha = hashlib.sha256(tid.encode()).hexdigest()
        info = store.put_bytes(ex.object_key(sha), _npy(arr.astype(np.float16)))
        track_rows.append((tid, artist, f"song {k} of {artist}", "rock", "test", tid, k, f"audio/previews/{sha}.wav",
                           sha, "wav", 30.0, 22050, 1, 0.0, 30.0, at))
        mel_rows.append(("log_mel", ex.params_hash, tid, sha, sha, info.key, [256, 64], "float16",
                         float(arr.min()), float(arr.max()), info.size, "test-build", at))
        vec = np.zeros(track_descriptors.dim)
        vec[:desc.size] = desc
        desc_rows.append((track_descriptors.params_hash, tid, sha, sha, vec.tolist(), 0, "C major", "test-build", at))
        (cold if artist == cold_artist else tracks).append(tid)
    con.executemany("INSERT INTO track VALUES (" + ", ".join("?" * 16) + ")", track_rows)
    con.executemany("INSERT INTO track_mel VALUES (" + ", ".join("?" * 13) + ")", mel_rows)
    con.executemany("INSERT INTO track_descriptors VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", desc_rows)
    return {"tracks": tracks, "cold_tracks": cold}


def seed_catalogue(con, store, toy: ToyData) -> list[str]:
    """The inputs of every family from generated data (no audio decoding): targets, `track` rows with
    genres (= community), log-mel and slice objects (two slices per track), descriptors. Returns the
    track ids in ``toy`` order."""
    from musim.features.definitions import track_slices

    write_similarity(con, toy)
    now = dt.datetime.now(dt.UTC)
    con.execute("""INSERT INTO artist (artist_id, artist_key, name, name_norm, first_dump_id)
                   SELECT a, 'a' || a, 'Artist ' || a, 'artist ' || a, 'd' FROM (SELECT DISTINCT unnest(?) AS a)
                   WHERE a NOT IN (SELECT artist_id FROM artist)""", [toy.track_artist.tolist()])
    ids = []
    for i, (x, a) in enumerate(zip(toy.x, toy.track_artist.tolist(), strict=True)):
        t = f"t{i:03d}"
        ids.append(t)
        con.execute("INSERT INTO track (track_id, artist_id, title, genre, provider, provider_track_id, provider_rank, "
                    "object_key, sha256, format, duration_s, sample_rate, excerpt_offset_s, excerpt_duration_s, "
                    "added_at) VALUES (?, ?, ?, ?, 'local', ?, ?, 'k', ?, 'mp3', 30, 22050, 0, 30, ?)",
                    [t, a, f"Song {i}", f"genre-{toy.community[a]}", t, i % 3 + 1, t, now])
        for view, arr in ((track_log_mel, x), (track_slices, np.stack([x, x[::-1]]))):
            ex = view.source.extractor
            key = f"features/{ex.kind}/{ex.params_hash}/{t}.npy"
            store.put_bytes(key, _npy(arr.astype(np.float16)))
            con.execute("INSERT INTO track_mel VALUES (?, ?, ?, ?, ?, ?, ?, 'float16', -80, 0, 1, 'r', ?)",
                        [ex.kind, ex.params_hash, t, t, t, key, list(arr.shape), now])
        vec = np.zeros(track_descriptors.dim)  # the toy's descriptors, in the view's schema (zeros after them)
        vec[:toy.descriptors.shape[1]] = toy.descriptors[i]
        con.execute("INSERT INTO track_descriptors VALUES (?, ?, ?, ?, ?, NULL, NULL, 'r', ?)",
                    [track_descriptors.source.extractor.params_hash, t, t, t, vec.tolist(), now])
    return ids
