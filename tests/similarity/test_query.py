"""Query-time metrics equal the metrics musim used to materialise, exactly; pair counts equal scipy's AᵀA."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musim import serving, sql, warehouse
from musim.ingest.lastfm import ingest_lastfm
from musim.similarity import METRICS
from musim.similarity.build import SimilarityParams, build_similarity
from musim.similarity.query import ArtistSimilarity
from tests.lastfm_files import tiny_dump, write_lines
from tests.test_cooccurrence import needs_c_kernels

REFERENCE = Path(__file__).parent / "reference"
COLUMNS = "metric, artist_id, rank, neighbor_id, score, co_listeners"


def _run_reference(con, name: str, **params) -> None:
    text = (REFERENCE / name).read_text().replace("artist_neighbors", "ref_neighbors")
    for stmt in sql.statements(text):
        used = sql.params_of(stmt)
        con.execute(stmt, {k: params[k] for k in used} if used else None)


def _reference_neighbors(con, dump_id: str, p: SimilarityParams) -> list[tuple]:
    """The top-k neighbours as the materialising build stored them (tests/similarity/reference)."""
    _run_reference(con, "listeners.sql", dump_id=dump_id, min_listeners=p.min_listeners)
    n = con.execute("SELECT count(*) FROM sim_eligible").fetchone()[0]
    users = con.execute("SELECT users FROM similarity_build WHERE dump_id = ?", [dump_id]).fetchone()[0]
    con.execute("CREATE OR REPLACE TEMP TABLE sim_pairs (idx_a INTEGER, idx_b INTEGER, co INTEGER)")
    for lo, hi in ((0, n // 2), (n // 2, n)):  # two slices, as the build did
        _run_reference(con, "pairs.sql", n_artists=max(n, 1), min_co_listeners=p.min_co_listeners, idx_lo=lo,
                       idx_hi=hi)
    _run_reference(con, "metrics.sql", users=users)
    con.execute("CREATE OR REPLACE TEMP TABLE ref_neighbors AS SELECT * EXCLUDE (neighbor_name, neighbor_listeners) "
                "FROM artist_neighbors LIMIT 0")
    _run_reference(con, "neighbors.sql", dump_id=dump_id, k=p.k)
    return con.execute(f"SELECT {COLUMNS} FROM ref_neighbors ORDER BY ALL").fetchall()


def _ties_dump(path: Path) -> Path:
    lines = []
    for i in range(4):  # X is co-listened with Y and Z by the same users: equal scores everywhere
        u = f"{i:040x}"
        lines += [f"{u}\t\tX\t1", f"{u}\t\tY\t1", f"{u}\t\tZ\t1"]
    return write_lines(path, lines)


def _synth_dump(path: Path) -> Path:
    from musim.synth.lastfm import write_lastfm_dump

    return write_lastfm_dump(path, users=900, artists=160, communities=4, seed=5).plays_path


@pytest.mark.parametrize(("dump", "params"), [
    (tiny_dump, SimilarityParams(min_listeners=1, min_co_listeners=1, k=5)),
    (_ties_dump, SimilarityParams(min_listeners=1, min_co_listeners=1, k=2)),
    (_synth_dump, SimilarityParams(min_listeners=5, min_co_listeners=2, k=7)),
], ids=["tiny", "ties", "synthetic"])
def test_query_time_metrics_equal_the_materialised_ones(tmp_path, dump, params):
    dump_id = ingest_lastfm(dump(tmp_path / "d.tsv" if dump is not _synth_dump else tmp_path / "synth")).dump_id
    with warehouse.writer() as con:
        build_similarity(con, dump_id, params)
        serving.publish(con)
        want = _reference_neighbors(con, dump_id, params)
        got = con.execute(f"SELECT {COLUMNS} FROM artist_neighbors ORDER BY ALL").fetchall()
    assert len(want) > 0 and got == want  # exact: same floats, same tie order
    snap = serving.open_snapshot()
    assert snap.execute(f"SELECT {COLUMNS} FROM artist_neighbors ORDER BY ALL").fetchall() == want
    # `musim similar` (one artist's rows scored at query time) returns the same rows, for each metric
    service = ArtistSimilarity(snap)
    ids = snap.execute("SELECT artist_id, name FROM artist ORDER BY artist_id LIMIT 25").fetchall()
    by_artist: dict[tuple[str, int], list[tuple]] = {}
    for metric, artist_id, rank, neighbor_id, score, co in want:
        by_artist.setdefault((metric, artist_id), []).append((neighbor_id, score, co, rank))
    for artist_id, name in ids:
        if snap.execute("SELECT count(*) FROM artist WHERE name_norm = (SELECT name_norm FROM artist "
                        "WHERE artist_id = ?)", [artist_id]).fetchone()[0] > 1:
            continue  # a shared name answers for the most listened artist
        for metric in METRICS:
            expected = sorted(by_artist.get((metric, artist_id), []), key=lambda r: r[3])
            if not expected:
                continue
            _, rows = service.similar(name, k=params.k + 3, metric=metric)
            assert [(r.artist_id, r.score, r.co_listeners, r.rank) for r in rows] == expected, (name, metric)


@pytest.mark.parametrize("engine", [pytest.param("c", marks=needs_c_kernels), "duckdb"])
def test_pair_counts_equal_scipy_ata(tmp_path, engine):
    import scipy.sparse as sp

    from musim.synth.lastfm import write_lastfm_dump

    plays = write_lastfm_dump(tmp_path / "synth", users=700, artists=140, communities=3, seed=9).plays_path
    dump_id = ingest_lastfm(plays).dump_id
    params = SimilarityParams(min_listeners=4, min_co_listeners=2, k=5)
    with warehouse.writer() as con:
        result = build_similarity(con, dump_id, params, engine=engine)
        users, artists = con.execute(
            """SELECT p.user_id, p.artist_id FROM lastfm_plays p JOIN artist a USING (artist_id)
               WHERE p.dump_id = ? AND p.plays > 0 AND NOT a.is_placeholder""", [dump_id]).fetchnumpy().values()
        stored = con.execute("SELECT artist_a, artist_b, co_listeners FROM artist_pairs WHERE dump_id = ?",
                             [dump_id]).fetchall()
    _, rows = np.unique(users, return_inverse=True)
    ids, cols = np.unique(artists, return_inverse=True)
    a = sp.csr_matrix((np.ones(rows.size, dtype=np.int64), (rows, cols)))
    listeners = np.asarray(a.sum(axis=0)).ravel()
    keep = np.flatnonzero(listeners >= params.min_listeners)
    a = a[:, keep]
    c = sp.triu(a.T @ a, k=1).tocoo()
    mask = c.data >= params.min_co_listeners
    want = sorted(zip(ids[keep][c.row[mask]].tolist(), ids[keep][c.col[mask]].tolist(), c.data[mask].tolist(),
                      strict=True))
    assert len(want) > 100 and sorted(stored) == want and result.pairs == len(want)
