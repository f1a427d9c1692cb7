"""Published snapshots for the UI tests, built once per session from a small synthetic Last.FM dump.

- ``minimal_home``: ingest → similarity → publish only (the later stages' tables missing or empty);
- ``full_home``: the same plus the tables later stages publish (tracks, audio and track neighbours of
  two model versions, a model registry, quality results), with a model card and a Data Docs page in the
  object store.

The tests only read them: each test points ``MUSIM_HOME`` at one (after the autouse fixture's own).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from musim import serving, warehouse
from musim.config import get_settings
from musim.ingest.lastfm import ingest_lastfm
from musim.similarity.build import SimilarityParams, build_similarity
from musim.synth.lastfm import TRUTH_FILE, write_lastfm_dump

PARAMS = SimilarityParams(min_listeners=5, min_co_listeners=2, k=10)
RUN_OLD, RUN_NEW = "q20261120T100000Z-0a1b2c", "q20261121T100000Z-3d4e5f"
AUDIO_ARTISTS = 12
CHAMPION, CHALLENGER = "siamese-1", "siamese-2"
# (family, version, seq, status, ndcg@10 of the model, baselines' ndcg@10, hours ago): the champion is not the
# best scorer (a challenger must beat it beyond the CI to be promoted).
REGISTRY = [("siamese", CHAMPION, 1, "champion", 0.41, {"random": 0.12, "popularity": 0.25}, 48),
            ("siamese", CHALLENGER, 2, "challenger", 0.45, {"random": 0.12, "popularity": 0.25, CHAMPION: 0.40}, 1),
            ("autoencoder", "autoencoder-1", 1, "challenger", 0.30, {"random": 0.11, "descriptors": 0.33}, 5),
            ("cnn_classifier", "cnn_classifier-1", 1, "archived", None, {"random": 0.12}, 72)]


@dataclass(frozen=True)
class Home:
    path: Path
    truth: dict

    def community(self, name: str) -> int:
        return {a["name"].casefold(): a["community"] for a in self.truth["artists"]}[name.casefold()]


def _env(home: Path) -> dict[str, str]:
    return {"MUSIM_HOME": str(home), "MUSIM_DUCKDB_MEMORY": "1GB", "MUSIM_DUCKDB_THREADS": "2"}


def _build(home: Path, extras) -> Home:
    settings = get_settings(_env(home))
    dump = write_lastfm_dump(home / "dump", users=300, artists=40, communities=4, seed=7, max_artists_per_user=10)
    ingest_lastfm(dump.plays_path, settings=settings)
    with warehouse.writer(settings) as con:
        build_similarity(con, None, PARAMS)
        if extras:
            extras(con, settings)
        serving.publish(con, settings)
    return Home(home, json.loads((home / "dump" / TRUTH_FILE).read_text()))


def _later_stages(con, settings) -> None:
    """Rows that acquisition, training and quality would publish, in the tables their migrations create."""
    from musim.storage import open_store

    now = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
    artists = con.execute("""SELECT a.artist_id, a.name FROM artist_listeners l JOIN artist a USING (artist_id)
                             ORDER BY l.listeners DESC, a.artist_id LIMIT ?""", [AUDIO_ARTISTS]).fetchall()
    tracks = []
    for i, (artist_id, name) in enumerate(artists):
        for j in (1, 2):
            tid = f"{i:02d}{j:02d}" + "0" * 12
            tracks.append((tid, artist_id, f"{name} song {j}", "rock", "local", f"{name}/{j}.mp3", j,
                           f"audio/previews/{tid}.mp3", tid * 4, "mp3", 15.0, 22050, 2, 0.0, 15.0, now))
    con.executemany("INSERT INTO track VALUES (" + ", ".join("?" * 16) + ")", tracks)

    # the neighbour tables as migration 008 creates them (what musim.models.serve.publish_neighbors writes)
    ids = [a for a, _ in artists]
    rows = []
    for version, created, sign in ((CHAMPION, now - dt.timedelta(days=1), 1), (CHALLENGER, now, -1)):
        for pos, a in enumerate(ids):
            others = sorted((b for b in ids if b != a), key=lambda b: (sign * abs(ids.index(b) - pos), b))
            for rank, b in enumerate(others[:5], start=1):
                rows.append(("siamese", version, a, rank, b, round(1 - rank / 10, 3), False, created))
    con.executemany("""INSERT INTO artist_neighbors_audio (family, model_version, artist_id, rank, neighbor_id, score,
                       cold_start, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""", rows)

    tids = [t[0] for t in tracks]
    con.executemany("""INSERT INTO track_neighbors (family, model_version, track_id, rank, neighbor_track_id, score,
                       created_at) VALUES (?, ?, ?, ?, ?, ?, ?)""",
                    [("siamese", CHAMPION, t, r, tids[(k + r) % len(tids)], round(1 - r / 10, 3), now)
                     for k, t in enumerate(tids) for r in range(1, 4)])

    store = open_store(settings.storage.object_store)
    for family, version, seq, status, model, baselines, age in REGISTRY:
        metrics = {"model": _ci(model, **{"precision@5": model + 0.1}) if model is not None
                   else {"ndcg@10": {"mean": None, "lo": None, "hi": None, "n": 0}}}  # NaN is stored as null
        metrics |= {name: _ci(value) for name, value in baselines.items()}
        prefix = f"models/{family}/{version}/"
        store.put_bytes(prefix + "card.md", f"# Model card: {version}\n\n| metric | value |\n|---|---|\n"
                                            f"| ndcg@10 | {model} |\n".encode())
        con.execute("""INSERT INTO model_registry (version, family, seq, run_id, status, params, dump_id,
                       target_metric, test_set_id, primary_metric, metrics, object_prefix, created_at, status_at)
                       VALUES (?, ?, ?, ?, ?, '{}', NULL, 'seed', 'ts1', 'ndcg@10', ?, ?, ?, ?)""",
                    [version, family, seq, f"run-{version}", status, json.dumps(metrics), prefix,
                     now - dt.timedelta(hours=age), now - dt.timedelta(hours=age)])

    for run in (RUN_OLD, RUN_NEW):
        store.put_bytes(f"quality/docs/{run}/index.html", f"<html><body><h1>Data Docs {run}</h1></body></html>".encode())
    failure = [{"part": "sql", "expectation": "expect_column_values_to_be_between", "columns": ["score"],
                "description": "scores lie in their metric's range", "kwargs": {}, "unexpected_count": 3,
                "element_count": 100, "observed": None, "examples": [1.5], "exception": None}]
    for run, dataset, status, failures, when in (
            (RUN_OLD, "lastfm_plays", "passed", [], now - dt.timedelta(days=1)),
            (RUN_OLD, "similarity", "passed", [], now - dt.timedelta(days=1)),
            (RUN_NEW, "similarity", "failed", failure, now)):
        con.execute("INSERT INTO quality_result VALUES (?, ?, NULL, NULL, ?, ?, 12, ?, 1000, 1000, false, ?, NULL, ?, "
                    "0.5, ?)", [run, dataset, status, status != "failed", len(failures), json.dumps(failures),
                                store.url(f"quality/docs/{run}/index.html"), when])


def _ci(mean: float, **others: float) -> dict:
    cells = {"ndcg@10": mean, **others}
    return {m: {"mean": v, "lo": round(v - 0.05, 3), "hi": round(v + 0.05, 3), "n": 20} for m, v in cells.items()}


@pytest.fixture(scope="session")
def minimal_home(tmp_path_factory) -> Home:
    return _build(tmp_path_factory.mktemp("ui_minimal"), None)


@pytest.fixture(scope="session")
def full_home(tmp_path_factory) -> Home:
    return _build(tmp_path_factory.mktemp("ui_full"), _later_stages)


def use(home: Home, monkeypatch) -> Home:
    for key, value in _env(home.path).items():
        monkeypatch.setenv(key, value)
    return home
