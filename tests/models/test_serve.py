"""Family-agnostic neighbours and their publication (no TensorFlow): scores equal brute force, ranks,
cold start, feature views, online store, snapshot."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest

from musim import serving, warehouse
from musim.config import get_settings
from musim.errors import NotFoundError, ParameterError, QualityError, StorageError
from musim.features import lookup
from musim.models.serve import (
    artist_neighbors,
    artist_scores,
    embedding_views,
    publish_neighbors,
    track_neighbors,
)
from musim.storage import open_store
from tests.models.conftest import insert_catalogue

REPO = Path(__file__).resolve().parents[2]


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    owner = np.array([5, 3, 5, 9, 3, 9, 9, 12, 5, 12], dtype=np.int64)
    emb = rng.normal(size=(owner.size, 4)).astype(np.float32)
    return emb, owner


def _l1_head(a, b):
    return 1.0 / (1.0 + np.exp(np.abs(a[:, None, :] - b[None, :, :]).sum(-1) - 2.0))



@contextlib.contextmanager
def killed_at_the_neighbour_rows(monkeypatch):
    """Within: a publish is interrupted (as by Ctrl-C) where it writes its neighbour rows, after its manifest and
    ANN index were stored and before its commit."""
    import musim.models.serve as serve

    run = serve.sql.run

    def killed(con_, name, **kw):
        if name == "models/publish_neighbors.sql":
            raise KeyboardInterrupt
        return run(con_, name, **kw)

    with monkeypatch.context() as patch:
        patch.setattr(serve.sql, "run", killed)
        yield

def test_artist_scores_match_brute_force(monkeypatch):
    import musim.models.neighbours as neighbours

    monkeypatch.setattr(neighbours, "_BLOCK", 4)  # force several blocks
    emb, owner = _data()
    artists, S = artist_scores(emb, owner, pair_similarity=_l1_head)
    full = _l1_head(emb, emb)
    for i, a in enumerate(artists):
        for j, b in enumerate(artists):
            assert S[i, j] == pytest.approx(full[np.ix_(owner == a, owner == b)].mean(), rel=1e-6)
    artists, C = artist_scores(emb, owner)
    means = np.stack([emb[owner == a].mean(0) for a in artists])
    unit = means / np.linalg.norm(means, axis=1, keepdims=True)
    np.testing.assert_allclose(C, unit @ unit.T, rtol=1e-5)


@pytest.mark.parametrize("head", [None, _l1_head])
def test_neighbors_rank_other_artists_and_tracks(head, monkeypatch):
    import musim.models.neighbours as neighbours

    monkeypatch.setattr(neighbours, "_BLOCK", 3)
    emb, owner = _data(1)
    artists, nb, sc = artist_neighbors(emb, owner, k=10, pair_similarity=head)
    _, S = artist_scores(emb, owner, pair_similarity=head)
    assert nb.shape == (4, 3)  # k capped at the number of other artists
    for i, a in enumerate(artists):
        assert a not in nb[i] and np.all(np.diff(sc[i]) <= 0)
        want = [artists[j] for j in np.argsort(-np.where(np.arange(4) == i, -np.inf, S[i]), kind="stable")[:3]]
        assert nb[i].tolist() == want
    tnb, tsc = track_neighbors(emb, owner, k=4, pair_similarity=head)
    assert tnb.shape == (10, 4)
    for t in range(10):
        assert all(owner[n] != owner[t] for n in tnb[t]) and np.all(np.diff(tsc[t]) <= 0)


def _add_tracks(con, owner) -> None:
    """One catalogue track ``x<i>`` per row of the embeddings, by artist ``owner[i]``."""
    con.executemany("INSERT INTO track (track_id, artist_id, title, provider, provider_track_id, object_key, sha256,"
                    " format, duration_s, sample_rate, excerpt_offset_s, excerpt_duration_s, added_at) "
                    "VALUES (?, ?, ?, 'test', ?, 'k', 's', 'wav', 30, 22050, 0, 30, now())",
                    [(f"x{i}", int(a), f"t{i}", f"x{i}") for i, a in enumerate(owner)])


def _artist_vector(emb, owner, artist):
    return emb[owner == artist].mean(0)


def test_a_publish_killed_before_its_commit_leaves_the_served_neighbours_as_they_were(monkeypatch):
    """Ctrl-C after the neighbour rows were committed but before the online vectors were published left rows that
    the next `musim publish` served while `similar-audio` could not find their vectors; and with the vectors and
    their pointers written first, a publish stopped before the rows left a no-version `lookup` of the embedding
    view on the new version while the snapshot served the old neighbours. The vectors are now staged first and the
    pointers move after the rows commit: stopped at the rows, every reader stays on the previous version."""

    emb, owner = _data(2)
    store = open_store()
    with warehouse.writer() as con:
        _add_tracks(con, owner)
        ids = [f"x{i}" for i in range(owner.size)]
        publish_neighbors(con, "autoencoder", "autoencoder-1", ids, emb, k=2, store=store)
        with killed_at_the_neighbour_rows(monkeypatch), pytest.raises(KeyboardInterrupt):
            publish_neighbors(con, "autoencoder", "autoencoder-2", ids, emb * 2, k=2, store=store)
        assert con.execute("SELECT DISTINCT model_version FROM artist_neighbors_audio").fetchall() == [("autoencoder-1",)]
        np.testing.assert_allclose(lookup("artist_autoencoder_embedding", 9, refresh_s=0),
                                   _artist_vector(emb, owner, 9), rtol=1e-5)
        with pytest.raises(NotFoundError):
            lookup("artist_autoencoder_embedding", 9, version=2, refresh_s=0)
        folder = get_settings().serving_dir / "online" / "artist_autoencoder_embedding"
        assert not list(folder.glob("v2-*.npz"))  # the staged vectors of the failed publish are gone
        publish_neighbors(con, "autoencoder", "autoencoder-2", ids, emb * 2, k=2, store=store)
    np.testing.assert_allclose(lookup("artist_autoencoder_embedding", 9, refresh_s=0),
                               _artist_vector(emb * 2, owner, 9), rtol=1e-5)


def test_a_publish_failing_between_the_rows_and_the_pointers_is_mended_by_the_next(monkeypatch):
    """The rows are the commit point: a publish that committed them but failed before the online pointers moved
    is pointed at its committed vectors by the next publish, whichever family it is."""
    import musim.features.online as online

    emb, owner = _data(2)
    with warehouse.writer() as con:
        _add_tracks(con, owner)
        ids = [f"x{i}" for i in range(owner.size)]
        publish_neighbors(con, "autoencoder", "autoencoder-1", ids, emb, k=2)

        def fails(path, **kw):
            raise OSError("disk full")

        commit = online.commit_online
        monkeypatch.setattr(online, "commit_online", fails)
        with pytest.raises(OSError):
            publish_neighbors(con, "autoencoder", "autoencoder-2", ids, emb * 2, k=2)
        monkeypatch.setattr(online, "commit_online", commit)
        assert con.execute("SELECT DISTINCT model_version FROM artist_neighbors_audio").fetchall() == [("autoencoder-2",)]
        stale = lookup("artist_autoencoder_embedding", 9, refresh_s=0)
        np.testing.assert_allclose(stale, _artist_vector(emb, owner, 9), rtol=1e-5)  # not yet mended
        publish_neighbors(con, "cnn_classifier", "cnn_classifier-1", ids, emb * 3, k=2)
    np.testing.assert_allclose(lookup("artist_autoencoder_embedding", 9, refresh_s=0),
                               _artist_vector(emb * 2, owner, 9), rtol=1e-5)
    np.testing.assert_allclose(lookup("track_autoencoder_embedding", "x3", version=2, refresh_s=0), emb[3] * 2,
                               rtol=1e-5)


def test_the_online_pointers_move_after_the_snapshot_that_serves_the_rows(monkeypatch):
    """`musim models publish` killed after the pointers moved but before its snapshot left the lookup on the new
    version and the snapshot on the old one; the snapshot goes first now (a kill in between is mended later)."""
    emb, owner = _data(2)
    seen: list[np.ndarray] = []
    real = serving.publish

    def publish_seeing_the_lookup(con, settings=None, **kw):
        seen.append(lookup("artist_autoencoder_embedding", 9, refresh_s=0))
        return real(con, settings, **kw)

    with warehouse.writer() as con:
        _add_tracks(con, owner)
        ids = [f"x{i}" for i in range(owner.size)]
        publish_neighbors(con, "autoencoder", "autoencoder-1", ids, emb, k=2, snapshot=True)
        monkeypatch.setattr(serving, "publish", publish_seeing_the_lookup)
        publish_neighbors(con, "autoencoder", "autoencoder-2", ids, emb * 2, k=2, snapshot=True)
    np.testing.assert_allclose(seen[0], _artist_vector(emb, owner, 9), rtol=1e-5)
    np.testing.assert_allclose(lookup("artist_autoencoder_embedding", 9, refresh_s=0),
                               _artist_vector(emb * 2, owner, 9), rtol=1e-5)


def test_the_online_lookup_follows_the_served_snapshot_after_a_rollback_and_under_its_pin(capsys):
    """A rollback moved `current.duckdb` only: the online pointers stayed on the newest publication (`latest` on a
    version the served snapshot does not serve, and a version published again on its new vectors, which is what
    `similar-audio` reads for the served version), and every publish after it served the rolled-back state again.
    The lookup now follows the snapshot served: after a rollback, under its pin, and after the release."""
    from musim.cli import main

    emb, owner = _data(2)
    other, third, fourth = (_data(seed)[0] for seed in (3, 4, 5))

    def served_vector(version=None):
        return lookup("artist_autoencoder_embedding", 9, version=version, refresh_s=0)

    with warehouse.writer() as con:
        _add_tracks(con, owner)
        ids = [f"x{i}" for i in range(owner.size)]
        first = publish_neighbors(con, "autoencoder", "autoencoder-1", ids, emb, k=2, snapshot=True).snapshot
        publish_neighbors(con, "autoencoder", "autoencoder-1", ids, other, k=2, snapshot=True)  # the version again
        publish_neighbors(con, "autoencoder", "autoencoder-2", ids, third, k=2, snapshot=True)
    np.testing.assert_allclose(served_vector(1), _artist_vector(other, owner, 9), rtol=1e-5)
    np.testing.assert_allclose(served_vector(), _artist_vector(third, owner, 9), rtol=1e-5)

    assert main(["publish", "--rollback", Path(first).name]) == 0
    capsys.readouterr()
    snap = serving.open_snapshot()
    try:
        assert snap.execute("SELECT DISTINCT model_version FROM artist_neighbors_audio").fetchall() == [
            ("autoencoder-1",)]
    finally:
        snap.close()
    np.testing.assert_allclose(served_vector(1), _artist_vector(emb, owner, 9), rtol=1e-5)  # what similar-audio reads
    np.testing.assert_allclose(served_vector(), _artist_vector(emb, owner, 9), rtol=1e-5)  # latest: the version served

    with warehouse.writer() as con:  # a model published under the pin: written, neither served nor looked up
        pinned = publish_neighbors(con, "autoencoder", "autoencoder-2", ids, fourth, k=2, snapshot=True)
    assert Path(pinned.snapshot).exists() and serving.current_path() == Path(first) and pinned.online == []
    np.testing.assert_allclose(served_vector(1), _artist_vector(emb, owner, 9), rtol=1e-5)
    np.testing.assert_allclose(served_vector(), _artist_vector(emb, owner, 9), rtol=1e-5)

    assert main(["publish", "--release"]) == 0
    assert Path(pinned.snapshot).name in capsys.readouterr().out
    assert serving.current_path() == Path(pinned.snapshot)
    np.testing.assert_allclose(served_vector(), _artist_vector(fourth, owner, 9), rtol=1e-5)
    np.testing.assert_allclose(served_vector(2), _artist_vector(fourth, owner, 9), rtol=1e-5)


def _online_files() -> set[str]:
    """The online vector files of autoencoder-1's views, as ``<view>/<file>``."""
    root = get_settings().serving_dir / "online"
    return {f"{view}/{p.name}" for view in ("track_autoencoder_embedding", "artist_autoencoder_embedding")
            for p in (root / view).glob("v1-*.npz")}


