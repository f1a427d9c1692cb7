"""Both engines of the similarity build (the C kernels, DuckDB's self-join) store identical tables, in pair order,
and record what a count of the stored pairs gives."""

from __future__ import annotations

from musim import warehouse
from musim.ingest.lastfm import ingest_lastfm
from musim.similarity.build import SimilarityParams, build_similarity
from tests.test_cooccurrence import needs_c_kernels


@needs_c_kernels
def test_both_engines_store_identical_tables(tmp_path):
    from musim.synth.lastfm import write_lastfm_dump

    plays = write_lastfm_dump(tmp_path / "synth", users=600, artists=150, communities=3, seed=4).plays_path
    dump_id = ingest_lastfm(plays).dump_id
    params = SimilarityParams(min_listeners=3, min_co_listeners=2, k=5, catalogue_size=40)
    tables, records = {}, {}
    for engine in ("c", "duckdb"):
        with warehouse.writer() as con:
            result = build_similarity(con, dump_id, params, engine=engine, force=True)  # a build by each engine
            tables[engine] = (
                result.pairs, result.catalogue_pairs,
                _in_storage_order(con),
                con.execute("SELECT * EXCLUDE (dump_id) FROM artist_pair_similarity ORDER BY ALL").fetchall(),
                con.execute("SELECT * FROM artist_neighbors ORDER BY ALL").fetchall())
            records[engine] = (*con.execute(RECORD_CHECK).fetchone(), result.neighbors)
    assert tables["c"][2] and tables["c"][3]
    assert tables["c"] == tables["duckdb"]
    assert tables["c"][2] == sorted(tables["c"][2])  # stored in pair order, by both engines
    for engine in ("c", "duckdb"):  # the record (pairs, seed scale, neighbour rows) equals the stored pairs'
        pairs, stored_pairs, seed_max, stored_seed_max, served, neighbors = records[engine]
        assert (pairs, seed_max) == (stored_pairs, stored_seed_max) and pairs > 100
        assert neighbors == served


def _in_storage_order(con):
    with warehouse.in_order(con):
        return con.execute("SELECT artist_a, artist_b, co_listeners FROM artist_pair_counts").fetchall()


RECORD_CHECK = """
    WITH l AS (SELECT artist_id, listeners FROM artist_listeners),
    p AS (SELECT sim_seed_raw(co_listeners, la.listeners, lb.listeners) AS s FROM artist_pairs
          JOIN l la ON la.artist_id = artist_a JOIN l lb ON lb.artist_id = artist_b),
    c AS (SELECT sim_seed_raw(co_listeners, la.listeners, lb.listeners) AS s FROM artist_pair_similarity
          JOIN l la ON la.artist_id = artist_a JOIN l lb ON lb.artist_id = artist_b)
    SELECT b.pairs, (SELECT count(*) FROM p), b.seed_raw_max, greatest((SELECT max(s) FROM p), (SELECT max(s) FROM c)),
           (SELECT count(*) FROM artist_neighbors)
    FROM similarity_build b
"""


def test_summary_in_chunks_equals_one_pass(monkeypatch):
    import numpy as np

    from musim.similarity import colisten

    rng = np.random.default_rng(5)
    listeners = rng.integers(5, 500, 40)
    a = rng.integers(0, 39, 1000)
    b = a + 1 + rng.integers(0, 39 - a)
    co = rng.integers(1, 5, 1000)
    whole = colisten.summarize([(a, b, co)], listeners, k=3)
    monkeypatch.setattr(colisten, "SUMMARY_CHUNK", 7)
    assert colisten.summarize([(a, b, co)], listeners, k=3) == whole
    cuts = [0, 1, 400, 400, 999, 1000]  # chunks as the counter's ranges give them, one empty
    chunks = [(a[i:j], b[i:j], co[i:j]) for i, j in zip(cuts[:-1], cuts[1:], strict=True)]
    assert colisten.summarize(chunks, listeners, k=3) == whole
    la, lb = listeners[a].astype(float), listeners[b].astype(float)
    assert whole.seed_raw_max == (co * (la + lb) / (2.0 * la * lb)).max()  # sim_seed_raw, one rounding
    degree = np.bincount(a, minlength=40) + np.bincount(b, minlength=40)
    assert whole.neighbors == 5 * np.minimum(degree, 3).sum() and whole.pairs == 1000


@needs_c_kernels
def test_summary_in_c_equals_numpy():
    import numpy as np
    import pytest

    from musim.similarity import colisten

    rng = np.random.default_rng(6)
    listeners = rng.integers(2, 10_000, 300)
    a = rng.integers(0, 299, 50_000)
    b = a + 1 + rng.integers(0, 299 - a)
    co = rng.integers(1, 2, 50_000) * rng.integers(1, listeners[a].clip(max=listeners[b]) + 1)
    chunks = [(a[:20_000], b[:20_000], co[:20_000]), (a[20_000:], b[20_000:], co[20_000:])]
    for k in (1, 7, 1000):
        assert colisten.summarize(chunks, listeners, k, engine="c") == colisten.summarize([(a, b, co)], listeners, k)
    assert colisten.summarize([(a[:0], b[:0], co[:0])], listeners, 3, engine="c").pairs == 0
    assert colisten.summarize([], listeners, 3, engine="c").pairs == 0
    ones = np.array([1, 1, 1])
    with pytest.raises(ValueError, match=r"pair 2 \(1, 300\) has an artist outside 0\.\.299"):
        colisten.summarize([(np.array([0, 0, 1]), np.array([1, 2, 300]), ones)], listeners, 3, engine="c")
    with pytest.raises(ValueError, match=r"pair 4 \(1, 300\) has an artist outside 0\.\.299"):  # counted over chunks
        colisten.summarize([(np.array([0, 0]), np.array([1, 2]), ones[:2]),
                            (np.array([0, 0, 1]), np.array([1, 2, 300]), ones)], listeners, 3, engine="c")
    with pytest.raises(ValueError, match=r"chunk 0: a, b and co differ in length"):
        colisten.summarize([(np.array([0, 0]), np.array([1, 2]), ones)], listeners, 3, engine="c")


