"""The page's snapshot connections are the same sandbox as ``musim sql``."""

from __future__ import annotations

import duckdb
import pytest

from musim.ui.snapshot import SnapshotCache
from tests.ui.conftest import use


def test_page_connections_cannot_read_files_attach_or_unlock(minimal_home, monkeypatch, tmp_path):
    use(minimal_home, monkeypatch)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    cache = SnapshotCache()
    try:
        with cache.open() as s:
            assert s.con.execute("SELECT count(*) > 0 FROM artist_neighbors").fetchone() == (True,)
            # a cursor of its own, with the macros the queries call (sql/warehouse/macros.sql)
            assert s.con.execute("SELECT name_norm(' The  Beatles ')").fetchone() == ("the beatles",)
            with pytest.raises(duckdb.PermissionException):
                s.con.execute(f"SELECT * FROM read_text('{secret}')")
            with pytest.raises(duckdb.PermissionException):
                s.con.execute(f"ATTACH '{minimal_home.path / 'warehouse.duckdb'}' AS w")
            with pytest.raises(duckdb.InvalidInputException, match="locked"):
                s.con.execute("SET enable_external_access = true")
            with pytest.raises(duckdb.Error, match="read-only"):
                s.con.execute("DELETE FROM artist")
    finally:
        cache.clear()


def test_a_snapshot_pruned_between_the_link_and_the_open_is_followed_not_a_500(minimal_home, monkeypatch):
    """A publish of the same state prunes the snapshot ``current.duckdb`` pointed to between the link's reading and
    the file's opening: ``musim sql`` and ``musim similar`` follow it to the one served now; the app answered 500
    (FileNotFoundError) on every page and API route of that request."""
    from fastapi.testclient import TestClient

    from musim import serving
    from musim.ui import snapshot
    from musim.ui.app import create_app

    use(minimal_home, monkeypatch)
    served = serving.current_path()
    read = iter([served.with_name("snapshot-20200101T000000000000Z.duckdb")])  # the link read before the prune

    monkeypatch.setattr(snapshot.serving, "current_path", lambda settings=None: next(read, served))
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        r = client.get("/api/status")
    assert r.status_code == 200 and r.json()["snapshot"] == served.name, r.text[:300]
