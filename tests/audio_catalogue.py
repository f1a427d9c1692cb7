"""A published snapshot where a Last.FM dump and a music library meet: artists sharing a name (three "Fenloven"s
of the library, a library "Nirvana" beside the dump's), a cold-start artist ("DJ Ka", no listeners), the library's
placeholder and an artist with no track, with the audio neighbours of one model version: what `musim similar
--audio`, `/api/similar?source=audio` and the suggestions answer from. Built in the current MUSIM_HOME."""

from __future__ import annotations

import datetime as dt

from musim import serving, warehouse
from musim.ingest.lastfm import ingest_lastfm
from musim.similarity.build import SimilarityParams, build_similarity
from tests.lastfm_files import MB_A, MB_B, MB_C, U1, U2, U3, write_lines

MODEL = "contrastive-1"
MB_F = "0f6d5e4c-1111-4222-8333-944455556666"
# the library's artists: name, MBID, tracks, placeholder
LIBRARY = [("Fenloven", MB_F, 3, False), ("Fenloven", MB_C, 8, False), ("Fenloven", None, 1, False),
           ("Nirvana", None, 2, False), ("DJ Ka", None, 2, False), ("Unknown artist", None, 2, True),
           ("Quiet One", None, 0, False)]


def publish_audio_catalogue(tmp_path) -> dict[tuple[str, str | None], int]:
    """Ingest, build and publish the snapshot; return each artist's id by (name, MBID)."""
    lines = [f"{u}\t{MB_A}\tNirvana\t4" for u in (U1, U2)] + [f"{u}\t{MB_B}\tArtist B\t2" for u in (U1, U2, U3)]
    ingest_lastfm(write_lines(tmp_path / "plays.tsv", lines))
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    with warehouse.writer() as con:
        build_similarity(con, None, SimilarityParams(min_listeners=1, min_co_listeners=1, k=5))
        first = con.execute("SELECT max(artist_id) + 1 FROM artist").fetchone()[0]
        tracks = []
        for i, (name, mbid, n, placeholder) in enumerate(LIBRARY):
            artist_id = first + i
            con.execute("""INSERT INTO artist (artist_id, artist_key, mbid, name, name_norm, is_placeholder,
                           first_dump_id) VALUES (?, ?, ?, ?, ?, ?, 'library')""",
                        [artist_id, f"mbid:{mbid}" if mbid else f"name:{name.lower()}:{i}", mbid, name, name.lower(),
                         placeholder])
            tracks += [(f"{artist_id:04d}{t:012d}", artist_id) for t in range(n)]
        con.executemany("""INSERT INTO track (track_id, artist_id, title, genre, provider, provider_track_id,
                           provider_rank, object_key, sha256, format, duration_s, sample_rate, channels,
                           excerpt_offset_s, excerpt_duration_s, added_at)
                           VALUES (?, ?, 'Song', NULL, 'library', ?, 1, ?, ?, 'flac', 30, 22050, 1, 0, 30, ?)""",
                        [(t, a, t, f"audio/previews/{t}.flac", t * 4, now) for t, a in tracks])
        ids = {(n, m): i for n, m, i in con.execute("SELECT name, CAST(mbid AS VARCHAR), artist_id FROM artist").fetchall()}
        # every artist with tracks but the placeholder has the others as neighbours (a placeholder is never compared)
        audible = sorted({a for _, a in tracks} - {ids[("Unknown artist", None)]})
        con.executemany("""INSERT INTO artist_neighbors_audio (family, model_version, artist_id, rank, neighbor_id,
                           score, cold_start, created_at) VALUES ('contrastive', ?, ?, ?, ?, ?, true, ?)""",
                        [(MODEL, a, r, b, 1 - r / 10, now) for a in audible
                         for r, b in enumerate([b for b in audible if b != a], start=1)])
        con.executemany("""INSERT INTO track_neighbors (family, model_version, track_id, rank, neighbor_track_id,
                           score, created_at) VALUES ('contrastive', ?, ?, 1, ?, 0.5, ?)""",
                        [(MODEL, t, tracks[(i + 1) % len(tracks)][0], now) for i, (t, _) in enumerate(tracks)])
        serving.publish(con)
    return ids
