"""A published snapshot the app cannot read as this version of musim lays it out: every page and API says so (503,
one line, what to do), none answers 500."""

from __future__ import annotations

import re
import shutil

import duckdb
import pytest
from fastapi.testclient import TestClient

from musim.ui.app import create_app

ROUTES = [
    "/",
    "/?artist=x",
    "/api/status",
    "/api/similar?artist=x",
    "/api/suggest?q=ab",
    "/api/models",
    "/api/quality",
    "/api/tracks?q=a",
    "/api/tracks/similar?q=a",
]


def _serve(home, monkeypatch, make) -> None:
    """``home``'s current.duckdb pointing at what ``make(path)`` puts at its snapshot's path."""
    snapshots = home / "serving" / "snapshots"
    snapshots.mkdir(parents=True)
    make(snapshots / "snapshot-old.duckdb")
    (home / "serving" / "current.duckdb").symlink_to("snapshots/snapshot-old.duckdb")
    monkeypatch.setenv("MUSIM_HOME", str(home))


def _answers(say: str) -> None:
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        for url in ROUTES:
            r = client.get(url)
            assert r.status_code == 503, (url, r.status_code, r.text[:300])
            if url.startswith("/api/"):
                detail = r.json()["detail"]
            else:
                detail = re.search(r'data-testid="not-published">(.*?)</div>', r.text, re.S).group(1)
                assert "The published snapshot cannot be read." in detail
            assert say in detail and "\n" not in detail, (url, detail)


@pytest.mark.parametrize("drop", ["DROP TABLE pair_lookup_dumps", "DROP TABLE lastfm_dump"])
def test_a_snapshot_of_an_earlier_layout_asks_for_a_new_publish_on_every_route(
    minimal_home, tmp_path, monkeypatch, drop
):
    """A snapshot published before pair_lookup_dumps (aeca1cb), still current after an upgrade: the page and every
    API route but the leaderboard and quality answered 500 (DuckDB's catalog error, unexplained)."""
    current = (minimal_home.path / "serving" / "current.duckdb").resolve()

    def older(path):
        shutil.copy(current, path)
        con = duckdb.connect(str(path))
        try:
            con.execute(drop)  # the layout of an earlier release lacks it
        finally:
            con.close()

    _serve(tmp_path / "home", monkeypatch, older)
    _answers("it was published by an earlier version of musim; publish a new one (`musim publish`)")


def test_a_current_link_to_a_folder_is_named_not_a_500(tmp_path, monkeypatch):
    _serve(tmp_path / "home", monkeypatch, lambda path: path.mkdir())
    _answers(f"no snapshot file {tmp_path / 'home' / 'serving' / 'snapshots' / 'snapshot-old.duckdb'}")


def test_a_duckdb_setting_it_refuses_is_said_by_the_page_too_not_its_json(minimal_home, monkeypatch):
    """MUSIM_DUCKDB_MEMORY=banana: the API's routes answered 503 naming it, and the page answered the same JSON in place
    of the page (shown raw in the Airflow UI's frame)."""
    monkeypatch.setenv("MUSIM_HOME", str(minimal_home.path))
    monkeypatch.setenv("MUSIM_DUCKDB_MEMORY", "banana")
    _answers("MUSIM_DUCKDB_MEMORY must be a DuckDB memory limit such as 8GB or 80%")


def test_a_binder_error_of_no_layout_is_a_500_not_an_earlier_layout(tmp_path, monkeypatch):
    """The app answered every Binder and Catalog error "published by an earlier version of musim; publish a new one"
    (503): a misspelt name or a wrong type in its SQL is a bug, which no publish mends."""
    from musim.config import get_settings
    from musim.ui.app import _explained

    monkeypatch.setenv("MUSIM_HOME", str(tmp_path / "home"))
    settings = get_settings()
    bug = duckdb.BinderException('Binder Error: Referenced column "titel" not found in FROM clause!')
    assert _explained(bug, settings) is None
    lacking = duckdb.BinderException('Binder Error: Referenced column "dump_id" not found in FROM clause!')
    assert "earlier version of musim" in str(_explained(lacking, settings))