def _recorded_online() -> dict[str, set[str]]:
    """The online vector files each kept snapshot records (its served_online table), by snapshot name."""
    from musim import snapshots

    found = {}
    for snap in snapshots.list_snapshots():
        con = duckdb.connect(str(snap.path), read_only=True)
        try:
            rows = con.execute("SELECT track_view, artist_view, track_online, artist_online FROM served_online "
                               "WHERE model_version = 'autoencoder-1'").fetchall()
        finally:
            con.close()
        found[snap.name] = {f"{ref.rpartition(':')[0]}/{name}" for row in rows
                            for ref, name in zip(row[:2], row[2:], strict=True)}
    return found


def test_a_rollback_finds_the_online_vectors_of_every_kept_snapshot_and_pruning_stays_bounded(capsys, caplog):
    """Committing a version's vectors kept only its newest two files, so a version published three times lost the
    vectors of its oldest kept snapshot: a rollback to it served those neighbours with the newest vectors ("are
    gone"). A file stays now while a kept snapshot records it (the pinned one's included), and one that none
    records (nor is current, nor among the newest two) is removed, under the pin and after its release."""
    from musim.cli import main

    _, owner = _data(2)
    embs = [_data(seed)[0] for seed in range(20, 27)]
    ids = [f"x{i}" for i in range(owner.size)]

    def publish(con, emb):
        return publish_neighbors(con, "autoencoder", "autoencoder-1", ids, emb, k=2, snapshot=True)

    with warehouse.writer() as con:
        _add_tracks(con, owner)
        first = [publish(con, e) for e in embs[:3]]
    oldest = Path(first[0].snapshot).name
    assert oldest in _recorded_online()  # three distinct states: every snapshot is kept
    assert _recorded_online()[oldest] <= _online_files()

    caplog.set_level(logging.INFO)
    assert main(["publish", "--rollback", oldest]) == 0
    capsys.readouterr()
    assert not [r for r in caplog.records if "are gone" in r.getMessage()]
    np.testing.assert_allclose(lookup("artist_autoencoder_embedding", 9, version=1, refresh_s=0),
                               _artist_vector(embs[0], owner, 9), rtol=1e-5)

    with warehouse.writer() as con:  # two publishes under the pin: the oldest of the others loses its snapshot
        under_pin = [publish(con, e) for e in embs[3:5]]
    recorded = _recorded_online()
    assert Path(first[1].snapshot).name not in recorded and oldest in recorded
    kept = set().union(*recorded.values())
    assert _online_files() == kept  # the second publication's files, recorded by no kept snapshot, are gone
    assert not [r for r in caplog.records if "are gone" in r.getMessage() or "pruning" in r.getMessage()]
    assert serving.current_path().name == oldest and all(p.online == [] for p in under_pin)
    np.testing.assert_allclose(lookup("artist_autoencoder_embedding", 9, refresh_s=0),
                               _artist_vector(embs[0], owner, 9), rtol=1e-5)

    assert main(["publish", "--release"]) == 0
    capsys.readouterr()
    with warehouse.writer() as con:
        last = [publish(con, e) for e in embs[5:7]]
    recorded = _recorded_online()
    assert oldest not in recorded and len(recorded) == 3  # no longer pinned: pruned with its snapshot
    assert _online_files() == set().union(*recorded.values())  # what nothing kept records is removed
    assert len(_online_files()) == 6
    assert {f"{Path(p).parent.name}/{Path(p).name}" for p in last[1].online} <= _online_files()
    np.testing.assert_allclose(lookup("artist_autoencoder_embedding", 9, refresh_s=0),
                               _artist_vector(embs[6], owner, 9), rtol=1e-5)
    assert not [r for r in caplog.records if "are gone" in r.getMessage() or "pruning" in r.getMessage()]


