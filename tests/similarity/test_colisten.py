"""Both engines of the similarity build (the C kernels, DuckDB's self-join) store identical tables."""

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
    tables = {}
    for engine in ("c", "duckdb"):
        with warehouse.writer() as con:
            result = build_similarity(con, dump_id, params, engine=engine)
            tables[engine] = (
                result.pairs, result.catalogue_pairs,
                con.execute("SELECT artist_a, artist_b, co_listeners FROM artist_pairs ORDER BY ALL").fetchall(),
                con.execute("SELECT * EXCLUDE (dump_id) FROM artist_pair_similarity ORDER BY ALL").fetchall(),
                con.execute("SELECT * FROM artist_neighbors ORDER BY ALL").fetchall())
    assert tables["c"][2] and tables["c"][3]
    assert tables["c"] == tables["duckdb"]