@needs_c_kernels
def test_the_kernels_read_their_columns_streamed_in_the_order_kept(tmp_path, monkeypatch):
    """The build's edges and the publish's stored pairs were fetched with execute().fetchnumpy(), which collects the
    whole result before copying it into arrays (0.42 s of CPU for the full dump's 19.7M pairs; 0.25 s streamed).
    fetch_columns reads them through a relation: the same arrays, in storage order under in_order (the publish lays
    the pairs out from that order), and the build and the publish read through it."""
    import numpy as np

    from musim import cooccurrence, serving, sql
    from musim.synth.lastfm import write_lastfm_dump

    ingest_lastfm(write_lastfm_dump(tmp_path / "synth", users=600, artists=150, communities=3, seed=4).plays_path)
    read = []
    real = cooccurrence.fetch_columns

    def spied(con, name, /, **params):
        read.append(name)
        return real(con, name, **params)

    for module in ("musim.similarity.colisten", "musim.serving"):
        monkeypatch.setattr(f"{module}.fetch_columns", spied)
    with warehouse.writer() as con:
        build_similarity(con, None, SimilarityParams(min_listeners=3, min_co_listeners=1, k=5), engine="c")
        seq = con.execute("SELECT seq FROM lastfm_dump").fetchone()[0]
        with warehouse.in_order(con):
            streamed = real(con, "similarity/stored_pairs.sql", dump_seq=seq)
            collected = sql.query(con, "similarity/stored_pairs.sql", dump_seq=seq).fetchnumpy()
        serving.publish(con)
    assert list(streamed) == list(collected) == ["artist_a", "artist_b", "co_listeners"]
    assert all(streamed[c].dtype == np.int32 and np.array_equal(streamed[c], collected[c]) for c in streamed)
    assert streamed["artist_a"].size > 100 and list(zip(streamed["artist_a"], streamed["artist_b"], strict=True)) == \
        sorted(zip(streamed["artist_a"], streamed["artist_b"], strict=True))
    assert read == ["similarity/edges.sql", "similarity/eligible_ids.sql", "similarity/catalogue_ids.sql",
                    "similarity/stored_pairs.sql"]


@needs_c_kernels
def test_the_c_engine_reads_the_edges_and_the_catalogues_without_scratch_tables(tmp_path, monkeypatch):
    """The eligible artists' edges (sim_edges) and the catalogue's were copied into scratch tables for either engine,
    which only DuckDB's self-join reads (the C counter's arrays read straight from the plays take ~0.3 s less CPU at
    full scale; the catalogue's picked out of them by index): the C engine creates neither, and both engines still
    store the same pairs and catalogue (test_both_engines_store_identical_tables)."""
    from musim import sql
    from musim.synth.lastfm import write_lastfm_dump

    ingest_lastfm(write_lastfm_dump(tmp_path / "synth", users=600, artists=150, communities=3, seed=4).plays_path)
    created, execute = {"c": [], "duckdb": []}, sql._execute
    engine = "c"

    def spied(con, stmt, bound):
        if "CREATE OR REPLACE TEMP TABLE" in stmt:
            created[engine].append(stmt.split("TEMP TABLE", 1)[1].split()[0])
        return execute(con, stmt, bound)

    monkeypatch.setattr(sql, "_execute", spied)
    catalogues = {}
    for engine in ("c", "duckdb"):
        with warehouse.writer() as con:
            result = build_similarity(con, None, SimilarityParams(min_listeners=3, min_co_listeners=2, k=5,
                                                                  catalogue_size=40), engine=engine, force=True)
            catalogues[engine] = con.execute("SELECT * EXCLUDE (dump_id) FROM artist_pair_similarity "
                                             "ORDER BY ALL").fetchall()
        assert result.catalogue_pairs == len(catalogues[engine]) > 100
    assert "sim_catalogue" in created["c"] and "sim_catalogue_edges" not in created["c"]
    assert "sim_eligible" in created["c"] and "sim_edges" not in created["c"]
    assert {"sim_edges", "sim_catalogue_edges"} <= set(created["duckdb"])
    assert catalogues["c"] == catalogues["duckdb"]


def test_the_catalogues_edges_are_picked_in_pieces_as_a_boolean_index_picks_them(monkeypatch):
    """The catalogue's edges are picked out of the eligible artists' edges in pieces (a whole-array pick faulted in
    ~150 MiB of temporaries at full scale): the same edges, in the same order, whatever the pieces' size."""
    import numpy as np

    from musim.similarity import colisten

    rng = np.random.default_rng(7)
    users = rng.integers(0, 500, 10_000).astype(np.int32)
    idx = rng.integers(0, 60, 10_000).astype(np.int32)
    index_of = np.full(60, -1, np.int32)
    index_of[[3, 17, 18, 59]] = [0, 1, 2, 3]
    picked = index_of[idx]
    expected = (users[picked >= 0], picked[picked >= 0])
    for chunk in (1, 7, 4096, 1 << 20):
        monkeypatch.setattr(colisten, "PICK_CHUNK", chunk)
        got = colisten._picked(users, idx, index_of)
        assert all(g.dtype == np.int32 and np.array_equal(g, e) for g, e in zip(got, expected, strict=True))
    assert expected[0].size > 500
    empty = colisten._picked(users[:0], idx[:0], index_of)
    assert [a.size for a in empty] == [0, 0] and all(a.dtype == np.int32 for a in empty)
