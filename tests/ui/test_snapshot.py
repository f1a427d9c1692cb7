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
