"""The plays suite's duplicate count: exact whatever the storage order, one ordered pass when it can be."""

from __future__ import annotations

import pytest

from musim import sql, warehouse
from musim.quality import QualityThresholds
from musim.quality.registry import CheckContext
from musim.quality.suites.lastfm import duplicate_plays_rows


@pytest.fixture
def ran(monkeypatch) -> list[str]:
    """The SQL files of the plays table the count runs."""
    names: list[str] = []
    query = sql.query

    def recording(con, name, **params):
        if name.startswith("quality/lastfm_plays_"):  # not the dump's facts
            names.append(name)
        return query(con, name, **params)

    monkeypatch.setattr(sql, "query", recording)
    return names


def _count(con) -> int:
    dump = con.execute("SELECT dump_id FROM lastfm_dump").fetchone()[0]
    return duplicate_plays_rows(CheckContext(con=con, thresholds=QualityThresholds(), dump_id=dump))["duplicate_rows"]


def _restore_as(con, select: str) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE t AS {select}")
    con.execute("DELETE FROM lastfm_plays")
    con.execute("INSERT INTO lastfm_plays SELECT * FROM t")


def test_plays_as_the_ingest_stores_them_need_no_sort(good, ran):
    with warehouse.writer() as con:
        assert _count(con) == 0
    assert ran == ["quality/lastfm_plays_keys.sql"]


def test_plays_in_another_order_are_sorted_and_counted(good, ran):
    with warehouse.writer() as con:
        _restore_as(con, "SELECT * FROM lastfm_plays ORDER BY hash(user_id, artist_id)")
        assert _count(con) == 0
    assert ran == ["quality/lastfm_plays_keys.sql", "quality/lastfm_plays_duplicates.sql"]


@pytest.mark.parametrize("order", ["user_id, artist_id", "hash(user_id, artist_id)"])
def test_a_duplicate_is_counted_in_any_order(good, order):
    with warehouse.writer() as con:
        _restore_as(con, f"""SELECT * FROM (SELECT * FROM lastfm_plays
                                            UNION ALL (SELECT * FROM lastfm_plays ORDER BY user_id DESC LIMIT 2))
                             ORDER BY {order}""")
        assert _count(con) == 2
