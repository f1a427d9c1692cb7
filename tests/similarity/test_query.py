"""Query-time metrics equal the metrics musim used to materialise, exactly; pair counts equal scipy's AᵀA."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

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
            rows = service.similar(name, k=params.k + 3, metric=metric).neighbors
            assert [(r.artist_id, r.score, r.co_listeners, r.rank) for r in rows] == expected, (name, metric)


def _equal_values_dump(path: Path) -> Path:
    """Mathematically equal scores whose doubles differ in the last bit. Alpha (5 listeners) shares 2 with Xeno
    (4) and 3 with Ypsilon (10): seed r = (2/5 + 2/4) / 2 = (3/5 + 3/10) / 2. Beta (3) shares 1 with Pi (1) and 3
    with Quux (9): cosine 1/sqrt(3) = 3/sqrt(27). Their ties go to the neighbour with more co-listeners."""
    listeners = {"Alpha": [1, 2, 3, 4, 5], "Xeno": [1, 2, 6, 7], "Ypsilon": [1, 2, 3, 8, 9, 10, 11, 12, 13, 14],
                 "Beta": [21, 22, 23], "Pi": [21], "Quux": list(range(21, 30))}
    return write_lines(path, [f"{u:040x}\t\t{name}\t7" for name, users in listeners.items() for u in users])


def _exact_top_k(con, dump_id: str, k: int) -> dict[tuple[str, int], list[int]]:
    """The top-k neighbour ids of every artist and metric by the metrics' exact values (fractions: seed as r,
    cosine squared, pmi as lift, each ordering like the metric), ties to more co-listeners, then the lower id."""
    users = con.execute("SELECT users FROM similarity_build WHERE dump_id = ?", [dump_id]).fetchone()[0]
    listeners = dict(con.execute("SELECT artist_id, listeners FROM artist_listeners WHERE dump_id = ?",
                                 [dump_id]).fetchall())
    exact = {"seed": lambda co, la, lb: Fraction(co, la) + Fraction(co, lb),
             "jaccard": lambda co, la, lb: Fraction(co, la + lb - co),
             "cosine": lambda co, la, lb: Fraction(co * co, la * lb),
             "lift": lambda co, la, lb: Fraction(co * users, la * lb)}
    exact["pmi"] = exact["lift"]
    out: dict[tuple[str, int], list[tuple]] = {}
    for a, b, co in con.execute("SELECT artist_a, artist_b, co_listeners FROM artist_pairs WHERE dump_id = ?",
                                [dump_id]).fetchall():
        for metric, value in exact.items():
            for x, y in ((a, b), (b, a)):
                out.setdefault((metric, x), []).append((-value(co, listeners[x], listeners[y]), -co, y))
    return {key: [y for *_, y in sorted(rows)[:k]] for key, rows in out.items()}


@pytest.mark.parametrize(("dump", "params"), [
    (_equal_values_dump, SimilarityParams(min_listeners=1, min_co_listeners=1, k=5)),
    (_synth_dump, SimilarityParams(min_listeners=3, min_co_listeners=1, k=4)),
], ids=["equal-values", "synthetic"])
def test_neighbours_rank_by_the_exact_value_of_each_metric(tmp_path, dump, params):
    """Ranked by the scores' doubles, Alpha's seed neighbours were Xeno (2 co-listeners) above Ypsilon (3) and
    Beta's cosine ones Pi (1) above Quux (3): rounding noise, not the README's "ties broken by co-listeners"."""
    dump_id = ingest_lastfm(dump(tmp_path / "d.tsv" if dump is not _synth_dump else tmp_path / "synth")).dump_id
    with warehouse.writer() as con:
        build_similarity(con, dump_id, params)
        serving.publish(con)
        want = _exact_top_k(con, dump_id, params.k)
    snap = serving.open_snapshot()
    view: dict[tuple[str, int], list[int]] = {}
    for metric, artist_id, neighbor_id in snap.execute(
            "SELECT metric, artist_id, neighbor_id FROM artist_neighbors ORDER BY metric, artist_id, rank").fetchall():
        view.setdefault((metric, artist_id), []).append(neighbor_id)
    assert view == want
    service = ArtistSimilarity(snap)
    names = dict(snap.execute("SELECT artist_id, name FROM artist").fetchall())
    for (metric, artist_id), ids in want.items():
        rows = service.similar(names[artist_id], k=params.k, metric=metric).neighbors
        assert [r.artist_id for r in rows] == ids, (names[artist_id], metric)
    if dump is _equal_values_dump:
        rows = service.similar("alpha", metric="seed").neighbors
        assert [(r.artist, r.co_listeners) for r in rows] == [("Ypsilon", 3), ("Xeno", 2)]
        rows = service.similar("beta", metric="cosine").neighbors
        assert [(r.artist, r.co_listeners) for r in rows] == [("Quux", 3), ("Pi", 1)]


def test_equal_values_print_the_same_score(tmp_path, capsys):
    """Alpha's seed neighbours Ypsilon and Xeno tie ((3/5 + 3/10) / 2 = (2/5 + 2/4) / 2), so do Beta's cosine
    neighbours Quux and Pi (3/sqrt(27) = 1/sqrt(3)): ranked by co-listeners, they printed scores that differ in the
    last digit (seed 0.6749999999999999 and 0.675, cosine 0.5773502691896257 and 0.5773502691896258), in the view
    and in `musim similar --json` alike; one correctly rounded operation of exact integers gives one double."""
    from musim.cli import main

    dump_id = ingest_lastfm(_equal_values_dump(tmp_path / "d.tsv")).dump_id
    with warehouse.writer() as con:
        build_similarity(con, dump_id, SimilarityParams(min_listeners=1, min_co_listeners=1, k=5))
        serving.publish(con)
    snap = serving.open_snapshot()
    for artist, metric, tied in (("Alpha", "seed", ["Ypsilon", "Xeno"]), ("Beta", "cosine", ["Quux", "Pi"])):
        view = snap.execute("SELECT neighbor, score FROM similar_artists WHERE artist = ? AND metric = ? "
                            "ORDER BY rank", [artist, metric]).fetchall()
        assert [name for name, _ in view] == tied
        assert repr(view[0][1]) == repr(view[1][1]), (artist, metric, view)
        assert main(["similar", artist, "--metric", metric, "--json"]) == 0
        out = capsys.readouterr().out
        rows = json.loads(out)["rows"]
        assert [r["artist"] for r in rows] == tied
        printed = re.findall(r'"score": ([^,}\s]+)', out)
        assert printed == [repr(view[0][1])] * 2, (artist, metric, printed)


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


def test_one_suggestion_rule_ranks_name_key_prefix_contains_then_close_names(tmp_path):
    """`serving/suggest_artist.sql`, what `musim similar`'s "did you mean" and the page's autocomplete both ask: the
    name, its key, prefixes, contains, then (while there is room) close names of its first letter; namesakes counted."""
    from musim.similarity.query import suggest_artists
    from tests.lastfm_files import MB_A, MB_B

    users = [f"{i:040x}" for i in range(8)]
    heard = {("Nirvana", MB_A): 5, ("Nirvana", MB_B): 4, ("Nirvana Tribute", ""): 3, ("The Nirvanas", ""): 6,
             ("N.I.R.V.A.N.A. Live", ""): 2, ("Nirvanna", ""): 1, ("Mirvana", ""): 7}
    lines = [f"{u}\t{mbid}\t{name}\t2" for (name, mbid), n in heard.items() for u in users[:n]]
    dump_id = ingest_lastfm(write_lines(tmp_path / "d.tsv", lines)).dump_id
    with warehouse.writer() as con:
        build_similarity(con, None, SimilarityParams(min_listeners=1, min_co_listeners=1, k=5))
        serving.publish(con)
    with serving.open_snapshot() as con:
        got = [(s.name, s.listeners, s.namesakes) for s in suggest_artists(con, "nirvana", dump_id)]
        assert got == [("Nirvana", 5, 2), ("Nirvana", 4, 2), ("Nirvana Tribute", 3, 1), ("N.I.R.V.A.N.A. Live", 2, 1),
                       ("The Nirvanas", 6, 1), ("Nirvanna", 1, 1)]  # not "Mirvana": another first letter
        assert [s.name for s in suggest_artists(con, "nirvana", dump_id, limit=3)] == ["Nirvana", "Nirvana",
                                                                                      "Nirvana Tribute"]
        assert suggest_artists(con, "  ", dump_id) == []


def test_an_empty_dump_id_is_refused_not_read_as_the_latest(tmp_path):
    """`musim similar NAME --dump ""` answered from the latest build."""
    from musim.errors import ParameterError

    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    with warehouse.writer() as con:
        build_similarity(con, None, SimilarityParams(min_listeners=1, min_co_listeners=1, k=5))
        serving.publish(con)
    with serving.open_snapshot() as snap:
        with pytest.raises(ParameterError, match=r"the dump id is empty \(an unset variable\?\)"):
            ArtistSimilarity(snap).similar("Artist A", dump_id="", k=5, metric="seed")


def test_an_ambiguous_dump_prefix_names_the_built_dumps_it_matches(tmp_path):
    """`musim similar NAME --dump PREFIX` matching two built dumps listed every built dump, not the two."""
    from collections import Counter

    from musim.errors import NotFoundError
    from tests.lastfm_files import U1, U2

    ids = []
    with warehouse.writer() as con:
        for i in range(17):  # 17 ids over 16 hex digits: two start alike
            path = write_lines(tmp_path / f"d{i}.tsv", [f"{U1}\t\tA\t{i + 1}", f"{U1}\t\tB\t1", f"{U2}\t\tA\t1"])
            ids.append(ingest_lastfm(path).dump_id)
            build_similarity(con, ids[-1], SimilarityParams(min_listeners=1, min_co_listeners=1, k=5))
        serving.publish(con)
    digit, _ = Counter(i[0] for i in ids).most_common(1)[0]
    with serving.open_snapshot() as snap:
        with pytest.raises(NotFoundError) as err:
            ArtistSimilarity(snap).similar("A", dump_id=digit, k=5, metric="seed")
    matching = ", ".join(i[:12] for i in ids if i.startswith(digit))
    assert str(err.value) == (f"dump {digit!r} has an ambiguous similarity build in the published snapshot; it "
                              f"matches: {matching}")


def _publish(tmp_path: Path, heard: dict[str, int]) -> str:
    """A dump where the first ``n`` of 8 users heard each artist of ``heard``, built (every pair kept) and published."""
    users = [f"{i:040x}" for i in range(8)]
    lines = [f"{u}\t\t{name}\t2" for name, n in heard.items() for u in users[:n]]
    dump_id = ingest_lastfm(write_lines(tmp_path / "d.tsv", lines)).dump_id
    with warehouse.writer() as con:
        build_similarity(con, dump_id, SimilarityParams(min_listeners=1, min_co_listeners=1, k=5))
        serving.publish(con)
    return dump_id


def test_a_snapshot_of_an_earlier_layout_is_one_line_asking_to_publish_again(tmp_path, capsys):
    """`musim similar` on a snapshot without the lastfm_dump table (an earlier layout) printed DuckDB's
    CatalogException ("Table with name lastfm_dump does not exist!"), with and without --dump."""
    import duckdb

    from musim.cli import main

    dump_id = _publish(tmp_path, {"Poison": 4, "Ratt": 3})
    path = serving.current_path().resolve()
    path.chmod(0o644)  # writable, as an older musim left it
    with duckdb.connect(str(path)) as con:
        con.execute("DROP TABLE lastfm_dump")
    for args in (["similar", "Poison"], ["similar", "Poison", "--dump", dump_id[:8]], ["similar", "Poison", "--json"]):
        assert main(args) == 2, args
        err = capsys.readouterr().err.strip()
        assert err.endswith("published by an earlier version of musim; publish a new one (`musim publish`)"), err
        assert "\n" not in err and "Catalog" not in err


def test_a_name_found_by_its_key_lists_every_artist_of_the_key(tmp_path, capsys):
    """"Motley-Crue" is neither stored name but the key of "Motley Crue" and "Mötley Crüe": the answer was for one of
    them with `namesakes: []` (namesakes were counted by normalised name, which the two do not share), so nothing said
    another artist could be meant, nor how to ask for it."""
    from musim.cli import main

    _publish(tmp_path, {"Motley Crue": 5, "Mötley Crüe": 4, "Poison": 6, "Ratt": 3})
    with serving.open_snapshot() as snap:
        service = ArtistSimilarity(snap)
        answer = service.similar("Motley-Crue")
        assert (answer.artist, answer.matched_by) == ("Motley Crue", "key")  # the most listened of the key
        assert [(n.name, n.listeners) for n in answer.namesakes] == [("Motley Crue", 5), ("Mötley Crüe", 4)]
        other = answer.namesakes[1].artist_id
        typed = service.similar("mötley crüe")  # a stored name, as typed: no other artist has it
        assert (typed.artist_id, typed.matched_by, typed.namesakes) == (other, "name", [])
        by_id = service.similar(artist_id=other)
        assert (by_id.artist, by_id.matched_by, by_id.namesakes) == ("Mötley Crüe", None, [])
        assert service.similar("Poison").namesakes == []
    assert main(["similar", "Motley-Crue", "--json"]) == 0
    out, err = capsys.readouterr()
    got = json.loads(out)
    assert got["matched_by"] == "key" and [n["name"] for n in got["namesakes"]] == ["Motley Crue", "Mötley Crüe"]
    assert f"this answer is for id {answer.artist_id}" in err and f"id {other} (4 listeners)" in err
    assert "--id N" in err
    assert main(["similar", "Motley-Crue"]) == 0
    out, err = capsys.readouterr()
    assert f"Motley Crue (id {answer.artist_id})" in out and f"id {other} (4 listeners)" in err


def test_every_name_lookup_refuses_a_c1_control_character(tmp_path):
    """The CLI refused a name holding a C1 control character (`musim.names.lookup_problem`), but the lookup itself
    matched it as the name without it (its key drops control characters): the suggestions, find_artist and a direct
    caller of similar_artists answered for "Poison" when asked "Poison\\x92"."""
    from musim.errors import ParameterError
    from musim.similarity.query import find_artist, similar_artists, suggest_artists

    dump_id = _publish(tmp_path, {"Poison": 4, "Ratt": 3})
    said = r"^the artist name holds U\+0092, a C1 control character .*in Windows-1252: 'Poison’'"
    with serving.open_snapshot() as snap:
        for ask in (lambda: similar_artists(snap, "Poison\x92"), lambda: ArtistSimilarity(snap).similar("Poison\x92"),
                    lambda: find_artist(snap, "Poison\x92", dump_id), lambda: suggest_artists(snap, "Poison\x92", None)):
            with pytest.raises(ParameterError, match=said):
                ask()
        assert similar_artists(snap, "Poison").artist == "Poison"


def test_a_binder_error_of_no_layout_is_raised_as_it_is_not_called_an_earlier_layout(monkeypatch):
    """Every Binder and Catalog error of the similarity door was "published by an earlier version of musim": a wrong
    type or a misspelt name in its SQL (a bug, which no publish mends) was hidden behind it. A table this version's
    layout has and the snapshot lacks still is one."""
    import duckdb

    from musim import sql
    from musim.errors import StorageError
    from musim.similarity import query as door

    con = duckdb.connect()
    con.execute("CREATE TABLE track (title VARCHAR)")

    def door_running(statement):  # the door's sql module, its query running `statement` whatever file it is asked
        return SimpleNamespace(query=lambda c, name, **params: c.execute(statement), earlier_layout=sql.earlier_layout)

    for bug, error in (("SELECT titel FROM track", duckdb.BinderException),
                       ("SELECT no_such_function(title) FROM track", duckdb.CatalogException)):
        monkeypatch.setattr(door, "sql", door_running(bug))
        with pytest.raises(error):
            door._snapshot_query(con, "similarity/built_dumps.sql")
    monkeypatch.setattr(door, "sql", door_running("SELECT dump_id FROM lastfm_dump"))
    with pytest.raises(StorageError, match="earlier version of musim"):
        door._snapshot_query(con, "similarity/built_dumps.sql")