# -- what similar-audio reads for a version follows the served snapshot (its serving manifest, like its vectors) ----

ARTISTS, PER_ARTIST, DIM = 8, 6, 8


def _library(con):
    """8 artists x 6 tracks in the warehouse, with an embedding each: ``(track ids, embeddings)``. The first 3
    tracks of each artist are the first publication's; the others come later (new library audio)."""
    rng = np.random.default_rng(11)
    owner = np.repeat(np.arange(ARTISTS) + 1, PER_ARTIST)
    emb = (rng.normal(size=(ARTISTS + 1, DIM))[owner] + rng.normal(scale=0.5, size=(owner.size, DIM)))
    ids = [f"t{i:02d}" for i in range(owner.size)]
    insert_catalogue(con, owner, ids)
    return ids, emb.astype(np.float32)


def _publish_version(con, ids, emb, **kw):
    """autoencoder-1 published as `musim models publish` does (the store, the family's manifest), through its ANN
    index."""
    from musim.models.families import serving_manifest

    return publish_neighbors(con, "autoencoder", "autoencoder-1", ids, emb, k=3, store=open_store(), snapshot=True,
                             search="ann", manifest=serving_manifest("autoencoder"), **kw)


@pytest.fixture
def asked(monkeypatch, tmp_path):
    """``asked(query)``: `similar-audio` on autoencoder-1 through its ANN index (search=ann), for a clip that embeds to
    ``query`` (no Keras: the registered model file loads as a stub, the clip's embedding is given); the answer's JSON.
    Registers autoencoder-1 in the warehouse."""
    import sys
    import types

    from musim.features import online
    from musim.models import ann, new_audio, registry
    from tests.models.conftest import _report, _truth

    model = tmp_path / "model.keras"
    model.write_bytes(b"not really a keras file")
    with warehouse.writer() as con:
        entry = registry.register_model(con, open_store(), family="autoencoder", model_file=model,
                                        report=_report(_truth(), 0.3), params={}, target_metric="seed",
                                        feature_service="autoencoder_log_mel", dump_id="d" * 64)
    assert entry.version == "autoencoder-1"
    monkeypatch.setitem(sys.modules, "musim.models.siamese", types.SimpleNamespace(load_model=lambda path: object()))
    monkeypatch.setattr(registry, "fetch_model_file", lambda store, entry, folder=None: model)
    monkeypatch.delenv(ann.SEARCH_ENV, raising=False)

    def ask(query):
        monkeypatch.setattr(new_audio, "embed_files", lambda paths, champion, **kw: (
            ["clip.wav"], np.asarray(query, dtype=np.float32).reshape(1, -1), [], champion))
        ann.clear_cache()
        online.clear_cache()  # as a new `musim similar-audio` process (a server's lookup refreshes within seconds)
        return new_audio.similar_audio(["clip.wav"], k=4, version="autoencoder-1", search="ann").to_json()

    yield ask
    ann.clear_cache()


