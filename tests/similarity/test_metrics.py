"""The five metrics are one correctly rounded operation on exact integers, in SQL (sql/similarity/views.sql's
macros, through DuckDB) and in Python (musim/similarity/metrics.py) alike: mathematically equal scores are the
same double, and both engines give the same double, bit for bit."""

from __future__ import annotations

import math
import random
import struct
from fractions import Fraction

import duckdb
import numpy as np

from musim import sql
from musim.similarity import METRICS, metrics

SEED_RAW_MAX = 0.6180339887498949  # any scale: equal r divided by one double stay equal


def _macros() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the metric macros of sql/similarity/views.sql (its views need the warehouse)."""
    con = duckdb.connect()
    for stmt in sql.statements(sql.load("similarity/views.sql")):
        if " MACRO " in stmt:
            con.execute(stmt)
    return con


def _sql_scores(triples: list[tuple[int, int, int, int]]) -> dict[str, list[float]]:
    """Each metric of each ``(co, la, lb, users)``, by ``sim_score`` over columns of the warehouse's types."""
    cols = ", ".join(f"sim_score('{m}', co, la, lb, users, {SEED_RAW_MAX!r}) AS {m}" for m in METRICS)
    rows = _counts(triples).execute(f"SELECT {cols} FROM t ORDER BY i").fetchall()
    return {m: [row[j] for row in rows] for j, m in enumerate(METRICS)}


def _counts(triples: list[tuple[int, int, int, int]]) -> duckdb.DuckDBPyConnection:
    """:func:`_macros` with the table ``t (i, co, la, lb, users)`` of ``triples``, of the warehouse's types."""
    con = _macros()
    columns = np.array(triples, dtype=np.int64).reshape(-1, 4).T
    frame = {"i": np.arange(len(triples)), "co": columns[0], "la": columns[1], "lb": columns[2], "users": columns[3]}
    con.register("frame", frame)
    con.execute("CREATE TABLE t AS SELECT i, co::INTEGER AS co, la, lb, users FROM frame")
    return con


def _py_scores(triples: list[tuple[int, int, int, int]]) -> dict[str, list[float]]:
    return {m: [metrics.score(m, co, la, lb, users, SEED_RAW_MAX) for co, la, lb, users in triples] for m in METRICS}


def _exact(metric: str, co: int, la: int, lb: int, users: int) -> Fraction:
    """The metric's exact value, or for cosine its square (for pmi: lift's, which it is the ln of)."""
    return {"seed": Fraction(co * (la + lb), 2 * la * lb), "jaccard": Fraction(co, la + lb - co),
            "cosine": Fraction(co * co, la * lb)}.get(metric) or Fraction(co * users, la * lb)


def _bits(x: float) -> int:
    return struct.unpack("<q", struct.pack("<d", x))[0]


def test_mathematically_equal_scores_are_the_same_double_in_sql_and_python():
    """Every (co, la, lb) with co <= la, lb <= 40, grouped by each metric's exact value: one double per group.
    Written as (co/la + co/lb) / 2 and co / sqrt(la lb), seed's (2/5 + 2/4) / 2 and (3/5 + 3/10) / 2 and cosine's
    3/sqrt(18) and 1/sqrt(2) were different doubles."""
    n, users = 40, 97
    triples = [(co, la, lb, users) for la in range(1, n + 1) for lb in range(1, n + 1)
               for co in range(1, min(la, lb) + 1)]
    by_sql, by_py = _sql_scores(triples), _py_scores(triples)
    assert by_sql == by_py  # bit for bit (no zero, NaN or infinity among them)
    for metric in METRICS:
        groups: dict[Fraction, set[int]] = {}
        for (co, la, lb, u), value in zip(triples, by_sql[metric], strict=True):
            groups.setdefault(_exact(metric, co, la, lb, u), set()).add(_bits(value))
        split = {value: len(bits) for value, bits in groups.items() if len(bits) > 1}
        assert not split, (metric, list(split.items())[:5])
        assert sum(len(bits) for bits in groups.values()) < len(triples)  # there were ties to print equally
    assert by_py["seed"][triples.index((2, 5, 4, users))] == by_py["seed"][triples.index((3, 5, 10, users))]
    assert by_py["cosine"][triples.index((3, 3, 6, users))] == by_py["cosine"][triples.index((1, 1, 2, users))]


