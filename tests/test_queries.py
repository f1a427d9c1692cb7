"""musim.queries: the track search's name rule (the name_norm macro), and which DuckDB errors `ask` calls an earlier
snapshot layout."""

from __future__ import annotations

import duckdb
import pytest

from musim import queries, sql
from musim.cli import main
from musim.errors import StorageError
from musim.names import name_norm
from musim.similarity.query import EARLIER_LAYOUT
from tests.test_sql import HOSTILE

#: sql/queries/track_search.sql before the name_norm macro (its own spelling of the rule, untrimmed).
OLD_TRACK_SEARCH = """
WITH t AS (
    SELECT *, lower(nfc_normalize(regexp_replace(title, '[\\s\\x{0B}\\x{1C}-\\x{1F}\\x{85}\\p{Zs}\\x{2028}\\x{2029}]+', ' ',
                                                 'g'))) AS title_norm
    FROM track
)
SELECT t.track_id, t.title, a.name AS artist, t.artist_id, t.genre, t.provider, t.duration_s
FROM t
LEFT JOIN artist a ON a.artist_id = t.artist_id
WHERE contains(t.title_norm, $q) OR contains(a.name_norm, $q)
ORDER BY trim(t.title_norm) = $q DESC, a.name_norm = $q DESC, starts_with(ltrim(t.title_norm), $q) DESC,
         a.name, coalesce(t.provider_rank, 32767), t.title, t.track_id
LIMIT $limit
"""


def _catalogue(con: duckdb.DuckDBPyConnection, titles: list[str]) -> None:
    """A snapshot's ``artist`` and ``track`` (their columns as published): each title with an outer space or not,
    by two artists, and the artists named by the titles too."""
    con.execute("CREATE TABLE artist (artist_id INTEGER, name VARCHAR, name_norm VARCHAR)")
    con.execute("CREATE TABLE track (track_id VARCHAR, title VARCHAR, artist_id INTEGER, genre VARCHAR, "
                "provider VARCHAR, duration_s DOUBLE, provider_rank SMALLINT)")
    con.executemany("INSERT INTO artist VALUES (?, ?, ?)", [(i, n, name_norm(n)) for i, n in enumerate(HOSTILE[:20])])
    con.executemany("INSERT INTO track VALUES (?, ?, ?, 'rock', 'p', 30.0, ?)",
                    [(f"{i:016x}", t, i % 20, None if i % 3 else i % 5) for i, t in enumerate(titles)])


def test_the_track_search_finds_and_orders_what_it_did_before_the_macro():
    """track_search.sql now takes the title's normal form from the name_norm macro (trimmed, where its own spelling
    kept an outer space and trimmed it in its ORDER BY): for every text typed, the same rows in the same order."""
    titles = [t for s in HOSTILE for t in (s, f" {s}", f"{s}\u3000", f"{s} song 2", f"Song {s}")]
    con = sql.install_macros(duckdb.connect())
    _catalogue(con, titles)
    typed = {name_norm(t) for t in titles + ["so", "ng 2", "the", "THE BEATLES", "e\u0301", "é", "a b"]} - {""}
    compared = 0
    for q in sorted(typed):
        before = con.execute(OLD_TRACK_SEARCH, {"q": q, "limit": 1 << 20}).fetchall()
        assert sql.query(con, "queries/track_search.sql", q=q, limit=1 << 20).fetchall() == before, q
        compared += bool(before)
    assert compared > 50
    con.close()


# --- ask: an earlier layout, or an error of its own -----------------------------------------------------------

@pytest.fixture
def served(tmp_path, monkeypatch):
    """A published snapshot of ``artist`` and ``track``, but ``track`` without ``provider_rank`` (a layout before
    it): its connection, to change it, and ``ask`` reading it."""
    path = tmp_path / "snapshot.duckdb"
    con = duckdb.connect(str(path))
    _catalogue(con, ["Song One", "Song Two"])
    con.execute("ALTER TABLE track DROP COLUMN provider_rank")
    con.close()
    monkeypatch.setattr(queries.serving, "current_path", lambda settings=None: path)
    return path


def test_a_table_or_column_the_current_layout_has_and_the_snapshot_lacks_is_an_earlier_layout(served):
    with pytest.raises(StorageError, match=r"^the current snapshot was published by an earlier version") as caught:
        queries.ask(queries.find_tracks, "song")  # track.provider_rank, which the current layout has
    assert str(caught.value) == EARLIER_LAYOUT and isinstance(caught.value.__cause__, duckdb.BinderException)
    with pytest.raises(StorageError, match=r"earlier version") as caught:
        queries.ask(lambda con, snap: con.execute("SELECT * FROM track_neighbors").fetchall())
    assert isinstance(caught.value.__cause__, duckdb.CatalogException)


@pytest.mark.parametrize(("question", "error", "said"), [
    ("SELECT lower(artist_id) FROM track", duckdb.BinderException, "No function matches"),  # a wrong type
    ("SELECT name_norm(title) || 1 + 'x' FROM track", duckdb.BinderException, "Could not choose"),
    ("SELECT no_such_function(title) FROM track", duckdb.CatalogException, "no_such_function does not exist"),
    ("SELECT titel FROM track", duckdb.BinderException, '"titel" not found'),  # a name no layout has: a bug
    ("SELECT * FROM trakc", duckdb.CatalogException, "trakc does not exist"),
])
def test_any_other_binder_error_is_raised_as_it_is(served, question, error, said):
    """`ask` called every Binder and Catalog error the snapshot's earlier layout ("publish a new one"): a wrong type,
    a missing function or a misspelt name (bugs, which no publish mends) were hidden behind it."""
    with pytest.raises(error, match=said):
        queries.ask(lambda con, snap: con.execute(question).fetchall())


def test_the_cli_says_a_binder_error_in_one_line_and_its_cause_with_v(served, monkeypatch, capsys):
    def broken(con, snap, **_):
        return con.execute("SELECT lower(artist_id) FROM track").fetchall()

    monkeypatch.setattr(queries, "similar_tracks", broken)
    assert main(["similar-tracks", "song"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("musim: error: BinderException: Binder Error: No function matches") and err.count("\n") == 1
    assert "earlier version" not in err
    assert main(["-v", "similar-tracks", "song"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "test_queries.py" in err and "No function matches" in err