def _moved(emb, seed: int):
    """The embeddings moved a little (another training of the model): other neighbours, another served state."""
    return (emb + np.random.default_rng(seed).normal(scale=0.4, size=emb.shape)).astype(np.float32)


def _tracks(answer) -> list[str]:
    return [m["track_id"] for m in answer["tracks"]]


def _nearest(query, ids, emb, k: int = 4) -> list[str]:
    """The ``k`` tracks of ``ids`` (embeddings ``emb``) most similar to ``query`` by cosine: brute force."""
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    return [ids[i] for i in np.argsort(-(unit @ (query / np.linalg.norm(query))), kind="stable")[:k]]


def test_similar_audio_answers_from_the_publication_served_after_a_rollback_and_under_its_pin(asked, capsys):
    """A version published again (new library audio embedded) overwrote its embedding.json: after a rollback to the
    snapshot of the earlier publication, `similar-audio` searched the newer publication's ANN index (tracks the
    served snapshot does not serve) with the older online vectors, one answer from two publishes; and so under the
    pin. It answers now from the manifest the served snapshot records, and from the newest after the release."""
    from musim.cli import main

    with warehouse.writer() as con:
        ids, emb = _library(con)
        first = [i for i in range(len(ids)) if i % PER_ARTIST < 3]
        older = _publish_version(con, [ids[i] for i in first], emb[first])
    query = emb[PER_ARTIST * 5 + 4]  # a track of artist 6 that only the later publication embeds
    before = asked(query)
    assert _tracks(before) == _nearest(query, [ids[i] for i in first], emb[first]) and before["search"] == "ann"

    with warehouse.writer() as con:
        newer = _publish_version(con, ids, emb)
    after = asked(query)
    assert _tracks(after) == _nearest(query, ids, emb) and _tracks(after)[0] == ids[PER_ARTIST * 5 + 4]

    assert main(["publish", "--rollback", Path(older.snapshot).name]) == 0
    capsys.readouterr()
    assert asked(query) == before  # the index, views and vectors of the publication served

    moved = _moved(emb, 1)
    with warehouse.writer() as con:  # published again under the pin: written, not served
        pinned = _publish_version(con, ids, moved)
    assert serving.current_path() == Path(older.snapshot) and Path(pinned.snapshot).exists()
    assert asked(query) == before
    store = open_store()
    assert store.get_json("models/autoencoder/autoencoder-1/embedding.json")["created_at"] == \
        pinned.created_at.isoformat()  # embedding.json: the newest publication's manifest

    assert main(["publish", "--release"]) == 0
    assert serving.current_path() == Path(pinned.snapshot)
    assert _tracks(asked(query)) == _nearest(query, ids, moved)  # the newest publication's
    assert len({older.manifest_key, newer.manifest_key, pinned.manifest_key}) == 3  # one per publication


@pytest.mark.parametrize("where", ["before the commit", "after the commit, before the snapshot"])
def test_a_publish_stopped_after_writing_its_manifest_leaves_the_served_answers(asked, monkeypatch, where):
    """The manifest was written (over embedding.json) before the neighbour rows and the snapshot: a publish killed
    or failed after it left the snapshot served with the manifest, and the ANN index, of a publication not served."""

    with warehouse.writer() as con:
        ids, emb = _library(con)
        first = [i for i in range(len(ids)) if i % PER_ARTIST < 3]
        _publish_version(con, [ids[i] for i in first], emb[first])
    query = emb[PER_ARTIST * 5 + 4]
    before = asked(query)
    manifests = sorted(o.key for o in open_store().list("models/autoencoder/autoencoder-1/manifests/"))

    def snapshot_fails(con_, settings=None, **kw):
        raise RuntimeError("killed before the snapshot")

    with monkeypatch.context() as patch:
        if where == "before the commit":
            kill = killed_at_the_neighbour_rows(patch)
        else:
            patch.setattr(serving, "publish", snapshot_fails)
            kill = contextlib.nullcontext()
        with kill, warehouse.writer() as con, pytest.raises((KeyboardInterrupt, RuntimeError)):
            _publish_version(con, ids, emb)
    assert asked(query) == before
    written = sorted(o.key for o in open_store().list("models/autoencoder/autoencoder-1/manifests/"))
    assert len(written) == len(manifests) + 1  # its manifest was written


