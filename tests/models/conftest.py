"""Fixtures of the model tests: tiny planted data, one tiny trained model per session, a warehouse with
similarity targets. Models are small (two conv blocks of 8/16 filters) so the whole folder runs in well
under two minutes on two cores, TensorFlow's import included."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from musim.models.toy import ToyData, planted_data

TINY = dict(conv_filters=(8, 16), dense_units=16, train_pairs=240, validation_pairs=60, batch_size=32,
            early_stopping_patience=None)


@pytest.fixture(scope="session")
def toy() -> ToyData:
    return planted_data(communities=4, artists_per_community=6, clips_per_artist=3, seed=1)


@pytest.fixture(scope="session")
def trained(toy):
    """One tiny model trained for a few epochs on the planted data (shared; do not modify)."""
    from musim.models.train import HyperParams, train

    hp = HyperParams(**TINY, epochs=4, learning_rate=3e-3, seed=3)
    return train(toy.x, toy.track_artist, toy.targets, hp)


def write_similarity(con, toy: ToyData, *, dump_id: str = "d" * 64, catalogue_size: int = 1000,
                     min_listeners: int = 1) -> str:
    """Rows of lastfm_dump, similarity_build, artist_listeners and artist_pair_similarity for ``toy``."""
    now = dt.datetime.now(dt.UTC)
    seq = con.execute("SELECT coalesce(max(seq), 0) + 1 FROM lastfm_dump").fetchone()[0]
    con.execute("INSERT INTO lastfm_dump (dump_id, seq, file_name, format, bytes, lines, loaded, rejected, plays_rows,"
                " users, artists, started_at, finished_at) VALUES (?, ?, 'x.tsv', '360k', 1, 1, 1, 0, 1, 1, 1, ?, ?)",
                [dump_id, seq, now, now])
    t = toy.targets
    con.execute("INSERT INTO similarity_build (dump_id, min_listeners, min_co_listeners, k, users, artists, pairs, seed_raw_max, catalogue_size, built_at, seconds) VALUES (?, ?, 1, 100, 1000, ?, 0, 1.0, ?, ?, 0.1)",
                [dump_id, min_listeners, len(t.artist_ids), catalogue_size, now])
    for a in t.artist_ids.tolist():
        con.execute("INSERT INTO artist_listeners VALUES (?, ?, ?, ?)", [dump_id, a, toy.listeners[a], 10])
    ia, ib = np.triu_indices(t.artist_ids.size, k=1)
    v = t.matrix[ia, ib]
    for i, j, s in zip(ia[v > 0], ib[v > 0], v[v > 0], strict=True):
        lift = float(s) * 5.0
        con.execute("INSERT INTO artist_pair_similarity VALUES (?, ?, ?, 3, ?, ?, ?, ?, ?)",
                    [dump_id, int(t.artist_ids[i]), int(t.artist_ids[j]), float(s), float(s) / 2, float(s) / 3,
                     lift, float(np.log(lift))])
    return dump_id
