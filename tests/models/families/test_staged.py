"""The training DAG's publish phase (musim.models.families.staged.publish_job), no TensorFlow: every family's
rows, then one snapshot, then the online pointers."""

from __future__ import annotations

from types import SimpleNamespace

import duckdb
import numpy as np
import pytest

from musim import serving, warehouse
from musim.errors import QualityError, StorageError
from musim.features import lookup
from musim.models import registry
from musim.models.families import staged
from musim.models.serve import publish_neighbors
from tests.models.test_serve import _add_tracks, _artist_vector, _data


def _autoencoder_1_published():
    """autoencoder-1 published (with its snapshot) over 3 artists' tracks: ``(embeddings, owners, a stand-in for the
    publish phase's _publish_champion that publishes the given version with the embeddings doubled)``."""
    emb, owner = _data(3)
    ids = [f"x{i}" for i in range(owner.size)]
    with warehouse.writer() as con:
        _add_tracks(con, owner)
        publish_neighbors(con, "autoencoder", "autoencoder-1", ids, emb, k=2, snapshot=True)

    def publish_champion(con, store, version, decision, *, k, defer_online):
        return publish_neighbors(con, "autoencoder", version, ids, emb * 2, k=k,
                                 defer_online=defer_online).to_json()

    return emb, owner, publish_champion


def test_the_publish_phase_moves_the_online_pointers_after_its_one_snapshot(monkeypatch):
    """The phase published each family with its pointers moved at once and one snapshot at the end: until that
    snapshot (or for good, killed before it) a no-version lookup of the embedding view was on the new version
    while the snapshot served the old neighbours."""
    emb, owner, publish_champion = _autoencoder_1_published()

    seen = []
    real = serving.publish

    def publish_seeing_the_lookup(con, settings=None, **kw):
        seen.append(lookup("artist_autoencoder_embedding", 9, refresh_s=0))
        return real(con, settings, **kw)

    monkeypatch.setattr(staged, "_publish_champion", publish_champion)
    monkeypatch.setattr(registry, "champion", lambda con, family: SimpleNamespace(version="autoencoder-2"))
    monkeypatch.setattr(serving, "publish", publish_seeing_the_lookup)
    out = staged.publish_job([{"family": "autoencoder", "version": "autoencoder-2"}], k=2, store=object())

    np.testing.assert_allclose(seen[0], _artist_vector(emb, owner, 9), rtol=1e-5)  # the snapshot went first
    np.testing.assert_allclose(lookup("artist_autoencoder_embedding", 9, refresh_s=0),
                               _artist_vector(emb * 2, owner, 9), rtol=1e-5)
    assert out["snapshot"] and len(out["champions"][0]["online"]) == 2
    assert "staged_online" not in out["champions"][0]


def _family_published_then(monkeypatch, snapshot_error):
    """The publish phase of autoencoder-2 over a published autoencoder-1, its snapshot raising ``snapshot_error``."""
    emb, owner, publish_champion = _autoencoder_1_published()

    def fails(con, settings=None, **kw):
        raise snapshot_error

    monkeypatch.setattr(staged, "_publish_champion", publish_champion)
    monkeypatch.setattr(registry, "champion", lambda con, family: SimpleNamespace(version="autoencoder-2"))
    monkeypatch.setattr(serving, "publish", fails)
    return emb, owner, lambda: staged.publish_job([{"family": "autoencoder", "version": "autoencoder-2"}], k=2,
                                                  store=object())


def test_a_publish_phase_whose_snapshot_fails_leaves_the_online_pointers(monkeypatch):
    """The phase moved every family's pointers after its snapshot failed (a full disk): the lookup ran ahead of
    the neighbours served."""
    emb, owner, run = _family_published_then(monkeypatch, duckdb.IOException(
        'IO Error: Could not write file "/srv/snapshots/publish-1-ab.partial.wal": No space left on device'))
    with pytest.raises(StorageError, match=r"^cannot write /srv/snapshots/publish-1-ab.partial.wal: No space left on "
                                           r"device\. Meanwhile the neighbours of autoencoder-2 are committed"):
        run()
    np.testing.assert_allclose(lookup("artist_autoencoder_embedding", 9, refresh_s=0),
                               _artist_vector(emb, owner, 9), rtol=1e-5)


def test_a_publish_phase_refused_by_the_quality_gate_still_moves_the_online_pointers(monkeypatch):
    emb, owner, run = _family_published_then(monkeypatch, QualityError("the similarity build failed its check"))
    with pytest.raises(QualityError):
        run()
    np.testing.assert_allclose(lookup("artist_autoencoder_embedding", 9, refresh_s=0),
                               _artist_vector(emb * 2, owner, 9), rtol=1e-5)


def test_a_phase_whose_run_staging_was_collected_says_so_in_one_line():
    """A task of an old training run cleared by hand after `musim store gc` collected the run's staging folder: the
    error names the missing key, why it can be gone and what to do (before: only `no object ...`)."""
    from musim.errors import NotFoundError
    from musim.models.families.staged import evaluate_staged, train_staged

    item = {"family": "autoencoder", "manifest": "models/runs/old-run/inputs.npz", "params": {},
            "run_id": "old-run/autoencoder"}
    for phase in (train_staged, evaluate_staged):
        with pytest.raises(NotFoundError) as caught:
            phase(item)
        said = str(caught.value)
        assert said.startswith("no object 'models/runs/old-run/") and "\n" not in said
        assert "this training run's staging is gone" in said and "clear the whole DAG run" in said