def _random_triples(count: int, seed: int) -> list[tuple[int, int, int, int]]:
    """``(co, la, lb, users)`` with co <= la, lb <= users, from a few users to 2^26 (the most the comment in
    sql/similarity/views.sql guarantees exact products for; the full Last.FM 360K dump has 360K)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        users = rng.choice([rng.randint(1, 50), rng.randint(1, 5000), 359_347, rng.randint(1, 2**26), 2**26])
        la, lb = rng.randint(1, users), rng.randint(1, users)
        if rng.random() < 0.3:  # small listener counts, where most co-listened pairs are
            la, lb = min(la, rng.randint(1, 100)), min(lb, rng.randint(1, 100))
        out.append((rng.randint(1, min(la, lb)), la, lb, users))
    return out


def test_scores_are_the_correctly_rounded_values_and_sql_equals_python():
    """On 5000 random counts: SQL == Python bit for bit; seed's r, jaccard and lift are the correctly rounded
    value of the exact rational (Python's int / int is correctly rounded), pmi is ln(lift), and cosine, one
    rounding of co^2 / (la lb) and one sqrt, lies within 1 ulp of the exact square root. The old arithmetic
    ((co/la + co/lb) / 2, co / sqrt(la lb)) differs from it by at most 2 ulps."""
    triples = _random_triples(5000, seed=11)
    by_sql, by_py = _sql_scores(triples), _py_scores(triples)
    for metric in METRICS:
        assert [_bits(x) for x in by_sql[metric]] == [_bits(x) for x in by_py[metric]], metric
    rounded = 0
    for i, (co, la, lb, users) in enumerate(triples):
        r = co * (la + lb) / (2 * la * lb)  # exact integers, one correctly rounded division
        assert by_py["seed"][i] == r / SEED_RAW_MAX, (co, la, lb)
        assert metrics.seed_raw(float(co), float(la), float(lb)) == r, (co, la, lb)
        assert by_py["jaccard"][i] == co / (la + lb - co), (co, la, lb)
        assert by_py["lift"][i] == co * users / (la * lb), (co, la, lb, users)
        assert by_py["pmi"][i] == math.log(by_py["lift"][i])
        cosine, square = by_py["cosine"][i], Fraction(co * co, la * lb)
        below, above = Fraction(math.nextafter(cosine, 0)), Fraction(math.nextafter(cosine, 2))
        assert below * below < square < above * above, (co, la, lb)  # within 1 ulp of sqrt(co^2 / (la lb))
        half_below, half_above = (below + Fraction(cosine)) / 2, (Fraction(cosine) + above) / 2
        rounded += half_below * half_below <= square <= half_above * half_above  # within 0.5 ulp: the nearest
        old_r = (co / la + co / lb) / 2.0
        assert abs(_bits(r) - _bits(old_r)) <= 1 and abs(_bits(cosine) - _bits(co / math.sqrt(la * lb))) <= 2
    assert rounded > 0.8 * len(triples)  # the nearest double mostly (about 87%; co / sqrt(la lb): 74%)


def test_the_build_records_the_seed_scale_by_the_same_arithmetic():
    """The build's record of max(r) (musim.similarity.colisten.summarize, numpy, and the C kernel where it is
    built) is sim_seed_raw's double, bit for bit: the gate compares the record with the pairs'."""
    from musim.cooccurrence import KERNELS
    from musim.similarity import colisten

    triples = _random_triples(3000, seed=12)
    wanted = _counts(triples).execute("SELECT sim_seed_raw(co, la, lb) FROM t ORDER BY i").fetchall()
    for (co, la, lb, _), (want,) in zip(triples, wanted, strict=True):
        listeners = np.array([la, lb])
        chunk = [(np.array([0], np.int32), np.array([1], np.int32), np.array([co], np.int32))]
        assert colisten.summarize(chunk, listeners, 1).seed_raw_max == want, (co, la, lb)
        if KERNELS.missing() is None:
            assert colisten.summarize(chunk, listeners, 1, engine="c").seed_raw_max == want, (co, la, lb)

