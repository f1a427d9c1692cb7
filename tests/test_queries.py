"""musim.queries: the track search's name rule (the name_norm macro)."""

from __future__ import annotations

import duckdb

from musim import sql
from musim.names import name_norm
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