def test_a_snapshot_published_before_it_recorded_its_manifest_reads_embedding_json_quietly(asked, capsys, caplog):
    """Snapshots published before this change have no served_manifest: they read the version's embedding.json (its
    newest publication's manifest) as before, and nothing is said about it."""
    import logging

    from musim.cli import main

    with warehouse.writer() as con:
        ids, emb = _library(con)
        first = [i for i in range(len(ids)) if i % PER_ARTIST < 3]
        older = _publish_version(con, [ids[i] for i in first], emb[first])
        _publish_version(con, ids, emb)
    query = emb[PER_ARTIST * 5 + 4]
    newest = asked(query)
    assert _tracks(newest) == _nearest(query, ids, emb)
    assert main(["publish", "--rollback", Path(older.snapshot).name]) == 0
    capsys.readouterr()
    assert _tracks(asked(query)) == _nearest(query, [ids[i] for i in first], emb[first])  # its own publication's

    path = Path(older.snapshot)  # as published before: without served_manifest
    path.chmod(0o644)
    legacy = duckdb.connect(str(path))
    legacy.execute("DROP TABLE served_manifest")
    legacy.close()
    caplog.clear()
    caplog.set_level(logging.INFO)
    answer = asked(query)
    assert _tracks(answer) == _tracks(newest)  # embedding.json: the newest publication's index, as before
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("musim")]


def _served_manifests(version: str = "autoencoder-1") -> dict[str, str]:
    """The manifest each kept snapshot records for ``version``, by snapshot name."""
    from musim import snapshots

    found = {}
    for snap in snapshots.list_snapshots():
        con = duckdb.connect(str(snap.path), read_only=True)
        try:
            found[snap.name] = con.execute("SELECT manifest_key FROM served_manifest WHERE model_version = ?",
                                           [version]).fetchone()[0]
        finally:
            con.close()
    return found


def test_a_versions_publish_prunes_the_manifests_no_kept_snapshot_records(monkeypatch, capsys):
    """Each publication leaves its manifest (tiny); a publish of the version removes those that no kept snapshot
    records (the pinned one's stays), as it prunes the version's online vectors, and what a killed publish left."""
    from musim.cli import main

    store = open_store()

    def listed() -> set[str]:
        return {o.key for o in store.list("models/autoencoder/autoencoder-1/manifests/")}

    with warehouse.writer() as con:
        ids, emb = _library(con)
        published = [_publish_version(con, ids, _moved(emb, i)) for i in range(4)]  # four distinct states
    kept = _served_manifests()
    assert len(kept) == 3 and Path(published[0].snapshot).name not in kept
    assert listed() == set(kept.values()) and published[0].manifest_key not in listed()
    assert published[3].manifest_key in listed()

    oldest_kept = published[1]
    assert main(["publish", "--rollback", Path(oldest_kept.snapshot).name]) == 0
    capsys.readouterr()
    with warehouse.writer() as con:
        under_pin = [_publish_version(con, ids, _moved(emb, 5 + i)) for i in range(2)]
        with killed_at_the_neighbour_rows(monkeypatch), pytest.raises(KeyboardInterrupt):
            _publish_version(con, ids, _moved(emb, 9))
        orphan = listed() - set(_served_manifests().values())
        assert len(orphan) == 1  # the killed publish's
        last = _publish_version(con, ids, _moved(emb, 10))
    kept = _served_manifests()
    assert kept[Path(oldest_kept.snapshot).name] == oldest_kept.manifest_key  # pinned: kept, and its manifest
    assert listed() == set(kept.values()) and not orphan & listed()
    assert {under_pin[1].manifest_key, last.manifest_key} <= listed()
    assert published[2].manifest_key not in listed()  # its snapshot was pruned


def test_a_versions_publish_prunes_the_ann_indexes_no_kept_manifest_names(asked, monkeypatch, capsys, caplog):
    """Each publication of a version with other tracks stores another ANN index (content-addressed, tens of MB at
    scale) and none was ever removed. A publish of the version now removes, after its commit, the indexes that no
    remaining manifest (nor embedding.json) names, a killed publish's too, never the one a kept snapshot, the
    pinned one included, serves: `similar-audio` answers as brute force from the served snapshot's publication, through
    its index, after a rollback and under the pin."""
    import logging

    from musim.cli import main

    store = open_store()
    base = "models/autoencoder/autoencoder-1/"

    def stored() -> set[str]:
        return {o.key for o in store.list(base + "ann/")}

    def named() -> set[str]:  # the index objects the remaining manifests and embedding.json name
        keys = {o.key for o in store.list(base + "manifests/")} | {base + "embedding.json"}
        return {store.get_json(key)["ann"][k] for key in keys for k in ("key", "ids_key")}

    def objects(*published) -> set[str]:
        return {key for p in published for key in (p.ann_key, p.ann_key.removesuffix(".voy") + ".ids.json")}

    def answers_as_brute_force(rows: list[int]) -> None:
        caplog.clear()
        answer = asked(query)
        assert answer["search"] == "ann" and _tracks(answer) == _nearest(query, [ids[i] for i in rows], emb[rows])
        unit = emb[rows] / np.linalg.norm(emb[rows], axis=1, keepdims=True)
        by_track = dict(zip([ids[i] for i in rows], unit @ (query / np.linalg.norm(query)), strict=True))
        np.testing.assert_allclose([m["score"] for m in answer["tracks"]],
                                   [by_track[t] for t in _tracks(answer)], rtol=1e-5)
        assert "unusable" not in caplog.text  # through the served publication's index, not exact search instead

    caplog.set_level(logging.WARNING)
    with warehouse.writer() as con:
        ids, emb = _library(con)
        sets = [[i for i in range(len(ids)) if i // PER_ARTIST != a] for a in range(ARTISTS)]  # one artist left out
        published = [_publish_version(con, [ids[i] for i in rows], emb[rows]) for rows in sets[:4]]
    query = emb[PER_ARTIST * 7 + 4]  # a track of the last artist, in every set
    assert len(objects(*published)) == 8 and all(p.search == "ann" for p in published)
    assert stored() == objects(*published[1:]) == named()  # the first's snapshot, manifest and index are pruned
    first = objects(published[0])
    assert published[3].pruned == [published[0].manifest_key, published[0].ann_key, *(first - {published[0].ann_key})]
    assert published[1].pruned == published[2].pruned == []
    answers_as_brute_force(sets[3])

    assert main(["publish", "--rollback", Path(published[1].snapshot).name]) == 0  # the oldest kept
    capsys.readouterr()
    answers_as_brute_force(sets[1])
    with warehouse.writer() as con:
        under_pin = [_publish_version(con, [ids[i] for i in sets[4]], emb[sets[4]])]
        before = stored()
        with killed_at_the_neighbour_rows(monkeypatch), pytest.raises(KeyboardInterrupt):
            _publish_version(con, ids, emb)  # its index and manifest were written before the commit
        killed = stored() - before
        assert len(killed) == 2  # the killed publish's index and its mapping, which no kept snapshot serves
        answers_as_brute_force(sets[1])
        under_pin.append(_publish_version(con, [ids[i] for i in sets[5]], emb[sets[5]]))
    assert not killed & stored() and set(under_pin[1].pruned) >= killed
    assert published[2].ann_key not in stored()  # its snapshot was pruned: the pinned one (older) stays
    assert stored() == objects(published[1], published[3], *under_pin) == named()
    answers_as_brute_force(sets[1])

    assert main(["publish", "--rollback", Path(published[3].snapshot).name]) == 0  # another kept one
    capsys.readouterr()
    answers_as_brute_force(sets[3])
    assert main(["publish", "--release"]) == 0
    capsys.readouterr()
    answers_as_brute_force(sets[5])


def test_an_index_prune_that_fails_midway_leaves_the_served_answers_and_the_next_publish_ends_it(asked, monkeypatch,
                                                                                                 caplog):
    """The object store fails while a publish prunes the ANN indexes (an index removed, its mapping not): the
    publication stands, the served snapshot answers through its own index, and the next publish of the version
    removes what was left. A manifest that cannot be read names what is unknown: no index is removed meanwhile."""
    import logging

    store = open_store()
    base = "models/autoencoder/autoencoder-1/"

    def stored() -> set[str]:
        return {o.key for o in store.list(base + "ann/")}

    caplog.set_level(logging.WARNING)
    with warehouse.writer() as con:
        ids, emb = _library(con)
        sets = [[i for i in range(len(ids)) if i // PER_ARTIST != a] for a in range(ARTISTS)]
        published = [_publish_version(con, [ids[i] for i in rows], emb[rows]) for rows in sets[:3]]
        delete = type(store).delete

        def fails_at_a_mapping(self, key, **kw):
            if key.endswith(".ids.json"):
                raise OSError(f"cannot remove {key}")
            return delete(self, key, **kw)

        monkeypatch.setattr(type(store), "delete", fails_at_a_mapping)
        fourth = _publish_version(con, [ids[i] for i in sets[3]], emb[sets[3]])
        monkeypatch.setattr(type(store), "delete", delete)
    mapping = published[0].ann_key.removesuffix(".voy") + ".ids.json"
    assert fourth.pruned == [published[0].manifest_key]  # the index went, its mapping stayed: not reported
    assert published[0].ann_key not in stored() and mapping in stored()
    assert f"OSError: cannot remove {mapping} (they stay; the next publish of the version tries again)" in caplog.text
    query = emb[PER_ARTIST * 7 + 4]
    caplog.clear()
    assert _tracks(asked(query)) == _nearest(query, [ids[i] for i in sets[3]], emb[sets[3]])
    assert "unusable" not in caplog.text

    damaged = published[2].manifest_key  # recorded by a kept snapshot (not the served one), and cut short
    good = store.get_bytes(damaged)
    store.put_bytes(damaged, good[: len(good) // 2])
    with warehouse.writer() as con:
        fifth = _publish_version(con, [ids[i] for i in sets[4]], emb[sets[4]])
        assert fifth.pruned == [published[1].manifest_key]  # no index while what a kept manifest names is unknown
        assert {mapping, published[1].ann_key} <= stored() and damaged in caplog.text
        store.put_bytes(damaged, good)
        sixth = _publish_version(con, [ids[i] for i in sets[5]], emb[sets[5]])
    assert sixth.pruned[0] == published[2].manifest_key
    assert {mapping, published[1].ann_key, published[2].ann_key} <= set(sixth.pruned)
    assert stored() == {key for p in (fourth, fifth, sixth) for key in (p.ann_key, p.ann_key[:-4] + ".ids.json")}
    caplog.clear()
    assert _tracks(asked(query)) == _nearest(query, [ids[i] for i in sets[5]], emb[sets[5]])
    assert "unusable" not in caplog.text


FULL_DISK = 'IO Error: Could not write file "/srv/musim/snapshots/publish-1-ab.partial.wal": No space left on device'


def test_a_snapshot_that_fails_leaves_the_online_lookup_on_the_version_it_serves(monkeypatch):
    """`musim models publish` whose snapshot failed (a full disk) moved the online pointers anyway: the lookup was
    on the new version while the snapshot served the old. They stay now; the next publish mends them."""
    emb, owner = _data(2)
    real = serving.publish

    def disk_full(con, settings=None, **kw):
        raise duckdb.IOException(FULL_DISK)

    with warehouse.writer() as con:
        _add_tracks(con, owner)
        ids = [f"x{i}" for i in range(owner.size)]
        publish_neighbors(con, "autoencoder", "autoencoder-1", ids, emb, k=2, snapshot=True)
        monkeypatch.setattr(serving, "publish", disk_full)
        with pytest.raises(StorageError) as raised:
            publish_neighbors(con, "autoencoder", "autoencoder-2", ids, emb * 2, k=2, snapshot=True)
        assert str(raised.value) == (
            "cannot write /srv/musim/snapshots/publish-1-ab.partial.wal: No space left on device. Meanwhile the "
            "neighbours of autoencoder-2 are committed to the warehouse, but no snapshot serves them and the online "
            "lookup stays on the previous version: `musim publish` publishes them and moves the online lookup once "
            "the cause is fixed")
        assert con.execute("SELECT DISTINCT model_version FROM artist_neighbors_audio").fetchall() == [("autoencoder-2",)]
        np.testing.assert_allclose(lookup("artist_autoencoder_embedding", 9, refresh_s=0),
                                   _artist_vector(emb, owner, 9), rtol=1e-5)  # still the version served
        monkeypatch.setattr(serving, "publish", real)
        publish_neighbors(con, "cnn_classifier", "cnn_classifier-1", ids, emb * 3, k=2, snapshot=True)
    np.testing.assert_allclose(lookup("artist_autoencoder_embedding", 9, refresh_s=0),
                               _artist_vector(emb * 2, owner, 9), rtol=1e-5)  # mended by the next publish


def test_a_snapshot_refused_by_the_quality_gate_still_moves_the_online_lookup(monkeypatch):
    """The similarity build failed its gate: the neighbour rows are committed and the refusal is about another
    build, so the vectors go online as before (the refusal is raised)."""
    emb, owner = _data(2)

    def refused(con, settings=None, **kw):
        raise QualityError("the similarity build of dump abc failed its quality check")

    with warehouse.writer() as con:
        _add_tracks(con, owner)
        ids = [f"x{i}" for i in range(owner.size)]
        publish_neighbors(con, "autoencoder", "autoencoder-1", ids, emb, k=2, snapshot=True)
        monkeypatch.setattr(serving, "publish", refused)
        with pytest.raises(QualityError, match="failed its quality check"):
            publish_neighbors(con, "autoencoder", "autoencoder-2", ids, emb * 2, k=2, snapshot=True)
    np.testing.assert_allclose(lookup("artist_autoencoder_embedding", 9, refresh_s=0),
                               _artist_vector(emb * 2, owner, 9), rtol=1e-5)


KILLABLE_PUBLISH = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import numpy as np
    from musim import sql, warehouse
    from musim.models.serve import publish_neighbors

    run, marker = sql.run, Path(sys.argv[1])

    def hang_at_the_rows(con, name, **kw):
        if name == "models/publish_neighbors.sql":
            marker.write_text("at the rows")
            time.sleep(600)
        return run(con, name, **kw)

    sql.run = hang_at_the_rows
    emb = np.load(sys.argv[2])
    with warehouse.writer() as con:
        publish_neighbors(con, "autoencoder", "autoencoder-2", [f"x{i}" for i in range(len(emb))], emb, k=2)
""")


@pytest.mark.slow
def test_a_publish_killed_between_the_vectors_and_the_rows_leaves_lookup_on_the_previous_version(tmp_path):
    emb, owner = _data(2)
    with warehouse.writer() as con:
        _add_tracks(con, owner)
        publish_neighbors(con, "autoencoder", "autoencoder-1", [f"x{i}" for i in range(owner.size)], emb, k=2)
    np.save(tmp_path / "emb.npy", emb * 2)
    marker = tmp_path / "at-the-rows"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE_PUBLISH, str(marker), str(tmp_path / "emb.npy")],
                            env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "the publish ended before it could be killed"
            assert time.monotonic() < deadline, "the publish did not reach its rows in 120 s"
            time.sleep(0.05)
        folder = get_settings().serving_dir / "online" / "artist_autoencoder_embedding"
        assert list(folder.glob("v2-*.npz"))  # its vectors were written ...
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        proc.kill()
    # ... but no reader sees them: the lookup without a version stays on the committed publish
    np.testing.assert_allclose(lookup("artist_autoencoder_embedding", 9, refresh_s=0), _artist_vector(emb, owner, 9),
                               rtol=1e-5)
    with warehouse.writer() as con:
        assert con.execute("SELECT DISTINCT model_version FROM artist_neighbors_audio").fetchall() == [
            ("autoencoder-1",)]
        publish_neighbors(con, "autoencoder", "autoencoder-2", [f"x{i}" for i in range(owner.size)], emb * 2, k=2)
    np.testing.assert_allclose(lookup("artist_autoencoder_embedding", 9, refresh_s=0),
                               _artist_vector(emb * 2, owner, 9), rtol=1e-5)


def test_publish_neighbors_writes_tables_views_online_and_snapshot(tmp_path):
    emb, owner = _data(2)
    store = open_store()
    with warehouse.writer() as con:
        _add_tracks(con, owner)
        # artist 3 is the only one with co-listening neighbours: the others are cold start
        con.execute("INSERT INTO lastfm_dump (dump_id, seq, file_name, format, bytes, lines, loaded, rejected, "
                    "plays_rows, users, artists, started_at, finished_at) VALUES ('d1', 1, 'x', '360k', 1, 1, 1, 0, 1, "
                    "1, 1, now(), now())")
        con.execute("INSERT INTO similarity_build (dump_id, min_listeners, min_co_listeners, k, users, artists, pairs, seed_raw_max, catalogue_size, built_at, seconds) VALUES ('d1', 1, 1, 100, 1000, 2, 0, 1.0, 1000, now(), 0.1)")
        con.execute("INSERT INTO artist_pair_counts VALUES (1, 3, 99, 2)")  # 99 has no tracks (dump d1's seq is 1)
        ids = [f"x{i}" for i in range(owner.size)]
        with pytest.raises(ParameterError):
            publish_neighbors(con, "autoencoder", "autoencoder-1", ids, emb[:3])
        res = publish_neighbors(con, "autoencoder", "autoencoder-1", ids, emb, k=2, store=store, snapshot=True)
        assert (res.artists, res.tracks, res.cold_start, res.artist_rows, res.track_rows) == (4, 10, 3, 8, 20)
        again = publish_neighbors(con, "autoencoder", "autoencoder-2", ids, emb * 2, k=2)  # replaces the family's rows
        assert again.track_view == "track_autoencoder_embedding:2"
        versions = con.execute("SELECT DISTINCT model_version FROM artist_neighbors_audio").fetchall()
        assert versions == [("autoencoder-2",)]
        cold = dict(con.execute("SELECT artist_id, bool_and(cold_start) FROM artist_neighbors_audio GROUP BY 1").fetchall())
        assert cold == {3: False, 5: True, 9: True, 12: True}
    snap = serving.open_snapshot()
    try:  # the first publication's snapshot holds its rows
        assert snap.execute("SELECT count(*), min(model_version) FROM track_neighbors").fetchone() == (20, "autoencoder-1")
    finally:
        snap.close()
    vec = lookup("artist_autoencoder_embedding", 9, version=2)
    np.testing.assert_allclose(vec, (emb * 2)[owner == 9].mean(0), rtol=1e-5)
    assert store.exists("models/autoencoder/autoencoder-1/embedding.json")
    track, artist = embedding_views("cnn_classifier", "cnn_classifier-7", 128)
    assert (track.ref, artist.ref, artist.entity.name) == ("track_cnn_classifier_embedding:7",
                                                           "artist_cnn_classifier_embedding:7", "artist")


def test_a_placeholder_artist_is_no_artists_audio_neighbour():
    """The library's "Unknown artist" (unrelated files under one placeholder) was served as a neighbour of real
    artists; the co-listening build leaves placeholders out, and so do the audio neighbours now."""
    emb, owner = _data(3)
    with warehouse.writer() as con:
        _add_tracks(con, owner)
        con.execute("INSERT INTO artist (artist_id, artist_key, name, name_norm, is_placeholder, first_dump_id) "
                    "VALUES (9, 'library:unknown', 'Unknown artist', 'unknown artist', true, 'library')")
        publish_neighbors(con, "autoencoder", "autoencoder-1", [f"x{i}" for i in range(owner.size)], emb, k=3)
        served = {r for row in con.execute("SELECT artist_id, neighbor_id FROM artist_neighbors_audio").fetchall()
                  for r in row}
        tracks = {r[0] for r in con.execute("SELECT neighbor_track_id FROM track_neighbors").fetchall()}
    assert 9 not in served and served == {3, 5, 12}
    assert {"x3", "x5", "x6"} <= tracks  # its tracks are still tracks' neighbours


def test_publishing_a_challenger_keeps_the_champions_rows(tmp_path):
    """Publishing a challenger by version deleted the family's rows, the champion's included: `musim similar
    --audio --model CHAMPION` failed while `similar-audio --family` still answered with the champion. A family
    now serves its champion and the version published last."""
    from musim.models import promotion
    from tests.models.conftest import _register, _report, _truth

    emb, owner = _data(2)
    store = open_store()
    with warehouse.writer() as con:
        _add_tracks(con, owner)
        ids = [f"x{i}" for i in range(owner.size)]
        for _ in range(3):  # siamese-1, -2, -3
            _register(con, store, tmp_path, _report(_truth(), 0.3))
        promotion.promote(con, "siamese-1", force=True)
        for version in ("siamese-1", "siamese-2", "siamese-3", "siamese-3"):
            publish_neighbors(con, "siamese", version, ids, emb, k=2)

        def served():
            return dict(con.execute("SELECT model_version, count(*) FROM track_neighbors GROUP BY 1").fetchall())

        assert served() == {"siamese-1": 20, "siamese-3": 20}  # -2 replaced by -3, which replaced its own rows
        artists = con.execute("SELECT DISTINCT model_version FROM artist_neighbors_audio ORDER BY 1").fetchall()
        assert artists == [("siamese-1",), ("siamese-3",)]
        promotion.promote(con, "siamese-3", force=True)  # -1 archived: its rows go at the family's next publish
        publish_neighbors(con, "siamese", "siamese-3", ids, emb, k=2)
        assert served() == {"siamese-3": 20}
